#!/usr/bin/env python3
"""Cost and budget on the local backend (issue 16 items 1, 2, 5), checked from what a user holds.

- A `--max-cost` job at -j 1 stops part way, exactly where the rule says: every started task
  had spent-before + worst case <= cap, and the stop came when spent + worst case > cap
  (worst case = request + (timeout + 5 s + 10 s init) x memory x GB-second price). Exit 102,
  one line saying what was spent, job.json "budget" with cost_usd = the manifest's sum.
- A resume with a lower cap is refused; with a higher cap it finishes the job: each task once
  in the state manifest, in --results DIR/results.jsonl and in --joblog; the total cost is
  the sum over both runs.
- Billing fields: sync mode reads local-lambda's REPORT line (not an estimate), async mode
  takes the worker's own measure (an estimate); `results` and `jobs` show costs.
- --dry-run prints the worst case, and an estimate once an earlier job ran the command.
- Bad input: --max-cost 0 / -1 / abc and a prices file that does not parse: one line, 255,
  no job made. `doctor` prints which price table applies.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
check = Checks()
GB_S = 0.0000166667  # the built-in us-east-1 x86_64 price
REQ = 0.0000002


def read_lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f.read().splitlines() if l.strip()]


def main():
    d = tempfile.mkdtemp(prefix="pg_max_cost_")
    state = os.path.join(d, "state")
    env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d, "cfg"))
    env.pop("PARALLELAGRAM_PRICES", None)

    def pg(*args, sub="run"):
        p = subprocess.run([PG, sub, "--state-dir", state, *args], capture_output=True, env=env,
                           cwd=d, timeout=300, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def jobs():
        return sorted(os.listdir(os.path.join(state, "jobs"))) if os.path.isdir(
            os.path.join(state, "jobs")) else []

    try:
        n = 10
        args = ["-j", "1", "--timeout", "2"]
        cmd = ["--", "sh", "-c", "sleep 0.3", ":::"] + [str(i) for i in range(1, n + 1)]
        # --- dry run before any job: worst case only ------------------------------------------
        rc, out, err = pg("--dry-run", *args, *cmd)
        check(rc == 0 and "at most $" in err and "no earlier job" in err,
              "dry-run prints the worst case", err)

        # --- a budget that stops part way --------------------------------------------------------
        worst_s = 2 + 5 + 10
        results = os.path.join(d, "res")
        joblog = os.path.join(d, "joblog")
        # Find the function's memory from a first tiny sync job's manifest.
        rc, out, err = pg("--", "true", ":::", "x")
        probe = read_lines(os.path.join(state, "jobs", jobs()[0], "results.jsonl"))[0]
        mem = probe.get("memory_mb", 0)
        check(rc == 0 and mem > 0 and probe.get("billed_ms", 0) > 0 and
              not probe.get("billing_estimate", False) and probe.get("cost_usd", 0) > 0,
              "sync: billing from the REPORT line (billed_ms, memory_mb, not an estimate)", probe)
        w = REQ + worst_s * (mem / 1024.0) * GB_S
        per_task = REQ + 0.3 * (mem / 1024.0) * GB_S
        cap = w + 3.5 * per_task
        before = set(jobs())
        rc, out, err = pg(*args, "--max-cost", "%.9f" % cap, "--results", results,
                          "--joblog", joblog, *cmd)
        new = sorted(set(jobs()) - before)
        check(rc == 102, "a job stopped at the budget exits 102", (rc, err))
        check(len(new) == 1, "one job made", new)
        job = new[0] if new else ""
        jdir = os.path.join(state, "jobs", job)
        stop_lines = [l for l in err.splitlines() if "stopped at the budget" in l]
        check(len(stop_lines) == 1 and "did not start" in stop_lines[0] and
              "--resume " + job in stop_lines[0], "one line says what was spent and how to go on",
              err)
        man = read_lines(os.path.join(jdir, "results.jsonl"))
        man.sort(key=lambda r: r["start"])
        check(0 < len(man) < n, "the budget stopped the job part way (%d of %d ran)" % (len(man), n),
              man)
        spent = 0.0
        ok_rule = True
        for r in man:
            if spent + w > cap * (1 + 1e-9):
                ok_rule = False
            spent += r["cost_usd"]
        check(ok_rule, "every started task had spent-before + worst case <= cap")
        check(spent + w > cap * (1 - 1e-9), "the stop came when one more could pass the cap",
              (spent, w, cap))
        info = json.load(open(os.path.join(jdir, "job.json")))
        check(info.get("status") == "budget", "job.json status budget", info)
        check(abs(info.get("cost_usd", -1) - spent) < 1e-9, "job.json cost_usd = the manifest's sum",
              (info.get("cost_usd"), spent))
        check(("did not start" in stop_lines[0]) and ("%d task(s)" % (n - len(man))) in stop_lines[0],
              "the line counts the tasks that did not start", stop_lines)
        # What the user holds after the stop: --results and --joblog hold the same tasks.
        res = read_lines(os.path.join(results, "results.jsonl"))
        check(sorted(r["seq"] for r in res) == sorted(r["seq"] for r in man),
              "--results holds the manifest's tasks", res)
        jl = open(joblog).read().splitlines()[1:]
        check(sorted(int(l.split("\t")[0]) for l in jl) == sorted(r["seq"] for r in man),
              "--joblog holds the manifest's tasks", jl)

        # --- resume: lower cap refused, higher cap finishes --------------------------------------
        rc, out, err = pg("--resume", job, "--max-cost", "%.9f" % (cap / 2), "--results", results,
                          "--joblog", joblog)
        check(rc == 255 and len(err.strip().splitlines()) == 1 and "--max-cost" in err,
              "a resume with a lower cap is refused in one line", (rc, err))
        rc, out, err = pg("--resume", job, "--max-cost", "1", "--results", results,
                          "--joblog", joblog)
        check(rc == 0, "a resume with a higher cap finishes the job", (rc, err))
        man = read_lines(os.path.join(jdir, "results.jsonl"))
        seqs = sorted(r["seq"] for r in man)
        check(seqs == list(range(1, n + 1)), "each task once in the state manifest", seqs)
        res = read_lines(os.path.join(results, "results.jsonl"))
        check(sorted(r["seq"] for r in res) == list(range(1, n + 1)),
              "each task once in --results", [r["seq"] for r in res])
        jl = open(joblog).read().splitlines()
        check(sorted(int(l.split("\t")[0]) for l in jl[1:]) == list(range(1, n + 1)),
              "each task once in --joblog", jl)
        info = json.load(open(os.path.join(jdir, "job.json")))
        total = sum(r["cost_usd"] for r in man)
        check(info.get("status") == "finished" and abs(info.get("cost_usd", -1) - total) < 1e-9,
              "job.json: finished, cost_usd = the sum over both runs", (info, total))

        # --- what `results` and `jobs` show -------------------------------------------------------
        rc, out, err = pg(job, sub="results")
        check(rc == 0 and "COST" in out.splitlines()[0] and "$" in out,
              "results shows a COST column", out)
        rc, out, err = pg("--json", sub="jobs")
        rows = [json.loads(l) for l in out.splitlines() if l.strip().startswith("{")]
        if len(rows) == 0 and out.strip().startswith("["):
            rows = json.loads(out)
        mine = [r for r in rows if r.get("job_id", r.get("id")) == job]
        check(len(mine) == 1 and abs(mine[0].get("cost_usd", -1) - total) < 1e-9,
              "jobs --json gives the job's cost", out)

        # --- dry run after: an estimate from the earlier job ---------------------------------------
        rc, out, err = pg("--dry-run", *args, *cmd)
        check(rc == 0 and "at most $" in err and "from job" in err and "median billed" in err,
              "dry-run gives an estimate from the earlier job", err)

        # --- async: the worker's own measure, an estimate ----------------------------------------
        before = set(jobs())
        rc, out, err = pg("--mode", "async", "--", "true", ":::", "a", "b")
        new = sorted(set(jobs()) - before)
        if rc == 0 and len(new) == 1:
            am = read_lines(os.path.join(state, "jobs", new[0], "results.jsonl"))
            check(all(r.get("billing_estimate") is True and r.get("billed_ms", 0) > 0 and
                      r.get("cost_usd", 0) > 0 for r in am),
                  "async: the worker's measure, marked an estimate", am)
        else:
            check(False, "async job ran", (rc, err))

        # --- bad input ---------------------------------------------------------------------------
        for bad in ("0", "-1", "abc", ""):
            before = set(jobs())
            rc, out, err = pg("--max-cost", bad, "--", "true", ":::", "a")
            check(rc == 255 and len(err.strip().splitlines()) == 1 and "--max-cost" in err
                  and set(jobs()) == before, "--max-cost %r: one line, 255, no job" % bad, err)
        prices = os.path.join(d, "prices.json")
        with open(prices, "w") as f:
            f.write('{"lambda_request": "cheap"')
        before = set(jobs())
        rc, out, err = pg("--prices", prices, "--", "true", ":::", "a")
        check(rc == 255 and len(err.strip().splitlines()) == 1 and prices in err
              and set(jobs()) == before, "a prices file that does not parse: one line, 255", err)
        # A good prices file applies: a doubled GB-second price doubles the compute part.
        with open(prices, "w") as f:
            json.dump({"region": "eu-test-1", "taken": "2026-12-01",
                       "lambda_gb_second": {"x86_64": 2 * GB_S}}, f)
        p = subprocess.run([PG, "doctor", "--prices", prices], capture_output=True, env=env,
                           timeout=120, stdin=subprocess.DEVNULL)
        dout = p.stdout.decode() + p.stderr.decode()
        check("eu-test-1" in dout, "doctor --prices shows the file's table", dout)
        p = subprocess.run([PG, "doctor"], capture_output=True, env=env, timeout=120,
                           stdin=subprocess.DEVNULL)
        dout = p.stdout.decode() + p.stderr.decode()
        check("us-east-1" in dout and "built-in" in dout, "doctor shows the built-in table", dout)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
