#!/usr/bin/env bash
# The contract's checks: buf lint (STANDARD), buf breaking against main, and "generated code is in
# sync": regenerating must not change the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
export BUF_CACHE_DIR="${BUF_CACHE_DIR:-$PWD/node_modules/.cache/buf}"

buf lint proto
if git rev-parse --verify --quiet main >/dev/null && git cat-file -e main:proto/buf.yaml 2>/dev/null; then
  buf breaking proto --against ".git#branch=main,subdir=proto"
fi
(cd packages/proto && buf generate)
if ! git diff --quiet -- packages/proto/src/gen || [ -n "$(git ls-files --others --exclude-standard packages/proto/src/gen)" ]; then
  echo "packages/proto/src/gen is out of date: run \`npm run generate\` and commit the result." >&2
  git status --short packages/proto/src/gen >&2
  exit 1
fi
echo "proto: lint, breaking and generated code OK"
