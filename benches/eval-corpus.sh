#!/usr/bin/env bash
# Runs `upkeep scan` over the real deployment trees in ../shared/corpus/deploy-repos
# (when present) and prints, per repository and in total, references per kind,
# skip reasons and files that could not be read.
#   benches/eval-corpus.sh [CORPUS_DIR]
# UPKEEP_BIN=path/to/upkeep evaluates that binary (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/deploy-repos}
if [ ! -d "$corpus" ]; then
  echo "no corpus at $corpus: nothing to evaluate" >&2
  exit 0
fi
cargo build --release --quiet
bin=${UPKEEP_BIN:-${CARGO_TARGET_DIR:-target}/release/upkeep}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for repo in "$corpus"/*/; do
  name=$(basename "$repo")
  "$bin" scan "$repo" --format json >"$out/$name.json" 2>/dev/null || true
done
python3 - "$out" <<'PY'
import json, os, sys, collections
out = sys.argv[1]
total_kind, total_skip, total_problems = collections.Counter(), collections.Counter(), 0
print(f"{'repository':32} {'refs':>5} {'bumpable':>8} {'problems':>8}  kinds")
for name in sorted(os.listdir(out)):
    data = json.load(open(os.path.join(out, name)))
    refs, problems = data["references"], data["problems"]
    kinds = collections.Counter(r["kind"] for r in refs)
    skips = collections.Counter(r["skip"] for r in refs if r["skip"])
    total_kind.update(kinds); total_skip.update(skips); total_problems += len(problems)
    bumpable = sum(1 for r in refs if not r["skip"])
    print(f"{name[:-5]:32} {len(refs):5} {bumpable:8} {len(problems):8}  " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
print()
print("references per kind:", dict(sorted(total_kind.items())), "total", sum(total_kind.values()))
print("skip reasons:       ", dict(sorted(total_skip.items())))
print("files with problems:", total_problems)
PY
