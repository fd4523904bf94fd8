#!/usr/bin/env bash
# Requests per pull request and wall time of `upkeep run` over one
# repository with 12 upstreams (12 PRs), first and second run, against the
# local GitHub double and a smart-HTTP git remote.
#   benches/run-cycle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --quiet --test it twelve_upstreams -- --nocapture 2>&1 | grep -E '^run over|test result'
