"""Helpers for the local-lambda end-to-end tests (not a test itself).

Starts `parallelagram local-lambda` on an ephemeral port, builds function zips, and holds a
small Python runtime (urllib against the Runtime API) used as a function's bootstrap.
"""
import io
import os
import signal
import subprocess
import sys
import zipfile

PG_BIN = os.environ.get("PG_BIN", "build/parallelagram")
PG_BOOTSTRAP = os.environ.get("PG_BOOTSTRAP", "build/bootstrap")

# A Lambda custom runtime in Python, written against AWS's Runtime API documentation.
# Events: {"echo": X} -> X; {"fail": msg} -> error; {"sleep": s}; {"env": NAME} -> value;
# {"log": text} prints to stdout then echoes; {"exit": n} exits mid-task.
PY_RUNTIME = r'''#!/usr/bin/env python3
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = r.headers["Lambda-Runtime-Deadline-Ms"]
        arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
        ev = json.loads(r.read() or b"null")
    path, out = "/response", None
    if isinstance(ev, dict) and "fail" in ev:
        path, out = "/error", {"errorType": "HandlerError", "errorMessage": ev["fail"]}
    elif isinstance(ev, dict) and "sleep" in ev:
        time.sleep(ev["sleep"]); out = "slept"
    elif isinstance(ev, dict) and "env" in ev:
        out = os.environ.get(ev["env"])
    elif isinstance(ev, dict) and "log" in ev:
        print(ev["log"], flush=True); out = ev["log"]
    elif isinstance(ev, dict) and "exit" in ev:
        os._exit(ev["exit"])
    elif isinstance(ev, dict) and "meta" in ev:
        out = {"deadline": int(deadline), "arn": arn, "rid": rid}
    elif isinstance(ev, dict) and "echo" in ev:
        out = ev["echo"]
    else:
        out = ev
    req = urllib.request.Request(api + "/invocation/" + rid + path,
                                 data=json.dumps(out).encode(), method="POST")
    urllib.request.urlopen(req).read()
'''


def make_zip(files):
    """files: {name: (bytes_or_str, mode)} -> zip bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (content, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)
    return buf.getvalue()


def py_runtime_zip():
    return make_zip({"bootstrap": (PY_RUNTIME, 0o755)})


class LocalLambda:
    """`parallelagram local-lambda` as a child process; use as a context manager."""

    def __init__(self, *args, env=None):
        # These tests create a function and invoke it at once: no Pending phase unless the
        # test asks for one (--state-delay), as tests of Lambda's states and waiters do.
        if "--state-delay" not in args:
            args = ("--state-delay", "0") + args
        self.proc = subprocess.Popen([PG_BIN, "local-lambda", "--port", "0", *args],
                                     stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("local-lambda listening on http://127.0.0.1:"):
            self.proc.kill()
            raise AssertionError("unexpected first line from local-lambda: %r" % line)
        self.endpoint = line.split()[-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        if exc[0] is None:
            assert rc == 0, "local-lambda exited %d after SIGTERM" % rc


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        raise AssertionError(what)
