#!/usr/bin/env bash
# Runs `upkeep release classify` over the release-notes corpus and compares
# the output with the hand labels: precision/recall for hard-fork, activation
# time (exact to the second), networks, mandatory, breaking, security and
# priority.
#   benches/eval-release-notes.sh [CORPUS_DIR] [--details]
# CORPUS_DIR defaults to ../shared/corpus/release-notes (corpus.jsonl and
# labels-sample.jsonl); benches/release-notes-labels.jsonl holds more labels
# made with the same conventions and is reported separately and combined.
# Exits 0 with a message when the corpus is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus/release-notes
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then corpus=$1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
if [ ! -f "$corpus/corpus.jsonl" ]; then
  echo "no release-notes corpus at $corpus: nothing to evaluate" >&2
  exit 0
fi
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 benches/eval-release-notes.py run "$corpus/corpus.jsonl" "$out" ./target/release/upkeep
python3 benches/eval-release-notes.py score "$corpus/corpus.jsonl" "$out" \
  "$corpus/labels-sample.jsonl" benches/release-notes-labels.jsonl "$@"
