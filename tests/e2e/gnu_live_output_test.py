#!/usr/bin/env python3
"""`run --line-buffer`, `-u`/`--ungroup`, `--eta` and `--bar` (issue 15 item 3) on the local
backend, against GNU parallel 20221122 where the output is deterministic.

- Liveness: a task prints a line, then waits (at most 10 s) for a file this test creates only
  once it has read that line from our stdout, and fails if the file never comes. So the job
  only succeeds if the line was printed while the task ran. -u the same with a partial line;
  --line-buffer holds a partial line back until its newline.
- -k --line-buffer: the first task prints live and the others when their turn comes; the
  whole output is byte-for-byte GNU parallel's (-k --lb with tasks of different lengths).
- --tag with --line-buffer, and -u's lines (sorted), as GNU parallel's.
- The --results files still hold each task's whole output.
- --eta and --bar: stderr matches a pattern derived from GNU parallel's actual output, which
  is checked against GNU's own stderr from the same job (timings aside).
"""
import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
GNU = shutil.which("parallel")
check = Checks()



def wait(go):
    """Shell that waits at most 30 s for the file `go`, then fails if it did not come."""
    q = shlex.quote(go)
    return ('i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; '
            'test -e %s' % (q, q))

# GNU parallel's --eta stderr (stderr not a terminal): the header, then "\r" + a status per
# update and "\n" after the last. HOST is where GNU puts the computer's name.
ETA_RE = (r"\nComputers / CPU cores / Max jobs to run\n1:{host} / \d+ / 2\n"
          r"\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
          r"(\rETA: \d+s Left: \d+ AVG: \d+\.\d\ds  ({host}:\d+/\d+/\d+%/\d+\.\ds )?)+\n")
# --bar: per update "\r\r" + GNU's zenity line + "\r" + the percentage + "\r" + the bar.
BAR_RE = r"(\r\r[^\r]*\r[^\r]*\r[^\r]*)+\n"


def bar_problems(err):
    """What in `err` is not GNU parallel's --bar (stderr not a terminal, so 80 columns): each
    update is "\r\r", "#   ETA sec ARGS" padded to 80, "\r", the percentage, "\r", ESC[7m, the
    text "PCT% DONE:LEFT=ETA ARGS" padded to 80 with ESC[0m inserted at 80 * PCT / 100, and
    ESC[0m; "\n" after the last."""
    if re.fullmatch(BAR_RE, err, re.S) is None:
        return ["not a sequence of updates ending in a newline"]
    problems = []
    for u in err[:-1].split("\r\r")[1:]:
        zenity, pct, bar = u.split("\r")
        if not re.fullmatch(r"#   \d+ sec .*", zenity) or len(zenity) != 80:
            problems.append("zenity line " + repr(zenity))
        if not re.fullmatch(r"\d+(\.\d+)?", pct):
            problems.append("percentage " + repr(pct))
            continue
        if not (bar.startswith("\x1b[7m") and bar.endswith("\x1b[0m")):
            problems.append("bar not in reverse video " + repr(bar))
            continue
        inner = bar[4:-4]
        at = inner.find("\x1b[0m")
        text = inner.replace("\x1b[0m", "")
        if inner.count("\x1b[0m") != 1 or at != int(80 * float(pct) / 100):
            problems.append("bar's reset at %d for %s%%: %r" % (at, pct, bar))
        if not re.fullmatch(r"%d%% \d+:\d+=\d+s .*" % int(float(pct)), text) or len(text) != 80:
            problems.append("bar text " + repr(text))
    return problems


def read_until(proc, want, timeout):
    """Reads proc.stdout until `want` (bytes) is in what was read or `timeout` s passed."""
    got = b""
    end = time.time() + timeout
    while want not in got and time.time() < end:
        r, _, _ = select.select([proc.stdout], [], [], 0.1)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            got += chunk
    return got


def read_for(proc, seconds):
    """What proc.stdout gives within `seconds`."""
    got = b""
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([proc.stdout], [], [], 0.05)
        if r:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            got += chunk
    return got


def without_tty_noise(err):
    """GNU parallel's stderr without what its tput call prints when there is no tty."""
    return re.sub(rb"sh: 1: cannot open /dev/tty[^\n]*\n", b"", err)


def main():
    if not GNU:
        print("GNU parallel not installed: skipped")
        sys.exit(77)
    d = tempfile.mkdtemp(prefix="pg_gnu_live_")
    state = os.path.join(d, "state")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def pg(*args, stdin=subprocess.DEVNULL):
        p = subprocess.run([PG, "run", "--state-dir", state, *args], capture_output=True,
                           env=env, cwd=d, timeout=300, stdin=stdin)
        return p.returncode, p.stdout, p.stderr

    def gnu(*args, stdin=subprocess.DEVNULL):
        p = subprocess.run([GNU, "--will-cite", *args], capture_output=True, env=env, cwd=d,
                           timeout=300, stdin=stdin)
        return p.returncode, p.stdout, p.stderr

    def live(*args):
        return subprocess.Popen([PG, "run", "--state-dir", state, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=d,
                                stdin=subprocess.DEVNULL)

    try:
        # --- liveness --------------------------------------------------------------------------
        for opts in (["--line-buffer"], ["--lb", "-k"], ["-u"]):
            name = " ".join(opts)
            go = os.path.join(d, "go-" + name.replace(" ", "").replace("-", ""))
            # Task 1 prints and waits for the go file; task 2 prints at once (with -k it is
            # held until task 1 ends).
            p = live(*opts, "-j", "2", "--shell", "--",
                     "if [ {} = 1 ]; then echo first; " + wait(go) + " && echo done; "
                     "else echo second; fi", ":::", "1", "2")
            seen = read_until(p, b"first\n", 25)
            check(b"first\n" in seen, name + ": task 1's first line is printed while it runs",
                  seen)
            if "-k" in opts:
                seen += read_for(p, 0.5)
                check(b"second" not in seen,
                      name + ": task 2's output waits for task 1 (the head) to end", seen)
            open(go, "w").close()
            out, err = p.communicate(timeout=60)
            out = seen + out
            check(p.returncode == 0, name + ": the task saw its go file and succeeded",
                  (out, err))
            if "-k" in opts:
                check(out == b"first\ndone\nsecond\n", name + ": then in order", out)
            else:
                check(sorted(out.splitlines()) == [b"done", b"first", b"second"],
                      name + ": every line once", out)

        # -u prints a partial line at once; --line-buffer holds it back until its newline.
        go = os.path.join(d, "go-partial-u")
        p = live("-u", "--shell", "--", "printf part; " + wait(go) + " && echo ial # {}", ":::",
                 "1")
        seen = read_until(p, b"part", 25)
        check(seen == b"part", "-u: a partial line is printed as it comes", seen)
        open(go, "w").close()
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and seen + out == b"partial\n", "-u: then the rest",
              (seen + out, err))
        go = os.path.join(d, "go-partial-lb")
        p = live("--line-buffer", "--shell", "--",
                 "printf 'line1\\npart'; " + wait(go) + " && echo ial # {}", ":::", "1")
        seen = read_until(p, b"line1\n", 25)
        seen += read_for(p, 0.5)
        check(seen == b"line1\n", "--line-buffer: the whole line at once, the partial one held",
              seen)
        open(go, "w").close()
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and seen + out == b"line1\npartial\n",
              "--line-buffer: the held line whole when it ends", (seen + out, err))

        # --- against GNU parallel ----------------------------------------------------------------
        cmd = "echo start {}; sleep {}; echo end {}"
        g = gnu("-k", "--lb", "-j3", cmd, ":::", "0.6", "0.2", "0.4")
        m = pg("-k", "--lb", "-j3", "--shell", "--", cmd, ":::", "0.6", "0.2", "0.4")
        check(m[0] == 0 and m[1] == g[1], "-k --lb: stdout as GNU parallel's", (g[1], m))
        cmd = 'printf "x\\ny"; sleep 0.3; printf "z\\n"; echo e >&2 # {}'
        g = gnu("--lb", "--tag", cmd, ":::", "a")
        m = pg("--lb", "--tag", "--shell", "--", cmd, ":::", "a")
        check(m[0] == 0 and m[1] == g[1] == b"a\tx\na\tyz\n",
              "--lb --tag: a line written in pieces is tagged once, as GNU's", (g[1], m))
        check(b"a\te\n" in m[2], "--lb --tag: stderr lines tagged too", m[2])
        g = gnu("-u", "echo", ":::", "a", "b", "c")
        m = pg("-u", "--", "echo", ":::", "a", "b", "c")
        check(m[0] == 0 and sorted(m[1].splitlines()) == sorted(g[1].splitlines()),
              "-u: the lines GNU parallel prints", (g[1], m))

        # The recorded results keep each task's whole output.
        res = os.path.join(d, "res")
        m = pg("--lb", "--results", res, "--shell", "--", "printf 'a\\nb'; echo E >&2 # {}", ":::",
               "x")
        stdout = open(os.path.join(res, "1", "stdout"), "rb").read()
        stderr = open(os.path.join(res, "1", "stderr"), "rb").read()
        check(m[0] == 0 and m[1] == b"a\nb" and stdout == b"a\nb" and stderr == b"E\n",
              "--lb: --results holds the whole output", (m, stdout, stderr))
        check(not os.path.exists(os.path.join(state, "jobs")) or all(
            not os.path.exists(os.path.join(state, "jobs", j, "live"))
            for j in os.listdir(os.path.join(state, "jobs"))),
              "the live output files are gone when the job ends")

        # --- --eta and --bar -------------------------------------------------------------------
        cmd = "sleep 0.3; echo {}"
        seq5 = "".join("%d\n" % i for i in range(1, 6)).encode()
        for opt in ("--eta", "--bar"):
            with open(os.path.join(d, "seq5"), "wb") as f:
                f.write(seq5)
            with open(os.path.join(d, "seq5"), "rb") as f:
                g = gnu(opt, "-j2", cmd, stdin=f)
            with open(os.path.join(d, "seq5"), "rb") as f:
                m = pg(opt, "-j2", "--shell", "--", cmd, stdin=f)
            gerr = without_tty_noise(g[2]).decode()
            rx = re.compile(ETA_RE.format(host="local"), re.S)

            def problems(err):
                if opt == "--bar":
                    return bar_problems(err)
                return [] if rx.fullmatch(err) else ["not --eta's header and status lines"]
            check(problems(gerr) == [], opt + ": the pattern fits GNU parallel's stderr",
                  (problems(gerr), repr(gerr[:600])))
            check(m[0] == 0 and sorted(m[1].split()) == sorted(g[1].split()),
                  opt + ": the tasks' output as GNU's", m)
            merr = m[2].decode()
            check(problems(merr) == [], opt + ": our stderr in GNU parallel's format",
                  (problems(merr), repr(merr[:600]) + " ... " + repr(merr[-300:])))
            last = merr.rsplit("\r\r", 1)[-1] if opt == "--bar" else merr.rsplit("\r", 1)[-1]
            if opt == "--bar":
                check(last.startswith("#   0 sec 5" + " " * 69 + "\r100\r\x1b[7m100% 5:0=0s 5"),
                      "--bar: the last update is 100% with the newest task's input", repr(last))
            else:
                check(re.fullmatch(r"ETA: 0s Left: 0 AVG: \d+\.\d\ds  local:0/5/100%/\d+\.\ds \n",
                                   last) is not None, "--eta: the last line: 0 left, 5 done",
                      repr(last))

        # --- bad combinations: one line, 255 ----------------------------------------------------
        for bad in (["--lb", "-u"], ["--lb", "--json"], ["--eta", "-q"]):
            m = pg(*bad, "--", "echo", ":::", "a")
            check(m[0] == 255 and len(m[2].strip().splitlines()) == 1,
                  " ".join(bad) + ": refused in one line", m)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
