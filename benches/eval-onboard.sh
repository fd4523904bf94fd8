#!/usr/bin/env bash
# Runs `upkeep init` over the real deployment trees in ../shared/corpus/deploy-repos
# (when present) and prints, per repository, the environments guessed (name,
# wave, network, files, globs) and how many files with image references are in
# no environment; then checks that every generated upkeep.yml validates.
#   benches/eval-onboard.sh [CORPUS_DIR]
# UPKEEP_BIN=path/to/upkeep evaluates that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/deploy-repos}
if [ ! -d "$corpus" ]; then
  echo "no corpus at $corpus: nothing to evaluate" >&2
  exit 0
fi
if [ -z "${UPKEEP_BIN:-}" ]; then
  cargo build --quiet
fi
bin=${UPKEEP_BIN:-${CARGO_TARGET_DIR:-target}/debug/upkeep}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
invalid=0
for repo in "$corpus"/*/; do
  name=$(basename "$repo")
  echo "== $name"
  "$bin" init "$repo" --output "$out/$name.yml" | sed -n '2,$p' | grep -v '^next:' || true
  if ! "$bin" settings validate "$out/$name.yml" >/dev/null 2>"$out/$name.err"; then
    invalid=$((invalid + 1))
    echo "  INVALID:"; sed 's/^/    /' "$out/$name.err"
  fi
done
echo
echo "settings that do not validate: $invalid"
