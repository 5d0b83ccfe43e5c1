#!/usr/bin/env bash
# A first job on the embedded local Lambda backend: no AWS account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-results
rm -rf "$out"
echo '$ build/parallelagram run --results demo-results -k -- sh -c '"'"'echo "{} has $(printf %s "{}" | wc -c) letters"'"'"' ::: alpha beta gamma delta epsilon'
build/parallelagram run --results "$out" -k --shell -- 'echo "{} has $(printf %s {} | wc -c) letters"' ::: alpha beta gamma delta epsilon
echo
echo "Results, one JSON line per task, in $out/results.jsonl:"
head -n 2 "$out/results.jsonl"
