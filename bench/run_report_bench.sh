#!/usr/bin/env bash
# The report at scale (issue 16 item 3): a synthetic job of N tasks on J execution
# environments (tests/e2e/report_synth.py), `parallelagram report` on it (timed), then the page
# opened R times in headless Chromium (tests/e2e/report_browser.mjs: goto to the page's
# window.__report.ready, and the page's own render time). Prints one line per step.
#   bench/run_report_bench.sh [N=100000] [J=1000] [R=5]
# Environment: PG_BIN (default build/parallelagram), PG_CHROMIUM (/usr/bin/chromium).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000} j=${2:-1000} r=${3:-5}
pg=${PG_BIN:-$src/build/parallelagram}
tmp=$(mktemp -d /tmp/pg_report_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 "$src/tests/e2e/report_synth.py" "$tmp/state" synth --tasks "$n" --jobs "$j" >/dev/null
echo "state dir: $(du -sh "$tmp/state/jobs/synth" | cut -f1) ($n tasks, $j environments)"
t0=$(date +%s%N)
"$pg" report --state-dir "$tmp/state" synth -o "$tmp/report.html" >/dev/null
t1=$(date +%s%N)
echo "parallelagram report: $(( (t1 - t0) / 1000000 )) ms, page $(stat -c %s "$tmp/report.html") bytes"
for i in $(seq "$r"); do
  PG_NODE_MODULES="$src/tests/node/node_modules" node "$src/tests/e2e/report_browser.mjs" \
    "$tmp/report.html" --hover 5000 |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print("open %d: %d ms to ready (page render %d ms), %d bars, %d rows, errors %d" % ('"$i"', j["load_ms"], j["render_ms"], j["bars"], j["rows"], len(j["console_errors"])))'
done
