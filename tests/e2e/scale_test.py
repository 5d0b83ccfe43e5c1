#!/usr/bin/env python3
"""Issue 6 item 7, the reduced scale run for CI (full size: bench/run_scale.sh).

1. 1,000 tasks of `sleep ~1 s` through `run --backend aws -j 100`, sync mode, on the local AWS
   stand-ins (moto_server for S3/IAM with signatures enforced, `local-lambda --concurrency
   100`), the function sharing the account pool (no reserved concurrency, as in the full
   run). Every input is distinct (`sleep 1.000001` ... `sleep 1.001`), so the manifest proves
   each task ran exactly once with its own input; and: exit status 0, every task succeeded
   at its first invocation (no throttle, no retry: -j equals the account concurrency;
   --speculate off, as slow ASan cold starts would rightly get straggler duplicates), the
   1,000 tasks ran on at most 100 execution environments (warm reuse, no cold start per
   task), and the driver's peak RSS stays bounded.
2. 100,000 no-op tasks through `run --backend aws -j 128` against a fast Lambda endpoint
   (nginx, tests/fast_lambda.py): each task once in the manifest, exactly 100,000 Invoke
   requests at nginx and no other request (a sync no-op job costs no S3 request), and the
   driver's peak RSS bounded: inputs are streamed, never materialised per task.

Memory: the driver runs with a 16 MB ASan quarantine (ASan's default 256 MB of freed
memory held back would dominate its RSS; a release build ignores the option). The no-op
part runs 5,000 tasks first and asserts that 95,000 more tasks grow the driver's peak RSS by
less than 40 MB (< ~450 bytes per task: per-task state kept for the whole job shows up
there), as well as absolute bounds. Time is not asserted: performance is measured in
bench/, not in tests.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from fast_lambda import FastLambda  # noqa: E402
from measure import manifest, run_measured  # noqa: E402
from e2e_util import Checks  # noqa: E402
from moto_fixture import AwsStandIns  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()

SLEEP_TASKS, SLEEP_JOBS = 1000, 100
NOOP_TASKS, NOOP_JOBS = 100000, 128
SLEEP_RSS_MB, NOOP_RSS_MB, NOOP_GROWTH_MB = 200, 300, 40  # ASan build


def driver_env(env):
    """The driver's environment: a small ASan quarantine (see above)."""
    env = dict(env)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16").lstrip(":")
    return env


def sleeps(work):
    state = os.path.join(work, "state")
    ll_dir = os.path.join(work, "ll")
    inputs = os.path.join(work, "inputs")
    want = ["1.%06d" % i for i in range(1, SLEEP_TASKS + 1)]
    with open(inputs, "w") as f:
        f.write("".join(w + "\n" for w in want))
    with AwsStandIns(PG, work, SLEEP_JOBS, ll_args=("--work-dir", ll_dir)) as si:
        p = subprocess.run([PG, "deploy", "--function", "pgscale", "--bucket", "pg-scale",
                            "--create-bucket", "--timeout", "60", "--memory", "128"],
                           env=si.env, capture_output=True, text=True)
        check(p.returncode == 0, "deploy", p.stdout + p.stderr)
        import boto3
        boto3.client("lambda", endpoint_url=si.ll.endpoint, region_name="us-east-1",
                     aws_access_key_id=si.moto.access_key_id,
                     aws_secret_access_key=si.moto.secret_access_key
                     ).delete_function_concurrency(FunctionName="pgscale")
        rc, wall, rss, err = run_measured(
            [PG, "run", "--backend", "aws", "--function", "pgscale", "--state-dir", state,
             "--job-id", "k", "-q", "-j", str(SLEEP_JOBS), "--speculate", "off", "--", "sleep",
             "{}", "::::", inputs],
            driver_env(si.env), work, timeout=600)
        print("%d x sleep ~1 s at -j %d: %.1f s, driver peak RSS %.1f MB"
              % (SLEEP_TASKS, SLEEP_JOBS, wall, rss), flush=True)
        check(rc == 0, "sleep tasks: exit status 0", err)
        rows = manifest(state, "k")
        by_seq = {}
        for r in rows:
            by_seq.setdefault(r["seq"], []).append(r)
        check(len(rows) == SLEEP_TASKS and sorted(by_seq) == list(range(1, SLEEP_TASKS + 1)),
              "sleep tasks: every task in the manifest exactly once", len(rows))
        check(all(len(v) == 1 and v[0]["args"] == [want[s - 1]] for s, v in by_seq.items()),
              "sleep tasks: each manifest line carries its own task's input")
        bad = [r for r in rows if r["outcome"] != "succeeded" or r["attempts"] != 1
               or r["invocations"] != 1]
        check(not bad, "sleep tasks: all succeeded at their first invocation (no throttle, "
              "no retry)", json.dumps(bad[:3]))
        envs = os.listdir(os.path.join(ll_dir, "envs"))
        check(0 < len(envs) <= SLEEP_JOBS,
              "sleep tasks: %d tasks ran on %d execution environments (<= %d: warm reuse)"
              % (SLEEP_TASKS, len(envs), SLEEP_JOBS))
        check(rss < SLEEP_RSS_MB, "sleep tasks: driver peak RSS %.0f MB < %d MB"
              % (rss, SLEEP_RSS_MB))
        out = si.close()
        check(si.moto.secret_access_key not in out + err, "no secret in any output")


def noop_run(work, fast, n, job):
    """n no-op tasks at -j NOOP_JOBS; returns (rc, peak RSS MB, stderr, manifest path)."""
    inputs = os.path.join(work, job + "-inputs")
    with open(inputs, "w") as f:
        f.write("".join("%d\n" % i for i in range(1, n + 1)))
    state = os.path.join(work, "state-noop")
    rc, wall, rss, err = run_measured(
        [PG, "run", "--backend", "aws", "--function", "noop", "--bucket", "pg-noop",
         "--state-dir", state, "--job-id", job, "-q", "-j", str(NOOP_JOBS), "--", "true",
         "::::", inputs], driver_env(fast.env(work)), work, timeout=600)
    print("%d no-op tasks at -j %d: %.1f s, driver peak RSS %.1f MB"
          % (n, NOOP_JOBS, wall, rss), flush=True)
    return rc, rss, err, os.path.join(state, "jobs", job, "results.jsonl")


def noops(work):
    small = NOOP_TASKS // 20
    with FastLambda() as fast:
        rc0, rss0, err0, _ = noop_run(work, fast, small, "noop-small")
        check(rc0 == 0, "%d no-op tasks: exit status 0" % small, err0)
        rc, rss, err, path = noop_run(work, fast, NOOP_TASKS, "noop")
        fast.close()  # flushes nginx's request log
        check(rc == 0, "no-op tasks: exit status 0", err)
        seen = bytearray(NOOP_TASKS + 1)
        lines = succeeded = 0
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                lines += 1
                if 1 <= r["seq"] <= NOOP_TASKS and r["args"] == [str(r["seq"])]:
                    seen[r["seq"]] += 1
                succeeded += r["outcome"] == "succeeded"
        check(lines == NOOP_TASKS and seen.count(1) == NOOP_TASKS and succeeded == NOOP_TASKS,
              "no-op tasks: every task in the manifest exactly once, with its input, succeeded",
              (lines, seen.count(1), succeeded))
        check(fast.invokes() == small + NOOP_TASKS, "no-op tasks: exactly %d Invoke requests "
              "at the endpoint (one per task)" % (small + NOOP_TASKS), fast.invokes())
        check(fast.others() == [], "no-op tasks: no other request (no S3 request for a "
              "sync no-op job)", fast.others()[:5])
        check(rss < NOOP_RSS_MB, "no-op tasks: driver peak RSS %.0f MB < %d MB"
              % (rss, NOOP_RSS_MB))
        check(rss - rss0 < NOOP_GROWTH_MB, "no-op tasks: %d tasks peak at %.0f MB, %d at %.0f MB: "
              "growth %.1f MB < %d MB (inputs streamed, no per-task state kept)"
              % (small, rss0, NOOP_TASKS, rss, rss - rss0, NOOP_GROWTH_MB))


def main():
    work = tempfile.mkdtemp(prefix="pg-scale-test-")
    try:
        sleeps(work)
        noops(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
