#!/usr/bin/env bash
# A first job on the embedded local Lambda backend: no AWS account needed.
# Every task runs in an execution environment of the embedded local Lambda, through the real
# worker (build/bootstrap), in its own scratch directory, exactly as it would on AWS Lambda:
# its input file is shipped to it (--transferfile) and the file it makes is brought back
# (--return). The job is recorded in a fresh state directory ($XDG_STATE_HOME), shown with
# `parallelagram jobs` and `parallelagram results`.
#   scripts/demo.sh            (PG_BIN=path/to/parallelagram to use another build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
PG="${PG_BIN:-$root/build/parallelagram}"
[ -x "$PG" ] || { echo "demo: $PG is missing; run scripts/setup.sh (or cmake --preset release && cmake --build --preset release) first" >&2; exit 1; }
demo="$(mktemp -d "${TMPDIR:-/tmp}/parallelagram-demo.XXXXXX")"
trap 'rm -rf "$demo"' EXIT
export XDG_STATE_HOME="$demo/state"  # a fresh state directory, so the demo's job is the only one
cd "$demo"
show() { printf '\n$'; printf ' %q' "$@"; printf '\n'; "$@"; }

mkdir poems
printf 'The fog comes\non little cat feet.\n' > poems/fog.txt
printf 'So much depends\nupon\na red wheel\nbarrow\n' > "poems/red wheelbarrow.txt"
printf 'Because I could not stop for Death\nHe kindly stopped for me\n' > poems/death.txt
printf 'I am nobody\nWho are you?\nAre you nobody too?\n' > poems/nobody.txt

echo "In $demo: four poems in poems/. One task per poem (its file shipped with --tf) counts"
echo "its lines and words into NAME.count, a file brought back with --return; -k prints the"
echo "tasks' output in input order."
task='wc -l -w < {} > {.}.count && read l w < {.}.count && printf "%s: %s lines, %s words\n" {/.} $l $w'
echo
echo "\$ parallelagram run -k --job-id demo --results results --tf {} --return {.}.count --shell -- \\"
echo "    '$task' \\"
echo "    ::: poems/*.txt"
"$PG" run -k --job-id demo --results results --tf {} --return {.}.count --shell -- "$task" ::: poems/*.txt

echo
echo "Each task's result is under results/<task#>/ (stdout, stderr, result.json, and the"
echo "returned file at its relative path); results/results.jsonl has one line per task:"
show ls results results/1 results/1/poems
show cat results/1/poems/death.count
show head -c 300 results/results.jsonl
echo "..."

echo
echo "The job is recorded in the state directory; list the jobs and print this one's results:"
pg() { printf '\n$ parallelagram'; printf ' %s' "$@"; printf '\n'; "$PG" "$@"; }
pg jobs
pg results demo
pg results demo --stdout
