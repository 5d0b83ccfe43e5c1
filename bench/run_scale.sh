#!/usr/bin/env bash
# Issue 6 item 7, one command: the driver at scale on the local AWS stand-ins.
#  1. 10,000 tasks of `sleep 1` through `run --backend aws -j 1000` on `local-lambda
#     --concurrency 1000` (moto_server for S3/IAM), sync then async mode: makespan vs the ideal
#     (10 waves x 1 s + a measured all-cold wave of 1,000 `true` tasks) and the driver's peak
#     RSS (targets: within 15%, < 200 MB).
#  2. 1,000,000 no-op tasks through `run --backend aws -j 256` against a fast loopback Lambda
#     endpoint (nginx): the driver's peak RSS (target < 300 MB: inputs streamed).
# Heavy: 1,000 environments plus 1,000 `sleep`s on this machine. Needs the release build:
#   cmake --preset release && cmake --build --preset release -j2 --target parallelagram bootstrap
# Usage: bench/run_scale.sh [tasks=10000] [jobs=1000] [million=1000000] [modes=sync,async]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
export PG_BIN=${PG_BIN:-$src/build/parallelagram}
[ -x "$PG_BIN" ] || { echo "missing $PG_BIN: cmake --preset release && cmake --build --preset release -j2 --target parallelagram bootstrap" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -u unlimited 2>/dev/null || true
echo "load at start: $(uptime | sed 's/.*load average/load average/')"
rc=0
python3 "$here/scale_bench.py" scale "${1:-10000}" "${2:-1000}" 1 "${4:-sync,async}" || rc=1
python3 "$here/scale_bench.py" million "${3:-1000000}" 256 || rc=1
echo "load at end: $(uptime | sed 's/.*load average/load average/')"
exit $rc
