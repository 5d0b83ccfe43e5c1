#!/usr/bin/env python3
"""GNU parallel's options that shape a task's arguments (issue 15 items 1 and 2): --colsep,
--header, --trim, -E (per input) and -N, -n, -X, -m, --xargs, -L (several inputs per task),
each compared byte for byte with GNU parallel 20221122's stdout for the same command line with
-k (and the same -j where -X/-m spread the inputs over the job slots).

Differences on purpose, checked as such:
  - GNU parallel runs every command through a shell; we do not unless --shell, so each value
    of {} is its own argument. Where the shell's word splitting and ours agree (the cases
    below) the output is the same byte for byte.
  - -N 0 / -n 0 / -L 0 (GNU: read one input, insert none) and negative counts are refused in
    one line naming the option, exit 255, nothing run; so is a --colsep that std::regex
    (ECMAScript) cannot compile.
Also: a grouped job killed with SIGKILL and resumed ends with the same groups as an
uninterrupted run (each input in exactly one task, in the manifest and --results), and a
resume with another -N is refused."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import Checks, kill_when_lines  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
GNU = "/usr/bin/parallel"
check = Checks()


def run(argv, cwd, stdin=b"", env=None):
    p = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=300, env=env)
    return p.returncode, p.stdout, p.stderr


NUMS = [str(i) for i in range(1, 8)]

# (what, args after -k, stdin). Every command is one GNU parallel and the shell agree on.
CASES = [
    # --colsep
    ("--colsep {1}-{2}", ["--colsep", ",", "echo", "{1}-{2}", ":::", "a,b", "c,d"], b""),
    ("--colsep appends columns", ["--colsep", ",", "echo", ":::", "a,b", "c,d,e"], b""),
    ("--colsep {}", ["--colsep", ",", "echo", "={}=", ":::", "a,b"], b""),
    ("--colsep two sources", ["--colsep", ",", "echo", "{1}-{2}-{3}-{4}", ":::", "a,b", ":::",
                              "c,d"], b""),
    ("--colsep short row", ["--colsep", ",", "echo", "{1}-{2}-{3}", ":::", "a,b,c", "x"], b""),
    ("--colsep regex", ["-C", "[,;]+", "echo", "{2}", ":::", "a,;b", "c;d"], b""),
    ("--colsep {2.} {2/}", ["--colsep", ",", "echo", "{2.}", "{2/}", ":::", "a,b/c.d"], b""),
    ("--colsep trims (lr)", ["--colsep", ",", "echo", "={1}={2}=", ":::", " a , b "], b""),
    ("--colsep --trim n", ["--trim", "n", "--colsep", ",", "echo", "={1}={2}=", ":::",
                           " a , b "], b""),
    ("--colsep on stdin", ["--colsep", "\t", "echo", "{2}", "{1}"], b"a\tb\nc\td\n"),
    # --header
    ("--header : names ::: sources", ["--header", ":", "echo", "{f}-{g}", ":::", "f", "1",
                                      "2", ":::", "g", "x", "y"], b""),
    ("--header : with --colsep on a file", ["--header", ":", "--colsep", ",", "echo",
                                            "{m}-{n}", "::::", "h.csv"], b""),
    ("--header : on stdin", ["--header", ":", "echo", "{name}"], b"name\na\nb\n"),
    ("--header : {name.} {name/}", ["--header", ":", "echo", "{f.}", "{f/}", ":::", "f",
                                    "a/b.c"], b""),
    ("--header REGEX", ["--header", ".*", "--colsep", ",", "echo", "{2}", "::::", "h.csv"],
     b""),
    ("--header : TAB columns", ["--header", ":", "echo", "{q}", "{p}", "::::", "h.tsv"], b""),
    # --trim
    ("--trim l", ["--trim", "l", "echo", "={}=", ":::", " a "], b""),
    ("--trim r", ["--trim", "r", "echo", "={}=", ":::", " a "], b""),
    ("--trim rl", ["--trim", "rl", "echo", "={}=", ":::", "\t a \t"], b""),
    ("--trim lr appended", ["--trim", "lr", "echo", ":::", "  a  b  "], b""),
    # -E
    ("-E on :::", ["-E", "stop", "echo", ":::", "a", "stop", "b"], b""),
    ("-E on stdin", ["-E", "stop", "echo"], b"a\nstop\nb\n"),
    ("-E two sources", ["-E", "stop", "echo", ":::", "a", "stop", "b", ":::", "x", "y", "stop",
                        "z"], b""),
    # -N
    ("-N2 appended", ["-N2", "echo", ":::", "a", "b", "c", "d", "e"], b""),
    ("-N2 {1}-{2}", ["-N2", "echo", "{1}-{2}", ":::", "a", "b", "c", "d", "e"], b""),
    ("-N 2 {#} counts tasks", ["-N", "2", "echo", "{#}", ":::", "a", "b", "c", "d", "e"], b""),
    ("-N3 {3} of a short task", ["-N3", "echo", "{1}-{3}", ":::", "a", "b", "c", "d"], b""),
    ("-N2 missing position is no word", ["-N2", "printf", "%s.", "{1}", "{2}", ":::", "a", "b",
                                         "c"], b""),
    ("-N2 repeats a word per input", ["-N2", "echo", "={}=", ":::", "a", "b", "c"], b""),
    ("-N2 two sources", ["-N2", "echo", "{1}-{2}-{3}-{4}", ":::", "a", "b", "c", ":::", "x",
                         "y"], b""),
    ("-N2 --colsep", ["-N2", "--colsep", ",", "echo", "{1}-{2}-{3}-{4}", ":::", "a,b", "c,d",
                      "e,f"], b""),
    ("--max-replace-args on stdin", ["--max-replace-args", "3", "echo", "{3}", "{1}"],
     b"1\n2\n3\n4\n5\n"),
    # -n
    ("-n2 appended", ["-n2", "echo", ":::", "a", "b", "c", "d", "e"], b""),
    ("-n2 {} is all of them", ["-n2", "echo", "={}=", ":::", "a", "b", "c", "d", "e"], b""),
    ("--max-args 2 {2}", ["--max-args", "2", "echo", "{2}", ":::", "a", "b", "c"], b""),
    # -X, -m, --xargs (-j given: they spread over the slots as GNU parallel does)
    ("-X -j1", ["-j1", "-X", "echo", ":::", "x", "y", "z"], b""),
    ("-X -j2 spreads", ["-j2", "-X", "echo", ":::"] + NUMS[:5], b""),
    ("-X -j1 context", ["-j1", "-X", "echo", "pre{}post", "{#}", ":::", "a", "b", "c"], b""),
    ("-X -j2 context", ["-j2", "-X", "echo", "p{.}", ":::", "a.x", "b.y", "c.z"], b""),
    ("-m -j3 spreads", ["-j3", "-m", "echo", ":::"] + NUMS, b""),
    ("-m -j1 x{}y", ["-j1", "-m", "printf", "%s.", "x{}y", ":::", "a b", "c"], b""),
    ("--xargs -j3 does not spread", ["-j3", "--xargs", "echo", ":::"] + NUMS, b""),
    ("-X -j4 on stdin", ["-j4", "-X", "echo", "={}="], b"1\n2\n3\n4\n5\n6\n"),
    # -L
    ("-L2 continued lines", ["-L2", "echo", "={}="], b"a\nb \nc\nd\ne\n"),
    ("--max-lines 2", ["--max-lines", "2", "echo"], b"a\nb\nc\n"),
    ("-L2 -m -j2", ["-j2", "-L2", "-m", "echo", "={}="], b"a\nb \nc\nd\ne\n"),
    ("-L 1 -E", ["-L", "1", "-E", "end", "echo"], b"a \nb\nend\nc\n"),
]

# GNU parallel always has a shell; ours is asked for with --shell (added to our command line).
SHELL_CASES = [
    ("--shell -X repeats the part of the line", ["-j1", "-X", "echo p{}q | tr a-z A-Z", ":::",
                                                 "a b", "c", "d"], b""),
    ("--shell -m", ["-j1", "-m", "echo {} | wc -w", ":::", "a b", "c", "d"], b""),
    ("--shell -N2 {2} missing", ["-N2", "echo {1} {2} | od -c", ":::", "a", "b", "c"], b""),
    ("--shell --colsep", ["--colsep", ",", "echo {2}$(echo {1})", ":::", "a,b", "$(x),y"], b""),
]


def oracle_cases(work, env):
    for what, args, stdin in CASES + SHELL_CASES:
        ours = ["--shell", *args] if (what, args, stdin) in SHELL_CASES else args
        rc, out, err = run([PG, "run", "-k", *ours], work, stdin, env)
        grc, gout, gerr = run([GNU, "-k", *args], work, stdin)
        check(rc == 0 and grc == 0 and out == gout and out,
              "%s: same output as GNU parallel" % what,
              "ours %d %r %r\ngnu %d %r %r" % (rc, out, err, grc, gout, gerr))


def refused(work, env):
    # -N 0 etc.: GNU parallel reads one input and inserts none; we refuse (on purpose).
    rc, gout, _ = run([GNU, "-k", "-N0", "echo", "x", ":::", "a", "b"], work)
    check(rc == 0 and gout == b"x\nx\n", "GNU parallel's -N0 inserts nothing (we differ)", gout)
    for what, name, args in (("-N 0", "-N", ["-N", "0"]), ("-N0", "-N", ["-N0"]),
                             ("-n 0", "-n", ["-n", "0"]), ("-n -2", "-n", ["-n", "-2"]),
                             ("-L 0", "-L", ["-L", "0"]),
                             ("--max-args=-1", "--max-args", ["--max-args=-1"]),
                             ("a bad --colsep", "--colsep", ["--colsep", "a("]),
                             ("a bad --header", "--header", ["--header", "[x"]),
                             ("--trim x", "--trim", ["--trim", "x"])):
        rc, out, err = run([PG, "run", *args, "echo", ":::", "x"], work, b"", env)
        check(rc == 255 and out == b"" and err.count(b"\n") == 1 and name.encode() in err,
              "%s: refused in one line naming %s, exit 255, nothing run" % (what, name),
              (rc, out, err))
    jobs = os.path.join(env["XDG_STATE_HOME"], "parallelagram", "jobs")
    check(not os.path.isdir(jobs) or not os.listdir(jobs), "no job was created by them",
          os.listdir(jobs) if os.path.isdir(jobs) else "")


def manifest(state, job):
    path = os.path.join(state, "parallelagram", "jobs", job, "results.jsonl")
    with open(path, "rb") as f:
        return [json.loads(l) for l in f.read().split(b"\n") if l.strip()]


def killed_and_resumed(work, env):
    """-N 3 over 20 inputs at -j 2, killed with SIGKILL after a few tasks, resumed."""
    state = env["XDG_STATE_HOME"]
    inputs = ["in%02d" % i for i in range(1, 21)]
    args = ["-N", "3", "-j", "2", "--results", "res", "--job-id", "grouped", "--",
            "sh", "-c", 'echo "$@"; sleep 0.2', "sh", "{1}", "{2}", "{3}", ":::"] + inputs
    p = subprocess.Popen([PG, "run", *args], cwd=work, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    kill_when_lines(p, os.path.join(state, "parallelagram", "jobs", "grouped", "results.jsonl"), 2)
    before = len(manifest(state, "grouped"))
    check(2 <= before < 7, "the grouped job was killed part way (%d of 7 tasks)" % before)
    rc, out, err = run([PG, "run", "--resume", "grouped", "-N", "4"], work, b"", env)
    check(rc == 255 and b"-N" in err and err.count(b"\n") == 1,
          "a resume with another -N is refused in one line", (rc, err))
    rc, out, err = run([PG, "run", "--resume", "grouped"], work, b"", env)
    check(rc == 0, "the grouped job resumed and finished", (rc, out, err))
    rows = sorted(manifest(state, "grouped"), key=lambda r: r["seq"])
    expect = [inputs[i:i + 3] for i in range(0, 20, 3)]
    check([r["seq"] for r in rows] == list(range(1, 8)), "seq 1..7, each once",
          [r["seq"] for r in rows])
    check([r["args"] for r in rows] == expect, "the same groups as an uninterrupted run",
          [r["args"] for r in rows])
    check(all(r.get("stdout") == " ".join(a) + "\n" for r, a in zip(rows, expect)),
          "each task got its group's inputs", [r.get("stdout") for r in rows])
    with open(os.path.join(work, "res", "results.jsonl"), "rb") as f:
        res = sorted((json.loads(l) for l in f.read().split(b"\n") if l.strip()),
                     key=lambda r: r["seq"])
    check([r["args"] for r in res] == expect, "--results holds every group once",
          [r["args"] for r in res])
    flat = [v for r in rows for v in r["args"]]
    check(sorted(flat) == inputs, "every input is in exactly one task", flat)


def main():
    if not os.path.exists(GNU):
        print("skipped: no GNU parallel")
        return 77
    work = tempfile.mkdtemp(prefix="pg-gnu-args-")
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
    try:
        with open(os.path.join(work, "h.csv"), "wb") as f:
            f.write(b"n,m\n1,2\n3,4\n")
        with open(os.path.join(work, "h.tsv"), "wb") as f:
            f.write(b"p\tq\n1\t2\n3\t4\n")
        refused(work, env)
        oracle_cases(work, env)
        killed_and_resumed(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
