#!/usr/bin/env python3
"""Helpers the end-to-end tests share that are not about moto (moto_fixture.py is):

    from e2e_util import Checks, PgRunner, children_of, alive
    check = Checks()                 # check(cond, what, out) ... sys.exit(check.exit_status())
    pg = PgRunner(PG)                # rc, out, err = pg(env, "deploy", ...); pg.printed()

Not a test itself. Linux only (/proc).
"""
import os
import subprocess


class Checks:
    """The e2e tests' check(): prints ok/FAIL per check and remembers the failures."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what, out=""):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, "\n" + str(out)[-3000:], flush=True)
        else:
            print("ok:", what, flush=True)
        return bool(cond)

    def no_secret(self, text, secret, what="no secret in any output or log"):
        """Checks that neither `secret` nor its tail from the 6th character (what a wrong
        secret made by replacing the first five keeps) appears in `text`. Never prints them."""
        return self(secret not in text and secret[5:] not in text, what)

    def exit_status(self):
        """Prints the summary; 1 if any check failed, else 0."""
        if self.failures:
            print("%d check(s) failed: %s" % (len(self.failures), "; ".join(self.failures)))
            return 1
        print("all checks passed")
        return 0


class PgRunner:
    """Runs the `parallelagram` binary at `binary` to completion and keeps everything each run
    printed (stdout and stderr), for a test's final no-secret check: printed() joins it all,
    and add() keeps other output (a service's log) with it."""

    def __init__(self, binary):
        self.binary = binary
        self.outputs = []

    def __call__(self, env, *args, cwd=None, timeout=300, binary_stdout=False):
        """Returns (exit status, stdout, stderr); stdout as bytes with binary_stdout, else as
        text (undecodable bytes replaced), stderr always as text."""
        p = subprocess.run([self.binary, *args], env=env, cwd=cwd, capture_output=True,
                           timeout=timeout)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        self.outputs.append(out + err)
        return p.returncode, (p.stdout if binary_stdout else out), err

    def add(self, text):
        self.outputs.append(text)

    def printed(self):
        return "\n".join(self.outputs)


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, session, ...),
    or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children_of(pid):
    """The pids whose parent is `pid` (zombies included)."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and int(st[1]) == pid:
                kids.append(int(d))
    return kids


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] != "Z"


def kill_when_lines(p, path, lines, timeout=60):
    """Waits until file `path` has `lines` lines (or `timeout` seconds), then kills the process
    group of `p` (started with start_new_session=True) and those of its children with SIGKILL,
    as a crash would, and reaps `p`."""
    import signal
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(path, "rb") as f:
                if f.read().count(b"\n") >= lines:
                    break
        except OSError:
            pass
        time.sleep(0.02)
    kids = children_of(p.pid)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    for k in kids:
        try:
            os.killpg(k, signal.SIGKILL)
        except OSError:
            pass
