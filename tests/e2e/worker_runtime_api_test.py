#!/usr/bin/env python3
"""The real worker ($PG_BOOTSTRAP) against a scripted Lambda Runtime API that is not ours.

The fake is Python's http.server speaking the Runtime API as AWS documents it
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). It serves a script of
events and checks every /response and /error post, their headers, the deadline-driven
timeout, that a bad event is followed by a served good one, cold=true then false, a
dropped keep-alive connection, a long-blocking /next, and init behaviour.
"""
import base64
import hashlib
import http.server
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BOOTSTRAP = os.environ.get("PG_BOOTSTRAP", "")
PREFIX = "/2018-06-01/runtime"


class FakeRuntimeApi:
    """Runtime API: /next hands out queued events; posts are recorded in `posts`."""

    def __init__(self):
        self.events = queue.Queue()
        self.posts = queue.Queue()
        self.requests = []  # (method, path) in arrival order
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with outer.lock:
                    outer.requests.append(("GET", self.path))
                if self.path != PREFIX + "/invocation/next":
                    self._send(404, b'{"errorType":"NotFound"}')
                    return
                ev = outer.events.get()  # blocks: /next has no timeout
                if ev is None:
                    self._send(500, b'{"errorType":"ShuttingDown"}')
                    return
                if ev.get("delay"):
                    time.sleep(ev["delay"])
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": ev["id"],
                    "Lambda-Runtime-Deadline-Ms": str(ev.get("deadline_ms") or int(time.time() * 1000) + 60000),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:pg",
                }
                if ev.get("trace"):
                    headers["Lambda-Runtime-Trace-Id"] = ev["trace"]
                self._send(200, ev["body"], headers, close=ev.get("close", False))

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append(("POST", self.path))
                outer.posts.put({"path": self.path, "headers": dict(self.headers), "body": body,
                                 "time_ms": int(time.time() * 1000)})
                self._send(202, b'{"status":"OK"}')

            def _send(self, code, body, headers=None, close=False):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_worker(api, env_extra=None, drop=()):
    env = dict(os.environ)
    env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % api.port
    env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "1024"
    for k in drop:
        env.pop(k, None)
    env.update(env_extra or {})
    return subprocess.Popen([BOOTSTRAP], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)


class WorkerServesEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pg-e2e-worker-")
        cls.scratch_root = os.path.join(cls.tmp, "scratch")
        os.mkdir(cls.scratch_root)
        cls.api = FakeRuntimeApi()
        cls.proc = start_worker(cls.api, {"TMPDIR": cls.scratch_root})
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)
        cls.api.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # Runs one event through the worker and returns the post it made for it.
    def invoke(self, body, **kw):
        type(self).n += 1
        rid = "req-%03d-%s" % (self.n, os.urandom(4).hex())
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.api.events.put(dict(id=rid, body=body, **kw))
        post = self.api.posts.get(timeout=60)
        self.assertIn("/invocation/%s/" % rid, post["path"], "reply for another request")
        self.assertIsNone(self.proc.poll(), "the worker exited")
        return post

    def response(self, body, **kw):
        post = self.invoke(body, **kw)
        self.assertTrue(post["path"].endswith("/response"), post)
        self.assertNotIn("Lambda-Runtime-Function-Error-Type", post["headers"])
        self.assertEqual(post["headers"].get("Content-Type"), "application/json")
        return json.loads(post["body"])

    def error(self, body, want_type):
        post = self.invoke(body)
        self.assertTrue(post["path"].endswith("/error"), post)
        self.assertEqual(post["headers"].get("Lambda-Runtime-Function-Error-Type"), want_type)
        err = json.loads(post["body"])
        self.assertEqual(err["errorType"], want_type)
        self.assertEqual(err["stackTrace"], [])
        self.assertTrue(err["errorMessage"])
        return err

    def test_00_minimal_event_cold_then_warm(self):
        r = self.response({"argv": ["echo", "hi"]})
        self.assertEqual(r["exit_code"], 0)
        self.assertEqual(r["stdout"], "hi\n")
        self.assertEqual(r["outcome"], "succeeded")
        self.assertEqual(r["v"], 1)
        self.assertIs(r["cold"], True)
        self.assertEqual(r["invocation_index"], 1)
        # The first thing the worker did was GET /next: no init error, no stray calls.
        self.assertEqual(self.api.requests[0], ("GET", PREFIX + "/invocation/next"))
        r = self.response({"argv": ["echo", "again"], "task_id": "t2"})
        self.assertIs(r["cold"], False)
        self.assertEqual(r["invocation_index"], 2)
        self.assertEqual(r["task_id"], "t2")

    def test_01_bad_events_then_good(self):
        e = self.error(b"this is not json", "Parallelagram.InvalidTaskEvent")
        self.assertIn("JSON", e["errorMessage"])
        e = self.error({"env": {"A": "1"}}, "Parallelagram.InvalidTaskEvent")
        self.assertIn("argv", e["errorMessage"])
        self.error({"argv": "echo hi"}, "Parallelagram.InvalidTaskEvent")
        self.error([1, 2, 3], "Parallelagram.InvalidTaskEvent")
        self.error({"argv": ["true"], "cwd": "../escape"}, "Parallelagram.InvalidTaskEvent")
        e = self.error({"kind": "no-such-kind", "argv": ["true"]}, "Parallelagram.UnknownTaskKind")
        self.assertIn("no-such-kind", e["errorMessage"])
        r = self.response({"argv": ["echo", "still here"]})
        self.assertEqual(r["stdout"], "still here\n")
        self.assertIs(r["cold"], False)

    def test_02_nonexistent_program(self):
        r = self.response({"argv": ["pg-no-such-program-xyz", "a"]})
        self.assertEqual(r["outcome"], "failed")
        self.assertEqual(r["exit_code"], 127)
        self.assertEqual(r["error"], "program not found: pg-no-such-program-xyz")

    def test_03_deadline_driven_timeout(self):
        deadline = int(time.time() * 1000) + 1500
        # The task asks for no timeout: the worker must place one before the deadline.
        post = self.invoke({"argv": ["sh", "-c", "sleep 30 & sleep 30; echo never"]}, deadline_ms=deadline)
        self.assertTrue(post["path"].endswith("/response"), post)
        r = json.loads(post["body"])
        self.assertEqual(r["outcome"], "timed_out")
        self.assertLess(post["time_ms"], deadline, "the result arrived after the deadline")
        self.assertGreater(r["wall_ms"], 1000)
        self.assertIn("deadline", r["error"])
        # The task's own timeout_ms wins when it is shorter.
        r = self.response({"argv": ["sleep", "30"], "timeout_ms": 300})
        self.assertEqual(r["outcome"], "timed_out")
        self.assertEqual(r["signal"], 9)
        self.assertLess(r["wall_ms"], 5000)

    def test_04_exit_codes_signals_stdin_binary(self):
        r = self.response({"argv": ["sh", "-c", "echo out; echo err >&2; exit 3"]})
        self.assertEqual((r["outcome"], r["exit_code"], r["stdout"], r["stderr"]), ("failed", 3, "out\n", "err\n"))
        r = self.response({"argv": ["kill -SEGV $$"], "shell": True})
        self.assertEqual((r["outcome"], r["signal"], r["exit_code"]), ("crashed", 11, None))
        r = self.response({"argv": ["cat"], "stdin": "fed through stdin"})
        self.assertEqual(r["stdout"], "fed through stdin")
        r = self.response({"argv": ["printf", "\\377\\000\\001"]})
        self.assertIsNone(r["stdout"])
        self.assertEqual(base64.b64decode(r["stdout_b64"]), b"\xff\x00\x01")
        r = self.response({"argv": ["head", "-c", "100000", "/dev/zero"], "max_output_bytes": 1000})
        self.assertTrue(r["stdout_truncated"])
        self.assertEqual(r["stdout_bytes"], 100000)
        self.assertEqual(len(base64.b64decode(r["stdout_b64"])), 1000)

    def test_05_trace_id_env_and_cwd(self):
        r = self.response({"argv": ["echo $_X_AMZN_TRACE_ID $FOO; pwd"], "shell": True, "env": {"FOO": "bar"},
                           "cwd": "sub/dir"}, trace="Root=1-abc;Sampled=0")
        line1, line2 = r["stdout"].splitlines()
        self.assertEqual(line1, "Root=1-abc;Sampled=0 bar")
        self.assertTrue(line2.startswith(self.scratch_root + "/"), line2)
        self.assertTrue(line2.endswith("/sub/dir"), line2)
        self.assertFalse(os.path.exists(os.path.dirname(os.path.dirname(line2))), "scratch dir not removed")

    def test_05b_task_inherits_no_worker_fds(self):
        r = self.response({"argv": ["ls", "-1", "/proc/self/fd"]})
        fds = set(r["stdout"].split())
        self.assertTrue(fds <= {"0", "1", "2", "3"}, fds)  # 3: ls's own directory handle

    def test_06_dropped_connection_and_long_next(self):
        # The server closes the connection after handing out this event...
        r = self.response({"argv": ["echo", "x"]}, close=True)
        self.assertEqual(r["stdout"], "x\n")
        # ...and the worker reconnects; a /next that blocks for a while is not timed out.
        r = self.response({"argv": ["echo", "y"]}, delay=1.5)
        self.assertEqual(r["stdout"], "y\n")

    def test_07_staging_returns_and_result_uri(self):
        src = os.path.join(self.tmp, "inputs")
        out = os.path.join(self.tmp, "outputs")
        os.makedirs(src)
        data = b"line one\nline two\n"
        with open(os.path.join(src, "in.txt"), "wb") as f:
            f.write(data)
        tool = b"#!/bin/sh\nwc -l < \"$1\" > result/count.txt\n"
        with open(os.path.join(src, "tool.sh"), "wb") as f:
            f.write(tool)
        ev = {
            "task_id": "staged",
            "argv": ["sh", "-c", "mkdir -p result && ./bin/tool.sh data/in.txt"],
            "files": [
                {"path": "data/in.txt", "uri": "file://" + src + "/in.txt",
                 "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
                {"path": "bin/tool.sh", "uri": "file://" + src + "/tool.sh",
                 "sha256": hashlib.sha256(tool).hexdigest(), "size": len(tool), "executable": True,
                 "cache": True},
            ],
            "returns": ["result/count.txt", "not/made.txt"],
            "output_uri": "file://" + out + "/task1",
            "result_uri": "file://" + out + "/task1.result.json",
        }
        for _ in range(2):  # the second run reuses the cached basefile
            r = self.response(ev)
            self.assertEqual(r["outcome"], "succeeded", r)
            got = {f["path"]: f for f in r["returned"]}
            self.assertTrue(got["not/made.txt"]["missing"])
            count = got["result/count.txt"]
            self.assertEqual(count["uri"], "file://" + out + "/task1/0-count.txt")
            with open(out + "/task1/0-count.txt", "rb") as f:
                content = f.read()
            self.assertEqual(content.strip(), b"2")
            self.assertEqual(count["sha256"], hashlib.sha256(content).hexdigest())
            self.assertEqual(count["size"], len(content))
            with open(out + "/task1.result.json") as f:
                stored = json.load(f)
            self.assertEqual(stored["task_id"], "staged")
            self.assertEqual(stored["invocation_index"], r["invocation_index"])
        # A digest mismatch is a staging error, reported as a result.
        ev["files"][0]["sha256"] = "0" * 64
        ev.pop("result_uri")
        r = self.response(ev)
        self.assertEqual(r["outcome"], "staging_error")
        self.assertIn("sha256", r["error"])
        # A missing input likewise.
        ev["files"] = [{"path": "x", "uri": "file://" + src + "/nope"}]
        r = self.response(ev)
        self.assertEqual(r["outcome"], "staging_error")
        self.assertIn("nope", r["error"])

    def test_99_runtime_api_error_stops_worker(self):
        # A 500 from /next means the environment is going away: the worker exits non-zero.
        self.api.events.put(None)
        self.assertNotEqual(self.proc.wait(timeout=30), 0)


class WorkerInit(unittest.TestCase):
    def test_no_runtime_api(self):
        p = subprocess.run([BOOTSTRAP], env={k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"},
                           capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        lines = p.stderr.decode().strip().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("AWS_LAMBDA_RUNTIME_API", lines[0])

    def test_init_error_is_posted(self):
        api = FakeRuntimeApi()
        try:
            proc = start_worker(api, {"TMPDIR": "/nonexistent/pg-scratch"})
            post = api.posts.get(timeout=30)
            self.assertEqual(post["path"], PREFIX + "/init/error")
            self.assertEqual(post["headers"].get("Lambda-Runtime-Function-Error-Type"), "Parallelagram.InitError")
            err = json.loads(post["body"])
            self.assertEqual(err["errorType"], "Parallelagram.InitError")
            self.assertIn("TMPDIR", err["errorMessage"])
            self.assertEqual(err["stackTrace"], [])
            self.assertNotEqual(proc.wait(timeout=30), 0)
            self.assertNotIn(("GET", PREFIX + "/invocation/next"), api.requests)
        finally:
            stop(proc)
            api.close()

    def test_unreachable_runtime_api_exits(self):
        # Nothing listens on this port: the worker retries, then gives up with a message.
        api = FakeRuntimeApi()
        port = api.port
        api.close()
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % port)
        p = subprocess.run([BOOTSTRAP], env=env, capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Runtime API", p.stderr.decode())


if __name__ == "__main__":
    if not BOOTSTRAP or not os.access(BOOTSTRAP, os.X_OK):
        sys.exit("set PG_BOOTSTRAP to the built bootstrap binary")
    unittest.main(verbosity=2)
