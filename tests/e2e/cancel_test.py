#!/usr/bin/env python3
"""`parallelagram cancel JOB`, end to end.

Local backend: a running job's driver gets SIGTERM, exits 143 with job.json status
"cancelled", and none of its worker processes (nor the tasks' `sleep`s) survive it.
AWS backend (moto_server + local-lambda, signatures enforced): an async job with events queued
behind local-lambda's account concurrency; cancel stops the driver, sets the function's
reserved concurrency to 0 (observed with boto3 while it drains), which drops the queued
events (none of them ever starts), and then restores what was there before (none, and in a
second run a value of 2). Errors are one line.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, alive, children_of  # noqa: E402
from moto_fixture import AwsStandIns, stop_process  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()


def procs_with_cmdline(argv):
    want = ("\0".join(argv) + "\0").encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if f.read() == want:
                    found.append(int(d))
        except OSError:
            pass
    return found


def job_info(state, job):
    try:
        with open(os.path.join(state, "jobs", job, "job.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def cancel(env, state, job, *extra):
    p = subprocess.run([PG, "cancel", job, "--state-dir", state, *extra], env=env,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def local_part(work):
    state = os.path.join(work, "state-local")
    token = "%d.%06d" % (40, random.randrange(10**6))  # `sleep 40.NNNNNN`: ours alone
    driver = subprocess.Popen(
        [PG, "run", "--state-dir", state, "--job-id", "loc", "-j", "3", "--", "sleep", "{}"]
        + [":::"] + [token] * 6,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ok = wait_for(lambda: len(procs_with_cmdline(["sleep", token])) == 3, 60)
        check(ok, "local: three tasks are running", driver.stderr.read() if not ok else "")
        kids = children_of(driver.pid)
        check(len(kids) >= 3, "local: the driver has worker processes", kids)
        t0 = time.time()
        rc, out, err = cancel(os.environ, state, "loc")
        check(rc == 0 and "stopped job loc" in out and err == "",
              "local: cancel stops the job and says so", out + err)
        check(driver.wait(timeout=30) == 143, "local: the driver exits 143 (cancelled)")
        dout, derr = driver.communicate()
        check("cancelled" in derr and "abandoning 3 running" in derr,
              "local: the driver says it was cancelled", derr)
        check(time.time() - t0 < 15, "local: cancel took under 15 s")
        check(job_info(state, "loc").get("status") == "cancelled", "local: job.json says cancelled")
        gone = wait_for(lambda: not procs_with_cmdline(["sleep", token])
                        and not any(alive(k) for k in kids), 10)
        check(gone, "local: no worker process and no task outlives the cancelled driver",
              [k for k in kids if alive(k)] + procs_with_cmdline(["sleep", token]))
        jobs = subprocess.run([PG, "jobs", "--state-dir", state, "--json"], capture_output=True,
                              text=True).stdout
        check('"cancelled"' in jobs, "local: `jobs` lists it as cancelled", jobs)
        rc, out, err = cancel(os.environ, state, "loc")
        check(rc == 0 and "not running" in out, "local: cancelling it again: nothing to stop",
              out + err)
        rc, out, err = cancel(os.environ, state, "nosuchjob")
        check(rc == 1 and err.count("\n") == 1 and "no job 'nosuchjob'" in err,
              "local: an unknown job is a one-line error", err)
    finally:
        stop_process(driver)
        for p in procs_with_cmdline(["sleep", token]):
            os.kill(p, 9)


def aws_part(work):
    state = os.path.join(work, "state-aws")
    # Account concurrency 3: with -j 8 five events wait in local-lambda's async queue.
    with AwsStandIns(PG, work, concurrency=3) as si:
        env = si.env
        key, secret = si.moto.access_key_id, si.moto.secret_access_key
        try:
            lam = si.client("lambda")
            p = subprocess.run([PG, "deploy", "--function", "pgcancel", "--bucket", "pg-cancel",
                                "--create-bucket", "--timeout", "60"], env=env,
                               capture_output=True, text=True)
            check(p.returncode == 0, "aws: deploy", p.stdout + p.stderr)
            for previous in (None, 2):
                job = "aws-%s" % previous
                if previous is not None:
                    lam.put_function_concurrency(FunctionName="pgcancel",
                                                 ReservedConcurrentExecutions=previous)
                # Each task leaves a file when it starts (local-lambda shares this machine's
                # filesystem), so the test can count which events ever ran.
                started = os.path.join(work, "started-%s" % previous)
                os.makedirs(started)
                driver = subprocess.Popen(
                    [PG, "run", "--backend", "aws", "--mode", "async", "--state-dir", state,
                     "--job-id", job, "-j", "8", "--shell", "--",
                     "touch %s/{}; sleep 6" % started, ":::"]
                    + [str(i) for i in range(8)],
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    ok = wait_for(lambda: job_info(state, job).get("status") == "running", 60)
                    check(ok, "aws: the async job runs")
                    check(job_info(state, job).get("function") == "pgcancel",
                          "aws: job.json names the function", job_info(state, job))
                    running = 3 if previous is None else previous
                    ok = wait_for(lambda: len(os.listdir(started)) >= running, 60)
                    check(ok, "aws(%s): %d tasks run, the rest are queued" % (previous, running))
                    time.sleep(0.5)  # every event is sent by now
                    seen = []
                    stop = threading.Event()

                    def poll():
                        while not stop.is_set():
                            r = lam.get_function_concurrency(FunctionName="pgcancel")
                            seen.append(r.get("ReservedConcurrentExecutions"))
                            time.sleep(0.1)
                    t = threading.Thread(target=poll)
                    t.start()
                    rc, out, err = cancel(env, state, job, "--drain-seconds", "2")
                    stop.set()
                    t.join()
                    check(rc == 0 and "stopped job" in out and "reserved concurrency to 0" in out
                          and "restored" in out, "aws(%s): cancel explains what it did" % previous,
                          out + err)
                    check(key not in out + err and secret not in out + err,
                          "aws: no secret in cancel's output")
                    check(driver.wait(timeout=30) == 143, "aws(%s): driver exits 143" % previous)
                    check(0 in seen, "aws(%s): reserved concurrency went to 0" % previous, seen)
                    after = lam.get_function_concurrency(FunctionName="pgcancel")
                    check(after.get("ReservedConcurrentExecutions") == previous,
                          "aws(%s): the previous setting is restored" % previous, after)
                    check(job_info(state, job).get("status") == "cancelled",
                          "aws(%s): job.json says cancelled" % previous)
                    # The running ones (Lambda cannot stop them) end after their 6 s; had the
                    # queued events survived, they would start then.
                    time.sleep(9)
                    ran = sorted(os.listdir(started))
                    check(len(ran) == running,
                          "aws(%s): the %d queued events were dropped, only the %d running "
                          "tasks ever ran" % (previous, 8 - running, running), ran)
                finally:
                    stop_process(driver)
            # A function that no longer exists: one line saying what to do.
            lam.delete_function(FunctionName="pgcancel")
            info_path = os.path.join(state, "jobs", "aws-2", "job.json")
            info = json.load(open(info_path))
            info["status"] = "running"
            info["pid"] = 999999999
            json.dump(info, open(info_path, "w"))
            rc, out, err = cancel(env, state, "aws-2", "--drain-seconds", "0")
            check(rc == 1 and err.count("\n") == 1 and "pgcancel" in err,
                  "aws: a missing function is a one-line error", out + err)
        finally:
            si.close()


def main():
    work = tempfile.mkdtemp(prefix="pg-cancel-")
    local_part(work)
    aws_part(work)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
