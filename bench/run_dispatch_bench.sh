#!/usr/bin/env bash
# Issue 5 item 7: the driver's dispatch rate and CPU per task for N no-op tasks against a
# fast Lambda-compatible loopback endpoint (nginx answering every Invoke with a fixed, valid
# task result), in one run, against
#   boto3 Lambda Invoke from a 64-thread pool (what PyWren and Lithops do), and
#   the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda) with 64 invokes in flight.
# Every client signs its requests (SigV4, fake credentials). CPU is each client process's
# own (getrusage / process.cpuUsage), never nginx's.
#
# "ours" is measured twice: the dispatch path alone (bench/dispatch_bench.cc: Scheduler +
# LambdaInvoker + the invoke path's Http1Client), and the real `parallelagram run --backend aws` (sync mode,
# `true` over N inputs; nginx also plays GetFunction and, on a second port, S3, whose
# requests are counted: a no-op sync run should make none).
# Needs the release build:
#   cmake --preset release && cmake --build --preset release -j2 --target dispatch_bench parallelagram
# and tests/node's packages (installed here with `npm ci` when missing).
# Usage: bench/run_dispatch_bench.sh [tasks=20000] [jobs=64]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
bin=${PG_BENCH_BIN:-$src/build/dispatch_bench}
pg=${PG_BIN:-$src/build/parallelagram}
tasks=${1:-20000}
jobs=${2:-64}
for b in "$bin" "$pg"; do
  if [ ! -x "$b" ]; then
    echo "missing $b: cmake --preset release && cmake --build --preset release --target dispatch_bench parallelagram" >&2
    exit 2
  fi
done
if [ ! -d "$src/tests/node/node_modules/@aws-sdk/client-lambda" ]; then
  (cd "$src/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

# shellcheck source=nginx_stand_in.sh
. "$here/nginx_stand_in.sh"

echo "load: $(uptime | sed 's/.*load average/load average/')"
run() {  # name command...
  local name=$1; shift
  echo "\$ $*" >&2
  local out
  out=$("$@") || true
  echo "$name: $out" >&2
  echo "$name $out"
}
# `parallelagram run --backend aws`, in a clean environment and state directory; CPU from
# /usr/bin/time (the driver process only: nginx is not its child).
run_cli() {
  seq "$tasks" >"$dir/inputs"
  mkdir -p "$dir/home"
  local cmd=(env -i PATH="$PATH" HOME="$dir/home" AWS_REGION=us-east-1
    AWS_ENDPOINT_URL_LAMBDA="$url" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3port"
    AWS_ACCESS_KEY_ID=AKIDBENCHMARK AWS_SECRET_ACCESS_KEY=benchmarkSecretKey000000000000000000000000
    AWS_SESSION_TOKEN=benchmark-session-token
    /usr/bin/time -f "%e %U %S" -o "$dir/time"
    "$pg" run --backend aws --function bench --bucket bench-bucket -j "$jobs" true :::: "$dir/inputs")
  echo "\$ ${cmd[*]:10}" >&2
  local failed=0
  "${cmd[@]}" >"$dir/run.out" 2>&1 || failed=$tasks
  [ "$failed" = 0 ] || { echo "parallelagram run failed:" >&2; tail -5 "$dir/run.out" >&2; }
  read -r wall user sys <"$dir/time"
  local s3=0
  [ -f "$dir/s3.log" ] && s3=$(wc -l <"$dir/s3.log")
  python3 -c "t=$tasks; w=$wall; c=$user+$sys
print('cli tasks=%d failed=$failed seconds=%.2f tasks_per_s=%.0f cpu_us_per_task=%.1f s3_requests=$s3' % (t, w, t/w, c*1e6/t))"
}
results=$(
  run ours "$bin" "$url" "$tasks" "$jobs"
  run_cli
  run boto3 python3 "$here/dispatch_boto3.py" "$url" "$tasks" 64
  run js node "$here/dispatch_js.mjs" "$url" "$tasks" 64
)
python3 - "$tasks" "$jobs" <<PY
import re, sys
rows = {}
for line in """$results""".splitlines():
    name, rest = line.split(" ", 1)
    rows[name] = {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", rest)}
tasks, jobs = sys.argv[1], sys.argv[2]
print()
print("%d no-op tasks, signed RequestResponse invokes, loopback nginx" % int(tasks))
print("| client | in flight | tasks/s | CPU per task (us) |")
print("| --- | ---: | ---: | ---: |")
label = {"ours": "parallelagram driver (Scheduler+LambdaInvoker+Http1Client)",
         "cli": "parallelagram run --backend aws (whole process)",
         "boto3": "boto3, 64-thread pool", "js": "AWS SDK for JS v3"}
for name in ("ours", "cli", "boto3", "js"):
    r = rows[name]
    print("| %s | %s | %.0f | %.1f |" % (label[name], jobs if name in ("ours", "cli") else 64,
                                        r["tasks_per_s"], r["cpu_us_per_task"]))
o = rows["ours"]
print()
print("ours/boto3 rate: %.1fx (target >= 10x)" % (o["tasks_per_s"] / rows["boto3"]["tasks_per_s"]))
print("ours/js rate:    %.1fx (target >= 3x)" % (o["tasks_per_s"] / rows["js"]["tasks_per_s"]))
print("driver CPU per task: %.1f us (target < 50 us)" % o["cpu_us_per_task"])
c = rows["cli"]
print("parallelagram run --backend aws: %.1fx boto3, %.1fx js, %.1f us CPU per task, "
      "%d S3 requests for %d tasks" % (c["tasks_per_s"] / rows["boto3"]["tasks_per_s"],
                                       c["tasks_per_s"] / rows["js"]["tasks_per_s"],
                                       c["cpu_us_per_task"], c["s3_requests"], int(tasks)))
bad = [n for n in rows if rows[n].get("failed", 0) > 0]
if bad:
    print("FAILED tasks in: " + ", ".join(bad))
    sys.exit(1)
PY
