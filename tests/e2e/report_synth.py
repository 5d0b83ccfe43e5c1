#!/usr/bin/env python3
"""Writes a synthetic job's state directory for `parallelagram report`: N tasks on J execution
environments, with cold starts, throttles, failures retried once and a few speculative
duplicates, as a real job's job.json, tasks.jsonl, journal.jsonl ("d", "a", "r" lines) and
results.jsonl would hold them. For the report's scale benchmark (docs/benchmarks.md) and
report_browser_test.py.

  report_synth.py STATE_ROOT JOB_ID [--tasks N] [--jobs J] [--seed S]
"""
import argparse
import heapq
import json
import os
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("job")
    ap.add_argument("--tasks", type=int, default=100000)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    d = os.path.join(a.root, "jobs", a.job)
    os.makedirs(d, exist_ok=True)
    t0 = 1796000000000  # epoch ms
    envs = [(t0, i, "%016x" % rnd.getrandbits(64), True) for i in range(a.jobs)]
    heapq.heapify(envs)
    price_ms = 0.0000000167 * 1  # 1 GB-ms
    journal = open(os.path.join(d, "journal.jsonl"), "w")
    tasks = open(os.path.join(d, "tasks.jsonl"), "w")
    results = open(os.path.join(d, "results.jsonl"), "w")
    journal.write(json.dumps({"t": "run", "run": 1, "pid": 1, "resume": False}) + "\n")
    total_cost = 0.0
    outcomes = {}

    def attempt(seq, n, start, dur, outcome, env, cold, dup=False, exit_code=None):
        billed = 0 if outcome == "throttled" else dur + (120 if cold else 0)
        cost = 0.0 if outcome == "throttled" else billed * price_ms + 0.0000002
        journal.write(json.dumps({
            "t": "a", "seq": seq, "a": n, "dup": dup, "start_ms": start, "end_ms": start + dur,
            "outcome": outcome, "env": env, "cold": cold, "exit": exit_code, "billed_ms": billed,
            "memory_mb": 1024, "init_ms": 120 if cold else 0, "cost_usd": cost,
            "est": False}, separators=(",", ":")) + "\n")
        return cost

    for seq in range(1, a.tasks + 1):
        cmd = "process --input data/part-%06d.csv --out out/%06d.json" % (seq, seq)
        tasks.write(json.dumps({"seq": seq, "args": ["data/part-%06d.csv" % seq],
                                "command": cmd}) + "\n")
        free, idx, env, cold = heapq.heappop(envs)
        start = free + rnd.randint(0, 20)
        cost = 0.0
        invocations = 0
        n = 1
        journal.write('{"t":"d","seq":%d,"a":1}\n' % seq)
        if rnd.random() < 0.01:  # throttled first
            cost += attempt(seq, n, start, 2, "throttled", "", False)
            invocations += 1
            journal.write('{"t":"r","seq":%d,"next":1}\n' % seq)
            start += 100 + rnd.randint(0, 200)
        dur = int(rnd.lognormvariate(7.5, 0.6))  # ~1.8 s median
        outcome = "succeeded"
        exit_code = 0
        if rnd.random() < 0.03:  # fails once, retried
            r = rnd.random()
            bad = "crashed" if r < 0.3 else "timed_out" if r < 0.4 else "failed"
            bad_exit = 1 if bad == "failed" else None
            cost += attempt(seq, n, start, dur // 2, bad, env, cold, exit_code=bad_exit)
            invocations += 1
            journal.write('{"t":"r","seq":%d,"next":2}\n' % seq)
            start += dur // 2 + 5
            cold = False
            n = 2
            journal.write('{"t":"d","seq":%d,"a":2}\n' % seq)
            if rnd.random() < 0.2:
                outcome, exit_code = "failed", 2
        if rnd.random() < 0.002:  # a straggler and its speculative duplicate
            cost += attempt(seq, n, start + dur // 2, dur, outcome, "%016x" % rnd.getrandbits(64),
                            True, dup=True, exit_code=exit_code)
            invocations += 1
        cost += attempt(seq, n, start, dur, outcome, env, cold, exit_code=exit_code)
        invocations += 1
        heapq.heappush(envs, (start + dur, idx, env, False))
        total_cost += cost
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        line = {"job_id": a.job, "seq": seq, "args": ["data/part-%06d.csv" % seq],
                "command": cmd, "outcome": outcome, "exit_code": exit_code, "signal": None,
                "attempts": n, "invocations": invocations, "duplicate": False,
                "start": start / 1000.0, "runtime_s": dur / 1000.0, "billed_ms": dur,
                "memory_mb": 1024, "cost_usd": cost, "stdout_bytes": 12, "stderr_bytes": 0,
                "stdout": "wrote %06d\n" % seq, "stderr": ""}
        if outcome != "succeeded":
            line["stderr"] = "error: data/part-%06d.csv: line %d: bad record\n" % (
                seq, rnd.randint(1, 99999))
            line["stderr_bytes"] = len(line["stderr"])
        results.write(json.dumps(line, separators=(",", ":")) + "\n")
    journal.write(json.dumps({"t": "end", "status": "finished"}) + "\n")
    for f in (journal, tasks, results):
        f.close()
    with open(os.path.join(d, "job.json"), "w") as f:
        json.dump({"job_id": a.job, "status": "finished", "total": a.tasks, "jobs": a.jobs,
                   "command": ["process", "--input", "{}", "--out", "out/{#}.json"],
                   "created_at": "2026-12-06T12:00:00Z", "cost_usd": total_cost,
                   "succeeded": outcomes.get("succeeded", 0),
                   "failed": a.tasks - outcomes.get("succeeded", 0)}, f)
    print(json.dumps({"dir": d, "tasks": a.tasks, "outcomes": outcomes, "cost_usd": total_cost}))


if __name__ == "__main__":
    main()
