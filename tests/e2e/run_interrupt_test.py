#!/usr/bin/env python3
"""Ctrl-C and SIGTERM during `parallelagram run` (embedded local backend, real worker).

First SIGINT: no new tasks, running ones finish and are recorded; second SIGINT or SIGTERM:
running ones are abandoned at once. Every finished task is in the manifest exactly once, the
others are counted as not run, and no task process is left behind.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

PG = os.environ.get("PG_BIN", "build/parallelagram")


class InterruptTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_interrupt_e2e_")
        self.state = os.path.join(self.dir, "state")
        self.marker = "pgint-" + uuid.uuid4().hex[:12]

    def tearDown(self):
        for pid in self.pids_with_marker():  # only this test's own task processes
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def pids_with_marker(self):
        r = subprocess.run(["pgrep", "-f", self.marker], capture_output=True, text=True)
        return r.stdout.split()

    def start(self, job, secs):
        # Each task sleeps `secs`; the marker names the task processes for pgrep.
        cmd = [PG, "run", "--state-dir", self.state, "--job-id", job, "-j", "2", "--json",
               "--speculate", "off", "--", "sh", "-c", "sleep %s; echo done $1" % secs,
               self.marker, "{}", ":::"] + [str(i) for i in range(1, 11)]
        p = subprocess.Popen(cmd, cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        events = []
        while len([e for e in events if e["event"] == "start"]) < 2:
            line = p.stdout.readline()
            self.assertTrue(line, "run ended before two tasks started")
            events.append(json.loads(line))
        time.sleep(0.3)  # the task processes are running now
        return p, events

    def ctrl_c(self, p):
        # As a terminal does: SIGINT to the driver's whole process group (its own session
        # here), so the embedded Lambda's environments must not die of it.
        os.killpg(p.pid, signal.SIGINT)

    def finish(self, p, events, timeout):
        out, err = p.communicate(timeout=timeout)
        events += [json.loads(l) for l in out.splitlines()]
        return err, events

    def job(self, job):
        d = os.path.join(self.state, "jobs", job)
        with open(os.path.join(d, "job.json")) as f:
            info = json.load(f)
        with open(os.path.join(d, "results.jsonl")) as f:
            manifest = [json.loads(l) for l in f if l.strip()]
        return info, manifest

    def left_behind(self):
        time.sleep(0.5)
        return self.pids_with_marker()

    def test_first_ctrl_c_drains(self):
        p, events = self.start("drain", 2)
        t0 = time.monotonic()
        self.ctrl_c(p)
        err, events = self.finish(p, events, 60)
        waited = time.monotonic() - t0
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted: starting no new tasks; waiting for 2 running", err)
        self.assertGreater(waited, 1.0, "the running tasks were not waited for")
        info, manifest = self.job("drain")
        self.assertEqual(info["status"], "interrupted")
        self.assertEqual(sorted(r["seq"] for r in manifest), [1, 2])
        self.assertTrue(all(r["outcome"] == "succeeded" for r in manifest))
        self.assertEqual((info["succeeded"], info["not_run"]), (2, 8))
        self.assertEqual([e["seq"] for e in events if e["event"] == "start"], [1, 2])
        finished = sorted(e["seq"] for e in events if e["event"] == "finish")
        self.assertEqual(finished, [1, 2])
        self.assertEqual(self.left_behind(), [])

    def test_second_ctrl_c_abandons(self):
        p, events = self.start("abandon", 30)
        self.ctrl_c(p)
        time.sleep(0.5)
        t0 = time.monotonic()
        self.ctrl_c(p)
        err, events = self.finish(p, events, 30)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted again: abandoning 2 running task(s)", err)
        info, manifest = self.job("abandon")
        self.assertEqual(info["status"], "interrupted")
        self.assertEqual(manifest, [])
        self.assertEqual(info["not_run"], 10)
        self.assertEqual(self.left_behind(), [])

    def test_sigterm_abandons_and_marks_cancelled(self):
        p, events = self.start("term", 30)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        err, events = self.finish(p, events, 30)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(p.returncode, 143, err)
        self.assertIn("cancelled: starting no new tasks, abandoning 2 running task(s)", err)
        info, manifest = self.job("term")
        self.assertEqual(info["status"], "cancelled")
        self.assertEqual(manifest, [])
        self.assertEqual(self.left_behind(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
