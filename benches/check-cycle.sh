#!/usr/bin/env bash
# Requests and wall time of `upkeep check` for 50 upstreams x 1 repository
# with 500 references, cold and warm, against the local GitHub double.
#   benches/check-cycle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --quiet --test it fifty_upstreams -- --nocapture 2>&1 | grep -E '^check of|test result'
