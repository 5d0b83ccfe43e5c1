#!/usr/bin/env python3
"""`run --tag`, `--tagstring`, `--files` and `--env` (issue 15 items 3, 4) against GNU parallel
20221122 where it has the option, on the local backend, with -k.

- --tag and --tagstring: stdout byte-for-byte GNU parallel's, stderr's lines tagged as GNU's.
- --files: GNU's --results layout is DIR/1/VALUE/stdout and ours DIR/SEQ/stdout (on purpose:
  ours names tasks by number, whatever their inputs); so the check is that each printed path
  holds that task's output, in -k order, and that --files without --results is refused.
- --env NAME copies a variable, NAME=VALUE sets one, nothing else of the driver's environment
  reaches a task (GNU parallel runs tasks in its own environment; we do not, on purpose),
  a resume reads NAME again, and AWS secrets are refused unless --env-secret.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
GNU = shutil.which("parallel")
check = Checks()


def main():
    if not GNU:
        print("GNU parallel not installed: skipped")
        sys.exit(77)
    d = tempfile.mkdtemp(prefix="pg_gnu_output_")
    state = os.path.join(d, "state")
    base_env = dict(os.environ)
    for k in list(base_env):
        if k.startswith("AWS_"):
            del base_env[k]

    def pg(*args, env=None):
        p = subprocess.run([PG, "run", "--state-dir", state, *args], capture_output=True,
                           env=env or base_env, cwd=d, timeout=300, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def gnu(*args):
        p = subprocess.run([GNU, "--will-cite", *args], capture_output=True, env=base_env, cwd=d,
                           timeout=300, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def jobs():
        j = os.path.join(state, "jobs")
        return sorted(os.listdir(j)) if os.path.isdir(j) else []

    # Two scripts both tools run the same way (GNU parallel would run a command given in
    # words through a shell, we would not: on purpose, see README).
    with open(os.path.join(d, "lines.sh"), "w") as f:
        f.write("#!/bin/sh\nprintf 'x\\ny'\n")  # two lines, the last without a newline
    with open(os.path.join(d, "both.sh"), "w") as f:
        f.write("#!/bin/sh\necho out; echo err >&2\n")
    for n in ("lines.sh", "both.sh"):
        os.chmod(os.path.join(d, n), 0o755)
    try:
        # --- --tag / --tagstring against GNU parallel -------------------------------------------
        cases = [
            ["--tag", "echo", ":::", "a", "b c", ":::", "1", "2"],
            ["--tag", os.path.join(d, "lines.sh"), ":::", "a", "b"],
            ["--tagstring", "{#}-{1}:", "echo", ":::", "a", "b", ":::", "1"],
            ["--tagstring", "T{}", "echo", ":::", "a"],
            ["--tagstring", "plain", "echo", ":::", "a", "b"],
            ["--tag", "true", ":::", "a"],
            ["--tag", "echo", "x", ":::", "", "a"],  # an empty value's tag is a lone TAB
        ]
        for c in cases:
            n = 2 if c[0] == "--tagstring" else 1
            opts, rest = c[:n], c[n:]
            g = gnu("-k", *opts, *rest)
            m = pg("-k", *opts, "--", *rest)
            check(m[0] == 0 and m[1] == g[1], "%s: stdout as GNU parallel's" % " ".join(c),
                  (g[1], m[1], m[2]))
        # stderr tagged too: GNU writes stderr lines with the tag as well.
        g = gnu("-k", "--tag", os.path.join(d, "both.sh"), ":::", "a")
        m = pg("-k", "--tag", "-q", "--", os.path.join(d, "both.sh"), ":::", "a")
        check(m[1] == g[1] and m[2] == g[2], "--tag tags stderr lines as GNU parallel does",
              (g, m))

        # --- --files ----------------------------------------------------------------------------
        res = os.path.join(d, "res")
        rc, out, err = pg("-k", "--files", "--results", res, "--", "echo", ":::", "a", "b", "c")
        paths = out.decode().splitlines()
        check(rc == 0 and len(paths) == 3, "--files prints one path per task", (out, err))
        ok = all(os.path.isfile(p) and open(p).read() == v + "\n"
                 for p, v in zip(paths, ["a", "b", "c"]))
        check(ok, "--files: each path holds its task's stdout, in -k order", paths)
        before = jobs()
        rc, out, err = pg("--files", "--", "echo", ":::", "a")
        check(rc == 255 and len(err.strip().splitlines()) == 1 and b"--results" in err and
              jobs() == before, "--files without --results: one line, 255, no job", err)

        # --- --delay: starts spaced at least that far apart, whatever -j --------------------
        before = set(jobs())
        rc, out, err = pg("-j", "4", "--delay", "0.3", "--", "true", ":::", "1", "2", "3", "4")
        job = sorted(set(jobs()) - before)[0]
        with open(os.path.join(state, "jobs", job, "results.jsonl")) as f:
            starts = sorted(json.loads(l)["start"] for l in f if l.strip())
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        check(rc == 0 and len(starts) == 4 and all(g >= 0.29 for g in gaps),
              "--delay 0.3 spaces the starts (gaps %s)" % gaps, err)
        rc, out, err = pg("--delay", "soon", "--", "true", ":::", "1")
        check(rc == 255 and len(err.strip().splitlines()) == 1 and b"--delay" in err,
              "--delay soon: one line, 255", err)

        # --- --env ------------------------------------------------------------------------------
        env = dict(base_env, PG_E2E_COPIED="from the driver", PG_E2E_NOT_NAMED="leak")
        before = set(jobs())
        rc, out, err = pg("-k", "--env", "PG_E2E_COPIED", "--env", "PG_E2E_SET=a=b", "--shell",
                          "--", 'echo "$PG_E2E_COPIED|$PG_E2E_SET|$PG_E2E_NOT_NAMED|"{}',
                          ":::", "1", "2", env=env)
        check(rc == 0 and out.decode() == "from the driver|a=b||1\nfrom the driver|a=b||2\n",
              "--env copies a named variable, sets NAME=VALUE, and passes nothing else",
              (out, err))
        job = sorted(set(jobs()) - before)[0]
        info = json.load(open(os.path.join(state, "jobs", job, "job.json")))
        check("from the driver" not in json.dumps(info), "a copied variable's value is not recorded")
        # A resume reads NAME again (the value is never recorded): a budget of one worst case
        # (1 GB for 2 + 5 + 10 s, plus a request) stops the job after its first task.
        before = set(jobs())
        rc, out, err = pg("-k", "-j", "1", "--timeout", "2", "--max-cost", "0.000284", "--env",
                          "PG_E2E_COPIED", "--shell", "--", 'echo "$PG_E2E_COPIED" {}', ":::",
                          "1", "2", "3", env=env)
        job = sorted(set(jobs()) - before)[0]
        check(rc == 102 and out == b"from the driver 1\n", "the budget stopped it after one task",
              (rc, out, err))
        rc, out, err = pg("--resume", job, "--max-cost", "1",
                          env=dict(env, PG_E2E_COPIED="read again"))
        check(rc == 0 and out == b"read again 2\nread again 3\n",
              "a resume copies --env NAME from its own environment", (rc, out, err))
        rc, out, err = pg("--env", "PG_E2E_NOPE", "--", "true", ":::", "a", env=env)
        check(rc == 255 and len(err.strip().splitlines()) == 1 and b"PG_E2E_NOPE is not set" in err,
              "--env of an unset variable: one line, 255", err)
        rc, out, err = pg("--env", "9X", "--", "true", ":::", "a", env=env)
        check(rc == 255 and len(err.strip().splitlines()) == 1 and b"--env" in err,
              "--env with a bad name: one line, 255", err)
        secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        senv = dict(env, AWS_SECRET_ACCESS_KEY=secret)
    
        before = jobs()
        rc, out, err = pg("--env", "AWS_SECRET_ACCESS_KEY", "--", "true", ":::", "a", env=senv)
        check(rc == 255 and b"--env-secret" in err and secret.encode() not in err and
              jobs() == before, "an AWS secret is refused without --env-secret, not shown", err)
        rc, out, err = pg("--env", "X=" + secret, "--env-secret", "--", "true", ":::", "a",
                          env=senv)
        check(rc == 255 and secret.encode() not in err,
              "a secret given on the command line is refused even with --env-secret", err)
        before = set(jobs())
        rc, out, err = pg("--env", "AWS_SECRET_ACCESS_KEY", "--env-secret", "--shell", "--",
                          "printf %s \"$AWS_SECRET_ACCESS_KEY\" | sha256sum #", ":::", "a",
                          env=senv)
        check(rc == 0 and out.split()[0].decode() == hashlib.sha256(secret.encode()).hexdigest(),
              "with --env-secret the task gets it", (out, err))
        job = sorted(set(jobs()) - before)[0]
        stored = ""
        for root, _, names in os.walk(os.path.join(state, "jobs", job)):
            for n in names:
                stored += open(os.path.join(root, n), errors="replace").read()
        check(secret not in stored and secret.replace("/", "\\/") not in stored,
              "the secret is in none of the job's files")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
