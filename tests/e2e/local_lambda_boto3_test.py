#!/usr/bin/env python3
"""boto3 (AWS's Python SDK) drives `parallelagram local-lambda`: the control plane,
RequestResponse/Event/DryRun invokes with tail logs, concurrency APIs, AWS's error shapes
(404, 413, 429, 400) and SigV4 verification (missing, unknown key, bad signature)."""
import base64
import json
import os
import sys
import time

import boto3
import botocore
from botocore import UNSIGNED
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lltest import PY_RUNTIME, LocalLambda, check, make_zip, py_runtime_zip  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
CFG = Config(retries={"total_max_attempts": 1}, read_timeout=60)


def client(endpoint, key="AKIDEXAMPLE", secret="secret", config=CFG):
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=config)


def expect_error(fn, code, status=None, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        check(e.response["Error"]["Code"] == code, "%s: got %s" % (code, e.response["Error"]))
        if status is not None:
            check(e.response["ResponseMetadata"]["HTTPStatusCode"] == status,
                  "%s status %s" % (code, e.response["ResponseMetadata"]["HTTPStatusCode"]))
        return e.response
    raise AssertionError("expected %s" % code)


def control_and_invoke(lam):
    zip_bytes = py_runtime_zip()
    cfg = lam.create_function(FunctionName="fn", Runtime="provided.al2023", Role=ROLE,
                              Handler="index.handler", Code={"ZipFile": zip_bytes},
                              Timeout=2, MemorySize=256,
                              Environment={"Variables": {"GREETING": "hello"}})
    check(cfg["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn", cfg)
    check(cfg["State"] == "Pending" and cfg["LastUpdateStatus"] == "InProgress" and
          cfg["Runtime"] == "provided.al2023", cfg)
    check(cfg["CodeSize"] == len(zip_bytes), cfg)
    check(cfg["Architectures"] == ["x86_64"] and cfg["EphemeralStorage"] == {"Size": 512}, cfg)
    expect_error(lam.invoke, "ResourceConflictException", 409, FunctionName="fn", Payload=b"{}")
    lam.get_waiter("function_active_v2").wait(FunctionName="fn",
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    check(lam.get_function_configuration(FunctionName="fn")["State"] == "Active", "Active")
    got = lam.get_function(FunctionName="fn")
    check(got["Configuration"]["MemorySize"] == 256, got)
    conf = lam.get_function_configuration(FunctionName="fn")
    check(conf["Environment"]["Variables"] == {"GREETING": "hello"}, conf)
    expect_error(lam.create_function, "ResourceConflictException", 409, FunctionName="fn",
                 Runtime="provided.al2023", Role=ROLE, Handler="h", Code={"ZipFile": zip_bytes})

    r = lam.invoke(FunctionName="fn", Payload=json.dumps({"log": "hi from the function"}),
                   LogType="Tail")
    check(r["StatusCode"] == 200 and json.loads(r["Payload"].read()) == "hi from the function", r)
    check(r["ExecutedVersion"] == "$LATEST", r)
    log = base64.b64decode(r["LogResult"]).decode()
    rid = r["ResponseMetadata"]["RequestId"]
    check("START RequestId: " + rid in log and "hi from the function" in log and
          "REPORT RequestId: " + rid in log, log)
    env = lam.invoke(FunctionName="fn", Payload=json.dumps({"env": "GREETING"}))
    check(json.loads(env["Payload"].read()) == "hello", "function Environment")
    for name, want in [("AWS_LAMBDA_FUNCTION_NAME", "fn"), ("AWS_REGION", "us-east-1"),
                       ("_HANDLER", "index.handler"), ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
                       ("AWS_ACCESS_KEY_ID", "AKIDPASSED"), ("AWS_SECRET_ACCESS_KEY", "x"),
                       ("AWS_SESSION_TOKEN", "TOKENPASSED"),
                       ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/all"),
                       ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1/s3"),
                       ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:1/lambda"),
                       ("NOT_PASSED_THROUGH", None)]:
        v = json.loads(lam.invoke(FunctionName="fn",
                                  Payload=json.dumps({"env": name}))["Payload"].read())
        check(v == want, "%s=%r, want %r" % (name, v, want))
    root = json.loads(lam.invoke(FunctionName="fn",
                                 Payload=json.dumps({"env": "LAMBDA_TASK_ROOT"}))["Payload"].read())
    check(os.path.isfile(os.path.join(root, "bootstrap")), "LAMBDA_TASK_ROOT=%r" % root)
    api = json.loads(lam.invoke(FunctionName="fn", Payload=json.dumps(
        {"env": "AWS_LAMBDA_RUNTIME_API"}))["Payload"].read())
    check(api.startswith("127.0.0.1:") and int(api.split(":")[1]) > 0, "AWS_LAMBDA_RUNTIME_API")
    meta = json.loads(lam.invoke(FunctionName="fn",
                                 Payload=json.dumps({"meta": 1}))["Payload"].read())
    check(meta["arn"] == cfg["FunctionArn"], meta)
    check(0 < meta["deadline"] - time.time() * 1000 <= 2100, meta)

    # Function error, Event, DryRun.
    fe = lam.invoke(FunctionName="fn", Payload=json.dumps({"fail": "boom"}))
    check(fe["FunctionError"] == "Unhandled", fe)
    check(json.loads(fe["Payload"].read()) == {"errorType": "HandlerError",
                                               "errorMessage": "boom"}, "error body")
    ev = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b'{"echo":1}')
    check(ev["StatusCode"] == 202, ev)
    dry = lam.invoke(FunctionName="fn", InvocationType="DryRun")
    check(dry["StatusCode"] == 204, dry)

    # Timeout: AWS's message, and the environment is replaced.
    to = lam.invoke(FunctionName="fn", Payload=json.dumps({"sleep": 10}))
    body = json.loads(to["Payload"].read())
    check(to["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout", body)
    check(body["errorMessage"].startswith("RequestId: %s Error: Task timed out after 2."
                                          % to["ResponseMetadata"]["RequestId"]), body)
    check(json.loads(lam.invoke(FunctionName="fn", Payload=b'{"echo":7}')["Payload"].read()) == 7,
          "after a timeout")
    # A crash mid-task.
    cr = lam.invoke(FunctionName="fn", Payload=json.dumps({"exit": 3}))
    body = json.loads(cr["Payload"].read())
    check(body == {"errorType": "Runtime.ExitError",
                   "errorMessage": "RequestId: %s Error: Runtime exited with error: exit status 3"
                   % cr["ResponseMetadata"]["RequestId"]}, body)

    # Updates.
    up = lam.update_function_configuration(FunctionName="fn", Timeout=5,
                                           Environment={"Variables": {"GREETING": "bye"}})
    check(up["LastUpdateStatus"] == "InProgress", up)
    expect_error(lam.update_function_configuration, "ResourceConflictException", 409,
                 FunctionName="fn", Timeout=6)
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn",
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    check(json.loads(lam.invoke(FunctionName="fn", Payload=json.dumps({"env": "GREETING"}))
                     ["Payload"].read()) == "bye", "updated Environment")
    shell = "#!/bin/sh\nexec python3 -c \"$(cat $LAMBDA_TASK_ROOT/rt.py)\"\n"
    new_zip = make_zip({"bootstrap": (shell, 0o755),
                        "rt.py": (PY_RUNTIME, 0o644)})
    up = lam.update_function_code(FunctionName="fn", ZipFile=new_zip)
    check(up["CodeSize"] == len(new_zip), up)
    check(json.loads(lam.invoke(FunctionName="fn", Payload=b'{"echo":"v2"}')["Payload"].read())
          == "v2", "after UpdateFunctionCode")
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn",
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    listed = lam.list_functions()["Functions"]
    check([f["FunctionName"] for f in listed] == ["fn"], listed)

    # Architectures and EphemeralStorage are kept; an architecture this machine cannot run
    # is refused.
    big = lam.create_function(FunctionName="big", Runtime="provided.al2023", Role=ROLE,
                              Handler="h", Code={"ZipFile": zip_bytes},
                              Architectures=["x86_64"], EphemeralStorage={"Size": 2048})
    check(big["EphemeralStorage"] == {"Size": 2048} and big["Architectures"] == ["x86_64"], big)
    expect_error(lam.create_function, "InvalidParameterValueException", 400, FunctionName="arm",
                 Runtime="provided.al2023", Role=ROLE, Handler="h", Code={"ZipFile": zip_bytes},
                 Architectures=["arm64"])
    # Paging as Lambda pages: 50 a page unless MaxItems; boto3's paginator follows NextMarker.
    names = {"fn", "big"}
    for i in range(110):
        n = "page%03d" % i
        lam.create_function(FunctionName=n, Runtime="provided.al2023", Role=ROLE, Handler="h",
                            Code={"ZipFile": zip_bytes})
        names.add(n)
    first = lam.list_functions()
    check(len(first["Functions"]) == 50 and "NextMarker" in first, "a page of 50 and a marker")
    pages = list(lam.get_paginator("list_functions").paginate())
    check([len(p["Functions"]) for p in pages] == [50, 50, 12], [len(p["Functions"]) for p in pages])
    got = [f["FunctionName"] for p in pages for f in p["Functions"]]
    check(sorted(got) == sorted(names) and len(got) == len(set(got)), "each function once")
    small = list(lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 7}))
    check(len(small) == 16 and sum(len(p["Functions"]) for p in small) == 112, len(small))
    for n in names - {"fn"}:
        lam.delete_function(FunctionName=n)

    # Errors with AWS's shapes.
    e = expect_error(lam.invoke, "ResourceNotFoundException", 404, FunctionName="missing")
    check(e["Error"]["Message"] ==
          "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing", e)
    expect_error(lam.get_function, "ResourceNotFoundException", 404, FunctionName="missing")
    expect_error(lam.invoke, "RequestTooLargeException", 413, FunctionName="fn",
                 Payload=json.dumps("x" * (6 * 1024 * 1024)))
    expect_error(lam.invoke, "RequestTooLargeException", 413, FunctionName="fn",
                 InvocationType="Event", Payload=json.dumps("x" * (1024 * 1024)))
    expect_error(lam.invoke, "InvalidRequestContentException", 400, FunctionName="fn",
                 Payload=b"{not json")
    expect_error(lam.create_function, "InvalidParameterValueException", 400, FunctionName="nz",
                 Runtime="provided.al2023", Role=ROLE, Handler="h", Code={"ZipFile": b"not a zip"})
    expect_error(lam.create_function, "InvalidParameterValueException", 400, FunctionName="nb",
                 Runtime="provided.al2023", Role=ROLE, Handler="h",
                 Code={"ZipFile": make_zip({"bootstrap": ("x", 0o644)})})
    expect_error(lam.create_function, "InvalidParameterValueException", 400, FunctionName="py",
                 Runtime="python3.12", Role=ROLE, Handler="h", Code={"ZipFile": zip_bytes})

    # Concurrency APIs and throttling.
    acct = lam.get_account_settings()
    check(acct["AccountLimit"]["ConcurrentExecutions"] == 50, acct)
    check(acct["AccountUsage"]["FunctionCount"] == 1, acct)
    put = lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=0)
    check(put["ReservedConcurrentExecutions"] == 0, put)
    check(lam.get_function_concurrency(FunctionName="fn")["ReservedConcurrentExecutions"] == 0,
          "get concurrency")
    check(lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 50,
          "unreserved")
    t = expect_error(lam.invoke, "TooManyRequestsException", 429, FunctionName="fn")
    check(t["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded", t)
    check(t["ResponseMetadata"]["HTTPHeaders"].get("retry-after"), t)
    expect_error(lam.put_function_concurrency, "InvalidParameterValueException", 400,
                 FunctionName="fn", ReservedConcurrentExecutions=48)
    lam.delete_function_concurrency(FunctionName="fn")
    check("ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="fn"),
          "deleted concurrency")
    check(lam.invoke(FunctionName="fn", Payload=b"1")["StatusCode"] == 200, "after delete")

    # Asynchronous invocation settings.
    expect_error(lam.get_function_event_invoke_config, "ResourceNotFoundException", 404,
                 FunctionName="fn")
    eic = lam.put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=1,
                                               MaximumEventAgeInSeconds=600)
    check(eic["MaximumRetryAttempts"] == 1 and eic["MaximumEventAgeInSeconds"] == 600
          and eic["FunctionArn"].endswith(":function:fn:$LATEST")
          and hasattr(eic["LastModified"], "year"), eic)
    got = lam.get_function_event_invoke_config(FunctionName="fn")
    check(got["MaximumRetryAttempts"] == 1 and got["MaximumEventAgeInSeconds"] == 600, got)
    expect_error(lam.put_function_event_invoke_config, "ValidationException", 400,
                 FunctionName="fn", MaximumRetryAttempts=5)
    lam.delete_function_event_invoke_config(FunctionName="fn")
    expect_error(lam.get_function_event_invoke_config, "ResourceNotFoundException", 404,
                 FunctionName="fn")

    lam.delete_function(FunctionName="fn")
    expect_error(lam.get_function_configuration, "ResourceNotFoundException", 404,
                 FunctionName="fn")


def signatures(endpoint):
    good = client(endpoint, "AKIDLOCAL", "s3cr3t")
    zip_bytes = py_runtime_zip()
    good.create_function(FunctionName="sig", Runtime="provided.al2", Role=ROLE, Handler="h",
                         Code={"ZipFile": zip_bytes})
    r = good.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:sig",
                    Payload=b'{"echo":"signed"}')
    check(json.loads(r["Payload"].read()) == "signed", "signed invoke by ARN")
    check(good.get_account_settings()["AccountUsage"]["FunctionCount"] == 1, "signed GET")
    expect_error(client(endpoint, "AKIDLOCAL", "wrong").invoke, "InvalidSignatureException", 403,
                 FunctionName="sig")
    expect_error(client(endpoint, "AKIDOTHER", "s3cr3t").get_function,
                 "UnrecognizedClientException", 403, FunctionName="sig")
    unsigned = client(endpoint, config=CFG.merge(Config(signature_version=UNSIGNED)))
    expect_error(unsigned.get_account_settings, "MissingAuthenticationTokenException", 403)


def main():
    # As Lambda passes a role's credentials, local-lambda passes its own credentials and
    # AWS_ENDPOINT_URL* to function environments; nothing else of its environment.
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDPASSED", AWS_SECRET_ACCESS_KEY="x",
               AWS_SESSION_TOKEN="TOKENPASSED", AWS_ENDPOINT_URL="http://127.0.0.1:1/all",
               AWS_ENDPOINT_URL_S3="http://127.0.0.1:1/s3",
               AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:1/lambda", NOT_PASSED_THROUGH="no")
    with LocalLambda("--concurrency", "50", "--state-delay", "0.5", env=env) as ll:
        control_and_invoke(client(ll.endpoint))
    with LocalLambda("--access-key-id", "AKIDLOCAL", "--secret-access-key", "s3cr3t") as ll:
        signatures(ll.endpoint)
    print("ok")


if __name__ == "__main__":
    main()
