#!/usr/bin/env bash
# Runs `upkeep release classify` over the release-notes corpus and compares
# the output with the hand labels: precision/recall for hard-fork, activation
# time (exact to the second), networks, mandatory, breaking, security and
# priority. Then reports upkeep's own phrasing fixtures separately
# (rules/tests/phrasings.yml: tables with timestamps, epochs and slots,
# "fork epoch set to", slots only, an upgrade with its BPO forks, an unknown
# next fork, EL/CL name pairs, schedule mismatches, mandatory and security
# wording), which need no corpus.
#   benches/eval-release-notes.sh [CORPUS_DIR] [--details]
# CORPUS_DIR defaults to ../shared/corpus/release-notes (corpus.jsonl and
# labels-sample.jsonl); benches/release-notes-labels.jsonl holds more labels
# made with the same conventions and is reported separately and combined.
# Honours CARGO_TARGET_DIR. The corpus part is skipped (exit 0, with a
# message) when the corpus is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=../shared/corpus/release-notes
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then corpus=$1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/upkeep
if [ -f "$corpus/corpus.jsonl" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  python3 benches/eval-release-notes.py run "$corpus/corpus.jsonl" "$out" "$bin"
  python3 benches/eval-release-notes.py score "$corpus/corpus.jsonl" "$out" \
    "$corpus/labels-sample.jsonl" benches/release-notes-labels.jsonl "$@"
else
  echo "no release-notes corpus at $corpus: corpus part skipped" >&2
fi
echo
echo "== own fixtures (rules/tests/phrasings.yml, one test per phrasing class)"
"$bin" rules test | grep -E '^rules/tests/phrasings\.yml|^FAILED rules/tests/phrasings|^  ' || true
