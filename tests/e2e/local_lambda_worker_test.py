#!/usr/bin/env python3
"""The real worker ($PG_BOOTSTRAP) runs inside `parallelagram local-lambda`, driven by
boto3: {"argv":["echo","hi"]}, warm reuse, a task timeout reported as a result, an event
without argv and a nonexistent program (clear errors), and the worker's cold start."""
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
                            Code={"ZipFile": zip_bytes}, Timeout=10)
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
    print("ok")


if __name__ == "__main__":
    main()
