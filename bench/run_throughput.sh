#!/usr/bin/env bash
# Throughput of `parallelagram run` on the embedded local backend against xargs -P and GNU
# parallel, in the same run: N tiny tasks (default 3000) with 2 at a time, two workloads:
#   true      nothing to capture
#   echo {}   one line of output per task, captured and printed
# Usage: bench/run_throughput.sh [N] [REPS]   (needs the release build: cmake --preset release)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3000}
REPS=${2:-3}
PG=${PG_BIN:-build/parallelagram}
[ -x "$PG" ] || { echo "build the release CLI first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seq "$N" > "$tmp/inputs"

# Prints the median wall time (seconds) of REPS runs of "$@" (stdout to $tmp/out).
median() {
  local ts=()
  for _ in $(seq "$REPS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "$tmp/out" 2> "$tmp/err" || { echo "failed: $*" >&2; cat "$tmp/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    ts+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

pg() { "$PG" run -j 2 -q --state-dir "$tmp/state" -- "$@" :::: "$tmp/inputs"; }
gnu() { parallel --will-cite -j 2 "$@" :::: "$tmp/inputs"; }
xa() { xargs -P 2 -n 1 "$@" < "$tmp/inputs"; }

printf '%-10s %10s %10s %10s %12s %12s\n' workload xargs_s gnu_s pg_s "pg/gnu" "pg/xargs"
for w in true echo; do
  if [ "$w" = true ]; then args=(true); else args=(echo); fi
  x=$(median xa "${args[@]}")
  g=$(median gnu "${args[@]}")
  if [ "$w" = echo ]; then p=$(median pg echo '{}'); lines=$(wc -l < "$tmp/out"); [ "$lines" = "$N" ] || { echo "pg printed $lines lines, expected $N" >&2; exit 1; }
  else p=$(median pg true); fi
  # Throughput ratios: pg/gnu = gnu_time / pg_time (higher is better for pg).
  printf '%-10s %10.3f %10.3f %10.3f %11.2fx %11.2fx\n' "$w" "$x" "$g" "$p" \
    "$(echo "$g / $p" | bc -l)" "$(echo "$x / $p" | bc -l)"
done
echo "($N tasks, -j 2, median of $REPS runs; ratios are throughput relative to parallelagram's peers)"
