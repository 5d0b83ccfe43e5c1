#!/usr/bin/env python3
"""Benchmark of `parallelagram local-lambda` with the real worker, against AWS's runtime
client (aws-lambda-ric) running a no-op Node handler in the same service.

Measures, on one keep-alive HTTP connection (http.client, sequential calls):
  cold start   "Init Duration" of the first invocation of a fresh environment: from the
               service's posix_spawn of `bootstrap` to its first GET /runtime/invocation/next
               (the function's configuration is updated between samples to force a new one)
  dryrun       a DryRun invoke: HTTP + routing + lookup, no environment (the client baseline)
  roundtrip    worker, {"kind":"noop"}: the worker parses the event and answers at once
               (an unknown kind -> POST /error), no process spawned: the pure service+worker
               round trip
  true         worker, {"argv":["true"]}: a real process task
  ric          aws-lambda-ric + `async () => ({})`
"service+worker time per invoke" = median(invoke) - median(dryrun).

  exec cold    build/worker_cold_start_bench: exec of the runtime to its first GET /next on a
               bare socket (no service), for the worker and for aws-lambda-ric
Prints the JSON of every measure, then a table of ours vs aws-lambda-ric with ratios and
the targets (cold start < 5 ms; < 300 us service+worker per no-op invoke).

Usage: bench/local_lambda_bench.py [--bin build/parallelagram] [--bootstrap build/bootstrap]
       [-n 2000] [--cold 20]   (bench/run_worker_bench.sh builds and runs it)
"""
import argparse
import base64
import http.client
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, (content, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, content)
    return buf.getvalue()


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port)

    def call(self, method, path, body=b"", headers=None):
        self.c.request(method, path, body=body, headers=headers or {})
        r = self.c.getresponse()
        return r.status, dict(r.getheaders()), r.read()

    def create(self, name, zip_bytes, timeout=30):
        body = json.dumps({"FunctionName": name, "Runtime": "provided.al2023", "Role": "r",
                           "Handler": "index.handler", "Timeout": timeout,
                           "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()}})
        s, _, b = self.call("POST", "/2015-03-31/functions", body.encode())
        assert s == 201, b

    def invoke(self, name, payload, kind="RequestResponse", tail=False):
        h = {"X-Amz-Invocation-Type": kind}
        if tail:
            h["X-Amz-Log-Type"] = "Tail"
        return self.call("POST", "/2015-03-31/functions/%s/invocations" % name, payload, h)


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t) / 1000.0)
    return out


def summary(us):
    us = sorted(us)
    return {"median_us": round(statistics.median(us), 1),
            "p90_us": round(us[int(len(us) * 0.9)], 1), "n": len(us)}


def cold_starts(cl, name, samples):
    out = []
    for i in range(samples):
        s, _, b = cl.call("PUT", "/2015-03-31/functions/%s/configuration" % name,
                          json.dumps({"Description": "sample %d" % i}).encode())
        assert s == 200, b
        s, h, b = cl.invoke(name, b'{"kind":"noop"}' if name == "worker" else b"{}",
                            tail=True)
        log = base64.b64decode(h["X-Amz-Log-Result"]).decode()
        m = re.search(r"Init Duration: ([0-9.]+) ms", log)
        assert m, log
        out.append(float(m.group(1)) * 1000)
    return out


def exec_cold_start(bench, cmd, runs, cwd=None, env=None):
    """Median ms from worker_cold_start_bench's line for `cmd` (None: build/bootstrap)."""
    out = subprocess.run([bench, "--runs", str(runs)] + (cmd or []), cwd=cwd, env=env,
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"min ([0-9.]+) ms, median ([0-9.]+) ms", out)
    assert m, out
    return {"min_ms": float(m.group(1)), "median_ms": float(m.group(2)), "n": runs}


def ratio(a, b):
    return "%.2fx" % (a / b) if b else "-"


def report(res, have_ric):
    """The table: ours vs aws-lambda-ric, ratios, targets."""
    rows = []
    ec = res["exec_cold_worker"]["median_ms"]
    ecr = res.get("exec_cold_ric", {}).get("median_ms")
    rows.append(("cold start, exec -> first /next (median ms)", "%.2f" % ec,
                 "%.2f" % ecr if ecr else "-", ratio(ec, ecr) if ecr else "-",
                 "< 5 ms: %s" % ("met" if ec < 5 else "NOT met")))
    ic = res["cold_start_worker"]["median_us"] / 1000
    icr = res.get("cold_start_ric", {}).get("median_us", 0) / 1000
    rows.append(("cold start in local-lambda, Init Duration (median ms)", "%.2f" % ic,
                 "%.2f" % icr if icr else "-", ratio(ic, icr) if icr else "-", ""))
    ov = res["roundtrip_worker"]["service_plus_runtime_us"]
    ovr = res.get("noop_ric", {}).get("service_plus_runtime_us")
    rows.append(("no-op sync invoke, service+runtime (median us)", "%.0f" % ov,
                 "%.0f" % ovr if ovr else "-", ratio(ov, ovr) if ovr else "-",
                 "< 300 us: %s" % ("met" if ov < 300 else "NOT met")))
    rows.append(("`true` process task, service+worker (median us)",
                 "%.0f" % res["true_worker"]["service_plus_runtime_us"], "-", "-", ""))
    rows.append(("DryRun invoke, HTTP baseline (median us)", "%.0f" % res["dryrun"]["median_us"],
                 "", "", ""))
    print("| measure | worker (ours) | aws-lambda-ric | ours/ric | target |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if not have_ric:
        print("(aws-lambda-ric not installed: run `npm ci` in tests/node for the comparison)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/parallelagram"))
    ap.add_argument("--bootstrap", default=os.path.join(ROOT, "build/bootstrap"))
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--cold", type=int, default=20)
    a = ap.parse_args()
    ric = os.path.join(ROOT, "tests/node/node_modules/aws-lambda-ric/bin/index.mjs")
    p = subprocess.Popen([a.bin, "local-lambda", "--port", "0"], stdout=subprocess.PIPE,
                         text=True)
    try:
        port = int(p.stdout.readline().strip().rsplit(":", 1)[1])
        cl = Client(port)
        with open(a.bootstrap, "rb") as f:
            cl.create("worker", make_zip({"bootstrap": (f.read(), 0o755)}))
        have_ric = os.path.exists(ric) and shutil.which("node")
        if have_ric:
            cl.create("ric", make_zip({
                "bootstrap": ("#!/bin/sh\nexec node %s index.handler\n" % ric, 0o755),
                "index.mjs": ("export const handler = async () => ({});\n", 0o644)}))
        res = {}
        bench = os.path.join(os.path.dirname(os.path.abspath(a.bootstrap)), "worker_cold_start_bench")
        res["exec_cold_worker"] = exec_cold_start(bench, [a.bootstrap], max(30, a.cold * 3))
        if have_ric:
            hdir = tempfile.mkdtemp(prefix="pg-ric-bench-")
            with open(os.path.join(hdir, "index.mjs"), "w") as f:
                f.write("export const handler = async () => ({});\n")
            env = dict(os.environ, LAMBDA_TASK_ROOT=hdir, _HANDLER="index.handler")
            try:
                res["exec_cold_ric"] = exec_cold_start(
                    bench, ["node", ric, "index.handler"], max(5, a.cold // 2), cwd=hdir, env=env)
            finally:
                shutil.rmtree(hdir, ignore_errors=True)
        res["cold_start_worker"] = summary(cold_starts(cl, "worker", a.cold))
        if have_ric:
            res["cold_start_ric"] = summary(cold_starts(cl, "ric", max(3, a.cold // 4)))
        warmup = 200
        for name, fn in [
            ("dryrun", lambda: cl.invoke("worker", b"{}", "DryRun")),
            ("roundtrip_worker", lambda: cl.invoke("worker", b'{"kind":"noop"}')),
            ("true_worker", lambda: cl.invoke("worker", b'{"argv":["true"]}')),
        ] + ([("noop_ric", lambda: cl.invoke("ric", b"{}"))] if have_ric else []):
            timed(fn, warmup)
            res[name] = summary(timed(fn, a.n))
        base = res["dryrun"]["median_us"]
        for k in ["roundtrip_worker", "true_worker", "noop_ric"]:
            if k in res:
                res[k]["service_plus_runtime_us"] = round(res[k]["median_us"] - base, 1)
        print(json.dumps(res, indent=2))
        report(res, have_ric)
    finally:
        p.terminate()
        p.wait(10)


if __name__ == "__main__":
    main()
