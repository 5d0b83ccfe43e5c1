#!/usr/bin/env python3
"""End-to-end tests of `parallelagram run` on the embedded local backend, with the real worker.

Runs the real binary ($PG_BIN) and, where useful, GNU parallel (/usr/bin/parallel) as the
reference for the same command lines.
"""
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

PG = os.environ.get("PG_BIN", "build/parallelagram")
GNU = "/usr/bin/parallel"


class RunTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_run_e2e_")
        self.state = os.path.join(self.dir, "state")
        self.cwd = os.path.join(self.dir, "work")
        os.makedirs(self.cwd)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_pg(self, *args, stdin=None, timeout=120, sub="run"):
        cmd = [PG, sub, "--state-dir", self.state] + list(args)
        p = subprocess.run(cmd, cwd=self.cwd, input=stdin, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def jobs(self):
        d = os.path.join(self.state, "jobs")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def manifest(self, job):
        with open(os.path.join(self.state, "jobs", job, "results.jsonl")) as f:
            return sorted((json.loads(l) for l in f if l.strip()), key=lambda r: r["seq"])

    # --- basics -----------------------------------------------------------------------------
    def test_echo_over_inputs(self):
        rc, out, err = self.run_pg("--job-id", "basic", "--", "echo", "hi", ":::", "a", "b", "c")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.decode().splitlines()), ["hi a", "hi b", "hi c"])
        self.assertEqual(self.jobs(), ["basic"])
        m = self.manifest("basic")
        self.assertEqual([r["outcome"] for r in m], ["succeeded"] * 3)
        self.assertEqual([r["args"] for r in m], [["a"], ["b"], ["c"]])

    def test_product_link_and_file_sources(self):
        with open(os.path.join(self.cwd, "in.txt"), "w") as f:
            f.write("x\ny\n")
        rc, out, _ = self.run_pg("-k", "--", "echo", "{1}{2}", ":::", "a", "b", "::::", "in.txt")
        self.assertEqual((rc, out), (0, b"ax\nay\nbx\nby\n"))
        rc, out, _ = self.run_pg("-k", "--link", "--", "echo", "{1}{2}", ":::", "a", "b", "c", ":::", "1", "2")
        self.assertEqual((rc, out), (0, b"a1\nb2\nc1\n"))
        rc, out, _ = self.run_pg("-k", "--", "echo", "{}", "::::", "-", stdin=b"s1\ns 2\n")
        self.assertEqual((rc, out), (0, b"s1\ns 2\n"))

    def test_replacement_strings_match_gnu_parallel(self):
        args = ["echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", ":::", "a/b.c", "x y/z.t", ".bashrc", "d.e.f"]
        rc, out, err = self.run_pg("-k", "--", *args)
        self.assertEqual(rc, 0, err)
        if os.path.exists(GNU):
            gnu = subprocess.run([GNU, "--will-cite", "-k"] + args, capture_output=True, cwd=self.cwd)
            self.assertEqual(out, gnu.stdout)
        # Positional and their transforms.
        rc, out, _ = self.run_pg("-k", "--", "echo", "{2}", "{1.}", "{2/}", ":::", "a.x", ":::", "c/d.e")
        self.assertEqual(out, b"c/d.e a d.e\n")

    def test_awkward_inputs_are_one_argument_each(self):
        inputs = ["a b", "it's", 'say "hi"', "é∑ unicode ✓", "-n", "--help", "$HOME", "*", "a\\b", ""]
        rc, out, err = self.run_pg("-k", "--", "printf", "[%s]\\n", ":::", *inputs)
        self.assertEqual(rc, 0, err)
        expect = "".join("[%s]\n" % i for i in inputs).encode()
        self.assertEqual(out, expect)
        # --shell quotes them the way GNU parallel does: same output as GNU parallel.
        rc, out2, err = self.run_pg("-k", "--shell", "--", "printf '[%s]\\n' {}", ":::", *inputs)
        self.assertEqual((rc, out2), (0, expect), err)
        if os.path.exists(GNU):
            gnu = subprocess.run([GNU, "--will-cite", "-k", "printf '[%s]\\n' {}", ":::"] + inputs,
                                 capture_output=True, cwd=self.cwd)
            self.assertEqual(out2, gnu.stdout)

    def test_keep_order_under_random_durations(self):
        rnd = random.Random(7)
        n = 24
        delays = ["0.%02d" % rnd.randint(0, 25) for _ in range(n)]
        names = ["t%02d" % i for i in range(n)]
        rc, out, err = self.run_pg("-k", "-j", "6", "--link", "--shell", "--", "sleep {2}; echo {1}",
                                   ":::", *names, ":::", *delays)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.decode().split(), names)

    # --- failures -----------------------------------------------------------------------------
    def test_failing_tasks_set_exit_status(self):
        rc, out, err = self.run_pg("--job-id", "f", "--joblog", "log.tsv", "--shell", "--",
                                   "echo out{}; echo err{} >&2; exit {}", ":::", "0", "3", "0", "5")
        self.assertEqual(rc, 2, err)
        self.assertEqual(sorted(out.decode().split()), ["out0", "out0", "out3", "out5"])
        self.assertIn(b"err3", err)
        m = self.manifest("f")
        self.assertEqual([r["exit_code"] for r in m], [0, 3, 0, 5])
        with open(os.path.join(self.cwd, "log.tsv")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand")
        rows = sorted((l.split("\t") for l in lines[1:]), key=lambda r: int(r[0]))
        self.assertEqual([r[6] for r in rows], ["0", "3", "0", "5"])
        self.assertEqual(rows[1][8], "echo out3; echo err3 >&2; exit 3")
        self.assertRegex(rows[0][2], r"^\d{10}\.\d{3}$")
        self.assertRegex(rows[0][3], r"^ *\d+\.\d{3}$")
        self.assertEqual(len(rows[0][3]), 10)

    def test_timeout_and_signal(self):
        t0 = time.time()
        rc, out, err = self.run_pg("--job-id", "t", "--timeout", "1", "--joblog", "log.tsv", "--",
                                   "sleep", ":::", "30", "0")
        self.assertLess(time.time() - t0, 20)
        self.assertEqual(rc, 1, err)
        self.assertIn(b"timed out", err)
        m = self.manifest("t")
        self.assertEqual(m[0]["outcome"], "timed_out")
        self.assertEqual(m[1]["outcome"], "succeeded")
        rows = [l.split("\t") for l in open(os.path.join(self.cwd, "log.tsv")).read().splitlines()[1:]]
        self.assertIn("-1", [r[6] for r in rows])
        rc, out, err = self.run_pg("--job-id", "s", "--shell", "--", "kill -9 $$", ":::", "x")
        self.assertEqual(rc, 1, err)
        m = self.manifest("s")
        self.assertEqual(m[0]["signal"], 9)
        self.assertIn(m[0]["outcome"], ("crashed", "failed"))

    def test_retries(self):
        # Fails until its counter file (in a directory outside the scratch dir) reaches 3.
        counter = os.path.join(self.dir, "count")
        rc, out, err = self.run_pg("--job-id", "r", "--retries", "3", "--shell", "--",
                                   "echo x >> %s; [ $(wc -l < %s) -ge {} ]" % (counter, counter), ":::", "3")
        self.assertEqual(rc, 0, err)
        self.assertEqual(open(counter).read().count("x"), 3)
        self.assertEqual(self.manifest("r")[0]["attempts"], 3)

    def test_halt(self):
        rc, out, err = self.run_pg("--job-id", "h", "-j", "1", "--halt", "now,fail=1", "--shell", "--",
                                   "exit {}", ":::", "0", "4", "0", "0", "0")
        self.assertEqual(rc, 1, err)
        self.assertIn(b"halting", err)
        self.assertEqual(len(self.manifest("h")), 2)
        rc, out, err = self.run_pg("-j", "1", "--halt", "soon,fail=50%", "--shell", "--",
                                   "exit {}", ":::", "1", "1", "0", "0")
        self.assertEqual(rc, 2, err)

    # --- output ---------------------------------------------------------------------------------
    def test_binary_and_large_output(self):
        rc, out, err = self.run_pg("--shell", "--", "printf '\\000\\001\\377{}'", ":::", "z")
        self.assertEqual((rc, out), (0, b"\x00\x01\xffz"), err)
        size = 12 * 1024 * 1024
        rc, out, err = self.run_pg("--job-id", "big", "--results", "res", "--shell", "--",
                                   "yes 0123456789abcde | head -c {}", ":::", str(size), timeout=300)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out), size)
        self.assertEqual(hashlib.sha256(out).hexdigest(),
                         hashlib.sha256((b"0123456789abcde\n" * (size // 16 + 1))[:size]).hexdigest())
        with open(os.path.join(self.cwd, "res", "1", "stdout"), "rb") as f:
            self.assertEqual(f.read(), out)

    def test_results_dir_json_and_dry_run(self):
        rc, out, err = self.run_pg("--job-id", "res", "--results", "res", "--", "echo", ":::", "a", "b")
        self.assertEqual(rc, 0, err)
        for seq, val in ((1, "a"), (2, "b")):
            d = os.path.join(self.cwd, "res", str(seq))
            self.assertEqual(open(os.path.join(d, "stdout")).read(), val + "\n")
            self.assertEqual(open(os.path.join(d, "stderr")).read(), "")
            r = json.load(open(os.path.join(d, "result.json")))
            self.assertEqual(r["exit_code"], 0)
        lines = [json.loads(l) for l in open(os.path.join(self.cwd, "res", "results.jsonl"))]
        self.assertEqual(sorted(l["stdout"] for l in lines), ["a\n", "b\n"])
        rc, out, err = self.run_pg("--json", "-k", "--", "echo", ":::", "a", "b")
        events = [json.loads(l) for l in out.decode().splitlines()]
        self.assertEqual(events[0]["event"], "job")
        self.assertEqual(events[-1]["event"], "done")
        self.assertEqual([e["stdout"] for e in events if e["event"] == "finish"], ["a\n", "b\n"])
        before = self.jobs()
        rc, out, err = self.run_pg("--dry-run", "--", "echo", "{#}", "{}", ":::", "a b", "c")
        self.assertEqual((rc, out), (0, b"echo 1 'a b'\necho 2 c\n"))
        self.assertEqual(self.jobs(), before)

    # --- files ----------------------------------------------------------------------------------
    def test_basefile_transferfile_return(self):
        os.makedirs(os.path.join(self.cwd, "tool"))
        with open(os.path.join(self.cwd, "tool", "count.sh"), "w") as f:
            f.write("#!/bin/sh\nwc -c < \"$1\" | tr -d ' '\n")
        os.chmod(os.path.join(self.cwd, "tool", "count.sh"), 0o755)
        os.makedirs(os.path.join(self.cwd, "in"))
        for name, data in (("one.txt", "1"), ("two words.txt", "22")):
            with open(os.path.join(self.cwd, "in", name), "w") as f:
                f.write(data)
        rc, out, err = self.run_pg("-k", "--bf", "tool", "--tf", "{}", "--return", "{.}.n", "--cleanup",
                                   "--shell", "--", "tool/count.sh {} > {.}.n; cat {.}.n",
                                   ":::", "in/one.txt", "in/two words.txt")
        self.assertEqual((rc, out), (0, b"1\n2\n"), err)
        self.assertEqual(open(os.path.join(self.cwd, "in", "one.n")).read(), "1\n")
        self.assertEqual(open(os.path.join(self.cwd, "in", "two words.n")).read(), "2\n")
        # With --results, returned files land under the task's results directory.
        rc, out, err = self.run_pg("--results", "res", "--tf", "{}", "--return", "{}.copy", "--shell", "--",
                                   "cp {} {}.copy", ":::", "in/one.txt")
        self.assertEqual(rc, 0, err)
        self.assertEqual(open(os.path.join(self.cwd, "res", "1", "in", "one.txt.copy")).read(), "1")
        # A missing input fails up front, naming it; nothing starts.
        before = self.jobs()
        rc, out, err = self.run_pg("--tf", "{}", "--", "cat", ":::", "in/one.txt", "in/nope.txt")
        self.assertEqual(rc, 255)
        self.assertIn(b"in/nope.txt", err)
        self.assertEqual(self.jobs(), before)

    def test_async_mode_gives_the_same_results_as_sync(self):
        os.makedirs(os.path.join(self.cwd, "in"))
        for name, data in (("a.txt", "aa"), ("b c+.txt", "b")):
            with open(os.path.join(self.cwd, "in", name), "w") as f:
                f.write(data)
        size = 7 * 1024 * 1024  # over the sync response limit: the result object carries it
        cmd = ["-k", "--retries", "2", "--tf", "{}", "--return", "{}.n", "--shell", "--",
               "wc -c < {} > {}.n; cat {}.n; test {} != in/a.txt || head -c %d /dev/zero" % size,
               ":::", "in/a.txt", "in/b c+.txt"]
        outs = {}
        for mode in ("sync", "async"):
            rc, out, err = self.run_pg("--job-id", mode, "--mode", mode, *cmd, timeout=300)
            self.assertEqual(rc, 0, err)
            outs[mode] = out
            m = self.manifest(mode)
            self.assertEqual([r["seq"] for r in m], [1, 2])
            self.assertEqual([r["outcome"] for r in m], ["succeeded"] * 2)
            self.assertEqual(open(os.path.join(self.cwd, "in", "b c+.txt.n")).read(), "1\n")
            os.remove(os.path.join(self.cwd, "in", "b c+.txt.n"))
        self.assertEqual(outs["async"], outs["sync"])
        self.assertEqual(len(outs["async"]), size + 4)
        # Failures and retries are per task as in sync mode; no result object is left behind.
        rc, out, err = self.run_pg("--job-id", "af", "--mode", "async", "--retries", "2", "--shell",
                                   "--", "echo {}; exit {}", ":::", "0", "3")
        self.assertEqual(rc, 1, err)
        m = self.manifest("af")
        self.assertEqual([(r["seq"], r["exit_code"], r["attempts"]) for r in m], [(1, 0, 1), (2, 3, 2)])
        results = os.path.join(self.state, "store", "jobs", "af", "results")
        self.assertEqual(os.listdir(results) if os.path.isdir(results) else [], [])

    def test_events_over_the_payload_limit_are_stored_and_fetched(self):
        # 12 arguments of 100 kB: a 1.2 MB event, over the Event limit (1 MB); the driver
        # stores it and the worker fetches it, in both modes.
        files = []
        for i in range(12):
            p = os.path.join(self.cwd, "arg%d" % i)
            with open(p, "w") as f:
                f.write(chr(ord("a") + i) * 100000 + "\n")
            files += ["::::", p]
        for mode in ("async", "sync"):
            rc, out, err = self.run_pg("--job-id", "big-" + mode, "--mode", mode, "--link", "--",
                                       "sh", "-c", 'n=$#; shift 11; echo $n $(printf %s "$1" | tr -d l | wc -c) $(printf %s "$1" | wc -c)', "sh", *files)
            self.assertEqual((rc, out), (0, b"12 0 100000\n"), err[-2000:])
            events = os.path.join(self.state, "store", "jobs", "big-" + mode, "events")
            self.assertEqual(os.listdir(events) if os.path.isdir(events) else [], [])

    # --- bad input ------------------------------------------------------------------------------
    def test_bad_input_exits_255_and_starts_nothing(self):
        cases = [
            ["--frobnicate", "echo", ":::", "a"],
            ["echo", ":::"],
            ["echo", "::::", "/nonexistent/list.txt"],
            [":::", "a"],
            ["--", "echo", "{foo}", ":::", "a"],
            ["--", "echo", "{2}", ":::", "a"],
            ["-q", "--progress", "echo", ":::", "a"],
            ["--cleanup", "echo", ":::", "a"],
            ["--timeout", "abc", "echo", ":::", "a"],
            ["--halt", "maybe", "echo", ":::", "a"],
            ["--function", "f", "echo", ":::", "a"],  # AWS-only flag on the local backend
            ["--mode", "fast", "echo", ":::", "a"],
            ["--bf", "/etc/passwd", "echo", ":::", "a"],
            ["--return", "../x", "echo", ":::", "a"],
        ]
        for args in cases:
            rc, out, err = self.run_pg(*args)
            self.assertEqual(rc, 255, (args, err))
            self.assertEqual(out, b"", args)
            lines = err.decode().strip().splitlines()
            self.assertEqual(len(lines), 1, (args, err))
            self.assertTrue(lines[0].startswith("parallelagram run: "), lines[0])
        self.assertEqual(self.jobs(), [])
        rc, out, err = self.run_pg("--help")
        self.assertEqual(rc, 0)
        self.assertIn(b"Examples", out)

    # --- jobs / results -------------------------------------------------------------------------
    def test_jobs_and_results_commands(self):
        self.run_pg("--job-id", "j1", "--", "echo", ":::", "a", "b")
        self.run_pg("--job-id", "j2", "--shell", "--", "exit {}", ":::", "0", "1")
        rc, out, err = self.run_pg(sub="jobs")
        self.assertEqual(rc, 0, err)
        text = out.decode()
        self.assertRegex(text, r"j1 .* finished .* 2/2 +0")
        self.assertRegex(text, r"j2 .* finished .* 2/2 +1")
        rc, out, _ = self.run_pg("--json", sub="jobs")
        self.assertEqual([json.loads(l)["job_id"] for l in out.decode().splitlines()], ["j1", "j2"])
        rc, out, _ = self.run_pg("j1", "--format", "jsonl", sub="results")
        self.assertEqual([json.loads(l)["stdout"] for l in out.decode().splitlines()], ["a\n", "b\n"])
        rc, out, _ = self.run_pg("j2", "--format", "csv", "-o", "r.csv", sub="results")
        self.assertEqual(rc, 0)
        csv = open(os.path.join(self.cwd, "r.csv")).read().splitlines()
        self.assertEqual(csv[0], "seq,outcome,exit_code,signal,attempts,runtime_s,command,stdout,stderr,billed_ms,cost_usd")
        self.assertTrue(csv[2].startswith("2,failed,1,"))
        rc, out, _ = self.run_pg("j1", "--stdout", sub="results")
        self.assertEqual(out, b"a\nb\n")
        rc, out, err = self.run_pg("nope", sub="results")
        self.assertEqual(rc, 255)
        self.assertIn(b"parallelagram jobs", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
