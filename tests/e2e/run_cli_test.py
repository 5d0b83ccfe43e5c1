#!/usr/bin/env python3
"""End-to-end tests of `parallelagram run` (real binary, embedded local backend, real worker):
the parts of issue 3 that run_local_test.py does not cover. Progress (plain lines and the
terminal display through a pty), -q, exit status rules compared with GNU parallel, the joblog
compared with GNU parallel's, results appended as each task finishes, the state directory
($XDG_STATE_HOME and ~/.local/state defaults), --basefile FILE, --cleanup, --halt semantics.
"""
import glob
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

PG = os.environ.get("PG_BIN", "build/parallelagram")
GNU = "/usr/bin/parallel"
HAVE_GNU = os.path.exists(GNU)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def wait_for(pred, timeout=60, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class RunCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_run_cli_")
        self.state = os.path.join(self.dir, "state")
        self.cwd = os.path.join(self.dir, "work")
        os.makedirs(self.cwd)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_pg(self, *args, env=None, timeout=120, sub="run", state=True):
        cmd = [PG, sub] + (["--state-dir", self.state] if state else []) + list(args)
        p = subprocess.run(cmd, cwd=self.cwd, capture_output=True, timeout=timeout, env=env,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def gnu(self, *args):
        p = subprocess.run([GNU, "--will-cite"] + list(args), cwd=self.cwd, capture_output=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def manifest(self, job, root=None):
        path = os.path.join(root or self.state, "jobs", job, "results.jsonl")
        return [json.loads(l) for l in read(path).splitlines() if l.strip()]

    # --- progress ---------------------------------------------------------------------------
    def test_plain_progress_lines_when_stderr_is_not_a_terminal(self):
        # Short job, no --progress: nothing but the tasks' own output on stderr.
        rc, out, err = self.run_pg("--", "echo", ":::", "a", "b")
        self.assertEqual((rc, err), (0, b""))
        # --progress: a line at once, then at most one a second, and a final line.
        rc, out, err = self.run_pg("-j", "2", "--progress", "--shell", "--", "sleep 0.3; echo {}",
                                   ":::", "a", "b", "c", "d")
        self.assertEqual(rc, 0, err)
        lines = err.decode().splitlines()
        self.assertGreaterEqual(len(lines), 2, err)
        for l in lines:
            self.assertRegex(l, r"^parallelagram: \[\d/4\] \d running, \d done, \d failed")
        self.assertRegex(lines[-1], r"^parallelagram: \[4/4\] 0 running, 4 done, 0 failed \| \$[\d.]+ \| [\d.]+/s$")
        # A job longer than the default interval (5 s) prints plain lines without --progress.
        rc, out, err = self.run_pg("--", "sleep", ":::", "6")
        self.assertEqual(rc, 0, err)
        lines = err.decode().splitlines()
        self.assertIn("parallelagram: [0/1] 1 running, 0 done, 0 failed | $0.00", lines)
        self.assertEqual(lines[-1][:46], "parallelagram: [1/1] 0 running, 1 done, 0 fail")

    def run_on_pty(self, *args, timeout=120):
        """Runs PG with stderr on a pseudo-terminal; returns (rc, stdout, terminal bytes)."""
        master, slave = pty.openpty()
        p = subprocess.Popen([PG, "run", "--state-dir", self.state] + list(args), cwd=self.cwd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
        self.procs.append(p)
        os.close(slave)
        term = b""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                term += chunk
            elif p.poll() is not None:
                break
        out = p.stdout.read()
        rc = p.wait(timeout=10)
        os.close(master)
        return rc, out, term

    def test_terminal_display_through_a_pty(self):
        counter = os.path.join(self.dir, "tries")
        # Six tasks, two at a time, one failing once then succeeding (retried), one failing.
        script = ("sleep 0.4; if [ {} = r ]; then echo x >> %s; [ $(wc -l < %s) -ge 2 ] || exit 1; fi; "
                  "[ {} != f ]" % (counter, counter))
        rc, out, term = self.run_on_pty("-j", "2", "--retries", "2", "--shell", "--", script,
                                        ":::", "a", "b", "r", "c", "d", "f")
        self.assertEqual(rc, 1, term)
        text = term.decode(errors="replace")
        self.assertIn("\r\x1b[K[", text)  # redrawn in place
        self.assertRegex(text, r"\[\d/6\] \d running, \d done, \d failed")
        self.assertRegex(text, r"\d retried")
        self.assertRegex(text, r"\| \$[\d.]+ \| [\d.]+/s \| ETA \d+s")
        self.assertRegex(text, r"\[6/6\] 0 running, 6 done, 1 failed, 2 retried \| \$[\d.]+ \| [\d.]+/s\r?\n")
        self.assertEqual(out, b"")
        # -q: no status line on the terminal either.
        rc, out, term = self.run_on_pty("-q", "--", "echo", ":::", "a", "b")
        self.assertEqual((rc, sorted(out.split())), (0, [b"a", b"b"]))
        self.assertNotIn(b"running", term)
        self.assertNotIn(b"\x1b[K", term)

    def test_quiet_drops_warnings_but_not_task_output(self):
        rc, out, err = self.run_pg("--timeout", "1", "--shell", "--", "echo o{}; echo e{} >&2; exec sh -c {}",
                                   ":::", "true", "false", "sleep 5", "kill -9 $$")
        self.assertEqual(rc, 3, err)
        self.assertIn(b"parallelagram: task", err)
        rc, out, err = self.run_pg("-q", "--timeout", "1", "--shell", "--", "echo o{}; echo e{} >&2; exec sh -c {}",
                                   ":::", "true", "false", "sleep 5", "kill -9 $$")
        self.assertEqual(rc, 3, err)
        self.assertNotIn(b"parallelagram", err)
        self.assertEqual(sorted(err.decode().split("\n")),
                         sorted(["", "etrue", "efalse", "esleep 5", "ekill -9 $$"]))
        self.assertEqual(len(out.split(b"\n")), 5)

    # --- exit status, compared with GNU parallel ---------------------------------------------
    def test_exit_status_counts_failures_capped_at_101_like_gnu_parallel(self):
        cases = [
            ["0", "0", "0"],
            ["0", "3", "0", "1", "7"],
            ["1"] * 105,
        ]
        for inputs in cases:
            rc, _, err = self.run_pg("-j", "8", "-q", "--", "sh", "-c", 'exit "$1"', "sh", ":::", *inputs)
            expect = min(101, sum(1 for i in inputs if i != "0"))
            self.assertEqual(rc, expect, err)
            if HAVE_GNU:
                # GNU parallel joins the words into a shell command line: -q quotes them.
                grc, _, _ = self.gnu("-j", "8", "-q", "sh", "-c", 'exit "$1"', "sh", ":::", *inputs)
                self.assertEqual(rc, grc, inputs)

    def test_joblog_matches_gnu_parallel(self):
        inputs = ["kill -9 $$", "exit 3", "kill -TERM $$", "echo fine"]
        rc, _, err = self.run_pg("-q", "-k", "--joblog", "pg.tsv", "--", "sh", "-c", ":::", *inputs)
        self.assertEqual(rc, 3, err)
        pg = read(os.path.join(self.cwd, "pg.tsv")).splitlines()
        rows = sorted((l.split("\t") for l in pg[1:]), key=lambda r: int(r[0]))
        self.assertEqual([len(r) for r in rows], [9] * 4)
        self.assertEqual([(r[6], r[7]) for r in rows], [("0", "9"), ("3", "0"), ("0", "15"), ("0", "0")])
        self.assertEqual([r[1] for r in rows], [":"] * 4)
        if not HAVE_GNU:
            return
        self.gnu("-k", "--joblog", "gnu.tsv", "sh", "-c", ":::", *inputs)
        gnu = read(os.path.join(self.cwd, "gnu.tsv")).splitlines()
        self.assertEqual(pg[0], gnu[0])  # the header
        grows = sorted((l.split("\t") for l in gnu[1:]), key=lambda r: int(r[0]))
        for p, g in zip(rows, grows):
            # Same Seq, Host, Send, Receive, Exitval, Signal and Command; times in the same format.
            self.assertEqual([p[i] for i in (0, 1, 4, 5, 6, 7, 8)], [g[i] for i in (0, 1, 4, 5, 6, 7, 8)])
            self.assertEqual(len(p[3]), len(g[3]))
            self.assertRegex(p[2], r"^\d{10}\.\d{3}$")

    def test_sources_combine_like_gnu_parallel(self):
        with open(os.path.join(self.cwd, "in.txt"), "w") as f:
            f.write("x\ny y\n")
        variants = [
            (["-k"], ["echo", "{1}-{2}-{3}", ":::", "a", "b", ":::", "1", "2", "3", "::::", "in.txt"]),
            (["-k", "--link"], ["echo", "{1}-{2}", ":::", "a", "b", "c", "d", "e", ":::", "1", "2"]),
            (["-k"], ["echo", ":::", "a", "b", ":::", "1", "2"]),  # no replacement string: appended
        ]
        for opts, cmd in variants:
            rc, out, err = self.run_pg(*opts, "--", *cmd)
            self.assertEqual(rc, 0, err)
            self.assertGreater(len(out), 0)
            if HAVE_GNU:
                self.assertEqual(out, self.gnu(*opts, *cmd)[1], cmd)

    def test_job_slots_and_default_jobs(self):
        rc, out, err = self.run_pg("-j", "2", "--shell", "--", "sleep 0.2; echo {#} {%}", ":::", *"abcdef")
        self.assertEqual(rc, 0, err)
        rows = sorted(tuple(map(int, l.split())) for l in out.decode().splitlines())
        self.assertEqual([r[0] for r in rows], [1, 2, 3, 4, 5, 6])
        self.assertEqual({r[1] for r in rows}, {1, 2})  # {%}: the job slot, 1..-j
        # -j defaults to the number of cores.
        rc, out, err = self.run_pg("--json", "--", "true", ":::", "a")
        self.assertEqual(json.loads(out.decode().splitlines()[0])["jobs"], len(os.sched_getaffinity(0)))

    # --- results as they arrive ----------------------------------------------------------------
    def test_results_are_appended_as_each_task_finishes(self):
        flag = os.path.join(self.dir, "release")
        p = subprocess.Popen([PG, "run", "--state-dir", self.state, "--job-id", "live", "-j", "2",
                              "--results", "res", "--shell", "--",
                              "if [ {} = slow ]; then while [ ! -e %s ]; do sleep 0.05; done; fi; echo {}" % flag,
                              ":::", "fast", "slow"],
                             cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.procs.append(p)
        jsonl = os.path.join(self.cwd, "res", "results.jsonl")
        manifest = os.path.join(self.state, "jobs", "live", "results.jsonl")
        wait_for(lambda: os.path.exists(jsonl) and read(jsonl).count("\n") >= 1, what="first result")
        # The fast task is recorded everywhere while the slow one still runs.
        self.assertIsNone(p.poll())
        first = json.loads(read(jsonl).splitlines()[0])
        self.assertEqual((first["seq"], first["args"], first["stdout"]), (1, ["fast"], "fast\n"))
        self.assertEqual(read(os.path.join(self.cwd, "res", "1", "stdout")), "fast\n")
        self.assertEqual(json.loads(read(os.path.join(self.cwd, "res", "1", "result.json")))["outcome"],
                         "succeeded")
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "res", "2")))
        self.assertEqual([r["seq"] for r in self.manifest("live")], [1])
        tasks = [json.loads(l) for l in read(os.path.join(self.state, "jobs", "live", "tasks.jsonl")).splitlines()]
        self.assertEqual([t["args"] for t in tasks], [["fast"], ["slow"]])
        self.assertEqual(json.loads(read(os.path.join(self.state, "jobs", "live", "job.json")))["status"], "running")
        open(flag, "w").close()
        out, err = p.communicate(timeout=60)
        self.assertEqual((p.returncode, out), (0, b"fast\nslow\n"), err)
        self.assertEqual([json.loads(l)["seq"] for l in read(jsonl).splitlines()], [1, 2])
        self.assertEqual([r["seq"] for r in self.manifest("live")], [1, 2])
        self.assertEqual(json.loads(read(os.path.join(self.state, "jobs", "live", "job.json")))["status"], "finished")
        self.assertTrue(os.path.exists(manifest))

    # --- state directory ----------------------------------------------------------------------
    def test_state_dir_defaults_to_xdg_state_home_then_home(self):
        env = dict(os.environ)
        env["XDG_STATE_HOME"] = os.path.join(self.dir, "xdg")
        rc, out, err = self.run_pg("--", "echo", ":::", "a", env=env, state=False)
        self.assertEqual(rc, 0, err)
        jobs = os.listdir(os.path.join(self.dir, "xdg", "parallelagram", "jobs"))
        self.assertEqual(len(jobs), 1)
        self.assertRegex(jobs[0], r"^\d{8}-\d{6}-[0-9a-f]{4}$")
        self.assertEqual(self.manifest(jobs[0], os.path.join(self.dir, "xdg", "parallelagram"))[0]["stdout"], "a\n")
        rc, out, err = self.run_pg(env=env, sub="jobs", state=False)
        self.assertIn(jobs[0], out.decode())
        rc, out, err = self.run_pg("last", "--stdout", env=env, sub="results", state=False)
        self.assertEqual((rc, out), (0, b"a\n"), err)
        del env["XDG_STATE_HOME"]
        env["HOME"] = os.path.join(self.dir, "home")
        rc, out, err = self.run_pg("--job-id", "h1", "--", "echo", ":::", "b", env=env, state=False)
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "home", ".local", "state", "parallelagram",
                                                    "jobs", "h1", "tasks.jsonl")))
        # A job id is never reused.
        rc, out, err = self.run_pg("--job-id", "h1", "--", "echo", ":::", "b", env=env, state=False)
        self.assertEqual(rc, 255)
        self.assertEqual(len(err.decode().splitlines()), 1, err)

    # --- files --------------------------------------------------------------------------------
    def test_basefile_file_and_cleanup(self):
        with open(os.path.join(self.cwd, "ref.txt"), "w") as f:
            f.write("REF\n")
        for name in ("p.txt", "q.txt"):
            with open(os.path.join(self.cwd, name), "w") as f:
                f.write("input %s %s\n" % (name, self.id()))
        store = os.path.join(self.state, "store")

        def stored_contents():
            return sorted(read(p, "rb") for p in glob.glob(os.path.join(store, "**", "*"), recursive=True)
                          if os.path.isfile(p))

        rc, out, err = self.run_pg("-k", "--bf", "ref.txt", "--tf", "{}", "--", "cat", "ref.txt", ":::",
                                   "p.txt", "q.txt")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.decode(), "REF\n%sREF\n%s" % (read(os.path.join(self.cwd, "p.txt")),
                                                         read(os.path.join(self.cwd, "q.txt"))))
        kept = stored_contents()
        self.assertIn(read(os.path.join(self.cwd, "p.txt"), "rb"), kept)  # without --cleanup
        shutil.rmtree(store)
        rc, out, err = self.run_pg("-k", "--bf", "ref.txt", "--tf", "{}", "--return", "{.}.out", "--cleanup",
                                   "--shell", "--", "cat ref.txt {} > {.}.out", ":::", "p.txt", "q.txt")
        self.assertEqual(rc, 0, err)
        self.assertEqual(read(os.path.join(self.cwd, "q.out")), "REF\n" + read(os.path.join(self.cwd, "q.txt")))
        left = stored_contents()
        for name in ("p.txt", "q.txt", "p.out", "q.out"):
            self.assertNotIn(read(os.path.join(self.cwd, name), "rb"), left, name)

    # --- halt -----------------------------------------------------------------------------------
    def test_halt_now_abandons_running_tasks_and_soon_lets_them_finish(self):
        script = "case {} in f) exit 1;; s) sleep 1.5;; l) sleep 30;; esac"
        t0 = time.time()
        rc, out, err = self.run_pg("--job-id", "now", "-j", "2", "--halt", "now,fail=1", "--shell", "--",
                                   script, ":::", "l", "f", "a", "b")
        self.assertLess(time.time() - t0, 20)
        self.assertEqual(rc, 1, err)
        self.assertEqual([(r["seq"], r["outcome"]) for r in self.manifest("now")], [(2, "failed")])
        rc, out, err = self.run_pg("--job-id", "soon", "-j", "2", "--halt", "soon,fail=1", "--shell", "--",
                                   script, ":::", "s", "f", "a", "b")
        self.assertEqual(rc, 1, err)
        self.assertEqual(sorted((r["seq"], r["outcome"]) for r in self.manifest("soon")),
                         [(1, "succeeded"), (2, "failed")])
        self.assertEqual(json.loads(read(os.path.join(self.state, "jobs", "soon", "job.json")))["not_run"], 2)

    # --- bad input --------------------------------------------------------------------------------
    def test_bad_input_messages_say_what_to_do(self):
        os.makedirs(os.path.join(self.cwd, "adir"))
        cases = [
            (["--frobnicate", "echo", ":::", "a"], "unknown option"),
            (["echo", ":::"], "must be followed"),
            (["echo", "::::", "adir"], "adir"),
            (["echo", "::::", "nope.txt"], "nope.txt"),
            ([":::", "a"], "no command"),
            (["--", "echo", "{x}", ":::", "a"], "{x}"),
            (["-q", "--progress", "echo", ":::", "a"], "--quiet and --progress"),
            (["-j", "two", "echo", ":::", "a"], "--jobs"),
            (["--retries"], "needs a value"),
        ]
        hint = re.compile(r"\b(see|use|give|pick|drop|put|add|write|check|cd)\b")
        for args, needle in cases:
            rc, out, err = self.run_pg(*args)
            self.assertEqual((rc, out), (255, b""), args)
            lines = err.decode().splitlines()
            self.assertEqual(len(lines), 1, (args, err))
            self.assertIn(needle, lines[0])
            self.assertRegex(lines[0], hint)
        self.assertFalse(os.path.exists(self.state))


if __name__ == "__main__":
    unittest.main(verbosity=2)
