#!/usr/bin/env bash
# The driver's memory is bounded by what is in flight, not by the input count: N no-op tasks
# piped into `parallelagram run --backend aws` (sync mode, `true`, inputs streamed from stdin)
# against the nginx Lambda stand-in of bench/run_dispatch_bench.sh, for each N given; prints
# the driver's peak RSS (/usr/bin/time %M), wall time, CPU per task and tasks/s, in one run.
# Also checks that every task is in the manifest once.
# Needs the release build: cmake --preset release && cmake --build --preset release -j2
# Usage: bench/run_stream_memory.sh [jobs=64] N...   (default: 200000 2000000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
pg=${PG_BIN:-$src/build/parallelagram}
jobs=${1:-64}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200000 2000000)
[ -x "$pg" ] || { echo "missing $pg: cmake --preset release && cmake --build --preset release" >&2; exit 2; }

# shellcheck source=nginx_stand_in.sh
. "$here/nginx_stand_in.sh"
echo "load: $(uptime | sed 's/.*load average/load average/')"
echo "| tasks (piped) | -j | peak RSS (MB) | wall (s) | tasks/s | CPU per task (us) | manifest lines |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${sizes[@]}"; do
  rm -rf "$dir/home" && mkdir -p "$dir/home"
  seq "$n" | env -i PATH="$PATH" HOME="$dir/home" AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL_LAMBDA="$url" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3port" \
    AWS_ACCESS_KEY_ID=AKIDBENCHMARK AWS_SECRET_ACCESS_KEY=benchmarkSecretKey000000000000000000000000 \
    /usr/bin/time -f "%M %e %U %S" -o "$dir/time" \
    "$pg" run -q --job-id mem --backend aws --function bench --bucket bench-bucket -j "$jobs" -- true \
    >"$dir/run.out" 2>&1 || { echo "run failed:" >&2; tail -5 "$dir/run.out" >&2; exit 1; }
  read -r rss wall user sys <"$dir/time"
  lines=$(wc -l <"$dir/home/.local/state/parallelagram/jobs/mem/results.jsonl")
  python3 -c "n=$n; rss=$rss; w=$wall; c=$user+$sys
print('| %d | $jobs | %.1f | %.1f | %.0f | %.1f | %d |' % (n, rss/1024, w, n/w, c*1e6/n, $lines))"
  [ "$lines" = "$n" ] || { echo "manifest has $lines lines for $n tasks" >&2; exit 1; }
done
