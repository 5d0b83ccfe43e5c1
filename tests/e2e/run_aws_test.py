#!/usr/bin/env python3
"""`parallelagram run --backend aws` end to end on the local AWS stand-ins: moto_server plays
S3, IAM and STS (signatures enforced), `local-lambda` plays Lambda (signatures checked), wired
by AWS_ENDPOINT_URL*. deploy -> run (sync and async) -> destroy.

Checks, in both modes: input files whose names have spaces, unicode and '+'; a basefile tool
that is a freshly compiled program with a shared library of its own (bundled with its
closure, since the "Lambda" side has no LD_LIBRARY_PATH to find it); a 20 MB returned file,
byte-identical; a result over Lambda's 6 MB response limit; identical per-task results in sync
and async mode; a second run uploads nothing and says so; a function whose reserved
concurrency is smaller than -j (the driver caps itself, no task fails); wrong credentials and
a missing function, each a one-line error saying what to do; no secret in any output.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, PgRunner  # noqa: E402
from moto_fixture import AwsStandIns, moto_refuses_boto3_listing, set_moto_auth  # noqa: E402

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()
runner = PgRunner(PG)


def pg(env, cwd, *args, timeout=600):
    """runner() in `cwd`, stdout as bytes."""
    return runner(env, *args, cwd=cwd, timeout=timeout, binary_stdout=True)


def manifest(state, job):
    with open(os.path.join(state, "jobs", job, "results.jsonl")) as f:
        return sorted((json.loads(l) for l in f if l.strip()), key=lambda r: r["seq"])


def build_tool(work):
    """A program linked against a shared library of its own, found only via LD_LIBRARY_PATH
    on this machine (so only a bundle with its closure can run it elsewhere)."""
    src = os.path.join(work, "src")
    os.makedirs(src)
    with open(os.path.join(src, "pgt.c"), "w") as f:
        f.write('#include <stdio.h>\nvoid pgt_greet(const char* s) { printf("tool says %s\\n", s); }\n')
    with open(os.path.join(src, "tool.c"), "w") as f:
        f.write('void pgt_greet(const char*);\nint main(int c, char** v) { pgt_greet(c > 1 ? v[1] : "?"); return 0; }\n')
    libdir = os.path.join(work, "libs")
    os.makedirs(libdir)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", os.path.join(libdir, "libpgt.so"),
                    os.path.join(src, "pgt.c")], check=True)
    job = os.path.join(work, "job")
    subprocess.run(["cc", "-o", os.path.join(job, "tool"), os.path.join(src, "tool.c"),
                    "-L" + libdir, "-lpgt"], check=True)
    return libdir


def main():
    work = tempfile.mkdtemp(prefix="pg-run-aws-")
    job = os.path.join(work, "job")
    os.makedirs(os.path.join(job, "in"))
    state = os.path.join(work, "state")
    with AwsStandIns(PG, work, concurrency=200) as si:
        moto, env = si.moto, si.env
        secret = moto.secret_access_key
        try:
            s3 = si.s3()

            rc, out, err = pg(env, work, "deploy", "--function", "pgrun", "--bucket", "pg-run",
                              "--create-bucket", "--timeout", "120", "--memory", "1024",
                              "--reserved-concurrency", "3")
            check(rc == 0, "deploy", out.decode() + err)

            # Inputs with awkward names, a 20 MB returned file, output over 6 MB.
            names = ["plain.txt", "with space.txt", "ünïcode.txt", "a+b=c.txt"]
            for i, n in enumerate(names):
                with open(os.path.join(job, "in", n), "w") as f:
                    f.write("x" * (i + 1))
            libdir = build_tool(work)
            runenv = dict(env, LD_LIBRARY_PATH=libdir)
            rc0 = subprocess.run([os.path.join(job, "tool"), "hi"], env=runenv,
                                 capture_output=True).returncode
            check(rc0 == 0, "the fresh tool runs here with LD_LIBRARY_PATH")

            results = {}
            lift = moto_refuses_boto3_listing(s3, "pg-run")
            print("moto refuses boto3's ListObjectsV2 with a '/' prefix:", lift)
            for mode in ("sync", "async"):
                set_moto_auth(moto.endpoint, not (lift and mode == "async"))
                jobid = "files-" + mode
                rc, out, err = pg(runenv, job, "run", "--backend", "aws", "--mode", mode,
                                  "--state-dir", state, "--job-id", jobid, "-k", "-j", "10",
                                  "--tf", "{}", "--return", "{}.n", "--shell", "--",
                                  "./tool {/}; wc -c < {} > {}.n", ":::",
                                  *["in/" + n for n in names])
                check(rc == 0, mode + ": run over awkward file names succeeds", out.decode() + err)
                check("reserved concurrency is 3" in err, mode + ": -j 10 capped at 3", err)
                lines = out.decode().splitlines()
                check(lines == ["tool says " + n for n in names],
                      mode + ": bundled tool with its own library ran per input", out.decode())
                for i, n in enumerate(names):
                    p = os.path.join(job, "in", n + ".n")
                    ok = os.path.exists(p) and open(p).read().strip() == str(i + 1)
                    check(ok, mode + ": returned file for " + n)
                    if os.path.exists(p):
                        os.remove(p)
                m = manifest(state, jobid)
                check([r["outcome"] for r in m] == ["succeeded"] * 4
                      and all(r["attempts"] == 1 for r in m),
                      mode + ": every task succeeded at its first attempt (no 429 failed one)",
                      json.dumps(m)[:2000])
                results[mode] = [(r["seq"], r["exit_code"], r.get("stdout")) for r in m]
                # Costs: each worker fetched its staged files (GETs) and stored its returned
                # file (a PUT, and in async mode its result object too); the job also pays the
                # driver's own S3 requests (uploads, HEADs, result GETs, inbox LISTs).
                check(all(r.get("s3_get_requests", 0) >= 1 and r.get("s3_put_requests", 0) >=
                          (2 if mode == "async" else 1) and r.get("cost_usd", 0) > 0 for r in m),
                      mode + ": each task's cost counts its worker's S3 requests",
                      json.dumps([{k: r.get(k) for k in ("s3_get_requests", "s3_put_requests",
                                                         "cost_usd")} for r in m]))
                with open(os.path.join(state, "jobs", jobid, "job.json")) as f:
                    jcost = json.load(f).get("cost_usd", 0)
                check(jcost > sum(r["cost_usd"] for r in m) + 5 * 0.0000004,
                      mode + ": the job's cost adds the driver's S3 requests to its tasks'",
                      (jcost, sum(r["cost_usd"] for r in m)))
            set_moto_auth(moto.endpoint, True)
            check(results["sync"] == results["async"], "sync and async give identical results",
                  json.dumps(results)[:2000])

            # Second run of the same job: nothing uploaded, and it says so.
            rc, out, err = pg(runenv, job, "run", "--backend", "aws", "--state-dir", state,
                              "--tf", "{}", "--shell", "--", "./tool {/}", ":::",
                              *["in/" + n for n in names])
            check(rc == 0 and ("0 B uploaded" in err or "uploaded 0" in err or "0 bytes" in err),
                  "a second run uploads nothing and says so", err)

            # --line-buffer on AWS: one line says the output arrives whole when each task
            # ends, and the job runs (its output printed whole, as without the option).
            rc, out, err = pg(env, job, "run", "--backend", "aws", "--state-dir", state,
                              "--line-buffer", "-k", "--", "echo", ":::", "a", "b")
            notice = [l for l in err.splitlines() if "--line-buffer" in l]
            check(rc == 0 and out == b"a\nb\n" and len(notice) == 1
                  and "arrives whole when the task ends" in notice[0],
                  "--line-buffer on AWS: one line saying so, and the job runs", (out, err))

            # --pipe on Lambda: blocks over the 6 MB payload limit travel through S3 (signed
            # PUTs by the driver, GETs by the worker) and are deleted when the job ends; a
            # --pipe-part of a local file is uploaded block by block, and gives GNU parallel's
            # blocks.
            data = b"".join(b"%07d %s\n" % (i, b"p" * 70) for i in range(200000))  # 15.6 MB
            p = subprocess.run([PG, "run", "--backend", "aws", "--state-dir", state, "--job-id",
                                "pipe-aws", "-k", "--pipe", "--block", "7M", "--shell", "wc -lc"],
                               cwd=job, env=env, input=data, capture_output=True, timeout=600)
            counts = [tuple(map(int, l.split())) for l in p.stdout.decode().splitlines()]
            check(p.returncode == 0 and len(counts) == 3 and sum(c[0] for c in counts) == 200000
                  and sum(c[1] for c in counts) == len(data) and counts[0][1] > 6 * 2**20,
                  "--pipe --block 7M on Lambda: 3 blocks over the payload limit, every line once",
                  (p.returncode, p.stdout, p.stderr.decode()[-1500:]))
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="pg-run").get("Contents", [])]
            check(not [k for k in keys if "/pipe-aws/blocks/" in k],
                  "the job's blocks are deleted from S3 when it ends",
                  [k for k in keys if "blocks" in k][:5])
            with open(os.path.join(job, "part.txt"), "wb") as f:
                f.write(data[:3000000])
            cmd = "echo {#}; md5sum"
            rc, out, err = pg(env, job, "run", "--backend", "aws", "--state-dir", state, "-k",
                              "--pipe-part", "--block", "400k", "-a", "part.txt", "--shell", cmd)
            g = subprocess.run(["parallel", "-k", "--pipe-part", "--block", "400k", "-a",
                                "part.txt", cmd], cwd=job, capture_output=True, timeout=120)
            check(rc == 0 and out == g.stdout and out.count(b"\n") > 10,
                  "--pipe-part of a local file on Lambda: GNU parallel's blocks", (out, err))

            # Big outputs: a 20 MB returned file and 7 MB of stdout.
            big = 20 * 1024 * 1024
            for mode in ("sync", "async"):
                set_moto_auth(moto.endpoint, not (lift and mode == "async"))
                rc, out, err = pg(env, job, "run", "--backend", "aws", "--mode", mode,
                                  "--state-dir", state, "--return", "big.bin", "--shell", "--",
                                  "head -c %d /dev/urandom > big.bin; sha256sum big.bin | cut -c1-64 >&2;"
                                  " head -c 7340032 /dev/zero | tr '\\0' 'z'; test {} = 1" % big,
                                  ":::", "1")
                check(rc == 0, mode + ": big run succeeds", err)
                check(len(out) == 7340032 and out == b"z" * 7340032,
                      mode + ": 7 MB of stdout (over the 6 MB response limit) comes back whole")
                want = err.strip().splitlines()
                got = hashlib.sha256(open(os.path.join(job, "big.bin"), "rb").read()).hexdigest() \
                    if os.path.exists(os.path.join(job, "big.bin")) else "missing"
                check(got in want, mode + ": the 20 MB returned file is byte-identical", err)
                if os.path.exists(os.path.join(job, "big.bin")):
                    os.remove(os.path.join(job, "big.bin"))
            set_moto_auth(moto.endpoint, True)

            # Errors: one line each, saying what to do; nothing runs.
            rc, out, err = pg(env, job, "run", "--backend", "aws", "--state-dir", state,
                              "--function", "nope", "--", "echo", ":::", "a")
            check(rc == 255 and len(err.strip().splitlines()) == 1 and "does not exist" in err
                  and "parallelagram deploy" in err, "missing function: one line, what to do", err)
            bad = dict(env, AWS_SECRET_ACCESS_KEY="wrong" + secret[5:])
            rc, out, err = pg(bad, job, "run", "--backend", "aws", "--state-dir", state,
                              "--", "echo", ":::", "a")
            check(rc == 255 and len(err.strip().splitlines()) == 1
                  and "InvalidSignatureException" in err and "environment" in err,
                  "wrong credentials: one line naming the source and AWS's code", err)

            # Resume in async mode with the S3 inbox: the driver is killed (SIGKILL) once its
            # three attempts (reserved concurrency 3) are dispatched; the function keeps running
            # them and their workers write results to S3; the resume collects those results
            # and runs only the rest (each task appends its input to a side file).
            set_moto_auth(moto.endpoint, not lift)
            side = os.path.join(work, "side.txt")
            rjob = "resume-async"
            jpath = os.path.join(state, "jobs", rjob, "journal.jsonl")
            p = subprocess.Popen([PG, "run", "--backend", "aws", "--mode", "async",
                                  "--state-dir", state, "--job-id", rjob, "-j", "3", "--shell",
                                  "--", "sleep 3; echo {} >> %s; echo out {}" % side, ":::",
                                  *[str(i) for i in range(1, 7)]],
                                 env=env, cwd=job, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)

            def objs():
                try:
                    with open(jpath) as f:
                        return [json.loads(l)["name"] for l in f if '"t":"obj"' in l]
                except (OSError, ValueError):
                    return []
            # -j 3 and 3 s tasks: the driver has dispatched exactly 3 and waits for their
            # results when it is killed (a stall of 3 s would be needed to see a 4th).
            end = time.time() + 60
            while len(objs()) < 3 and time.time() < end and p.poll() is None:
                time.sleep(0.01)
            p.kill()
            p.wait()
            names = objs()
            prefix = "parallelagram/jobs/%s/results/" % rjob

            def present(n):
                try:
                    s3.head_object(Bucket="pg-run", Key=prefix + n)
                    return True
                except botocore.exceptions.ClientError:
                    return False
            end = time.time() + 60
            while time.time() < end and not all(present(n) for n in names):
                time.sleep(0.2)
            waiting = [n for n in names if present(n)]
            check(len(names) == 3 and len(waiting) == 3,
                  "async resume: 3 results written to S3 after the driver was killed", names)
            rc, out, err = pg(env, job, "run", "--state-dir", state, "--resume", rjob)
            check(rc == 0 and "3 collected" in err, "async resume collects them from S3", err)
            with open(side) as f:
                ran = sorted(int(x) for x in f.read().split())
            check(ran == [1, 2, 3, 4, 5, 6], "async resume: no task ran twice", ran)
            m = manifest(state, rjob)
            check([r["seq"] for r in m] == [1, 2, 3, 4, 5, 6]
                  and all(r["outcome"] == "succeeded" for r in m),
                  "async resume: each seq once in the manifest", json.dumps(m)[:1000])
            check(sorted(out.decode().split("\n")) == sorted(["out %d" % i for i in range(1, 7)] + [""]),
                  "async resume prints the collected and the new results", out)
            set_moto_auth(moto.endpoint, True)

            rc, out, err = pg(env, work, "destroy")
            check(rc == 0, "destroy", out.decode() + err)
        finally:
            runner.add(si.close())
    check.no_secret(runner.printed(), secret)
    shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
