#!/usr/bin/env bash
# Fetches GitHub's REST API description (npm package @octokit/openapi, pinned)
# and prunes it to the operations upkeep uses, for the GitHub double in
# tests/it/support/github/ to validate its responses against.
#
#   tests/support/fetch-openapi.sh [OUT.json]
#
# OUT defaults to $CARGO_TARGET_DIR/github-openapi/api.github.com.subset.json
# (target/ when unset). Nothing is committed: the test support runs this once
# per test process, and it returns at once when OUT is up to date (OUT.stamp
# holds a checksum of the package version, the operation list and
# prune_spec.py; any change regenerates OUT). Safe to run concurrently
# (flock); FORCE=1 refetches.
# Needs npm (registry access), tar and python3.
set -euo pipefail

PACKAGE=@octokit/openapi
VERSION=23.0.2

# The operations upkeep uses now or is planned to (pulls, labels, comments,
# git data, apps, checks). Add one here and rerun: the output is regenerated
# whenever this list, VERSION or prune_spec.py change (their hash is stored
# next to it in OUT.stamp), and the test support runs this script once per
# test process.
OPERATIONS=(
  apps/create-installation-access-token
  apps/get-authenticated
  apps/get-repo-installation
  apps/list-installations
  apps/list-repos-accessible-to-installation
  checks/create
  checks/list-for-ref
  checks/update
  git/create-blob
  git/create-commit
  git/create-ref
  git/create-tree
  git/delete-ref
  git/get-commit
  git/get-ref
  git/get-tree
  git/update-ref
  issues/add-assignees
  issues/add-labels
  issues/create
  issues/create-comment
  issues/create-label
  issues/get
  issues/get-label
  issues/list-comments
  issues/list-labels-for-repo
  issues/list-labels-on-issue
  issues/remove-label
  issues/set-labels
  issues/update
  issues/list-for-repo
  issues/update-comment
  pulls/create
  pulls/get
  pulls/list
  pulls/list-files
  pulls/merge
  pulls/request-reviewers
  pulls/update
  rate-limit/get
  users/get-authenticated
  repos/compare-commits
  repos/create-commit-comment
  repos/get
  repos/get-branch
  repos/get-combined-status-for-ref
  repos/get-content
  repos/get-latest-release
  repos/get-release-by-tag
  repos/list-releases
  repos/list-tags
)

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
out=${1:-$target/github-openapi/api.github.com.subset.json}
mkdir -p "$(dirname "$out")"

# What OUT is made from: the package, the operation list and the pruner.
stamp=$( {
  printf '%s\n' "$PACKAGE@$VERSION" "${OPERATIONS[@]}"
  cat "$here/prune_spec.py"
} | cksum | cut -d' ' -f1,2)

# One fetch at a time across test processes; whoever waited finds it done.
exec 9>"$out.lock"
if command -v flock >/dev/null; then flock 9; fi
if [ -s "$out" ] && [ "${FORCE:-0}" != 1 ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

for tool in npm tar python3; do
  command -v "$tool" >/dev/null || { echo "fetch-openapi.sh: $tool is needed" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tar -xzf "$tmp"/octokit-openapi-"$VERSION".tgz -C "$tmp" package/generated/api.github.com.json
python3 "$here/prune_spec.py" "$tmp/package/generated/api.github.com.json" "$out" "${OPERATIONS[@]}"
printf '%s\n' "$stamp" >"$out.stamp"
