#!/usr/bin/env python3
"""The driver inside a Lambda function (issue 17 section 4).

1. `env -i PATH=/usr/bin:/bin parallelagram run -- echo hi ::: a` (no HOME, no
   XDG_STATE_HOME) runs, recording the job under $TMPDIR with a one-line notice.
2. The driver itself runs as a function in local-lambda: its zip holds a copy of the
   parallelagram binary and a shell `bootstrap` (the Runtime API loop, with curl) that runs
   `parallelagram run --backend aws` for each event. It has no HOME and no config file: the
   worker function and bucket come from PARALLELAGRAM_FUNCTION / PARALLELAGRAM_BUCKET in its
   Environment, the role's credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY as
   local-lambda sets them for every function (as Lambda does), and the endpoints from
   AWS_ENDPOINT_URL* (moto for S3, the same local-lambda for Lambda, signatures enforced by
   both). The test invokes it and checks that the tasks ran on the worker function and that
   their results came back in the response.
"""
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, PgRunner  # noqa: E402
from moto_fixture import AwsStandIns  # noqa: E402

import botocore.config  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()
pg = PgRunner(PG)

NOTICE = "neither XDG_STATE_HOME nor HOME is set: jobs are recorded in "

# The driver function's bootstrap: one `parallelagram run --backend aws` per event. The event
# is a JSON list of words; each word is one task, which prints the name of the function that
# ran it. The response holds the driver's exit status, stdout and stderr (base64).
BOOTSTRAP = r"""#!/bin/sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
scratch=${TMPDIR:-/tmp}/driver
mkdir -p "$scratch"
while :; do
  curl -sS -D "$scratch/headers" -o "$scratch/event" "$api/next" || exit 1
  id=$(tr -d '\r' < "$scratch/headers" | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p')
  words=$(tr -d '[]",' < "$scratch/event")
  "$here/parallelagram" run --backend aws -k -- \
      sh -c 'echo "$AWS_LAMBDA_FUNCTION_NAME:$1"' _ {} ::: $words \
      > "$scratch/out" 2> "$scratch/err"
  rc=$?
  printf '{"rc":%d,"home":"%s","stdout":"%s","stderr":"%s"}' "$rc" "${HOME-unset}" \
      "$(base64 -w0 < "$scratch/out")" "$(base64 -w0 < "$scratch/err")" > "$scratch/response"
  curl -sS -X POST --data-binary "@$scratch/response" "$api/$id/response" > /dev/null
done
"""


def driver_zip(work):
    """bootstrap + a copy of the binary, without its debug info (the ASan build's is too big
    for Lambda's 50 MB upload otherwise)."""
    copy = os.path.join(work, "parallelagram")
    if shutil.which("strip") is None or subprocess.run(
            ["strip", "--strip-debug", "-o", copy, PG]).returncode != 0:
        shutil.copy(PG, copy)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("bootstrap", BOOTSTRAP.encode()), ("parallelagram", open(copy, "rb").read())):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def without_home(work):
    """1: the exact command of the issue, with TMPDIR pointing into the test's directory."""
    tmp = os.path.join(work, "tmp")
    os.makedirs(tmp)
    p = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", "TMPDIR=" + tmp, PG, "run", "--",
                        "echo", "hi", ":::", "a"], capture_output=True, text=True, timeout=120)
    root = os.path.join(tmp, "parallelagram-%d" % os.geteuid())
    check(p.returncode == 0 and p.stdout == "hi a\n",
          "no HOME, no XDG_STATE_HOME: run works", p.stdout + p.stderr)
    notice = [line for line in p.stderr.splitlines() if NOTICE in line]
    check(len(notice) == 1 and root in notice[0], "one notice naming the state directory",
          p.stderr)
    check(os.path.isdir(os.path.join(root, "jobs")) and len(os.listdir(os.path.join(root, "jobs"))) == 1,
          "the job is recorded under $TMPDIR", str(os.listdir(root)) if os.path.isdir(root) else "")
    check(oct(os.stat(root).st_mode & 0o777) == "0o700", "the state directory is private")


def main():
    work = tempfile.mkdtemp(prefix="pg-driver-in-lambda-")
    without_home(work)
    zip_bytes = driver_zip(work)
    if len(zip_bytes) > 50 * 1024 * 1024:
        print("skipped: the driver zip is %d bytes, over Lambda's 50 MB upload" % len(zip_bytes))
        return 77
    with AwsStandIns(PG, work, concurrency=200) as si:
        env, secret = si.env, si.moto.secret_access_key
        try:
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-drv",
                              "--create-bucket", "--reserved-concurrency", "10", "--no-logs")
            check(rc == 0, "the worker function is deployed", out + err)
            lam = si.client("lambda", config=botocore.config.Config(
                read_timeout=300, retries={"max_attempts": 1}))
            iam = si.client("iam")
            role = iam.get_role(RoleName="parallelagram-pgw")["Role"]["Arn"]
            lam.create_function(
                FunctionName="pg-driver", Runtime="provided.al2023", Handler="bootstrap",
                Role=role, Code={"ZipFile": zip_bytes}, MemorySize=2048, Timeout=300,
                Environment={"Variables": {
                    "PARALLELAGRAM_FUNCTION": "pgw",
                    "PARALLELAGRAM_BUCKET": "pg-drv",
                    # Lambda's own endpoint needs no setting on AWS; here it is local-lambda.
                    "AWS_ENDPOINT_URL_LAMBDA": si.ll.endpoint,
                }})
            lam.get_waiter("function_active_v2").wait(FunctionName="pg-driver")
            words = ["a", "b", "c", "d"]
            r = lam.invoke(FunctionName="pg-driver", Payload=json.dumps(words))
            raw = r["Payload"].read()
            check(r.get("FunctionError") is None, "the driver function answers", raw[-3000:])
            res = json.loads(raw)
            stdout = base64.b64decode(res["stdout"]).decode()
            stderr = base64.b64decode(res["stderr"]).decode()
            print("driver's stderr:\n" + stderr)
            check(res["home"] == "unset", "the driver function has no HOME", res["home"])
            check(res["rc"] == 0, "the driver inside Lambda exits 0", stderr)
            check(stdout == "".join("pgw:%s\n" % w for w in words),
                  "the tasks ran on the worker function and their results came back",
                  stdout + stderr)
            check(sum(NOTICE in line for line in stderr.splitlines()) == 1,
                  "the driver said once where its state went", stderr)
            check.no_secret(stdout + stderr, secret, "no secret in the driver's output")
        finally:
            pg.add(si.close())
    check.no_secret(pg.printed(), secret)
    shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
