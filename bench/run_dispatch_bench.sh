#!/usr/bin/env bash
# Issue 5 item 7: the driver's dispatch rate and CPU per task for N no-op tasks against a
# fast Lambda-compatible loopback endpoint (nginx answering every Invoke with a fixed, valid
# task result), in one run, against
#   boto3 Lambda Invoke from a 64-thread pool (what PyWren and Lithops do), and
#   the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda) with 64 invokes in flight.
# Every client signs its requests (SigV4, fake credentials). CPU is each client process's
# own (getrusage / process.cpuUsage), never nginx's.
#
# Needs the release build of the bench binary:
#   cmake --preset release && cmake --build --preset release -j2 --target dispatch_bench
# and tests/node's packages (installed here with `npm ci` when missing).
# Usage: bench/run_dispatch_bench.sh [tasks=20000] [jobs=64]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
bin=${PG_BENCH_BIN:-$src/build/dispatch_bench}
tasks=${1:-20000}
jobs=${2:-64}
if [ ! -x "$bin" ]; then
  echo "missing $bin: cmake --preset release && cmake --build --preset release --target dispatch_bench" >&2
  exit 2
fi
if [ ! -d "$src/tests/node/node_modules/@aws-sdk/client-lambda" ]; then
  (cd "$src/tests/node" && npm ci --no-audit --no-fund --loglevel=error)
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
sed -e "s|PORT|$port|g" -e "s|DIR|$dir|g" "$here/nginx_lambda.conf.in" >"$dir/nginx.conf"
nginx -p "$dir" -c "$dir/nginx.conf" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null; rm -rf "$dir"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -s -o /dev/null "$url/" && break; sleep 0.1; done

echo "load: $(uptime | sed 's/.*load average/load average/')"
run() {  # name command...
  local name=$1; shift
  echo "\$ $*" >&2
  local out
  out=$("$@")
  echo "$name: $out" >&2
  echo "$name $out"
}
results=$(
  run ours "$bin" "$url" "$tasks" "$jobs"
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
label = {"ours": "parallelagram driver (Scheduler+LambdaInvoker+CurlHttpClient)",
         "boto3": "boto3, 64-thread pool", "js": "AWS SDK for JS v3"}
for name in ("ours", "boto3", "js"):
    r = rows[name]
    print("| %s | %s | %.0f | %.1f |" % (label[name], jobs if name == "ours" else 64,
                                        r["tasks_per_s"], r["cpu_us_per_task"]))
o = rows["ours"]
print()
print("ours/boto3 rate: %.1fx (target >= 10x)" % (o["tasks_per_s"] / rows["boto3"]["tasks_per_s"]))
print("ours/js rate:    %.1fx (target >= 3x)" % (o["tasks_per_s"] / rows["js"]["tasks_per_s"]))
print("driver CPU per task: %.1f us (target < 50 us)" % o["cpu_us_per_task"])
bad = [n for n in rows if rows[n].get("failed", 0) > 0]
if bad:
    print("FAILED tasks in: " + ", ".join(bad))
    sys.exit(1)
PY
