#!/usr/bin/env bash
# `upkeep scan` against `rg -c image` (issue #15: within 3x) on the shared
# deploy-repos corpus and on its bitnami charts, with hyperfine (warm cache,
# no shell; -i because scan exits 3 on problem files).
#
# Runs are paired and interleaved: ROUNDS rounds (5 by default), each timing
# both commands back to back, so that a machine getting busier or quieter
# moves both; the ratio of each round's means is printed, then their median.
#   benches/scan-vs-rg.sh [CORPUS_DIR]
# UPKEEP_BIN=path/to/upkeep measures that binary (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/deploy-repos}
rounds=${ROUNDS:-5}
if [ ! -d "$corpus" ]; then
  echo "no corpus at $corpus: nothing to measure" >&2
  exit 0
fi
if [ -z "${UPKEEP_BIN:-}" ]; then
  cargo build --release --quiet --bin upkeep
fi
bin=${UPKEEP_BIN:-${CARGO_TARGET_DIR:-target}/release/upkeep}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for dir in "$corpus" "$corpus/bitnami-charts"; do
  [ -d "$dir" ] || continue
  for round in $(seq "$rounds"); do
    hyperfine -N -i --warmup 3 --runs 20 --style none \
      --export-json "$out/$round.json" \
      "$bin scan $dir --format json" "rg -c image $dir" >/dev/null
  done
  python3 - "$dir" "$out" "$rounds" <<'PY'
import json, statistics, sys
d, out, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
ratios, scan, rg = [], [], []
for r in range(1, rounds + 1):
    res = json.load(open(f"{out}/{r}.json"))["results"]
    scan.append(res[0]["mean"] * 1e3)
    rg.append(res[1]["mean"] * 1e3)
    ratios.append(res[0]["mean"] / res[1]["mean"])
print(f"{d}")
print(f"  upkeep scan  {statistics.median(scan):7.1f} ms  (rounds: {', '.join(f'{x:.1f}' for x in scan)})")
print(f"  rg -c image  {statistics.median(rg):7.1f} ms  (rounds: {', '.join(f'{x:.1f}' for x in rg)})")
print(f"  ratio        {statistics.median(ratios):7.2f}x (rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
PY
done
