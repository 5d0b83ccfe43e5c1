#!/usr/bin/env python3
"""Several deployments (issue 17 section 3), against moto_server (S3, IAM, STS; signatures
enforced) and local-lambda, wired by AWS_ENDPOINT_URL*.

Checks: a second `deploy --function` keeps the first deployment's record (one file per
function); `run` and `destroy` with several recorded and no --function are one-line usage
errors listing them; `run --function NAME` runs on that function; `doctor` lists the
deployments; `destroy --function NAME` removes only that one, and a bucket it created that the
other deployment uses is kept and handed over (so the last destroy removes it); a record in the
single file of older versions (deployment.json) is still found by run, doctor and destroy; a
re-deploy that would drop a bucket its earlier deploy created from the record is refused; no
secret in any output.
"""
import json
import os
import shutil
import sys
import tempfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, PgRunner  # noqa: E402
from moto_fixture import AwsStandIns  # noqa: E402

import botocore.exceptions  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()
pg = PgRunner(PG)

# Each task says which function ran it.
WHO = ["sh", "-c", 'echo "$AWS_LAMBDA_FUNCTION_NAME:$1"', "_", "{}"]


def one_line(err):
    return len(err.strip().splitlines()) == 1


def function_exists(lam, name):
    try:
        lam.get_function(FunctionName=name)
        return True
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise


def main():
    work = tempfile.mkdtemp(prefix="pg-deployments-")
    with AwsStandIns(PG, work, concurrency=200) as si:
        env, secret = si.env, si.moto.secret_access_key
        env["XDG_STATE_HOME"] = os.path.join(work, "state")
        try:
            s3 = si.client("s3")
            lam = si.client("lambda")
            conf = os.path.join(work, "config", "parallelagram")
            records = os.path.join(conf, "deployments")
            for fn in ("pga", "pgb"):
                rc, out, err = pg(env, "deploy", "--function", fn, "--bucket", "pg-multi",
                                  "--create-bucket", "--reserved-concurrency", "10", "--no-logs")
                check(rc == 0 and os.path.join(records, fn + ".json") in out,
                      "deploy %s records it in deployments/%s.json" % (fn, fn), out + err)
            check(sorted(os.listdir(records)) == ["pga.json", "pgb.json"],
                  "the second deploy kept the first one's record", str(os.listdir(records)))
            pga = json.load(open(os.path.join(records, "pga.json")))
            check(pga["function_name"] == "pga" and pga["created_bucket"]
                  and pga["created_function"] and pga["created_role"],
                  "pga's record still says what its deploy created", json.dumps(pga))

            # A re-deploy that would drop the bucket pga's deploy created from its record.
            rc, out, err = pg(env, "deploy", "--function", "pga", "--bucket", "pg-elsewhere",
                              "--create-bucket")
            check(rc == 255 and one_line(err) and "created bucket pg-multi" in err
                  and "destroy --function pga" in err,
                  "a re-deploy to another bucket is refused, not silently forgetting", err)
            check(not any(b["Name"] == "pg-elsewhere" for b in s3.list_buckets()["Buckets"]),
                  "... before creating anything")

            rc, out, err = pg(env, "run", "--backend", "aws", "--", *WHO, ":::", "x")
            check(rc == 255 and one_line(err) and "pga, pgb" in err and "--function" in err,
                  "run with two deployments and no --function: one line listing them", err)
            for fn in ("pga", "pgb"):
                rc, out, err = pg(env, "run", "--backend", "aws", "--function", fn, "-k", "--",
                                  *WHO, ":::", "a", "b")
                check(rc == 0 and out == "%s:a\n%s:b\n" % (fn, fn),
                      "run --function %s runs on %s" % (fn, fn), out + err)
            rc, out, err = pg(dict(env, PARALLELAGRAM_FUNCTION="pgb"), "run", "--backend", "aws",
                              "--", *WHO, ":::", "e")
            check(rc == 0 and out == "pgb:e\n", "PARALLELAGRAM_FUNCTION picks one too", out + err)

            rc, out, err = pg(env, "doctor", timeout=120)
            check("deployments: 2 recorded in " + records in out
                  and "deployment pga: region us-east-1, data in s3://pg-multi/parallelagram/" in out
                  and "deployment pgb: region us-east-1" in out,
                  "doctor lists both deployments", out + err)

            rc, out, err = pg(env, "destroy")
            check(rc == 255 and one_line(err) and "pga, pgb" in err and "--function" in err,
                  "destroy with two deployments and no --function: one line listing them", err)
            check(function_exists(lam, "pga") and function_exists(lam, "pgb"),
                  "... and removes nothing")

            rc, out, err = pg(env, "destroy", "--function", "pga")
            check(rc == 0 and "deleted function pga" in out
                  and "bucket pg-multi kept: deployment pgb uses it" in out,
                  "destroy --function pga removes pga and keeps the shared bucket", out + err)
            check(not function_exists(lam, "pga") and function_exists(lam, "pgb"),
                  "pga is gone, pgb is still there")
            check(sorted(os.listdir(records)) == ["pgb.json"], "pga's record is forgotten",
                  str(os.listdir(records)))
            check(json.load(open(os.path.join(records, "pgb.json")))["created_bucket"],
                  "pgb's record now owns the bucket pga created (nothing forgotten)")

            # The single record file of older versions is still read (and removed by destroy).
            legacy = os.path.join(conf, "deployment.json")
            shutil.move(os.path.join(records, "pgb.json"), legacy)
            rc, out, err = pg(env, "run", "--backend", "aws", "--", *WHO, ":::", "old")
            check(rc == 0 and out == "pgb:old\n", "run finds a deployment in the old record file",
                  out + err)
            rc, out, err = pg(env, "doctor", timeout=120)
            check("deployment pgb: region us-east-1" in out and legacy in out,
                  "doctor lists the old record", out + err)
            s3.put_object(Bucket="pg-multi", Key="parallelagram/cas/abc", Body=b"staged")
            rc, out, err = pg(env, "destroy")
            check(rc == 0 and "deleted function pgb" in out and "deleted bucket pg-multi" in out,
                  "destroy removes the old record's deployment and the bucket it now owns",
                  out + err)
            check(not os.path.exists(legacy) and os.listdir(records) == [],
                  "no record is left", str(os.listdir(records)))
            check(not any(b["Name"] == "pg-multi" for b in s3.list_buckets()["Buckets"]),
                  "the bucket is gone")
        finally:
            pg.add(si.close())
    check.no_secret(pg.printed(), secret)
    shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
