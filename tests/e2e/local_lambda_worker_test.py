#!/usr/bin/env python3
"""The real worker ($PG_BOOTSTRAP) runs inside `parallelagram local-lambda`, driven by
boto3: {"argv":["echo","hi"]}, warm reuse, a task timeout reported as a result, an event
without argv, not JSON, a nonexistent program (clear errors), the no-op kind, output over
the 6 MB response limit, the worker crashing mid-task or unable to start (init error), a
bootstrap that cannot execute, and the worker's cold start."""
import json
import os
import re
import sys
import base64

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lltest import PG_BOOTSTRAP, LocalLambda, check, make_zip  # noqa: E402


def main():
    with open(PG_BOOTSTRAP, "rb") as f:
        zip_bytes = make_zip({"bootstrap": (f.read(), 0o755)})
    with LocalLambda() as ll:
        lam = boto3.client("lambda", endpoint_url=ll.endpoint, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="y",
                           config=Config(retries={"total_max_attempts": 1}, read_timeout=60))
        lam.create_function(FunctionName="worker", Runtime="provided.al2023",
                            Role="arn:aws:iam::123456789012:role/r", Handler="worker",
                            Code={"ZipFile": zip_bytes}, Timeout=10,
                            MemorySize=1024)  # room for the sanitizer build
        r = lam.invoke(FunctionName="worker", Payload=b'{"argv":["echo","hi"]}', LogType="Tail")
        check(r["StatusCode"] == 200 and "FunctionError" not in r, r)
        res = json.loads(r["Payload"].read())
        check(res["exit_code"] == 0 and res["stdout"] == "hi\n", res)
        check(res["cold"] is True, res)
        log = base64.b64decode(r["LogResult"]).decode()
        m = re.search(r"Init Duration: ([0-9.]+) ms", log)
        check(m is not None, log)
        print("worker cold start (spawn to first GET /next, ASan build): %s ms" % m.group(1))

        warm = json.loads(lam.invoke(FunctionName="worker",
                                     Payload=b'{"argv":["sh","-c","echo $TMPDIR"]}')
                          ["Payload"].read())
        check(warm["cold"] is False and warm["exit_code"] == 0, warm)

        t = json.loads(lam.invoke(FunctionName="worker",
                                  Payload=b'{"argv":["sleep","30"],"timeout_ms":300}')
                       ["Payload"].read())
        check(t["outcome"] == "timed_out", t)

        noargv = lam.invoke(FunctionName="worker", Payload=b'{"kind":"process"}')
        body = json.loads(noargv["Payload"].read())
        check(noargv.get("FunctionError") == "Unhandled" and
              body["errorType"] == "Parallelagram.InvalidTaskEvent", body)

        missing = json.loads(lam.invoke(FunctionName="worker",
                                        Payload=b'{"argv":["/nonexistent/prog"]}')
                             ["Payload"].read())
        check(missing["outcome"] == "failed" and missing["exit_code"] == 127, missing)

        again = json.loads(lam.invoke(FunctionName="worker", Payload=b'{"argv":["true"]}')
                           ["Payload"].read())
        check(again["exit_code"] == 0, again)

        # Not JSON at all: the worker's error; the same environment serves on.
        notjson = lam.invoke(FunctionName="worker", Payload=b'"just a string"')
        body = json.loads(notjson["Payload"].read())
        check(notjson.get("FunctionError") == "Unhandled" and
              body["errorType"] == "Parallelagram.InvalidTaskEvent", body)

        # The built-in no-op kind: no process.
        noop = json.loads(lam.invoke(FunctionName="worker",
                                     Payload=b'{"kind":"noop","stdin":"pong"}')["Payload"].read())
        check(noop["outcome"] == "succeeded" and noop["stdout"] == "pong" and
              noop["cold"] is False, noop)

        # Output over Lambda's 6 MB response limit: cut to fit and marked truncated.
        bigr = lam.invoke(FunctionName="worker", Payload=json.dumps(
            {"argv": ["sh", "-c", "head -c 8000000 /dev/zero | tr '\\0' x"],
             "max_output_bytes": 9000000}).encode())
        raw = bigr["Payload"].read()
        big = json.loads(raw)
        check("exit_code" in big, (bigr.get("FunctionError"), raw[:400]))
        check(big["exit_code"] == 0 and big["stdout_truncated"] is True and
              big["stdout_bytes"] == 8000000 and 5000000 < len(big["stdout"]) < 6291456,
              {k: v for k, v in big.items() if k != "stdout"})

        # The worker crashes mid-task (its task kills it): AWS's Runtime.ExitError, and a
        # fresh environment serves the next invoke.
        crash = lam.invoke(FunctionName="worker",
                           Payload=b'{"argv":["sh","-c","kill -9 $PPID; sleep 5"]}')
        body = json.loads(crash["Payload"].read())
        check(crash.get("FunctionError") == "Unhandled" and
              body["errorType"] == "Runtime.ExitError" and
              body["errorMessage"].endswith("Runtime exited with error: signal: killed"), body)
        fresh = json.loads(lam.invoke(FunctionName="worker", Payload=b'{"argv":["true"]}')
                           ["Payload"].read())
        check(fresh["exit_code"] == 0 and fresh["cold"] is True, fresh)

        # The worker cannot start (its TMPDIR is not writable): it posts /runtime/init/error.
        lam.create_function(FunctionName="noinit", Runtime="provided.al2023",
                            Role="arn:aws:iam::123456789012:role/r", Handler="worker",
                            Code={"ZipFile": zip_bytes}, Timeout=10,
                            Environment={"Variables": {"TMPDIR": "/nonexistent/tmp"}})
        ni = lam.invoke(FunctionName="noinit", Payload=b'{"argv":["true"]}', LogType="Tail")
        body = json.loads(ni["Payload"].read())
        check(ni.get("FunctionError") == "Unhandled" and
              body["errorType"] == "Parallelagram.InitError" and
              "/nonexistent/tmp" in body["errorMessage"], body)
        log = base64.b64decode(ni["LogResult"]).decode()
        check("Phase: init\tStatus: error\tError Type: Parallelagram.InitError" in log, log)

        # A zip whose bootstrap crashes at start (not an ELF for this machine).
        lam.create_function(FunctionName="badexe", Runtime="provided.al2023",
                            Role="arn:aws:iam::123456789012:role/r", Handler="worker",
                            Code={"ZipFile": make_zip({"bootstrap": (b"\x7fELF garbage", 0o755)})})
        be = lam.invoke(FunctionName="badexe", Payload=b'{"argv":["true"]}')
        body = json.loads(be["Payload"].read())
        check(be.get("FunctionError") == "Unhandled" and body["errorType"] in
              ("Runtime.ExitError", "Runtime.InvalidEntrypoint"), body)
        last = json.loads(lam.invoke(FunctionName="worker", Payload=b'{"argv":["echo","end"]}')
                          ["Payload"].read())
        check(last["stdout"] == "end\n", last)
    print("ok")


if __name__ == "__main__":
    main()
