#!/usr/bin/env bash
# The README's demo (scripts/demo.sh) runs a real multi-input job on the embedded local
# backend and shows its results: checked against the real binary ($PG_BIN).
set -euo pipefail
src="${PG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# The demo must not touch the caller's state directory.
export XDG_STATE_HOME="$(mktemp -d)"
trap 'rm -f "$out"; rm -rf "$XDG_STATE_HOME"' EXIT
PG_BIN="${PG_BIN:?}" timeout 120 "$src/scripts/demo.sh" > "$out" 2>&1 || { cat "$out"; echo "FAIL: demo.sh exited $?"; exit 1; }
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }
summary=$'death: 2 lines, 12 words\nfog: 2 lines, 7 words\nnobody: 3 lines, 10 words\nred wheelbarrow: 4 lines, 8 words'
# Printed by the run (in input order, -k) and again by `results demo --stdout`.
[ "$(grep -c -F -x -f <(printf '%s\n' "$summary") "$out")" = 8 ] || fail "the four task summaries, twice"
grep -A4 -F -x -e "$(printf '%s\n' "$summary" | head -1)" "$out" | head -4 | diff - <(printf '%s\n' "$summary") >/dev/null \
  || fail "task output not in input order"
grep -q -x ' *2 *12' "$out" || fail "the returned file results/1/poems/death.count"
grep -q -E '^demo +[0-9T:-]+Z finished +4/4 +0 ' "$out" || fail "'parallelagram jobs' lists the demo job"
[ "$(grep -c -E '^ +[1-4]  succeeded +0 ' "$out")" = 4 ] || fail "'parallelagram results demo' shows four successes"
[ -z "$(ls -A "$XDG_STATE_HOME")" ] || fail "the demo wrote to the caller's state directory"
echo "PASS: demo"
