#!/usr/bin/env bash
# `upkeep scan` against `rg -c image` (issue #15: within 3x) on the shared
# deploy-repos corpus and on its bitnami charts, with hyperfine (warm cache,
# no shell; -i because scan exits 3 on problem files).
#   benches/scan-vs-rg.sh [CORPUS_DIR]
# UPKEEP_BIN=path/to/upkeep measures that binary (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/deploy-repos}
if [ ! -d "$corpus" ]; then
  echo "no corpus at $corpus: nothing to measure" >&2
  exit 0
fi
if [ -z "${UPKEEP_BIN:-}" ]; then
  cargo build --release --quiet --bin upkeep
fi
bin=${UPKEEP_BIN:-${CARGO_TARGET_DIR:-target}/release/upkeep}
for dir in "$corpus" "$corpus/bitnami-charts"; do
  [ -d "$dir" ] || continue
  hyperfine -N -i --warmup 3 --style basic \
    "$bin scan $dir --format json" "rg -c image $dir"
done
