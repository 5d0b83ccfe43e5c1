#!/usr/bin/env bash
# Issue 6 item 7, one command: the driver at scale on the local AWS stand-ins.
#  1. The peer first: the machine's own ceiling, the same 10,000 `sleep 1` processes kept
#     1,000 at a time by plain posix_spawn launchers (no Lambda, driver or worker).
#  2. 10,000 tasks of `sleep 1` (`sleep {}` over inputs "1") through `run --backend aws
#     -j 1000` on `local-lambda --concurrency 1000` (moto_server for S3/IAM, signatures
#     enforced), the function sharing the account's whole pool (deploy's default reservation
#     removed), sync then async mode: makespan vs the ideal (10 waves x 1 s + a measured
#     wave of 1,000 `true` tasks on a fresh function) and vs the ceiling, the driver's peak
#     RSS, every task exactly once (targets: within 15% of ideal, < 200 MB).
#  3. 1,000,000 no-op tasks through `run --backend aws -j 256` against a fast loopback Lambda
#     endpoint (nginx, tests/fast_lambda.py): the driver's peak RSS (target < 300 MB).
# Heavy: ~12,000 process creations plus up to 3,000 environments. The reduced version runs
# in CTest as tests/e2e/scale_test.py. Needs the release build:
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
