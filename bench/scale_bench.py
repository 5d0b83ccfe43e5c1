#!/usr/bin/env python3
"""Issue 6 item 7: the driver at scale (run by bench/run_scale.sh; see there).

  scale N JOBS SLEEP MODES   First the peer: the machine's ceiling, N `sleep SLEEP` processes
                             kept JOBS at a time by posix_spawn launchers (one per CPU), no
                             Lambda at all. Then moto_server (S3/IAM, signatures enforced) +
                             `local-lambda --concurrency JOBS`, functions deployed without a
                             reservation (they share the whole pool); N tasks of `sleep {}`
                             over inputs "SLEEP" through `run --backend aws -j JOBS` in each
                             mode (sync, async). Ideal makespan = ceil(N/JOBS) waves x SLEEP
                             + the measured cold start: the wall time of one wave of JOBS
                             `true` tasks on a fresh function, run first. Checks every task
                             is in the manifest once, succeeded, with its input.
  batching N JOBS GROUP      N tiny inputs one per invocation, then -N GROUP per invocation,
                             through the same stand-in: invocations and wall time (issue 15)
  million N JOBS             N no-op tasks (`:::: FILE`) through `run --backend aws -j JOBS`
                             against a fast loopback Lambda endpoint (nginx answering
                             GetFunction and every Invoke with a fixed valid result).

Each run reports the wall time and the driver's peak RSS (VmHWM from /proc, polled).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests"))
from measure import manifest, run_measured  # noqa: E402

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))


def load():
    return open("/proc/loadavg").read().split()[:3]


def check_once(state, job, n, args=None):
    """Every seq 1..n exactly once, all succeeded (with `args` when given)."""
    rows = manifest(state, job)
    seqs = sorted(r["seq"] for r in rows)
    ok = seqs == list(range(1, n + 1)) and all(r["outcome"] == "succeeded" for r in rows)
    if args is not None:
        ok = ok and all(r["args"] == args for r in rows)
    return ok, len(rows), sum(1 for r in rows if r["outcome"] == "succeeded")


def machine_ceiling(inputs, jobs):
    """The peer: the same `sleep` processes with no Lambda, driver or worker at all, started
    with posix_spawn (vfork, as the worker does; cheaper than xargs' fork here) by one
    launcher per CPU, together keeping JOBS running: what this machine needs just to create,
    run and reap them. Returns wall s."""
    with open(inputs) as f:
        args = [l.strip() for l in f if l.strip()]
    k = max(1, min(os.cpu_count() or 1, jobs))
    t0 = time.monotonic()
    kids = []
    for i in range(k):
        pid = os.fork()
        if pid == 0:
            mine, cap = args[i::k], jobs // k + (i < jobs % k)
            running = started = 0
            while started < len(mine) or running:
                while running < cap and started < len(mine):
                    os.posix_spawnp("sleep", ["sleep", mine[started]], os.environ)
                    running += 1
                    started += 1
                os.wait()
                running -= 1
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    return time.monotonic() - t0


def deploy_unreserved(si, fn, bucket):
    """Deploys `fn`, then removes the reserved concurrency deploy chose (half the spare
    pool), so the function shares the account's whole pool as the issue's run specifies."""
    p = subprocess.run([PG, "deploy", "--function", fn, "--bucket", bucket, "--create-bucket",
                        "--timeout", "120", "--memory", "128"], env=si.env, capture_output=True,
                       text=True)
    if p.returncode != 0:
        sys.exit("deploy failed: " + p.stdout + p.stderr)
    import boto3
    lam = boto3.client("lambda", endpoint_url=si.ll.endpoint, region_name="us-east-1",
                       aws_access_key_id=si.moto.access_key_id,
                       aws_secret_access_key=si.moto.secret_access_key)
    lam.delete_function_concurrency(FunctionName=fn)


def scale(n, jobs, sleep, modes):
    from moto_fixture import AwsStandIns, moto_refuses_boto3_listing, set_moto_auth
    work = tempfile.mkdtemp(prefix="pg-scale-")
    state = os.path.join(work, "state")
    inputs = os.path.join(work, "inputs")
    # Every input line is the sleep itself and the command is `sleep {}`: a bare `sleep 1`
    # would get the input appended (`sleep 1 N` sleeps 1 + N seconds).
    with open(inputs, "w") as f:
        f.write(("%g\n" % sleep) * n)
    rows = []
    bad = False
    l0 = load()
    ceiling = machine_ceiling(inputs, jobs)
    print("machine ceiling: %d x sleep %g, %d at a time, posix_spawn from one launcher per CPU: "
          "%.2f s (load at start %s)"
          % (n, sleep, jobs, ceiling, " ".join(l0)), flush=True)
    try:
        with AwsStandIns(PG, work, jobs) as si:
            env = si.env
            for fn in ["pgcold"] + ["pgscale" + m for m in modes]:
                deploy_unreserved(si, fn, "pg-scale")
            lift = moto_refuses_boto3_listing(si.s3(), "pg-scale")
            common = ["--backend", "aws", "--bucket", "pg-scale", "--state-dir", state, "-q"]
            with open(os.path.join(work, "wave"), "w") as f:
                f.write("".join("%d\n" % i for i in range(jobs)))
            rc, cold, rss, err = run_measured(
                [PG, "run", *common, "--function", "pgcold", "--job-id", "cold", "-j",
                 str(jobs), "--", "true", "::::", os.path.join(work, "wave")], env, work)
            if rc != 0:
                sys.exit("cold-start wave failed: " + err[-2000:])
            print("cold wave: %d x true on %d fresh environments: %.2f s (load %s)"
                  % (jobs, jobs, cold, " ".join(load())), flush=True)
            waves = -(-n // jobs)
            ideal = waves * sleep + cold
            for mode in modes:
                job = "scale-" + mode
                # moto refuses correctly signed listings with a '/' prefix (see
                # moto_refuses_boto3_listing); async mode lists, so lift its check then.
                set_moto_auth(si.moto.endpoint, not (lift and mode == "async"))
                l0 = load()
                rc, wall, rss, err = run_measured(
                    [PG, "run", *common, "--function", "pgscale" + mode, "--mode", mode,
                     "--job-id", job, "-j", str(jobs), "--", "sleep", "{}", "::::",
                     inputs], env, work)
                set_moto_auth(si.moto.endpoint, True)
                ok, lines, succ = check_once(state, job, n, args=["%g" % sleep])
                bad |= rc != 0 or not ok
                rows.append((mode, n, jobs, wall, ideal, rss, rc, succ, " ".join(l0)))
                print("%s: rc=%d wall=%.2f s ideal=%.2f s (%d waves x %s s + %.2f s cold) "
                      "over=%.1f%% vs_machine_ceiling=%.2fx driver_peak_rss=%.1f MB "
                      "succeeded=%d/%d once=%s"
                      % (mode, rc, wall, ideal, waves, sleep, cold,
                         100 * (wall / ideal - 1), wall / ceiling, rss, succ, n, ok),
                      flush=True)
                if rc != 0:
                    print(err[-2000:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| mode | tasks | -j | makespan (s) | ideal (s) | over ideal | machine ceiling (s) "
          "| makespan / ceiling | driver peak RSS (MB) | load at start |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for mode, n_, j, wall, ideal, rss, rc, succ, l0 in rows:
        print("| %s | %d | %d | %.2f | %.2f | %+.1f%% | %.2f | %.2fx | %.1f | %s |"
              % (mode, n_, j, wall, ideal, 100 * (wall / ideal - 1), ceiling, wall / ceiling,
                 rss, l0))
    print("targets: within 15%% of ideal, driver < 200 MB; the machine ceiling is the same "
          "%d sleeps, %d at a time, with no Lambda stand-in, driver or worker" % (n, jobs))
    return 1 if bad else 0


def million(n, jobs, pg=PG, quiet=False):
    """Returns (rc, wall_s, peak_rss_mb, manifest lines)."""
    from fast_lambda import FastLambda
    work = tempfile.mkdtemp(prefix="pg-million-")
    fast = FastLambda()
    try:
        inputs = os.path.join(work, "inputs")
        with open(inputs, "w") as f:
            f.write("".join("%d\n" % i for i in range(1, n + 1)))
        state = os.path.join(work, "state")
        l0 = load()
        rc, wall, rss, err = run_measured(
            [pg, "run", "--backend", "aws", "--function", "noop", "--bucket", "pg-noop",
             "--state-dir", state, "--job-id", "million", "-q", "-j", str(jobs), "--", "true",
             "::::", inputs], fast.env(work), work)
        with open(os.path.join(state, "jobs", "million", "results.jsonl")) as f:
            lines = sum(1 for _ in f)
        if not quiet:
            print("million: %d no-op tasks -j %d: rc=%d wall=%.1f s (%.0f tasks/s) "
                  "driver_peak_rss=%.1f MB manifest_lines=%d (load at start %s)"
                  % (n, jobs, rc, wall, n / wall, rss, lines, " ".join(l0)))
            if rc != 0:
                print(err[-2000:])
            print("target: driver < 300 MB")
        return rc, wall, rss, lines
    finally:
        fast.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def batching(n, jobs, group, pg=PG):
    """Issue 15 item 8: N tiny inputs, one invocation per input vs -N GROUP inputs per
    invocation, through the nginx Lambda stand-in, in one run. Prints invocations (counted by
    the stand-in's log) and wall time for each, and the ratio."""
    from fast_lambda import FastLambda
    work = tempfile.mkdtemp(prefix="pg-batching-")
    try:
        inputs = os.path.join(work, "inputs")
        with open(inputs, "w") as f:
            f.write("".join("%d\n" % i for i in range(1, n + 1)))
        rows = []
        for label, extra in (("one input per task", []), ("-N %d" % group, ["-N", str(group)])):
            fast = FastLambda()
            try:
                state = os.path.join(work, "state-%d" % len(rows))
                rc, wall, rss, err = run_measured(
                    [pg, "run", "--backend", "aws", "--function", "noop", "--bucket", "pg-noop",
                     "--state-dir", state, "--job-id", "b", "-q", "-j", str(jobs), *extra,
                     "--", "true", "::::", inputs], fast.env(work), work)
                with open(os.path.join(state, "jobs", "b", "results.jsonl")) as f:
                    tasks = sum(1 for _ in f)
                fast.close()  # flushes the stand-in's invoke log
                rows.append((label, rc, fast.invokes(), tasks, wall))
                if rc != 0:
                    print(err[-2000:])
            finally:
                fast.cleanup()
        for label, rc, inv, tasks, wall in rows:
            print("batching: %d inputs, %s, -j %d: rc=%d invocations=%d tasks=%d wall=%.2f s"
                  % (n, label, jobs, rc, inv, tasks, wall))
        print("batching: -N %d makes %.0fx fewer invocations and runs in %.3fx the wall time"
              % (group, rows[0][2] / max(1, rows[1][2]), rows[1][4] / rows[0][4]))
        return 0 if all(r[1] == 0 for r in rows) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "batching":
        sys.exit(batching(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
    what = sys.argv[1]
    if what == "scale":
        sys.exit(scale(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
                       sys.argv[5].split(",")))
    if what == "million":
        rc, _, rss, lines = million(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0 if rc == 0 and lines == int(sys.argv[2]) else 1)
    sys.exit("usage: scale_bench.py scale N JOBS SLEEP MODES | million N JOBS | "
             "batching N JOBS GROUP")
