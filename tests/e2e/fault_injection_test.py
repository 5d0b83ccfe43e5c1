#!/usr/bin/env python3
"""Nothing lost, nothing twice: `parallelagram run --backend local` under injected faults.

The embedded local Lambda injects faults through PARALLELAGRAM_LOCAL_INJECT (the grammar of
`local-lambda --inject`) and logs each one it injected, with the event's task_id. From that log
the test derives, per task, the class the driver must report, and checks every task ends
exactly once in the manifest with that class and its evidence, that outputs are printed once,
and the exit status. Also: stragglers (--speculate) with a task that hangs once, bad --inject
values, and the injected 429/500 as AWS's own client (botocore) parses them.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lltest  # noqa: E402

PG = os.environ.get("PG_BIN", "build/parallelagram")
COUNTED = {"crash": "crashed", "hang": "timed_out"}  # faults that use up a --retries attempt


class FaultInjectionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_faults_e2e_")
        self.state = os.path.join(self.dir, "state")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_pg(self, args, inject=None, timeout=170):
        env = dict(os.environ)
        env.pop("PARALLELAGRAM_LOCAL_INJECT", None)
        if inject is not None:
            env["PARALLELAGRAM_LOCAL_INJECT"] = inject
        cmd = [PG, "run", "--state-dir", self.state] + args
        t0 = time.monotonic()
        p = subprocess.run(cmd, cwd=self.dir, capture_output=True, timeout=timeout, env=env)
        return p.returncode, p.stdout.decode(), p.stderr.decode(), time.monotonic() - t0

    def manifest(self, job):
        with open(os.path.join(self.state, "jobs", job, "results.jsonl")) as f:
            return [json.loads(l) for l in f if l.strip()]

    def test_2000_tasks_every_kind_of_fault_each_task_ends_once_with_the_right_class(self):
        n = 2000
        log = os.path.join(self.dir, "injected.jsonl")
        spec = ("throttle=0.02,service-error=0.02,crash=0.02,hang=0.01,slow-start=0.01,"
                "duplicate=0.03,seed=20261126,log=" + log)
        # --timeout 2 gives the function a 7 s timeout: an injected hang ends there (a task of
        # this test never nears 2 s itself, even on a loaded machine).
        rc, out, err, secs = self.run_pg(
            ["--job-id", "faults", "-j", "32", "--retries", "2", "--timeout", "2",
             "--speculate", "off", "-q", "--", "echo", "task", "{#}", ":::"] +
            [str(i) for i in range(1, n + 1)], inject=spec)
        print("2000 tasks under faults: %.1f s, exit %d" % (secs, rc), file=sys.stderr)

        injected = collections.defaultdict(list)
        kinds = collections.Counter()
        with open(log) as f:
            for line in f:
                j = json.loads(line)
                kinds[j["kind"]] += 1
                self.assertTrue(j["task_id"].startswith("faults/"), j)
                injected[int(j["task_id"].split("/")[1])].append(j["kind"])
        # Every kind that applies to sync invokes was really injected, several times.
        for k in ("throttle", "service-error", "crash", "hang", "slow-start"):
            self.assertGreaterEqual(kinds[k], 5, kinds)
        self.assertEqual(kinds["duplicate"], 0, "sync invokes are never duplicated")

        m = self.manifest("faults")
        seqs = collections.Counter(r["seq"] for r in m)
        self.assertEqual(len(m), n, "one manifest line per task")
        self.assertEqual(sorted(seqs), list(range(1, n + 1)))
        self.assertEqual(max(seqs.values()), 1)

        expect_failed = 0
        for r in m:
            seq, faults = r["seq"], injected.get(r["seq"], [])
            counted = [k for k in faults if k in COUNTED]
            if len(counted) >= 2:  # both --retries attempts hit a crash or a hang
                want, attempts = COUNTED[counted[1]], 2
                expect_failed += 1
            else:
                want, attempts = "succeeded", 1 + len(counted)
            ctx = "task %d faults %s line %s" % (seq, faults, r)
            self.assertEqual(r["outcome"], want, ctx)
            self.assertEqual(r["attempts"], attempts, ctx)
            # Every invoke is accounted for: one per failing fault, plus the final one that
            # succeeded (a slow start only delays it, so it can only be that last one).
            slow = faults.count("slow-start")
            self.assertLessEqual(slow, 1 if want == "succeeded" else 0, ctx)
            self.assertEqual(r["invocations"], len(faults) - slow + (want == "succeeded"), ctx)
            if want == "succeeded":
                self.assertEqual(r["stdout"], "task %d\n" % seq, ctx)
                self.assertEqual(r["exit_code"], 0, ctx)
            elif want == "crashed":
                self.assertIn("Runtime.ExitError", r["error"], ctx)
                self.assertIn("signal: killed", r["log_tail"], ctx)
            else:
                self.assertIn("Task timed out after", r["error"], ctx)
                self.assertIn("Task timed out after", r["log_tail"], ctx)

        # Outputs: each succeeded task's line printed exactly once, nothing else.
        lines = collections.Counter(out.splitlines())
        ok = [r["seq"] for r in m if r["outcome"] == "succeeded"]
        self.assertEqual(sorted(lines), sorted("task %d" % s for s in ok))
        self.assertEqual(max(lines.values()), 1)
        self.assertEqual(rc, min(expect_failed, 101), err[-2000:])
        with open(os.path.join(self.state, "jobs", "faults", "job.json")) as f:
            info = json.load(f)
        self.assertEqual((info["succeeded"], info["failed"]), (len(ok), expect_failed))
        self.assertLess(secs, 120)

    def test_async_mode_duplicate_deliveries_are_counted_once(self):
        # Event invocations: duplicated deliveries, throttled and failed Invoke calls. (Crash
        # and hang are left out here: an Event that dies is retried by Lambda a minute later.)
        n = 600
        log = os.path.join(self.dir, "injected-async.jsonl")
        spec = ("duplicate=0.1,throttle=0.03,service-error=0.03,slow-start=0.01,seed=77,log=" +
                log)
        rc, out, err, secs = self.run_pg(
            ["--job-id", "async", "--mode", "async", "-j", "16", "--speculate", "off", "-q",
             "--", "echo", "task", "{#}", ":::"] + [str(i) for i in range(1, n + 1)],
            inject=spec)
        print("%d async tasks under faults: %.1f s, exit %d" % (n, secs, rc), file=sys.stderr)
        self.assertEqual(rc, 0, err[-2000:])
        injected = collections.defaultdict(list)
        with open(log) as f:
            for line in f:
                j = json.loads(line)
                injected[int(j["task_id"].split("/")[1])].append(j["kind"])
        kinds = collections.Counter(k for v in injected.values() for k in v)
        self.assertGreaterEqual(kinds["duplicate"], 20, kinds)
        self.assertGreaterEqual(kinds["throttle"], 5, kinds)
        self.assertGreaterEqual(kinds["service-error"], 5, kinds)
        m = self.manifest("async")
        self.assertEqual(sorted(r["seq"] for r in m), list(range(1, n + 1)))
        for r in m:
            faults = injected.get(r["seq"], [])
            refused = sum(k in ("throttle", "service-error") for k in faults)
            ctx = "task %d faults %s line %s" % (r["seq"], faults, r)
            self.assertEqual(r["outcome"], "succeeded", ctx)
            self.assertEqual(r["stdout"], "task %d\n" % r["seq"], ctx)
            self.assertEqual((r["attempts"], r["invocations"]), (1, refused + 1), ctx)
        lines = collections.Counter(out.splitlines())
        self.assertEqual(sorted(lines), sorted("task %d" % i for i in range(1, n + 1)))
        self.assertEqual(max(lines.values()), 1)

    def test_speculate_duplicates_a_task_that_hangs_once(self):
        lock = os.path.join(self.dir, "hung-once")
        # Task 7's first run hangs for 60 s; any later run finishes at once.
        script = ('if [ "$1" = 7 ] && mkdir %s 2>/dev/null; then sleep 60; fi; echo out $1' % lock)
        for mode, job, limit in (("1", "deadline", 20), ("auto", "auto", 30)):
            shutil.rmtree(lock, ignore_errors=True)
            args = ["--job-id", job, "-j", "4", "--json"]
            if mode != "auto":
                args += ["--speculate", mode]  # auto is the default
            rc, out, err, secs = self.run_pg(
                args + ["--", "sh", "-c", script, "sh", "{}", ":::"] +
                [str(i) for i in range(1, 41)], timeout=120)
            self.assertEqual(rc, 0, err)
            self.assertLess(secs, limit, "the straggler was not duplicated (%s)" % mode)
            events = [json.loads(l) for l in out.splitlines()]
            spec = [e for e in events if e["event"] == "speculate"]
            self.assertEqual([e["seq"] for e in spec], [7], mode)
            fin = [e for e in events if e["event"] == "finish"]
            self.assertEqual(sorted(e["seq"] for e in fin), list(range(1, 41)), mode)
            m = {r["seq"]: r for r in self.manifest(job)}
            self.assertEqual(len(self.manifest(job)), 40)
            self.assertEqual(m[7]["outcome"], "succeeded")
            self.assertTrue(m[7].get("duplicate"), m[7])
            self.assertEqual((m[7]["attempts"], m[7]["invocations"]), (1, 2))
            self.assertEqual(m[7]["stdout"], "out 7\n")
            self.assertFalse(any(r.get("duplicate") for s, r in m.items() if s != 7))

    def test_bad_inject_values_are_one_line_usage_errors(self):
        for bad in ("crash=2", "boom=0.1", "crash", "crash=0.7,hang=0.7"):
            rc, out, err, _ = self.run_pg(["--", "echo", ":::", "a"], inject=bad, timeout=60)
            self.assertEqual(rc, 255, (bad, err))  # usage
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn("PARALLELAGRAM_LOCAL_INJECT", err)
            p = subprocess.run([PG, "local-lambda", "--port", "0", "--inject", bad],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 255, (bad, p.stderr))
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("--inject", p.stderr)
        rc, _, err, _ = self.run_pg(["--speculate", "soon", "--", "echo", ":::", "a"], timeout=60)
        self.assertEqual(rc, 255)
        self.assertIn("--speculate", err)

    def test_botocore_reads_injected_throttles_and_service_errors(self):
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise unittest.SkipTest("boto3 is not installed")
        log = os.path.join(self.dir, "ll.jsonl")
        with lltest.LocalLambda("--inject", "throttle=0.5,service-error=0.5",
                                "--inject-seed", "5", "--inject-log", log) as ll:
            c = boto3.client("lambda", endpoint_url=ll.endpoint, region_name="us-east-1",
                             aws_access_key_id="x", aws_secret_access_key="y",
                             config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
            c.create_function(FunctionName="f", Runtime="provided.al2023", Role="arn:aws:iam::123456789012:role/r",
                              Handler="h", Code={"ZipFile": lltest.py_runtime_zip()})
            seen = collections.Counter()
            for _ in range(20):
                try:
                    c.invoke(FunctionName="f", Payload=b'{"task_id":"t/1"}')
                    seen["ok"] += 1
                except c.exceptions.TooManyRequestsException as e:
                    self.assertEqual(e.response["Reason"], "ConcurrentInvocationLimitExceeded")
                    self.assertEqual(e.response["Error"]["Message"], "Rate Exceeded.")
                    self.assertEqual(e.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"], "1")
                    seen["throttle"] += 1
                except c.exceptions.ServiceException as e:
                    self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 500)
                    seen["service"] += 1
            self.assertEqual(seen["ok"], 0)
            self.assertGreater(seen["throttle"], 0)
            self.assertGreater(seen["service"], 0)
        with open(log) as f:
            kinds = collections.Counter(json.loads(l)["kind"] for l in f)
        self.assertEqual(kinds["throttle"], seen["throttle"])
        self.assertEqual(kinds["service-error"], seen["service"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
