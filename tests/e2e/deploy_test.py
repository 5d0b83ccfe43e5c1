#!/usr/bin/env python3
"""`parallelagram deploy` / `destroy` against moto_server (S3, IAM, STS; signatures enforced)
and local-lambda (Lambda; signatures checked with the same key), wired by AWS_ENDPOINT_URL*.

Checks: deploy creates the bucket, a role whose inline policy is limited to the bucket's
prefix (and has no logs:CreateLogStream with --no-logs), and an Active function running the
packaged worker with the requested memory/timeout/architecture and reserved concurrency; the
function really runs a task; a re-deploy with nothing changed uploads nothing; a reserved
concurrency that would leave under 100 unreserved is refused with why; `--reserved-concurrency
none` removes the reservation (GetFunctionConcurrency shows none; doctor warns); a missing bucket
without --create-bucket and wrong credentials are one-line errors; destroy removes exactly
what deploy created (a pre-existing bucket is kept); no secret in any output.
"""
import hashlib
import json
import os
import sys
import tempfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, PgRunner  # noqa: E402
from moto_fixture import AwsStandIns  # noqa: E402

import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()
pg = PgRunner(PG)


def main():
    work = tempfile.mkdtemp(prefix="pg-deploy-")
    with AwsStandIns(PG, work, concurrency=400) as si:
        env, secret = si.env, si.moto.secret_access_key
        try:
            iam = si.client("iam")
            s3 = si.client("s3")
            lam = si.client("lambda", config=botocore.config.Config(retries={"max_attempts": 1}))
            record_path = os.path.join(work, "config", "parallelagram", "deployments", "pgw.json")

            # A missing bucket without --create-bucket: one line, nothing created.
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "no-such-bucket")
            check(rc == 1 and len(err.strip().splitlines()) == 1 and "--create-bucket" in err,
                  "missing bucket is a one-line error naming --create-bucket", out + err)
            check(not os.path.exists(record_path), "nothing recorded after a failed deploy")

            # An impossible reserved concurrency is refused before the function is touched
            # further, saying why (400 concurrency - 100 kept unreserved = 300 at most).
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--create-bucket", "--reserved-concurrency", "350")
            check(rc == 1 and "below the 100" in err and "at most 300" in err,
                  "reserved concurrency pushing unreserved below 100 is refused", out + err)

            # The real deploy.
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--create-bucket", "--memory", "2048", "--timeout", "120",
                              "--no-logs", "--reserved-concurrency", "50")
            print(out, err)
            check(rc == 0, "deploy succeeds", out + err)
            rec = json.load(open(record_path))
            check(rec["created_bucket"] and rec["created_role"] and rec["created_function"],
                  "the record says deploy created bucket, role and function", json.dumps(rec))
            check(any(b["Name"] == "pg-jobs" for b in s3.list_buckets()["Buckets"]),
                  "bucket exists in moto")
            role = iam.get_role(RoleName="parallelagram-pgw")["Role"]
            trust = role["AssumeRolePolicyDocument"]
            if isinstance(trust, str):
                trust = json.loads(trust)
            check(trust["Statement"][0]["Principal"]["Service"] == "lambda.amazonaws.com",
                  "role trusts lambda.amazonaws.com")
            pol = iam.get_role_policy(RoleName="parallelagram-pgw", PolicyName="parallelagram-worker")
            doc = pol["PolicyDocument"]
            if isinstance(doc, str):
                doc = json.loads(doc)
            text = json.dumps(doc)
            check("logs:CreateLogStream" not in text, "--no-logs: no logs:CreateLogStream", text)
            resources = [s["Resource"] for s in doc["Statement"]]
            check(resources == ["arn:aws:s3:::pg-jobs/parallelagram/*", "arn:aws:s3:::pg-jobs"],
                  "policy limited to the bucket's prefix", text)
            check('"*"' not in text and "s3:*" not in text, "no wildcard resource or action", text)
            fn = lam.get_function(FunctionName="pgw")
            cfg = fn["Configuration"]
            check(cfg["State"] == "Active" and cfg["Runtime"] == "provided.al2023"
                  and cfg["MemorySize"] == 2048 and cfg["Timeout"] == 120
                  and cfg["Architectures"] == ["x86_64"] and cfg["Role"] == role["Arn"],
                  "function Active with the requested configuration", json.dumps(cfg, default=str))
            boot = os.environ.get("PG_BOOTSTRAP") or os.path.join(os.path.dirname(PG), "bootstrap")
            with open(boot, "rb") as f:
                build = "sha256:" + hashlib.sha256(f.read()).hexdigest()
            variables = cfg.get("Environment", {}).get("Variables", {})
            check(variables.get("PARALLELAGRAM_BUILD") == build and
                  variables.get("PARALLELAGRAM_PROGRAM") == os.path.basename(boot),
                  "the function's environment records the deployed build (PARALLELAGRAM_BUILD)",
                  json.dumps(cfg.get("Environment")))
            check(fn.get("Concurrency", {}).get("ReservedConcurrentExecutions") == 50,
                  "reserved concurrency 50", json.dumps(fn.get("Concurrency")))
            # Lambda's own async retries are off: the driver retries (boto3 parses the shape).
            eic = lam.get_function_event_invoke_config(FunctionName="pgw")
            check(eic["MaximumRetryAttempts"] == 0 and eic["FunctionArn"].endswith(":pgw:$LATEST"),
                  "async retries off (MaximumRetryAttempts 0)", json.dumps(eic, default=str))
            r = lam.invoke(FunctionName="pgw",
                           Payload=json.dumps({"argv": ["echo", "deployed worker"]}))
            res = json.loads(r["Payload"].read())
            check(r.get("FunctionError") is None and res.get("stdout") == "deployed worker\n",
                  "the deployed worker runs a task", json.dumps(res))

            # Re-deploy with nothing changed: nothing uploaded.
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--create-bucket", "--memory", "2048", "--timeout", "120",
                              "--no-logs", "--reserved-concurrency", "50")
            check(rc == 0 and "nothing uploaded" in out and "configuration unchanged" in out
                  and "async retries" not in out,
                  "re-deploy with nothing changed uploads nothing", out + err)
            rec2 = json.load(open(record_path))
            check(rec2["created_bucket"] and rec2["created_role"] and rec2["created_function"],
                  "re-deploy keeps what the first deploy created", json.dumps(rec2))

            # A changed setting is applied without re-uploading code.
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--memory", "1024", "--timeout", "120", "--no-logs",
                              "--reserved-concurrency", "50")
            check(rc == 0 and "nothing uploaded" in out and "updated the configuration" in out
                  and lam.get_function_configuration(FunctionName="pgw")["MemorySize"] == 1024,
                  "changed memory is applied without an upload", out + err)

            # --reserved-concurrency none: the reservation is removed (DeleteFunctionConcurrency),
            # Lambda reports none, the record forgets it, and doctor warns about it.
            rc, out, err = pg(env, "deploy", "--help")
            check(rc == 0 and "`none` to remove any reservation" in out,
                  "deploy --help documents --reserved-concurrency none", out + err)
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--reserved-concurrency", "lots")
            check(rc == 255 and len(err.strip().splitlines()) == 1 and "'none'" in err,
                  "a reserved concurrency that is neither a number nor none is a usage error",
                  out + err)
            before = lam.get_function_concurrency(FunctionName="pgw")
            check(before.get("ReservedConcurrentExecutions") == 50,
                  "GetFunctionConcurrency: 50 reserved before", json.dumps(before, default=str))
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--memory", "1024", "--timeout", "120", "--no-logs",
                              "--reserved-concurrency", "none")
            check(rc == 0 and "removed the reserved concurrency (was 50)" in out,
                  "deploy --reserved-concurrency none removes the reservation", out + err)
            after = lam.get_function_concurrency(FunctionName="pgw")
            check("ReservedConcurrentExecutions" not in after,
                  "GetFunctionConcurrency: no reservation afterwards",
                  json.dumps(after, default=str))
            check("Concurrency" not in lam.get_function(FunctionName="pgw"),
                  "GetFunction: no Concurrency afterwards")
            check(json.load(open(record_path)).get("reserved_concurrency") is None,
                  "the record has no reserved concurrency")
            rc, out, err = pg(env, "doctor", "--function", "pgw", timeout=120)
            check(rc == 0 and "reserved concurrency none" in out + err
                  and "warning: function 'pgw' has no reserved concurrency" in out + err,
                  "doctor then warns: no reserved concurrency", out + err)
            rc, out, err = pg(env, "deploy", "--function", "pgw", "--bucket", "pg-jobs",
                              "--memory", "1024", "--timeout", "120", "--no-logs",
                              "--reserved-concurrency", "none")
            check(rc == 0 and "no reserved concurrency: the function shares" in out
                  and "removed" not in out,
                  "none again: nothing to remove, said so", out + err)

            # Wrong credentials: one line with AWS's error code.
            bad = dict(env, AWS_SECRET_ACCESS_KEY="wrong" + secret[5:])
            rc, out, err = pg(bad, "deploy", "--function", "pgw", "--bucket", "pg-jobs")
            check(rc == 1 and len(err.strip().splitlines()) == 1
                  and ("SignatureDoesNotMatch" in err or "InvalidClientTokenId" in err),
                  "wrong secret: one-line error with AWS's code", out + err)

            # A bucket that existed before deploy is kept by destroy.
            s3.create_bucket(Bucket="pg-existing")
            s3.put_object(Bucket="pg-existing", Key="theirs.txt", Body=b"x")
            cfg2 = os.path.join(work, "other.json")
            rc, out, err = pg(env, "deploy", "--function", "pgw2", "--bucket", "pg-existing",
                              "--config", cfg2, "--reserved-concurrency", "10")
            check(rc == 0, "deploy into an existing bucket", out + err)
            pol2 = iam.get_role_policy(RoleName="parallelagram-pgw2",
                                       PolicyName="parallelagram-worker")["PolicyDocument"]
            check("logs:CreateLogStream" in json.dumps(pol2), "logs permitted without --no-logs")
            rc, out, err = pg(env, "destroy", "--config", cfg2)
            check(rc == 0 and "bucket pg-existing was not created by deploy: kept" in out,
                  "destroy keeps a bucket deploy did not create", out + err)
            check(s3.get_object(Bucket="pg-existing", Key="theirs.txt")["Body"].read() == b"x",
                  "their object is untouched")

            # Destroy removes exactly what deploy created.
            s3.put_object(Bucket="pg-jobs", Key="parallelagram/cas/abc", Body=b"staged")
            rc, out, err = pg(env, "destroy")
            print(out, err)
            check(rc == 0, "destroy succeeds", out + err)
            try:
                lam.get_function(FunctionName="pgw")
                check(False, "function deleted")
            except botocore.exceptions.ClientError as e:
                check(e.response["Error"]["Code"] == "ResourceNotFoundException", "function deleted")
            try:
                iam.get_role(RoleName="parallelagram-pgw")
                check(False, "role deleted")
            except botocore.exceptions.ClientError as e:
                check(e.response["Error"]["Code"] == "NoSuchEntity", "role deleted")
            check(not any(b["Name"] == "pg-jobs" for b in s3.list_buckets()["Buckets"]),
                  "created bucket deleted")
            check(not os.path.exists(record_path), "deployment record removed")
            rc, out, err = pg(env, "destroy")
            check(rc == 1 and "run `parallelagram deploy` first" in err,
                  "destroy with nothing deployed says what to do", out + err)
        finally:
            pg.add(si.close())
    check.no_secret(pg.printed(), secret)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
