"""Running a command while sampling its peak RSS, and reading a job's manifest: shared by the
scale benchmark (bench/scale_bench.py) and its reduced CI test (tests/e2e/scale_test.py)."""
import json
import os
import re
import subprocess
import threading
import time


def run_measured(argv, env, cwd, timeout=None):
    """Runs argv; returns (rc, wall_s, peak_rss_mb from VmHWM, stderr). Killed after
    `timeout` seconds when given."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    peak = [0]

    def poll():
        path = "/proc/%d/status" % p.pid
        while p.poll() is None:
            try:
                m = re.search(r"VmHWM:\s+(\d+) kB", open(path).read())
                if m:
                    peak[0] = max(peak[0], int(m.group(1)))
            except OSError:
                pass
            time.sleep(0.05)
    t = threading.Thread(target=poll)
    t.start()
    try:
        err = p.stderr.read()
        rc = p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.join()
    return rc, time.monotonic() - t0, peak[0] / 1024.0, err


def manifest(state, job):
    """The job's results.jsonl lines, parsed."""
    with open(os.path.join(state, "jobs", job, "results.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]
