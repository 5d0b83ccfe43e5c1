#!/usr/bin/env bash
# awscli (AWS's command-line client, v1) drives `parallelagram local-lambda`: create a
# function from a zip, invoke it (sync with tail logs, Event, DryRun), the concurrency and
# account APIs, and an unknown function's error.
set -euo pipefail
PG_BIN=${PG_BIN:-build/parallelagram}
work=$(mktemp -d)
ll_pid=""
cleanup() {
  if [ -n "$ll_pid" ]; then kill -TERM "$ll_pid" 2>/dev/null || true; wait "$ll_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=AKIDCLI AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""

mkfifo "$work/out"
"$PG_BIN" local-lambda --port 0 --concurrency 20 \
  --access-key-id AKIDCLI --secret-access-key secret >"$work/out" &
ll_pid=$!
read -r line <"$work/out"
case "$line" in "local-lambda listening on http://127.0.0.1:"*) ;; *) fail "first line: $line" ;; esac
ep=${line##* }

# A runtime in sh + curl: echoes each event back.
mkdir "$work/pkg"
cat >"$work/pkg/bootstrap" <<'RT'
#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  curl -sS -D "$TMPDIR/h" -o "$TMPDIR/e" "$api/invocation/next" || exit 1
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$TMPDIR/h" | tr -d '\r' | cut -d' ' -f2)
  echo "handling $id"
  curl -sS -o /dev/null -X POST --data-binary "@$TMPDIR/e" "$api/invocation/$id/response"
done
RT
chmod 755 "$work/pkg/bootstrap"
(cd "$work/pkg" && zip -q "$work/fn.zip" bootstrap)

aws lambda create-function --endpoint-url "$ep" --function-name clifn \
  --runtime provided.al2023 --role arn:aws:iam::123456789012:role/r --handler h \
  --timeout 10 --memory-size 512 --zip-file "fileb://$work/fn.zip" >"$work/create.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["FunctionName"]=="clifn" and c["MemorySize"]==512 and c["State"]=="Pending", c' "$work/create.json"
# Pending for local-lambda's --state-delay (1 s by default), as on Lambda: awscli's waiter.
aws lambda wait function-active-v2 --endpoint-url "$ep" --function-name clifn || fail "wait function-active-v2"
aws lambda get-function-configuration --endpoint-url "$ep" --function-name clifn \
  | grep -q '"State": "Active"' || fail "Active after the waiter"

aws lambda invoke --endpoint-url "$ep" --function-name clifn --payload '{"k":"v"}' \
  --log-type Tail "$work/resp.json" >"$work/inv.json"
python3 - "$work" <<'PY'
import base64, json, sys
w = sys.argv[1]
inv = json.load(open(w + "/inv.json"))
assert inv["StatusCode"] == 200 and inv["ExecutedVersion"] == "$LATEST", inv
assert json.load(open(w + "/resp.json")) == {"k": "v"}
log = base64.b64decode(inv["LogResult"]).decode()
assert "START RequestId:" in log and "handling " in log and "REPORT RequestId:" in log, log
PY

aws lambda invoke --endpoint-url "$ep" --function-name clifn --invocation-type Event \
  --payload '{}' "$work/ev.json" | grep -q '"StatusCode": 202' || fail "Event status"
aws lambda invoke --endpoint-url "$ep" --function-name clifn --invocation-type DryRun \
  "$work/dry.json" | grep -q '"StatusCode": 204' || fail "DryRun status"

aws lambda put-function-concurrency --endpoint-url "$ep" --function-name clifn \
  --reserved-concurrent-executions 3 | grep -q '"ReservedConcurrentExecutions": 3' || fail put
aws lambda get-function-concurrency --endpoint-url "$ep" --function-name clifn \
  | grep -q '"ReservedConcurrentExecutions": 3' || fail get-concurrency
aws lambda get-account-settings --endpoint-url "$ep" \
  | grep -q '"UnreservedConcurrentExecutions": 17' || fail account-settings
aws lambda delete-function-concurrency --endpoint-url "$ep" --function-name clifn
aws lambda update-function-configuration --endpoint-url "$ep" --function-name clifn \
  --timeout 20 | grep -q '"LastUpdateStatus": "InProgress"' || fail update-configuration
aws lambda wait function-updated-v2 --endpoint-url "$ep" --function-name clifn || fail "wait function-updated-v2"
aws lambda get-function-configuration --endpoint-url "$ep" --function-name clifn \
  | grep -q '"LastUpdateStatus": "Successful"' || fail "Successful after the waiter"
aws lambda get-function-configuration --endpoint-url "$ep" --function-name clifn \
  | grep -q '"Timeout": 20' || fail "the update applied"
aws lambda get-function --endpoint-url "$ep" --function-name clifn \
  | grep -q '"FunctionName": "clifn"' || fail get-function

set +e
aws lambda invoke --endpoint-url "$ep" --function-name nosuch "$work/x.json" 2>"$work/err.txt"
rc=$?
set -e
[ "$rc" != 0 ] || fail "unknown function succeeded"
grep -q "ResourceNotFoundException" "$work/err.txt" || fail "error: $(cat "$work/err.txt")"
grep -q "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nosuch" "$work/err.txt" \
  || fail "message: $(cat "$work/err.txt")"

set +e
AWS_SECRET_ACCESS_KEY=wrong aws lambda get-account-settings --endpoint-url "$ep" 2>"$work/err2.txt" >/dev/null
rc=$?
set -e
[ "$rc" != 0 ] && grep -q InvalidSignatureException "$work/err2.txt" || fail "bad signature: $(cat "$work/err2.txt")"

aws lambda delete-function --endpoint-url "$ep" --function-name clifn
echo ok
