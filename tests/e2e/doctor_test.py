#!/usr/bin/env python3
"""End-to-end test of `parallelagram doctor` against real servers we did not write
for STS and IAM (moto_server, signatures enforced) and against local-lambda with
signature checking on (same key as moto's test user) for Lambda.

Checks: exit 0 on a healthy setup with every source printed; the seed's pitfalls
as warnings; a wrong secret key, an unknown session token, a missing function and
a missing region each as one problem line (naming the credential source and
AWS's error code) with exit 1; no secret in any output.
"""
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
from e2e_util import Checks  # noqa: E402
from moto_fixture import AwsStandIns, LocalLambda  # noqa: E402

import botocore.config  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()
leaked_checks = []


def zip_with_bootstrap():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, "#!/bin/sh\nexit 1\n")
    return buf.getvalue()


def doctor(env, *args):
    p = subprocess.run([PG, "doctor", *args], env=env, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def main():
    all_output = []
    global leaked_checks
    work = tempfile.mkdtemp(prefix="pg-doctor-")
    with AwsStandIns(PG, work, concurrency=50) as si:
        moto, ll, env = si.moto, si.ll, si.env
        key, secret = moto.access_key_id, moto.secret_access_key
        try:
            iam = si.client("iam")
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            quiet = iam.create_role(RoleName="pg-quiet", AssumeRolePolicyDocument=json.dumps(trust))
            chatty = iam.create_role(RoleName="pg-chatty", AssumeRolePolicyDocument=json.dumps(trust))
            iam.put_role_policy(RoleName="pg-quiet", PolicyName="s3", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            iam.put_role_policy(RoleName="pg-chatty", PolicyName="logs", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": "*"}]}))

            lam = si.client("lambda", config=botocore.config.Config(retries={"max_attempts": 1}))
            code = {"ZipFile": zip_with_bootstrap()}
            lam.create_function(FunctionName="pg-good", Runtime="provided.al2023",
                                Role=quiet["Role"]["Arn"], Handler="x", Code=code,
                                MemorySize=1769, Timeout=900, Architectures=["x86_64"])
            lam.put_function_concurrency(FunctionName="pg-good", ReservedConcurrentExecutions=20)
            lam.create_function(FunctionName="pg-risky", Runtime="provided.al2023",
                                Role=chatty["Role"]["Arn"], Handler="x", Code=code)
            # Pending for local-lambda's --state-delay, as on Lambda: doctor would call that a
            # problem, rightly.
            for name in ("pg-good", "pg-risky"):
                lam.get_waiter("function_active_v2").wait(
                    FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

            rc, out = doctor(env, "--function", "pg-good", "-j", "10")
            all_output.append(out)
            check(rc == 0, "healthy setup exits 0", out)
            check("credentials: environment variables" in out, "credential source printed", out)
            check("****" + key[-4:] in out, "access key id masked to its last 4", out)
            check("region: us-east-1 (from AWS_REGION)" in out, "region source printed", out)
            check(("endpoint lambda: %s (from AWS_ENDPOINT_URL_LAMBDA)" % ll.endpoint) in out,
                  "lambda endpoint and source printed", out)
            check(("endpoint s3: %s (from AWS_ENDPOINT_URL)" % moto.endpoint) in out,
                  "s3 endpoint and source printed", out)
            check("endpoint iam:" in out and "endpoint sts:" in out, "iam and sts endpoints", out)
            check("user/pg-test" in out, "caller identity from STS", out)
            check("concurrency limit 50" in out, "account concurrency limit from Lambda", out)
            check("1769 MB, timeout 900 s, x86_64" in out, "function configuration", out)
            check("reserved concurrency 20" in out, "function reserved concurrency", out)
            check("role/pg-quiet" in out and "does not allow logs:CreateLogStream" in out,
                  "role and its logs permission", out)
            check("warning:" not in out, "no warnings on a healthy setup", out)

            rc, out = doctor(env, "--function", "pg-risky", "-j", "5000", "--no-logs")
            all_output.append(out)
            check(rc == 0, "warnings alone exit 0", out)
            check(out.count("warning:") == 3, "three warnings", out)
            check("no reserved concurrency" in out, "warns: no reserved concurrency", out)
            check("far below -j 5000" in out, "warns: account limit below -j", out)
            check("--no-logs" in out and "allows logs:CreateLogStream" in out,
                  "warns: role creates log streams despite --no-logs", out)

            rc, out = doctor(env, "--function", "pg-missing")
            all_output.append(out)
            check(rc == 1, "missing function exits 1", out)
            check(out.count("problem:") == 1 and "ResourceNotFoundException" in out,
                  "missing function is one problem with Lambda's code", out)

            bad = dict(env, AWS_SECRET_ACCESS_KEY="wrong" + secret[5:])
            rc, out = doctor(bad, "--function", "pg-good")
            all_output.append(out)
            check(rc == 1, "wrong secret exits 1", out)
            probs = [l for l in out.splitlines() if l.startswith("problem:")]
            check(len(probs) == 1 and "SignatureDoesNotMatch" in probs[0]
                  and "environment variables" in probs[0],
                  "wrong secret: one problem naming the code and the credential source", out)
            check(bad["AWS_SECRET_ACCESS_KEY"] not in out, "wrong secret not printed", out)

            tok = dict(env, AWS_SESSION_TOKEN="FQoGZXIvYXdzEJr//////////unknown-session-token")
            rc, out = doctor(tok)
            all_output.append(out)
            probs = [l for l in out.splitlines() if l.startswith("problem:")]
            check(rc == 1 and len(probs) == 1 and "InvalidClientTokenId" in probs[0]
                  and "environment variables" in probs[0],
                  "unknown session token: one problem naming the code and the source", out)
            check(tok["AWS_SESSION_TOKEN"] not in out, "session token not printed", out)

            # Temporary credentials from moto's STS: accepted as issued; with the
            # session token altered (a session STS no longer knows) refused by AWS's code.
            sts = si.client("sts")
            # (moto answers 500 to AssumeRole on a role it holds; any ARN will do here)
            tmp = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/pg-session",
                                  RoleSessionName="pg-doctor", DurationSeconds=900)["Credentials"]
            ll_tmp = LocalLambda(PG, tmp["AccessKeyId"], tmp["SecretAccessKey"], concurrency=50)
            leaked_checks.extend([("temporary secret key", tmp["SecretAccessKey"]),
                                  ("session token", tmp["SessionToken"])])
            tenv = dict(env, AWS_ACCESS_KEY_ID=tmp["AccessKeyId"],
                        AWS_SECRET_ACCESS_KEY=tmp["SecretAccessKey"],
                        AWS_SESSION_TOKEN=tmp["SessionToken"],
                        AWS_ENDPOINT_URL_LAMBDA=ll_tmp.endpoint)
            try:
                rc, out = doctor(tenv)
            finally:
                all_output.append(ll_tmp.close())
            all_output.append(out)
            check(rc == 0 and "temporary" in out and "assumed-role/pg-session/pg-doctor" in out,
                  "STS-issued temporary credentials accepted", out)
            stale = dict(tenv, AWS_SESSION_TOKEN=tmp["SessionToken"][:-8] + "EXPIRED0")
            rc, out = doctor(stale)
            all_output.append(out)
            probs = [l for l in out.splitlines() if l.startswith("problem:")]
            check(rc == 1 and len(probs) == 1 and "environment variables" in probs[0]
                  and any(c in probs[0] for c in ("InvalidToken", "InvalidClientTokenId",
                                                   "ExpiredToken")),
                  "stale session token: one problem naming AWS's code and the source", out)
            check(stale["AWS_SESSION_TOKEN"] not in out and tmp["SecretAccessKey"] not in out,
                  "stale session token and its secret not printed", out)

            # A credential_process that hands out an expired session: refused before
            # any call, one line naming the source.
            with tempfile.TemporaryDirectory() as d:
                proc_json = os.path.join(d, "creds.json")
                with open(proc_json, "w") as f:
                    json.dump({"Version": 1, "AccessKeyId": tmp["AccessKeyId"],
                               "SecretAccessKey": tmp["SecretAccessKey"],
                               "SessionToken": tmp["SessionToken"],
                               "Expiration": "2020-01-01T00:00:00Z"}, f)
                cfg = os.path.join(d, "config")
                with open(cfg, "w") as f:
                    f.write("[profile old]\ncredential_process = cat %s\n" % proc_json)
                penv = {k: v for k, v in env.items()
                        if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
                penv.update(AWS_PROFILE="old", AWS_CONFIG_FILE=cfg)
                rc, out = doctor(penv)
                all_output.append(out)
                probs = [l for l in out.splitlines() if l.startswith("problem:")]
                check(rc == 1 and len(probs) == 1 and "credential_process" in probs[0]
                      and "expired" in probs[0] and "'old'" in probs[0],
                      "expired session from credential_process: one problem naming the source",
                      out)
                check(tmp["SessionToken"] not in out and tmp["SecretAccessKey"] not in out,
                      "expired session's token and secret not printed", out)

            with tempfile.TemporaryDirectory() as d:
                cred_file = os.path.join(d, "credentials")
                with open(cred_file, "w") as f:
                    f.write("[ci]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (key, secret))
                prof = {k: v for k, v in env.items()
                        if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
                prof.update(AWS_PROFILE="ci", AWS_SHARED_CREDENTIALS_FILE=cred_file)
                rc, out = doctor(prof)
                all_output.append(out)
                check(rc == 0 and "profile 'ci'" in out and cred_file in out,
                      "credentials from a profile name the profile and file", out)

            noreg = {k: v for k, v in env.items() if k != "AWS_REGION"}
            rc, out = doctor(noreg)
            all_output.append(out)
            check(rc == 1 and "AWS_REGION" in out, "missing region is a problem saying what to do",
                  out)
        finally:
            all_output.append(si.close())

    joined = "\n".join(all_output)
    check.no_secret(joined, secret, "no part of the secret key appears in any output or log")
    for name, value in leaked_checks:
        check(value not in joined, "no %s in any output or log" % name)
    shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
