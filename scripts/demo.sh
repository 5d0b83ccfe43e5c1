#!/usr/bin/env bash
# A first job on the embedded local Lambda backend: no AWS account needed.
# Every task below runs in its own execution environment of the embedded local Lambda, through
# the real worker (build/bootstrap), exactly as it would on AWS Lambda.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-results
rm -rf "$out"
job="demo-$(date +%Y%m%d-%H%M%S)-$$"
show() { printf '\n$'; printf ' %q' "$@"; printf '\n'; "$@"; }

echo "1. One task per input: every word gets its letters counted (shell command line, -k keeps"
echo "   the output in input order; --results keeps every task's stdout, stderr and result)."
show build/parallelagram run --job-id "$job" --results "$out" -k --shell -- \
  'echo "{} has $(printf %s {} | wc -c) letters"' ::: alpha beta gamma delta epsilon

echo
echo "2. Two input sources make every combination (GNU parallel's cartesian product):"
show build/parallelagram run -k -- echo '{1}-{2}' ::: a b c ::: 1 2

echo
echo "3. The results, one JSON line per task, in $out/results.jsonl (first two):"
head -n 2 "$out/results.jsonl"

echo
echo "4. Every job is recorded in the state directory; list them and re-read one:"
show build/parallelagram jobs
show build/parallelagram results "$job"
