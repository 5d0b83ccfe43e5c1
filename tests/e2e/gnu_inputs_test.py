#!/usr/bin/env python3
"""GNU parallel's input options as people type them (issue 15 item 1, part): -a FILE
(repeatable, before the ::: sources), -0/--null and -d DELIM (what ends an input in a file or on
stdin), each compared byte for byte with GNU parallel 20221122's output for the same command
line with -k; and {= perl =}, which GNU parallel evaluates and we refuse in one line (no Perl
runs in a task: a difference on purpose)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import Checks  # noqa: E402

PG = os.environ.get("PG_BIN", "build/parallelagram")
GNU = "/usr/bin/parallel"
check = Checks()


def run(argv, cwd, stdin=b"", env=None):
    p = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=300, env=env)
    return p.returncode, p.stdout, p.stderr


def main():
    if not os.path.exists(GNU):
        print("skipped: no GNU parallel")
        return 77
    work = tempfile.mkdtemp(prefix="pg-gnu-inputs-")
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
    try:
        def write(name, data):
            with open(os.path.join(work, name), "wb") as f:
                f.write(data)
        write("abc", b"a\nb b\nc\n")
        write("xy", b"x\ny\n")
        write("nul", b"one\0two words\0three\nlines\0")
        write("tabs", b"p\tq q\tr")
        cases = [
            ("-a FILE", ["-a", "abc", "echo"], b""),
            ("-a FILE with ::: after it", ["-a", "abc", "echo", ":::", "1", "2"], b""),
            ("two -a FILEs", ["-a", "abc", "-a", "xy", "echo"], b""),
            ("--arg-file=FILE", ["--arg-file=xy", "echo", "{}-{#}"], b""),
            ("-0 on a file", ["-0", "-a", "nul", "echo", "[{}]"], b""),
            ("--null on stdin", ["--null", "echo", "={}="], b"s1\0s 2\0"),
            ("-d TAB on a file", ["-d", "\\t", "echo", "{}."], b""),
            ("-d , on stdin", ["-d", ",", "echo", "{}"], b"u,v w,x"),
            ("-a FILE with {1} {2}", ["-a", "abc", "-a", "xy", "echo", "{2}{1}"], b""),
        ]
        for what, args, stdin in cases:
            if what == "-d TAB on a file":
                args = ["-d", "\\t", "-a", "tabs", "echo", "{}."]
            rc, out, err = run([PG, "run", "-k", *args], work, stdin, env)
            grc, gout, gerr = run([GNU, "-k", *args], work, stdin)
            check(rc == 0 and grc == 0 and out == gout and out,
                  "%s: same output as GNU parallel" % what,
                  "ours %d %r %r\ngnu %d %r %r" % (rc, out, err, grc, gout, gerr))

        # Bad input: one line naming the option, exit 255, nothing run.
        for what, args in (("-d with two characters", ["-d", "ab", "echo", ":::", "x"]),
                           ("-0 with another -d", ["-0", "-d", ",", "echo", ":::", "x"]),
                           ("a missing -a file", ["-a", "nosuch", "echo"]),
                           ("{= perl =}", ["echo", "{= $_ .= 1 =}", ":::", "x"])):
            rc, out, err = run([PG, "run", *args], work, b"", env)
            check(rc == 255 and out == b"" and err.count(b"\n") == 1,
                  "%s: refused in one line, exit 255, nothing run" % what, (rc, out, err))
        rc, out, err = run([PG, "run", "echo", "{= $_ .= 1 =}", ":::", "x"], work, b"", env)
        check(b"Perl expressions {= ... =} are not supported" in err, "{= =} says why", err)
        rc, out, err = run([PG, "run", "-a", "nosuch", "echo"], work, b"", env)
        check(b"nosuch" in err, "a missing -a file is named", err)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
