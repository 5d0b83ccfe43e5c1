#!/usr/bin/env python3
"""`parallelagram run --resume`: a driver killed with SIGKILL at many points, resumed each time.

Sync case (local backend, 300 short tasks, -j 16): every task appends its seq to a side file,
so executions can be counted. The driver is killed with SIGKILL (and the workers it started
with it) at 10+ points: right after job.json appears (before the first dispatch), at random
numbers of durable results, and after the last result is durable. Each time the job is
resumed with `--resume JOB` (or `last`) until a run finishes by itself. Then:
  - the manifest equals an uninterrupted run's, ignoring timing fields and order, each seq once;
  - no task whose result was durable (a complete line in results.jsonl) at a kill ran again;
  - a resumed run prints only the output of tasks that were not durable before it started;
  - resuming the finished job says so and exits 0; conflicting flags and a job whose driver is
    alive are refused with one line.
Async case (local backend `--mode async`, directory inbox): the driver alone is killed while
tasks run; their workers finish and write results to the inbox; the resume collects them
without running those tasks again.
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
from e2e_util import Checks, children_of, proc_stat  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
check = Checks()
RNG = random.Random(int(os.environ.get("PG_RESUME_SEED", str(int(time.time())))))
# Timing and billing differ run to run (billing: what each invocation was billed).
TIMING = ("start", "runtime_s", "job_id", "billed_ms", "init_ms", "cost_usd", "memory_mb",
          "billing_estimate", "s3_put_requests", "s3_get_requests")


def in_sessions(sids):
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[0] != "Z" and int(st[3]) in sids:
                found.append(int(d))
    return found


def kill_sessions(sids):
    for _ in range(50):
        pids = in_sessions(sids)
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)


def durable_lines(path):
    """Complete manifest lines (ending in a newline), parsed."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:  # the last piece has no newline: torn or empty
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def durable_count(path):
    """Complete manifest lines, counted cheaply (no parsing) for polling."""
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0


def side_counts(path, n):
    counts = [0] * (n + 1)
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.isdigit() and 1 <= int(line) <= n:
                    counts[int(line)] += 1
    except OSError:
        pass
    return counts


def journal_lines(path):
    try:
        with open(path, "rb") as f:
            return [json.loads(l) for l in f.read().split(b"\n")[:-1] if l.strip()]
    except (OSError, ValueError):
        return []


def waiting_seqs_nonempty(waiting, durable):
    return bool({int(f.split(".")[0]) for f in waiting} - durable)


def strip(rows):
    return sorted(({k: v for k, v in r.items() if k not in TIMING} for r in rows),
                  key=lambda r: r["seq"])


class Run:
    """One driver run, stdout and stderr to files."""

    def __init__(self, work, args, name):
        self.out_path = os.path.join(work, name + ".out")
        self.err_path = os.path.join(work, name + ".err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.p = subprocess.Popen([PG, "run"] + args, cwd=work, stdout=self.out, stderr=self.err)
        self.kids = set()

    def note_kids(self):
        for k in children_of(self.p.pid):
            self.kids.add(k)

    def sigkill(self, workers=True):
        self.note_kids()
        try:
            self.p.send_signal(signal.SIGKILL)
        except OSError:
            pass
        rc = self.p.wait()
        if workers:
            kill_sessions(self.kids)
        return rc

    def wait(self, timeout=120):
        rc = self.p.wait(timeout=timeout)
        return rc

    def texts(self):
        self.out.close()
        self.err.close()
        with open(self.out_path, "rb") as f:
            o = f.read().decode(errors="replace")
        with open(self.err_path, "rb") as f:
            e = f.read().decode(errors="replace")
        return o, e


def wait_until(cond, timeout, run=None, step=0.003):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        if run is not None and run.p.poll() is not None:
            return cond()
        time.sleep(step)
    return False


def sync_case(tmp):
    n, jobs = 300, 16
    work = os.path.join(tmp, "sync")
    state = os.path.join(tmp, "state")
    os.makedirs(work)
    side = os.path.join(work, "side.txt")
    cmd = ["--shell", "--", "echo {#} >> %s; echo out-{}" % side]
    inputs = [":::"] + ["in%03d" % i for i in range(1, n + 1)]
    common = ["--state-dir", state, "-j", str(jobs), "--speculate", "off"]

    # Reference: an uninterrupted run of the same command line.
    t0 = time.time()
    ref = Run(work, common + ["--job-id", "a-ref"] + cmd + inputs, "ref")
    rc = ref.wait()
    ref_s = time.time() - t0
    o, e = ref.texts()
    check(rc == 0, "uninterrupted reference run exits 0 (%.1f s)" % ref_s, e)
    reference = strip(durable_lines(os.path.join(state, "jobs", "a-ref", "results.jsonl")))
    check(len(reference) == n, "reference manifest has %d lines" % n)
    os.remove(side)

    job = "z-killed"  # sorts after the reference, so that 'last' names it
    jdir = os.path.join(state, "jobs", job)
    manifest = os.path.join(jdir, "results.jsonl")
    journal = os.path.join(jdir, "journal.jsonl")
    info_path = os.path.join(jdir, "job.json")
    fifo = os.path.join(jdir, "job.json.tmp")

    def info():
        try:
            with open(info_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def dispatches():
        return sum(1 for l in journal_lines(journal) if l.get("t") == "d")

    # Kill points: before the first dispatch, at random numbers of durable results, and after
    # the last result is durable. The driver is held at a precise point by making its next
    # job.json write block: job.json.tmp is a FIFO, which it opens (for the atomic rename) to
    # write "running" just before dispatching, and to write its final status after the last
    # result is flushed. The first run gets the FIFO as soon as its first job.json exists (so
    # it blocks before dispatching, unless it was quicker than us); one resume finds it
    # already there (so it blocks at once); the last run gets it once it is running.
    targets = sorted(RNG.sample(range(1, n - 80), 9))
    plan = [("before-dispatch", None)] + [("results>=%d" % t, t) for t in targets[:4]] + \
        [("before-dispatch", None)] + [("results>=%d" % t, t) for t in targets[4:]] + \
        [("after-last-result", n)]
    kills = []  # (label, durable seqs, side counts, dispatches made by the run, durable count)
    run_no = 0
    printed_ok = True
    finished_rc = None
    while True:
        if run_no == 0:
            args = common + ["--job-id", job] + cmd + inputs
        else:
            args = ["--state-dir", state, "--resume", job if run_no % 2 else "last"]
        durable_before = {r["seq"] for r in durable_lines(manifest)}
        d_before = dispatches()
        if plan and plan[0][0] == "before-dispatch" and run_no > 0:
            os.mkfifo(fifo)
        r = Run(work, args, "run%02d" % run_no)
        run_no += 1
        if plan:
            label, target = plan.pop(0)
            if target is not None and target < n:
                label = "results"
            if target is None and run_no == 1:
                hit = wait_until(lambda: os.path.exists(info_path), 60, r, step=0.0002)
                if hit and r.p.poll() is None:
                    os.mkfifo(fifo)
                time.sleep(0.3)
            elif target is None:
                time.sleep(0.3)
            elif label == "after-last-result":
                hit = wait_until(lambda: info().get("pid") == r.p.pid and
                                 info().get("status") == "running", 60, r, step=0.001)
                if hit and r.p.poll() is None:
                    os.mkfifo(fifo)
                hit = wait_until(lambda: durable_count(manifest) >= n, 60, r)
                time.sleep(0.2)  # blocked opening the FIFO, after the last result's flush
            else:
                # Each run makes some progress before its kill: a random number of results
                # beyond what was durable when it started.
                left = sum(1 for p in plan if p[1] is not None and p[1] < n) + 1
                cur = len(durable_before)
                target = max(target, cur + RNG.randint(3, max(4, (n - 40 - cur) // left)))
                hit = wait_until(lambda: durable_count(manifest) >= target, 60, r)
            if r.p.poll() is None:
                r.sigkill()
                if os.path.exists(fifo):
                    os.remove(fifo)
                dur = durable_lines(manifest)
                kills.append((label, {x["seq"] for x in dur}, side_counts(side, n),
                              dispatches() - d_before, len(dur)))
                o, e = r.texts()
            else:
                if os.path.exists(fifo):
                    os.remove(fifo)
                o, e = r.texts()
                finished_rc = r.p.returncode
                print("note: run %d ended before kill point %s (hit=%s)" % (run_no, label, hit))
        else:
            rc = r.wait()
            o, e = r.texts()
            finished_rc = rc
        # Output printed by this run: only tasks that were not durable when it started.
        for line in o.splitlines():
            if line.startswith("out-in"):
                seq = int(line[len("out-in"):])
                if seq in durable_before:
                    printed_ok = False
                    print("task %d printed again by run %d" % (seq, run_no))
        if finished_rc is not None:
            break
        if run_no > 40:
            check(False, "the job finishes within 40 runs")
            break

    print("kills: " + ", ".join("%s(%d durable, run dispatched %d)" % (k[0], k[4], k[3])
                                for k in kills))
    check(len(kills) >= 10, "killed with SIGKILL at %d points (>= 10)" % len(kills))
    check(any(k[0] == "before-dispatch" and k[3] == 0 for k in kills),
          "a kill came before the run's first dispatch (no dispatch in the journal)",
          [(k[0], k[3]) for k in kills])
    check(any(k[0] == "after-last-result" and k[4] == n for k in kills),
          "a kill came after the last result was durable", [(k[0], k[4]) for k in kills])
    check(finished_rc == 0, "the last resume finishes the job with exit status 0")
    final = durable_lines(manifest)
    seqs = [x["seq"] for x in final]
    check(len(seqs) == len(set(seqs)) == n, "each seq once in the final manifest",
          (len(seqs), len(set(seqs))))
    diff = [(a, b) for a, b in zip(strip(final), reference) if a != b]
    check(strip(final) == reference, "final manifest equals the uninterrupted run's "
          "(ignoring %s)" % ", ".join(TIMING), diff[:3])
    end_counts = side_counts(side, n)
    rerun = []
    for label, durable, counts, _, _ in kills:
        for s in durable:
            if end_counts[s] != counts[s]:
                rerun.append((label, s, counts[s], end_counts[s]))
    check(not rerun, "no task whose result was durable at a kill ran again", rerun[:20])
    check(all(c >= 1 for c in end_counts[1:]), "every task ran at least once")
    print("executions: %d for %d tasks (in flight at a kill may run twice)" %
          (sum(end_counts), n))
    check(printed_ok, "a resumed run prints only newly finished tasks' output")
    with open(os.path.join(jdir, "job.json")) as f:
        info = json.load(f)
    check(info.get("status") == "finished" and info.get("succeeded") == n,
          "job.json says finished, %d succeeded" % n, info)
    # A job whose driver is alive cannot be resumed.
    alive = Run(work, ["--state-dir", state, "--job-id", "alive", "--", "sleep", "30", ":::", "1"],
                "alive")
    wait_until(lambda: json.load(open(os.path.join(state, "jobs", "alive", "job.json")))
               .get("status") == "running" if os.path.exists(
                   os.path.join(state, "jobs", "alive", "job.json")) else False, 60, alive)
    q = subprocess.run([PG, "run", "--state-dir", state, "--resume", "alive"], cwd=work,
                       capture_output=True, timeout=60)
    alive.sigkill()
    alive.texts()
    check(q.returncode == 255 and b"still running" in q.stderr and q.stderr.count(b"\n") == 1,
          "resuming a job whose driver is alive is refused in one line", q.stderr)

    # Resuming the finished job: says so, runs nothing, exit 0.
    q = subprocess.run([PG, "run", "--state-dir", state, "--resume", job], cwd=work,
                       capture_output=True, timeout=60)
    check(q.returncode == 0 and b"already finished" in q.stderr and q.stdout == b"",
          "resuming a finished job says so and exits 0", q.stderr)
    check(side_counts(side, n) == end_counts, "... and runs nothing")
    # Conflicting flags: one line, 255.
    for extra in (["-j", "4"], ["--retries", "3"], ["--", "echo", "x"]):
        q = subprocess.run([PG, "run", "--state-dir", state, "--resume", job] + extra, cwd=work,
                           capture_output=True, timeout=60)
        check(q.returncode == 255 and q.stderr.count(b"\n") == 1,
              "--resume with %s is refused in one line" % " ".join(extra), q.stderr)
    q = subprocess.run([PG, "run", "--state-dir", state, "--resume", job, "-j", str(jobs)],
                       cwd=work, capture_output=True, timeout=60)
    check(q.returncode == 0, "--resume with the recorded -j is accepted", q.stderr)
    q = subprocess.run([PG, "run", "--state-dir", state, "--resume", "nosuchjob"], cwd=work,
                       capture_output=True, timeout=60)
    check(q.returncode == 255 and q.stderr.count(b"\n") == 1, "--resume of an unknown job: one line",
          q.stderr)


def async_case(tmp):
    n = 24
    work = os.path.join(tmp, "async")
    state = os.path.join(tmp, "astate")
    os.makedirs(work)
    side = os.path.join(work, "side.txt")
    cmd = ["--shell", "--", "sleep 0.5; echo {#} >> %s; echo out-{}" % side]
    inputs = [":::"] + ["a%02d" % i for i in range(1, n + 1)]
    common = ["--state-dir", state, "-j", str(n), "--mode", "async", "--speculate", "off"]

    ref = Run(work, common + ["--job-id", "aref"] + cmd + inputs, "aref")
    rc = ref.wait()
    _, e = ref.texts()
    check(rc == 0, "async reference run exits 0", e)
    reference = strip(durable_lines(os.path.join(state, "jobs", "aref", "results.jsonl")))
    os.remove(side)

    job = "akilled"
    jdir = os.path.join(state, "jobs", job)
    inbox = os.path.join(state, "store", "jobs", job, "results")
    journal = os.path.join(jdir, "journal.jsonl")
    waiting = []
    durable_at_kill = set()
    for attempt in range(5):
        if attempt:
            shutil.rmtree(jdir, ignore_errors=True)
            shutil.rmtree(os.path.join(state, "store", "jobs", job), ignore_errors=True)
            if os.path.exists(side):
                os.remove(side)
        r = Run(work, common + ["--job-id", job] + cmd + inputs, "akill%d" % attempt)

        def listing():
            return [f for f in (os.listdir(inbox) if os.path.isdir(inbox) else [])
                    if f.endswith(".json")]
        # Once the first results land (every task is running by then: -j covers them all),
        # freeze the driver (SIGSTOP) so it polls no more while its workers, in their own
        # sessions, finish and write their results to the inbox; then kill it.
        wait_until(lambda: len(listing()) + durable_count(
            os.path.join(jdir, "results.jsonl")) > 0, 60, r, step=0.001)
        r.note_kids()
        r.p.send_signal(signal.SIGSTOP)
        wait_until(lambda: len(listing()) + durable_count(
            os.path.join(jdir, "results.jsonl")) >= n, 8, step=0.05)
        time.sleep(0.2)
        r.sigkill()
        r.texts()
        waiting = sorted(listing())
        durable_at_kill = {x["seq"] for x in durable_lines(os.path.join(jdir, "results.jsonl"))}
        if waiting:
            break
        print("note: retrying the async kill (inbox %d, durable %d)" %
              (len(waiting), len(durable_at_kill)))
    check(len(waiting) > 0 and waiting_seqs_nonempty(waiting, durable_at_kill),
          "after the kill, %d results wait in the inbox" % len(waiting))
    waiting_seqs = {int(f.split(".")[0]) for f in waiting} - durable_at_kill
    print("inbox at the kill: %s; durable then: %d" % (waiting, len(durable_at_kill)))
    before = side_counts(side, n)
    res = Run(work, ["--state-dir", state, "--resume", job], "aresume")
    rc = res.wait()
    o, e = res.texts()
    check(rc == 0, "async resume exits 0", e)
    import re
    m = re.search(r"(\d+) collected", e)
    check(m is not None and int(m.group(1)) >= len(waiting_seqs) and int(m.group(1)) > 0,
          "the resume reports the results it collected (%s, >= %d waiting)" %
          (m.group(1) if m else None, len(waiting_seqs)), e)
    after = side_counts(side, n)
    again = [s for s in waiting_seqs if after[s] != before[s]]
    check(not again, "tasks whose results waited in the inbox did not run again", again)
    check(all(after[s] == 1 for s in waiting_seqs), "... each ran exactly once")
    printed = {int(l[len("out-a"):]) for l in o.splitlines() if l.startswith("out-a")}
    check(waiting_seqs <= printed, "their output is printed by the resume (first time)")
    final = durable_lines(os.path.join(jdir, "results.jsonl"))
    check(sorted(x["seq"] for x in final) == list(range(1, n + 1)), "async: each seq once")
    diff = [(a, b) for a, b in zip(strip(final), reference) if a != b]
    check(strip(final) == reference, "async: manifest equals an uninterrupted async run's",
          diff[:3])
    check(all(x.get("cost_usd", 0) > 0 for x in final),
          "async: tasks collected by the resume are charged too",
          [(x["seq"], x.get("cost_usd")) for x in final if not x.get("cost_usd", 0) > 0])
    left = os.listdir(inbox) if os.path.isdir(inbox) else []
    check(not left, "the inbox is empty afterwards", left)


def main():
    if not os.path.exists(PG):
        print("no binary at", PG)
        return 1
    tmp = tempfile.mkdtemp(prefix="pg_resume_")
    t0 = time.time()
    try:
        sync_case(tmp)
        async_case(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("took %.1f s" % (time.time() - t0))
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
