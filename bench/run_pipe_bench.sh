#!/usr/bin/env bash
# --pipe and --pipe-part on the embedded local backend against GNU parallel's, in the same run:
# one file of SIZE_MB (default 1024) of ~100-byte lines, `wc -l` per block, -j 2, --block BLOCK
# (default 10M). Prints each command's median wall time over REPS runs, throughput, the ratio
# (GNU parallel's time / ours: above 1 means we are faster) and our driver's peak RSS for --pipe.
# Every run's line counts are checked to add up to the file's.
# Usage: bench/run_pipe_bench.sh [SIZE_MB] [REPS] [BLOCK]   (needs the release build:
#   cmake --preset release && cmake --build --preset release)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
REPS=${2:-3}
BLOCK=${3:-10M}
PG=${PG_BIN:-build/parallelagram}
[ -x "$PG" ] || { echo "build the release CLI first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
command -v parallel > /dev/null || { echo "GNU parallel is needed (apt-get install parallel)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
big="$tmp/big.txt"
python3 - "$big" "$SIZE_MB" <<'EOF'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
line = b"%09d " + b"acgt" * 22 + b"\n"  # 99 bytes
chunk = b"".join(line % i for i in range(100000))
with open(path, "wb") as f:
    left = mb * 1024 * 1024
    while left > 0:
        f.write(chunk[:left])
        left -= len(chunk)
EOF
# Whole lines only (the last chunk may have been cut).
python3 - "$big" <<'EOF'
import os, sys
p = sys.argv[1]
with open(p, "rb+") as f:
    f.seek(-200, os.SEEK_END)
    tail = f.read()
    f.truncate(os.path.getsize(p) - (len(tail) - tail.rfind(b"\n") - 1))
EOF
lines=$(wc -l < "$big")
bytes=$(stat -c %s "$big")

# Runs "$@" REPS times; prints the median wall time (s). Each run's `wc -l` outputs must add up.
median() {
  local ts=()
  for _ in $(seq "$REPS"); do
    local t0 t1 sum
    t0=$(date +%s.%N)
    "$@" > "$tmp/out" 2> "$tmp/err" || { echo "failed: $*" >&2; cat "$tmp/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    sum=$(awk '{s += $1} END {print s}' "$tmp/out")
    [ "$sum" = "$lines" ] || { echo "wrong line count $sum (want $lines): $*" >&2; exit 1; }
    ts+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

gnu_pipe() { parallel --will-cite -j 2 --pipe --block "$BLOCK" wc -l < "$big"; }
pg_pipe() { "$PG" run -q -j 2 --state-dir "$tmp/state" --pipe --block "$BLOCK" -- wc -l < "$big"; }
gnu_part() { parallel --will-cite -j 2 --pipe-part --block "$BLOCK" -a "$big" wc -l; }
pg_part() { "$PG" run -q -j 2 --state-dir "$tmp/state" --pipe-part --block "$BLOCK" -a "$big" -- wc -l; }

echo "input: $bytes bytes, $lines lines; --block $BLOCK; -j 2; median of $REPS; $(nproc) cores"
t_gp=$(median gnu_pipe); t_pp=$(median pg_pipe)
t_gq=$(median gnu_part); t_pq=$(median pg_part)
mbps() { echo "scale=0; $bytes / 1048576 / $1" | bc -l; }
printf '%-36s %8.2f s  %5s MB/s\n' "GNU parallel --pipe" "$t_gp" "$(mbps "$t_gp")"
printf '%-36s %8.2f s  %5s MB/s\n' "parallelagram --pipe" "$t_pp" "$(mbps "$t_pp")"
printf '%-36s %8.2f s  %5s MB/s\n' "GNU parallel --pipe-part" "$t_gq" "$(mbps "$t_gq")"
printf '%-36s %8.2f s  %5s MB/s\n' "parallelagram --pipe-part" "$t_pq" "$(mbps "$t_pq")"
printf 'ratio --pipe (GNU / ours):      %.2fx\n' "$(echo "$t_gp / $t_pp" | bc -l)"
printf 'ratio --pipe-part (GNU / ours): %.2fx\n' "$(echo "$t_gq / $t_pq" | bc -l)"
/usr/bin/time -f "%M" -o "$tmp/rss" "$PG" run -q -j 2 --state-dir "$tmp/state" --pipe \
  --block "$BLOCK" -- wc -l < "$big" > /dev/null
echo "parallelagram --pipe driver peak RSS: $(( $(cat "$tmp/rss") / 1024 )) MB"
