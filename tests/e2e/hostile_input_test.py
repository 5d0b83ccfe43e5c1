#!/usr/bin/env python3
"""Bad input never crashes, never leaks, never escapes: `parallelagram run` and
`parallelagram local-lambda` under hostile and careless use.

Item 1: bytes that are not UTF-8, from a user (file names, command words), a client (function
names, payloads, headers, a Qualifier, a SigV4 credential scope) or a function (its /error and
/init/error bodies and error-type header), end neither process; the CLI runs them as GNU
parallel does (same output bytes) and records them losslessly.
"""
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lltest import LocalLambda, make_zip  # noqa: E402

PG = os.environ.get("PG_BIN", "build/parallelagram")
GNU = "/usr/bin/parallel"
BAD = b"\xff"

# A runtime that misbehaves on request: {"mode": "bad-error"} posts invalid UTF-8 to /error
# with an invalid error-type header; {"mode": "bad-json-error"} posts a JSON-looking body with
# a raw 0xff; anything else is echoed.
BAD_RUNTIME = r'''#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        ev = json.loads(r.read() or b"null")
    mode = ev.get("mode") if isinstance(ev, dict) else None
    if mode == "bad-error":
        req = urllib.request.Request(api + "/invocation/" + rid + "/error", data=b"oops \xff",
                                     method="POST")
        req.add_header("Lambda-Runtime-Function-Error-Type", "Bad\xff")
    elif mode == "bad-json-error":
        req = urllib.request.Request(api + "/invocation/" + rid + "/error",
                                     data=b'{"errorType": "X", "errorMessage": "\xff"}',
                                     method="POST")
    else:
        req = urllib.request.Request(api + "/invocation/" + rid + "/response",
                                     data=json.dumps(ev).encode(), method="POST")
    urllib.request.urlopen(req).read()
'''

# A runtime whose init fails with invalid UTF-8 in the body.
BAD_INIT_RUNTIME = r'''#!/usr/bin/env python3
import os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
req = urllib.request.Request(api + "/init/error", data=b"init \xff failed", method="POST")
req.add_header("Lambda-Runtime-Function-Error-Type", "Init\xff")
urllib.request.urlopen(req).read()
time.sleep(5)
'''


def raw_request(port, request_bytes, timeout=30):
    """Sends raw bytes, returns (status, headers dict, body bytes) of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request_bytes)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            hdrs = {}
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
            n = int(hdrs.get("content-length", "0"))
            if len(rest) >= n:
                s.close()
                return int(head.split()[1]), hdrs, rest[:n]
    s.close()
    raise AssertionError("no complete answer to %r: %r" % (request_bytes[:80], data[:200]))


def call(port, method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    c.close()
    return out


def port_of(ll):
    return int(ll.endpoint.rsplit(":", 1)[1])


class LocalLambdaBadBytesTest(unittest.TestCase):
    def assert_serving(self, ll, after):
        self.assertIsNone(ll.proc.poll(), "local-lambda died after " + after)
        st, _, body = call(port_of(ll), "GET", "/2015-03-31/functions")
        self.assertEqual(st, 200, "ListFunctions after %s: %r" % (after, body))

    def assert_aws_error(self, st, hdrs, body, status, what):
        self.assertEqual(st, status, "%s: %r" % (what, body))
        self.assertIn("x-amzn-errortype", hdrs, what)
        j = json.loads(body.decode("utf-8"))  # valid UTF-8: the bad bytes were replaced
        msg = j.get("message", j.get("Message", ""))
        self.assertNotIn("\udcff", msg)
        return j

    def create(self, port, name, bootstrap):
        z = make_zip({"bootstrap": (bootstrap, 0o755)})
        body = json.dumps({"FunctionName": name, "Runtime": "provided.al2023",
                           "Role": "arn:aws:iam::123456789012:role/r", "Handler": "h",
                           "Timeout": 10, "Code": {"ZipFile": base64.b64encode(z).decode()}})
        st, _, b = call(port, "POST", "/2015-03-31/functions", body.encode(),
                        {"Content-Type": "application/json"})
        self.assertEqual(st, 201, b)

    def test_client_and_function_bytes(self):
        with LocalLambda() as ll:
            port = port_of(ll)
            self.create(port, "bad", BAD_RUNTIME)
            self.create(port, "badinit", BAD_INIT_RUNTIME)
            inv = "/2015-03-31/functions/bad/invocations"
            # Function name with 0xff (percent-encoded and raw).
            st, h, b = call(port, "GET", "/2015-03-31/functions/%FF")
            self.assert_aws_error(st, h, b, 400, "GET functions/%FF")
            self.assert_serving(ll, "a function name %FF")
            st, h, b = raw_request(port, b"GET /2015-03-31/functions/a\xffb HTTP/1.1\r\n"
                                         b"Host: x\r\nContent-Length: 0\r\n\r\n")
            self.assertIn(st, (400, 404), b)
            self.assert_serving(ll, "a raw 0xff in the path")
            # Invoke payload that is not UTF-8.
            st, h, b = call(port, "POST", inv, b'"\xff"')
            self.assert_aws_error(st, h, b, 400, "payload 0xff")
            self.assert_serving(ll, "payload 0xff")
            # Invocation-Type header with 0xff.
            st, h, b = raw_request(port, b"POST " + inv.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                         b"X-Amz-Invocation-Type: Ev\xffent\r\n"
                                         b"Content-Length: 2\r\n\r\n{}")
            self.assert_aws_error(st, h, b, 400, "X-Amz-Invocation-Type 0xff")
            self.assert_serving(ll, "X-Amz-Invocation-Type 0xff")
            # Qualifier with 0xff (query and in the name).
            st, h, b = call(port, "POST", inv + "?Qualifier=%FF", b"{}")
            self.assert_aws_error(st, h, b, 404, "Qualifier %FF")
            st, h, b = call(port, "GET", "/2015-03-31/functions/bad%3A%FF")
            self.assert_aws_error(st, h, b, 404, "name:qualifier %FF")
            self.assert_serving(ll, "Qualifier %FF")
            # A runtime's /error body and error-type header with 0xff.
            for mode in ("bad-error", "bad-json-error"):
                st, h, b = call(port, "POST", inv, json.dumps({"mode": mode}).encode())
                self.assertEqual(st, 200, b)
                self.assertEqual(h.get("x-amz-function-error"), "Unhandled")
                j = json.loads(b.decode("utf-8"))
                self.assertIn("errorType", j)
                self.assert_serving(ll, "a runtime's " + mode)
            # A runtime's /init/error with 0xff.
            st, h, b = call(port, "POST", "/2015-03-31/functions/badinit/invocations", b"{}")
            self.assertEqual(st, 200, b)
            self.assertEqual(h.get("x-amz-function-error"), "Unhandled")
            json.loads(b.decode("utf-8"))
            self.assert_serving(ll, "a runtime's /init/error")
            # And it still runs functions.
            st, h, b = call(port, "POST", inv, b'{"x": 1}')
            self.assertEqual((st, json.loads(b)), (200, {"x": 1}))

    def test_sigv4_scope_bytes_before_authentication(self):
        # A current X-Amz-Date, so the request is not refused as expired before the scope is
        # read, and 0xff in each part of the credential scope that an error message echoes.
        now = time.gmtime()
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", now).encode()
        day = time.strftime("%Y%m%d", now).encode()
        scopes = [b"AKIDEXAMPLE/" + day + b"/us-\xff-1/lambda/aws4_request",
                  b"AKIDEXAMPLE/2\xff/us-east-1/lambda/aws4_request",
                  b"AKIDEXAMPLE/" + day + b"/us-east-1/lam\xffbda/aws4_request",
                  b"AKIDEXAMPLE/" + day + b"/us-east-1/lambda/aws4_\xffrequest",
                  b"AK\xffID/" + day + b"/us-east-1/lambda/aws4_request"]
        with LocalLambda("--access-key-id", "AKIDEXAMPLE", "--secret-access-key",
                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY") as ll:
            port = port_of(ll)
            for scope in scopes:
                a = (b"AWS4-HMAC-SHA256 Credential=" + scope +
                     b", SignedHeaders=host;x-amz-date, Signature=" + b"0" * 64)
                st, h, b = raw_request(port, b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
                                             b"X-Amz-Date: " + amz_date + b"\r\n"
                                             b"Authorization: " + a + b"\r\n"
                                             b"Content-Length: 0\r\n\r\n")
                self.assertEqual(st, 403, b)
                msg = json.loads(b.decode("utf-8")).get("message", "")
                self.assertNotIn("expired", msg, scope)  # the scope itself was looked at
                self.assertIsNone(ll.proc.poll(), "local-lambda died on the scope %r" % scope)
            st, _, b = call(port, "GET", "/2015-03-31/functions")
            self.assertEqual(st, 403, b)  # still answering (unsigned: refused)


class CliBadBytesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_hostile_")
        self.state = os.path.join(self.dir, "state")
        self.cwd = os.path.join(self.dir, "work")
        os.makedirs(self.cwd)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_pg(self, *args, timeout=120):
        p = subprocess.run([PG, "run", "--state-dir", self.state, *args], cwd=self.cwd,
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def gnu(self, *args):
        p = subprocess.run([GNU, *args], cwd=self.cwd, capture_output=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def manifest(self, job):
        with open(os.path.join(self.state, "jobs", job, "results.jsonl"), "rb") as f:
            return [json.loads(l) for l in f if l.strip()]

    @staticmethod
    def unbytes(v):
        return base64.b64decode(v["b64"]) if isinstance(v, dict) else v.encode()

    def test_non_utf8_input_runs_as_gnu_parallel(self):
        inputs = [BAD, b"caf\xe9", b"ok", b"a\xc3"]
        want = self.gnu("-k", "echo", ":::", *inputs)
        self.assertEqual(want[0], 0, want)
        results = os.path.join(self.dir, "res")
        rc, out, err = self.run_pg("-k", "--job-id", "bytes", "--results", results, "--",
                                   "echo", ":::", *inputs)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, want[1])
        m = sorted(self.manifest("bytes"), key=lambda r: r["seq"])
        self.assertEqual([[self.unbytes(a) for a in r["args"]] for r in m], [[i] for i in inputs])
        self.assertEqual(base64.b64decode(m[0]["command_b64"]), b"echo '\xff'")
        with open(os.path.join(self.state, "jobs", "bytes", "job.json")) as f:
            json.load(f)
        # The shell path too, and a command word that is not UTF-8.
        want = self.gnu("-k", "echo", b"x\xfe", "{}", ":::", BAD)
        rc, out, err = self.run_pg("-k", "--", "echo", b"x\xfe", "{}", ":::", BAD)
        self.assertEqual((rc, out), (0, want[1]), err)
        want = self.gnu("-k", "printf '%s\\n' {}", ":::", BAD)
        rc, out, err = self.run_pg("-k", "--shell", "--", "printf '%s\\n' {}", ":::", BAD)
        self.assertEqual((rc, out), (0, want[1]), err)

    def test_non_utf8_option_resumes_losslessly(self):
        joblog = os.path.join(self.dir.encode(), b"log\xff")
        rc, out, err = self.run_pg("--job-id", "opt", "--joblog", joblog, "--", "echo",
                                   ":::", BAD)
        self.assertEqual((rc, out), (0, b"\xff\n"), err)
        self.assertTrue(os.path.exists(joblog))
        with open(os.path.join(self.state, "jobs", "opt", "job.json")) as f:
            info = json.load(f)
        self.assertIn(joblog, [self.unbytes(a) for a in info["option_args"]])
        rc, out, err = self.run_pg("--resume", "opt")
        self.assertEqual(rc, 0, err)



class CliSmallLiesTest(unittest.TestCase):
    """Item 4: the CLI says why, leaves nothing behind, refuses odd job ids, escapes NULs and
    warns about quoted replacement strings."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_hostile4_")
        self.state = os.path.join(self.dir, "state")
        self.cwd = os.path.join(self.dir, "work")
        os.makedirs(self.cwd)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def pg(self, *args, timeout=120):
        p = subprocess.run([PG, args[0], "--state-dir", self.state, *args[1:]], cwd=self.cwd,
                           capture_output=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def test_says_why_a_program_could_not_run(self):
        rc, out, err = self.pg("run", "--", "/nonexistent/prog", ":::", "a")
        self.assertEqual(rc, 1)
        self.assertIn(b"/nonexistent/prog", err)
        self.assertIn(b"not found", err)
        noexec = os.path.join(self.cwd, "noexec")
        with open(noexec, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(noexec, 0o644)
        rc, out, err = self.pg("run", "--", noexec, ":::", "a")  # absolute: tasks run elsewhere
        self.assertEqual(rc, 1)
        self.assertIn(b"Permission denied", err)
        big = os.path.join(self.cwd, "big.txt")  # one 200 KB word: over Linux's 128 KB
        with open(big, "w") as f:
            f.write("x" * 200000 + "\n")
        rc, out, err = self.pg("run", "--", "echo", "::::", big)
        self.assertEqual(rc, 1)
        self.assertIn(b"Argument list too long", err)

    def test_setup_error_leaves_no_job_behind(self):
        existing = os.path.join(self.cwd, "existing")
        with open(existing, "w") as f:
            f.write("a file\n")
        for bad in (["--results", existing], ["--results", existing + "/sub"],
                    ["--joblog", self.cwd], ["--joblog", "/nonexistent/dir/log"]):
            rc, out, err = self.pg("run", "--job-id", "j1", *bad, "--", "echo", ":::", "a")
            self.assertEqual(rc, 255, err)
            self.assertEqual(err.count(b"\n"), 1, err)
            self.assertFalse(os.path.exists(os.path.join(self.state, "jobs", "j1")), bad)
        rc, out, err = self.pg("run", "--job-id", "j1", "--", "echo", ":::", "a")
        self.assertEqual((rc, out), (0, b"a\n"), err)

    def test_results_refuses_job_ids_that_are_not_one_name(self):
        rc, out, err = self.pg("run", "--job-id", "ok", "--", "echo", ":::", "a")
        self.assertEqual(rc, 0, err)
        for bad in ("..", ".", "ok/..", "../jobs/ok", "ok/"):
            rc, out, err = self.pg("results", bad)
            self.assertNotEqual(rc, 0, bad)
            self.assertEqual(out, b"", bad)
            self.assertIn(b"not a job id", err, bad)
        for sub in ("cancel",):
            rc, out, err = self.pg(sub, "..")
            self.assertNotEqual(rc, 0, sub)

    def test_job_id_errors_show_bytes_escaped_and_suggest_only_valid_ids(self):
        for bad in (b"a\nb", b"\xff/x"):
            rc, out, err = self.pg("run", "--job-id", bad, "--", "echo", ":::", "a")
            self.assertEqual(rc, 255, err)
            self.assertEqual(err.count(b"\n"), 1, err)
            self.assertNotIn(b"\xff", err)
        rc, out, err = self.pg("jobs", "..")
        self.assertNotEqual(rc, 0)
        self.assertNotIn(b"results ..", err)
        rc, out, err = self.pg("jobs", "somejob")
        self.assertIn(b"parallelagram results somejob", err)

    def test_nul_in_input_file_is_shown_escaped(self):
        inputs = os.path.join(self.cwd, "in.txt")
        with open(inputs, "wb") as f:
            f.write(b"ok\nbe\x00fore-after\n")
        rc, out, err = self.pg("run", "-k", "--", "echo", "::::", inputs)
        self.assertNotEqual(rc, 0)
        self.assertNotIn(b"\x00", err)
        self.assertIn(b"be\\x00fore-after", err)

    def test_shell_template_quoting_a_replacement_string_warns(self):
        payload = "$(echo INJECTED)"
        rc, out, err = self.pg("run", "--shell", "--", 'echo "{}"', ":::", payload)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"inputs are quoted already: remove the quotes around {}", err)
        self.assertEqual(err.count(b"remove the quotes"), 1)
        g = subprocess.run([GNU, 'echo "{}"', ":::", payload], capture_output=True,
                           cwd=self.cwd)
        self.assertEqual(out, g.stdout)  # as GNU parallel: the quotes undo the quoting
        for fine in ("echo {}", "echo '{#}' {}", "awk '{print $1}' {}"):
            rc, out, err = self.pg("run", "--shell", "--", fine, ":::", "a")
            self.assertNotIn(b"remove the quotes", err, fine)
        rc, out, err = self.pg("run", "--shell", "--", "echo '{.}'", ":::", "a.b")
        self.assertIn(b"remove the quotes around {.}", err)


def zip_with(entries):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def under_declare(data, size):
    """Every uncompressed-size field of the zip rewritten to `size`."""
    import struct
    b = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = 0
        while True:
            j = b.find(sig, i)
            if j < 0:
                break
            b[j + off:j + off + 4] = struct.pack("<I", size)
            i = j + 4
    return bytes(b)


def create_body(name, zip_bytes, timeout=10, env=None):
    body = {"FunctionName": name, "Runtime": "provided.al2023",
            "Role": "arn:aws:iam::123456789012:role/r", "Handler": "h", "Timeout": timeout,
            "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()}}
    if env:
        body["Environment"] = {"Variables": env}
    return json.dumps(body).encode()


ECHO_RUNTIME = r'''#!/usr/bin/env python3
import json, os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        ev = json.loads(r.read() or b"null")
    if isinstance(ev, dict) and "print" in ev:
        sys.stdout.write("x" * ev["print"] + "\n"); sys.stdout.flush()
    req = urllib.request.Request(api + "/invocation/" + rid + "/response",
                                 data=json.dumps(ev).encode(), method="POST")
    urllib.request.urlopen(req).read()
'''


class LocalLambdaLimitsTest(unittest.TestCase):
    """Item 2: resource limits."""

    def test_zip_lies_and_bad_layouts_get_400(self):
        work = tempfile.mkdtemp(prefix="pg_ll_work_")
        try:
            with LocalLambda("--work-dir", work) as ll:
                port = port_of(ll)
                boot = ("bootstrap", ECHO_RUNTIME, 0o755)
                # Every entry declared 1000 bytes: the bootstrap truly is, the zeros are 300 MB.
                boot1000 = ("bootstrap", ECHO_RUNTIME + "#" * (999 - len(ECHO_RUNTIME)) + "\n",
                            0o755)
                bomb = under_declare(
                    zip_with([boot1000, ("zeros", b"\0" * (300 << 20), 0o644)]), 1000)
                cases = {
                    "bomb": bomb,
                    "fileasdir": zip_with([boot, ("a", b"file", 0o644), ("a/b", b"x", 0o644)]),
                    "longname": zip_with([boot, ("n" * 300, b"x", 0o644)]),
                    "deep": zip_with([boot, ("d/" * 2100 + "f", b"x", 0o644)]),
                }
                for name, z in cases.items():
                    st, h, b = call(port, "POST", "/2015-03-31/functions", create_body(name, z))
                    self.assertEqual(st, 400, (name, b[:300]))
                    self.assertEqual(h.get("x-amzn-errortype"), "InvalidParameterValueException")
                    self.assertNotIn(work.encode(), b, name)
                    if name == "bomb":
                        self.assertIn(b"exceeds 262144000 bytes", b)
                    self.assertIsNone(ll.proc.poll())
                # A refused package leaves nothing on disk, not even its function's directory.
                fdir = os.path.join(work, "functions")
                left = os.listdir(fdir) if os.path.isdir(fdir) else []
                self.assertEqual(left, [])
                du = sum(os.path.getsize(os.path.join(d, f))
                         for d, _, fs in os.walk(work) for f in fs)
                self.assertLess(du, 1 << 20)  # nothing of the bomb is left
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_code_dirs_go_location_and_log_tail(self):
        work = tempfile.mkdtemp(prefix="pg_ll_work_")
        try:
            with LocalLambda("--work-dir", work) as ll:
                port = port_of(ll)
                z = zip_with([("bootstrap", ECHO_RUNTIME, 0o755)])
                st, _, b = call(port, "POST", "/2015-03-31/functions", create_body("f", z))
                self.assertEqual(st, 201, b)
                # Tail: a 600 KB log still gives its last 4 KB.
                st, h, b = call(port, "POST", "/2015-03-31/functions/f/invocations",
                                json.dumps({"print": 600000}).encode(),
                                {"X-Amz-Log-Type": "Tail"})
                self.assertEqual(st, 200, b)
                tail = base64.b64decode(h.get("x-amz-log-result", ""))
                self.assertGreater(len(tail), 1000)
                self.assertIn(b"REPORT RequestId", tail)
                # GetFunction: no Code.Location that answers 404.
                st, _, b = call(port, "GET", "/2015-03-31/functions/f")
                loc = json.loads(b)["Code"].get("Location")
                if loc:
                    import urllib.request
                    with urllib.request.urlopen(loc) as r:
                        self.assertEqual(r.status, 200)
                for _ in range(3):
                    body = json.dumps({"ZipFile": base64.b64encode(z).decode()}).encode()
                    st, _, b = call(port, "PUT", "/2015-03-31/functions/f/code", body)
                    self.assertEqual(st, 200, b)
                    st, _, b = call(port, "POST", "/2015-03-31/functions/f/invocations", b"{}")
                    self.assertEqual(st, 200, b)
                st, _, b = call(port, "DELETE", "/2015-03-31/functions/f")
                self.assertEqual(st, 204, b)
                deadline = time.time() + 10
                for sub in (os.path.join(work, "functions", "f"), os.path.join(work, "envs")):
                    while time.time() < deadline and os.path.isdir(sub) and os.listdir(sub):
                        time.sleep(0.1)
                    self.assertEqual(os.listdir(sub) if os.path.isdir(sub) else [], [], sub)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def test_fd_limit_idle_connections_and_large_bodies(self):
        import resource
        import select

        def low_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        # 64 descriptors: connections are capped at a quarter (16); the others wait in the
        # kernel's accept queue, so the server never runs out of descriptors (which would
        # leave an invocation unable to open a pipe).
        proc = subprocess.Popen([PG, "local-lambda", "--port", "0", "--idle-timeout", "2"],
                                stdout=subprocess.PIPE, text=True, preexec_fn=low_fds)
        try:
            port = int(proc.stdout.readline().split()[-1].rsplit(":", 1)[1])
            socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
                     for _ in range(40)]
            # The 40th asks at once; it is past the cap, so no answer until idle ones close.
            last = socks[-1]
            last.sendall(b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n\r\n")

            def cpu():
                with open("/proc/%d/stat" % proc.pid) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
            c0 = cpu()
            readable, _, _ = select.select([last], [], [], 1.5)
            used = cpu() - c0
            self.assertEqual(readable, [], "a connection past the cap was served at once")
            self.assertLess(used, 0.5, "local-lambda spun at its connection cap")
            # Idle connections are closed after --idle-timeout, which lets the waiting in.
            last.settimeout(30)
            self.assertIn(b" 200 ", last.recv(4096).split(b"\r\n")[0])
            time.sleep(0.5)
            closed = 0
            for s in socks[:16]:
                readable, _, _ = select.select([s], [], [], 0)
                if readable and s.recv(1) == b"":
                    closed += 1
            self.assertEqual(closed, 16, "idle connections not closed after --idle-timeout")
            for s in socks:
                s.close()
            time.sleep(0.5)
            st, _, b = call(port, "GET", "/2015-03-31/functions")
            self.assertEqual(st, 200, b)
            # Large bodies: two read at once, a third is refused before its body is read.
            big = []
            for _ in range(2):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 79000000\r\n\r\n" + b"{" * 1000)
                big.append(s)
            time.sleep(0.3)
            s3 = socket.create_connection(("127.0.0.1", port), timeout=10)
            s3.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 79000000\r\n\r\n")
            got = s3.recv(4096)
            self.assertIn(b" 429 ", got.split(b"\r\n")[0])
            self.assertIn(b"TooManyRequestsException", got)
            for s in big + [s3]:
                s.close()
            self.assertIsNone(proc.poll())
        finally:
            proc.terminate()
            proc.wait(20)


EXIT_AFTER_RESPONSE = r'''#!/usr/bin/env python3
import os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
with urllib.request.urlopen(api + "/invocation/next") as r:
    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
    ev = r.read()
urllib.request.urlopen(urllib.request.Request(api + "/invocation/" + rid + "/response",
                                              data=ev, method="POST")).read()
time.sleep(0.5)
os._exit(0)
'''

ESCAPER = r'''#!/usr/bin/env python3
import os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
out = os.environ["PIDFILE"]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(out + ".tmp", "w") as f:
            f.write(os.readlink("/proc/self"))
        os.rename(out + ".tmp", out)
        time.sleep(300)
    os._exit(0)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        ev = r.read()
    urllib.request.urlopen(urllib.request.Request(api + "/invocation/" + rid + "/response",
                                                  data=ev, method="POST")).read()
'''


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cgroups_available():
    """What local-lambda needs to track an environment by a cgroup (src/local/env_cgroup.cc):
    a cgroup v2 directory of ours where we may make a child that has cgroup.kill."""
    own = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                own = line[3:].strip()
    if own is None:
        return False
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            if not post.startswith("cgroup2 "):
                continue
            root, mount = pre.split()[3:5]
            if root != "/" and not own.startswith(root):
                continue
            d = mount + ("" if own == "/" else own[len(root) if root != "/" else 0:])
            probe = os.path.join(d, "pg-probe-%d" % os.getpid())
            try:
                os.mkdir(probe)
            except OSError:
                return False
            ok = os.path.exists(os.path.join(probe, "cgroup.kill"))
            os.rmdir(probe)
            return ok
    return False


def session_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[3])


def function_processes(function):
    """(pid, environment) of each process started for `function`, read from /proc as any
    process of the same user can."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        except OSError:
            continue
        if env.get(b"AWS_LAMBDA_FUNCTION_NAME") == function.encode():
            yield int(d), env


def runtime_pid_of(function):
    """The pid of `function`'s runtime: the session leader started with its environment."""
    for pid, _ in function_processes(function):
        try:
            if session_of(pid) == pid and alive(pid):
                return pid
        except OSError:
            continue
    return None


def runtime_api_of(function):
    """The AWS_LAMBDA_RUNTIME_API of `function`'s environment."""
    for _, env in function_processes(function):
        return env[b"AWS_LAMBDA_RUNTIME_API"].decode()
    return None


class EnvironmentsTest(unittest.TestCase):
    """Item 3: environments."""

    def test_invocation_not_delivered_runs_elsewhere(self):
        with LocalLambda() as ll:
            port = port_of(ll)
            z = zip_with([("bootstrap", EXIT_AFTER_RESPONSE, 0o755)])
            st, _, b = call(port, "POST", "/2015-03-31/functions", create_body("once", z))
            self.assertEqual(st, 201, b)
            for i in range(4):
                st, h, b = call(port, "POST", "/2015-03-31/functions/once/invocations",
                                json.dumps({"i": i}).encode())
                self.assertEqual((st, h.get("x-amz-function-error"), json.loads(b)),
                                 (200, None, {"i": i}), b)

    def warm_echo_function(self, port, name):
        """Creates an echo function, invokes it once, and returns its environment's
        AWS_LAMBDA_RUNTIME_API."""
        z = zip_with([("bootstrap", ECHO_RUNTIME, 0o755)])
        st, _, b = call(port, "POST", "/2015-03-31/functions", create_body(name, z))
        self.assertEqual(st, 201, b)
        st, _, b = call(port, "POST", "/2015-03-31/functions/%s/invocations" % name, b'{"a":1}')
        self.assertEqual(st, 200, b)
        api = runtime_api_of(name)
        self.assertIsNotNone(api)
        return api

    def test_runtime_api_address_and_second_next(self):
        with LocalLambda() as ll:
            port = port_of(ll)
            api = self.warm_echo_function(port, "victim")
            time.sleep(0.3)  # back in GET /next
            host, p = api.rsplit(":", 1)
            c = http.client.HTTPConnection(host, int(p), timeout=3)
            c.request("GET", "/2018-06-01/runtime/invocation/next")
            r = c.getresponse()
            self.assertEqual(r.status, 403)
            r.read()
            c.close()
            st, _, b = call(port, "POST", "/2015-03-31/functions/victim/invocations", b'{"b":2}')
            self.assertEqual((st, json.loads(b)), (200, {"b": 2}))

    @unittest.skipUnless(cgroups_available(), "no cgroup v2 with cgroup.kill that we may use "
                         "(root): environments are tracked by their session only")
    def test_setsid_and_double_fork_die_with_the_function(self):
        d = tempfile.mkdtemp(prefix="pg_ll_esc_")
        try:
            for how in ("delete", "shutdown"):
                pidfile = os.path.join(d, how)
                with LocalLambda() as ll:
                    port = port_of(ll)
                    z = zip_with([("bootstrap", ESCAPER, 0o755)])
                    st, _, b = call(port, "POST", "/2015-03-31/functions",
                                    create_body("esc", z, env={"PIDFILE": pidfile}))
                    self.assertEqual(st, 201, b)
                    st, _, b = call(port, "POST", "/2015-03-31/functions/esc/invocations", b"{}")
                    self.assertEqual(st, 200, b)
                    deadline = time.time() + 10
                    while not os.path.exists(pidfile) and time.time() < deadline:
                        time.sleep(0.05)
                    with open(pidfile) as f:
                        pid = int(f.read())
                    self.assertTrue(alive(pid))
                    # It did leave the session of the environment's runtime.
                    runtime = runtime_pid_of("esc")
                    self.assertIsNotNone(runtime)
                    self.assertNotEqual(session_of(pid), session_of(runtime))
                    if how == "delete":
                        st, _, b = call(port, "DELETE", "/2015-03-31/functions/esc")
                        self.assertEqual(st, 204, b)
                        deadline = time.time() + 5
                        while alive(pid) and time.time() < deadline:
                            time.sleep(0.05)
                        if alive(pid):
                            os.kill(pid, 9)
                            self.fail("a setsid'd grandchild survived DeleteFunction")
                deadline = time.time() + 5
                while alive(pid) and time.time() < deadline:
                    time.sleep(0.05)
                if alive(pid):
                    os.kill(pid, 9)
                    self.fail("a setsid'd grandchild survived " + how)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_runtime_api_connections_are_capped(self):
        """Any process can find an environment's Runtime API port; opening connections to it
        must not use up local-lambda's descriptors, and the function keeps working."""
        with LocalLambda() as ll:
            port = port_of(ll)
            api = self.warm_echo_function(port, "flooded")
            host, p = api.rsplit(":", 1)
            fds = lambda: len(os.listdir("/proc/%d/fd" % ll.proc.pid))  # noqa: E731
            before = fds()
            socks = []
            try:
                for _ in range(200):
                    socks.append(socket.create_connection((host, int(p)), timeout=3))
                time.sleep(0.5)
                grown = fds() - before
                self.assertLessEqual(grown, 8, "local-lambda took %d descriptors for 200 "
                                               "connections to one Runtime API" % grown)
                st, _, b = call(port, "GET", "/2015-03-31/functions")
                self.assertEqual(st, 200, b)
            finally:
                for c in socks:
                    c.close()
            st, _, b = call(port, "POST", "/2015-03-31/functions/flooded/invocations", b'{"b":2}')
            self.assertEqual((st, json.loads(b)), (200, {"b": 2}))


class LocalLambdaValidationTest(unittest.TestCase):
    """Found while fixing item 2: environment variables and X-Amz-Log-Type are checked as
    Lambda checks them (its service model), never run as given."""

    def test_environment_variables_are_checked(self):
        z = zip_with([("bootstrap", ECHO_RUNTIME, 0o755)])
        with LocalLambda() as ll:
            port = port_of(ll)
            bad = [({"A=B": "x"}, "ValidationException"), ({"A\u0000": "x"}, "ValidationException"),
                   ({"1A": "x"}, "ValidationException"), ({"A": "x"}, "ValidationException"),
                   ({"AB": "x\u0000y"}, "InvalidParameterValueException"),
                   ({"AB": "x" * 5000}, "InvalidParameterValueException")]
            for i, (env, kind) in enumerate(bad):
                st, h, b = call(port, "POST", "/2015-03-31/functions",
                                create_body("env%d" % i, z, env=env))
                self.assertEqual((st, h.get("x-amzn-errortype")), (400, kind), (env, b[:300]))
            st, _, b = call(port, "POST", "/2015-03-31/functions",
                            create_body("envok", z, env={"Ab_1": "x=y"}))
            self.assertEqual(st, 201, b)

    def test_log_type_is_none_or_tail(self):
        z = zip_with([("bootstrap", ECHO_RUNTIME, 0o755)])
        with LocalLambda() as ll:
            port = port_of(ll)
            st, _, b = call(port, "POST", "/2015-03-31/functions", create_body("lt", z))
            self.assertEqual(st, 201, b)
            inv = b"/2015-03-31/functions/lt/invocations"
            for value in (b"T\xffail", b"Bogus"):
                st, h, b = raw_request(port, b"POST " + inv + b" HTTP/1.1\r\nHost: x\r\n"
                                             b"X-Amz-Log-Type: " + value + b"\r\n"
                                             b"Content-Length: 2\r\n\r\n{}")
                self.assertEqual(st, 400, b)
                json.loads(b.decode("utf-8"))
            for value in ("None", "Tail"):
                st, h, b = call(port, "POST", inv.decode(), b"{}", {"X-Amz-Log-Type": value})
                self.assertEqual(st, 200, b)
                self.assertEqual("x-amz-log-result" in h, value == "Tail")


if __name__ == "__main__":
    unittest.main(verbosity=2)
