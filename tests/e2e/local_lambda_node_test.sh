#!/usr/bin/env bash
# AWS's JavaScript SDK v3 and AWS's Node runtime client (aws-lambda-ric) against
# `parallelagram local-lambda`; see tests/node/local_lambda_test.mjs.
set -euo pipefail
src=${PG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ ! -d "$src/tests/node/node_modules" ]; then
  (cd "$src/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$src/tests/node/local_lambda_test.mjs"
