#!/usr/bin/env python3
"""Every record exact after SIGKILLs: the state manifest, --results DIR and --joblog.

300 tasks `sh -c "sleep 0.05; echo {} >> /abs/LOG; echo {}"` at -j 4 with --results DIR and
--joblog FILE (local backend). The driver alone is killed with SIGKILL (as a user would: its
workers notice and stop by themselves) after a random delay, then resumed, several times
(random delays, including very short ones that hit a resume while it starts), until a run
finishes by itself. Checked:
  - after every kill: --results DIR/results.jsonl and --joblog hold no task the state
    manifest lacks (the manifest, the truth, is written first), and the tasks that ran during
    that run without a manifest line (they were in flight at the kill) are at most -j;
  - no task whose manifest line was there at a kill ran again;
  - at the end: the state manifest, DIR/results.jsonl and the joblog (after its header) each
    hold every task exactly once; every task ran, and the runs beyond one per task are at
    most -j per kill; DIR/<seq>/stdout and result.json of every task are complete.
PG_CRASH_SEED fixes the random delays.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, alive, children_of  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
check = Checks()
SEED = int(os.environ.get("PG_CRASH_SEED", str(int(time.time()))))
RNG = random.Random(SEED)
N, JOBS, MAX_KILLS = 300, 4, 6


def complete_lines(path):
    """The lines of `path` that end in a newline (a torn last line is not a record)."""
    try:
        with open(path, "rb") as f:
            return [l for l in f.read().split(b"\n")[:-1] if l.strip()]
    except OSError:
        return []


def manifest_seqs(path):
    out = []
    for l in complete_lines(path):
        try:
            out.append(json.loads(l)["seq"])
        except (ValueError, KeyError):
            out.append(None)
    return out


def joblog_seqs(path):
    lines = complete_lines(path)
    if lines and lines[0].startswith(b"Seq\t"):
        lines = lines[1:]
    return [int(l.split(b"\t")[0]) if l.split(b"\t")[0].isdigit() else None for l in lines]


def log_counts(path):
    counts = [0] * (N + 1)
    for l in complete_lines(path):
        if l.strip().isdigit() and 1 <= int(l) <= N:
            counts[int(l)] += 1
    return counts


def read_info(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def kill_driver(p):
    """SIGKILL the driver only; then wait (up to 10 s) for the processes it left (workers and
    the tasks they run) to end by themselves, so that tasks in flight at the kill have written
    LOG; kill any that remain."""
    left = descendants(p.pid)
    p.send_signal(signal.SIGKILL)
    p.wait()
    end = time.time() + 10
    while time.time() < end and any(alive(k) for k in left):
        time.sleep(0.02)
    for k in left:
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass


def main():
    if not os.path.exists(PG):
        print("no binary at", PG)
        return 1
    print("PG_CRASH_SEED=%d" % SEED)
    tmp = tempfile.mkdtemp(prefix="pg_crash_")
    t0 = time.time()
    try:
        work = os.path.join(tmp, "work")
        state = os.path.join(tmp, "state")
        os.makedirs(work)
        job = "crash"
        manifest = os.path.join(state, "jobs", job, "results.jsonl")
        info_path = os.path.join(state, "jobs", job, "job.json")
        res_dir = os.path.join(work, "res")
        res_jsonl = os.path.join(res_dir, "results.jsonl")
        joblog = os.path.join(work, "joblog")
        log = os.path.join(work, "LOG")  # absolute: tasks run in scratch directories
        first = ["--state-dir", state, "--job-id", job, "-j", str(JOBS), "--results", res_dir,
                 "--joblog", joblog, "--", "sh", "-c", "sleep 0.05; echo {} >> %s; echo {}" % log,
                 ":::"] + [str(i) for i in range(1, N + 1)]
        resume = ["--state-dir", state, "--resume", job]

        kills = []  # (delay, durable at the kill, ran without a manifest line during the run)
        rc = None
        run_no = 0
        while rc is None and run_no < 40:
            args = first if run_no == 0 else resume
            before = log_counts(log)
            p = subprocess.Popen([PG, "run"] + args, cwd=work, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            run_no += 1
            if len(kills) < MAX_KILLS:
                # The delay counts from when this driver has written its pid to job.json
                # (startup is slow under ASan): mostly mid-run, now and then very early (while
                # a resume aligns its files and starts).
                deadline = time.time() + 60
                while time.time() < deadline and p.poll() is None and \
                        read_info(info_path).get("pid") != p.pid:
                    time.sleep(0.002)
                delay = RNG.uniform(0.0, 0.3) if RNG.random() < 0.3 else RNG.uniform(0.3, 1.5)
                end = time.time() + delay
                while time.time() < end and p.poll() is None:
                    time.sleep(0.005)
                if p.poll() is None:
                    kill_driver(p)
                    p.stderr.close()
                    durable = manifest_seqs(manifest)
                    dset = set(durable)
                    after = log_counts(log)
                    pending = [s for s in range(1, N + 1) if after[s] > before[s] and s not in dset]
                    kills.append((delay, dset, after, pending))
                    res_extra = sorted(set(manifest_seqs(res_jsonl)) - dset)
                    jl_extra = sorted(set(joblog_seqs(joblog)) - dset)
                    check(not res_extra and not jl_extra,
                          "kill %d (%.2f s, %d durable): --results and --joblog hold no task the "
                          "manifest lacks" % (len(kills), delay, len(dset)),
                          (res_extra, jl_extra))
                    check(len(pending) <= JOBS,
                          "kill %d: %d task(s) ran without a manifest line (<= -j %d: only those "
                          "in flight)" % (len(kills), len(pending), JOBS), pending)
                    continue
            rc = p.wait(timeout=300)
            err = p.stderr.read().decode(errors="replace")
            p.stderr.close()
            check(rc == 0, "run %d finishes the job with exit status 0" % run_no, err)

        print("kills at: " + ", ".join("%.2fs(%d durable)" % (k[0], len(k[1])) for k in kills))
        check(len(kills) >= 3, "killed with SIGKILL at %d points (>= 3)" % len(kills))
        final = log_counts(log)
        rerun = sorted({s for _, dset, counts, _ in kills for s in dset if final[s] != counts[s]})
        check(not rerun, "no task whose manifest line was there at a kill ran again", rerun[:20])
        check(all(c >= 1 for c in final[1:]), "every task ran (LOG)",
              [s for s in range(1, N + 1) if final[s] == 0][:20])
        extra = sum(c - 1 for c in final[1:] if c > 1)
        check(extra <= JOBS * len(kills),
              "%d extra runs for %d kills (<= -j %d per kill)" % (extra, len(kills), JOBS),
              [(s, c) for s, c in enumerate(final) if c > 1])

        want = list(range(1, N + 1))
        for name, seqs in (("the state manifest", manifest_seqs(manifest)),
                           ("--results DIR/results.jsonl", manifest_seqs(res_jsonl)),
                           ("--joblog", joblog_seqs(joblog))):
            dups = sorted({s for s in seqs if seqs.count(s) > 1})
            check(sorted(seqs) == want, "%s holds every task exactly once (%d lines, twice: %s)"
                  % (name, len(seqs), dups[:10]))
        jl = complete_lines(joblog)
        check(jl and jl[0].startswith(b"Seq\t") and
              sum(1 for l in jl if l.startswith(b"Seq\t")) == 1, "the joblog has one header")
        bad = []
        for l in complete_lines(res_jsonl):
            r = json.loads(l)
            s = r["seq"]
            d = os.path.join(res_dir, str(s))
            try:
                with open(os.path.join(d, "stdout"), "rb") as f:
                    out = f.read()
                with open(os.path.join(d, "result.json")) as f:
                    full = json.load(f)
            except (OSError, ValueError) as e:
                bad.append((s, str(e)))
                continue
            if out != b"%d\n" % s or r.get("stdout") != "%d\n" % s or full.get("seq") != s:
                bad.append((s, out, r.get("stdout"), full.get("seq")))
        check(not bad, "every task's --results entry is complete (stdout, result.json, line)",
              bad[:5])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("took %.1f s" % (time.time() - t0))
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
