#!/usr/bin/env bash
# Issue 2, item 7, in one command: builds the release targets, then measures on them
#   (a) the worker's cold start: exec of build/bootstrap to its first GET /next (target < 5 ms)
#   (b) the service + worker time of a no-op sync invoke through `parallelagram local-lambda`
#       (target < 300 us), against the same calls through AWS's runtime client (npm
#       aws-lambda-ric running a no-op Node handler in the same local-lambda), in the same run,
# and prints a table with the ratios. Arguments go to bench/local_lambda_bench.py
# (e.g. -n 2000 --cold 20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
[ -f build/build.ninja ] || cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target parallelagram bootstrap \
  worker_cold_start_bench >/dev/null
if [ ! -d tests/node/node_modules/aws-lambda-ric ] && command -v npm >/dev/null; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "load: $(uptime)"
exec python3 bench/local_lambda_bench.py --bin build/parallelagram --bootstrap build/bootstrap "$@"
