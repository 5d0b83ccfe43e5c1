#!/usr/bin/env bash
# Issue 14 item 7: the C++ API's Executor::Map against the CLI, in one run.
#   1. N no-op calls (`void Noop()`) through Executor (backend aws) against the nginx Lambda
#      stand-in of bench/run_dispatch_bench.sh, vs `parallelagram run --backend aws` of N
#      `true` tasks against the same stand-in: calls/s and driver CPU per call (the whole
#      process: getrusage for the Executor program, /usr/bin/time for the CLI).
#   2. M trivial calls on the local backend at 2 in flight (each call runs in a child of the
#      program, as on Lambda), vs the CLI's M `true` tasks at -j 2.
# Needs the release build:
#   cmake --preset release && cmake --build --preset release -j2 --target executor_bench parallelagram bootstrap
# Usage: bench/run_executor_bench.sh [N=20000] [M=3000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
bin=${PG_BENCH_BIN:-$src/build/executor_bench}
pg=${PG_BIN:-$src/build/parallelagram}
n=${1:-20000}
m=${2:-3000}
jobs=64
for b in "$bin" "$pg"; do
  [ -x "$b" ] || { echo "missing $b: cmake --preset release && cmake --build --preset release --target executor_bench parallelagram bootstrap" >&2; exit 2; }
done
pg_build="sha256:$(sha256sum "$bin" | cut -d' ' -f1)"
# shellcheck source=nginx_stand_in.sh
. "$here/nginx_stand_in.sh"
echo "load: $(uptime | sed 's/.*load average/load average/')"
mkdir -p "$dir/home"
awsenv=(env -i PATH="$PATH" HOME="$dir/home" XDG_STATE_HOME="$dir/state" AWS_REGION=us-east-1
  AWS_ENDPOINT_URL_LAMBDA="$url" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3port"
  AWS_ACCESS_KEY_ID=AKIDBENCHMARK AWS_SECRET_ACCESS_KEY=benchmarkSecretKey000000000000000000000000
  AWS_SESSION_TOKEN=benchmark-session-token)
localenv=(env -i PATH="$PATH" HOME="$dir/home" XDG_STATE_HOME="$dir/state")

cli() {  # label calls env... -- args: prints a result line from /usr/bin/time
  local label=$1 calls=$2; shift 2
  local envs=() ; while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  seq "$calls" >"$dir/inputs"
  echo "\$ parallelagram run $* :::: inputs" >&2
  "${envs[@]}" /usr/bin/time -f "%e %U %S" -o "$dir/time" "$pg" run -q "$@" :::: "$dir/inputs" >/dev/null
  read -r wall user sys <"$dir/time"
  python3 -c "print('$label calls=$calls seconds=%.2f calls_per_s=%.0f cpu_us_per_call=%.1f' % ($wall, $calls/$wall, ($user+$sys)*1e6/$calls))"
}
api() {  # label env... -- args
  local label=$1; shift
  local envs=() ; while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  echo "\$ executor_bench $*" >&2
  echo "$label $("${envs[@]}" "$bin" "$@")"
}
results=$(
  api api_aws "${awsenv[@]}" -- aws "$n" "$jobs" bench bench-bucket
  cli cli_aws "$n" "${awsenv[@]}" -- --backend aws --function bench --bucket bench-bucket -j "$jobs" true
  api api_local "${localenv[@]}" -- local "$m" 2
  cli cli_local "$m" "${localenv[@]}" -- -j 2 true
)
python3 - <<PY
import re
rows = {}
for line in """$results""".splitlines():
    name, rest = line.split(" ", 1)
    rows[name] = {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", rest)}
print()
print("| what | calls | in flight | calls/s | driver CPU per call (us) |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, label, jobs in (("api_aws", "Executor::Map, nginx Lambda stand-in", $jobs),
                          ("cli_aws", "parallelagram run --backend aws, same stand-in", $jobs),
                          ("api_local", "Executor::Map, local backend", 2),
                          ("cli_local", "parallelagram run true, local backend", 2)):
    r = rows[name]
    print("| %s | %d | %d | %.0f | %.1f |" % (label, r["calls"], jobs, r["calls_per_s"], r["cpu_us_per_call"]))
print()
print("aws stand-in: Executor/CLI rate %.2fx; Executor CPU per call %.1f us (target <= 50 us)" %
      (rows["api_aws"]["calls_per_s"] / rows["cli_aws"]["calls_per_s"], rows["api_aws"]["cpu_us_per_call"]))
print("local: Executor/CLI rate %.2fx" % (rows["api_local"]["calls_per_s"] / rows["cli_local"]["calls_per_s"]))
if any(r.get("failed", 0) > 0 for r in rows.values()):
    print("FAILED calls"); raise SystemExit(1)
PY
