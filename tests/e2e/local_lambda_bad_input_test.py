#!/usr/bin/env python3
"""Issue 2, item 6, on the wire: malformed and oversized HTTP requests, bad control-plane
bodies, unknown functions and bad zips get AWS's error shapes from `parallelagram
local-lambda` (status, x-amzn-ErrorType, x-amzn-RequestId, a JSON body whose message field
is spelled as AWS's Lambda model declares it: `message` or `Message`), and the service keeps
serving after each one."""
import base64
import gzip
import http.client
import json
import os
import socket
import sys

import botocore

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lltest import LocalLambda, check, make_zip, py_runtime_zip  # noqa: E402


def model_error_shapes():
    """{ErrorType: (http status, message member name)} from botocore's Lambda model."""
    path = os.path.join(os.path.dirname(botocore.__file__),
                        "data/lambda/2015-03-31/service-2.json.gz")
    with gzip.open(path) as f:
        shapes = json.load(f)["shapes"]
    out = {}
    for name, s in shapes.items():
        if s.get("exception"):
            members = s.get("members", {})
            field = "Message" if "Message" in members else "message" if "message" in members else None
            out[name] = (s.get("error", {}).get("httpStatusCode"), field)
    return out


MODEL = model_error_shapes()


class Raw:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=b"", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        c.close()
        return out

    def send_bytes(self, data, read=True):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(data)
        got = b""
        if read:
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                    if b"\r\n\r\n" in got and b"Connection: close" not in got and \
                            b"connection: close" not in got:
                        break
            except socket.timeout:
                pass
        s.close()
        return got

    def alive(self, what):
        st, _, body = self.call("GET", "/2016-08-19/account-settings")
        check(st == 200 and b"AccountLimit" in body, "still serving after " + what)


def expect_aws_error(resp, status, etype, what, contains=None):
    st, h, body = resp
    check(st == status, "%s: status %s, want %s (%r)" % (what, st, status, body[:300]))
    check(h.get("x-amzn-errortype") == etype, "%s: x-amzn-ErrorType %r, want %s" %
          (what, h.get("x-amzn-errortype"), etype))
    check(h.get("x-amzn-requestid"), "%s: no x-amzn-RequestId" % what)
    check(h.get("content-type", "").startswith("application/json"), "%s: content type" % what)
    j = json.loads(body)
    field = MODEL.get(etype, (None, "message"))[1] or "message"
    if etype in MODEL:
        check(MODEL[etype][0] == status, "%s: the model says %s is %s" % (what, etype,
                                                                           MODEL[etype][0]))
    check(isinstance(j.get(field), str) and j[field], "%s: body has no %r: %r" % (what, field, j))
    check(j.get("Type") in ("User", "Service"), "%s: Type %r" % (what, j.get("Type")))
    if contains:
        check(contains in j[field], "%s: %r not in %r" % (what, contains, j[field]))


def create_body(name, zip_bytes, **extra):
    body = {"FunctionName": name, "Runtime": "provided.al2023",
            "Role": "arn:aws:iam::123456789012:role/r", "Handler": "h",
            "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()}}
    body.update(extra)
    return json.dumps(body).encode()


def main():
    with LocalLambda("--concurrency", "10") as ll:
        port = int(ll.endpoint.rsplit(":", 1)[1])
        r = Raw(port)
        fn = "/2015-03-31/functions"

        # Malformed HTTP: garbage, a bad request line, a header block over the limit, a body
        # shorter than its Content-Length (client gone), a bogus chunked encoding.
        got = r.send_bytes(b"THIS IS NOT HTTP\r\n\r\n")
        check(got.startswith(b"HTTP/1.1 400"), "garbage: %r" % got[:100])
        r.alive("garbage")
        got = r.send_bytes(b"GET /\x00\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
        check(got.startswith(b"HTTP/1.1 400"), "bad target: %r" % got[:100])
        got = r.send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        check(got.startswith(b"HTTP/1.1 4"), "huge header: %r" % got[:100])
        r.alive("a huge header")
        r.send_bytes(b"POST " + fn.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
                     read=False)
        r.alive("a truncated body")
        got = r.send_bytes(b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\nzz\r\n")
        check(got.startswith(b"HTTP/1.1 400"), "bad chunk: %r" % got[:100])
        r.alive("bad chunked encoding")

        # Oversized: a control-plane body over the API's limit (only the headers are sent),
        # a sync payload over 6 MB, an Event payload over 1 MB.
        got = r.send_bytes(b"POST " + fn.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: 200000000\r\n\r\n")
        check(got.startswith(b"HTTP/1.1 413") and b"RequestEntityTooLargeException" in got,
              "oversized CreateFunction: %r" % got[:300])
        r.alive("an oversized request")

        # Bad control-plane bodies and zips.
        expect_aws_error(r.call("POST", fn, b"{not json"), 400, "InvalidRequestContentException",
                         "CreateFunction with a non-JSON body")
        expect_aws_error(r.call("POST", fn, b"[1,2]"), 400, "InvalidRequestContentException",
                         "CreateFunction with a JSON array")
        expect_aws_error(r.call("POST", fn, create_body("nz", b"this is not a zip")), 400,
                         "InvalidParameterValueException", "a zip that is not a zip")
        expect_aws_error(r.call("POST", fn, create_body("nb", make_zip({"x": ("y", 0o755)}))), 400,
                         "InvalidParameterValueException", "a zip without bootstrap",
                         "bootstrap")
        expect_aws_error(r.call("POST", fn, create_body("ne", make_zip({"bootstrap": ("y", 0o644)}))),
                         400, "InvalidParameterValueException",
                         "a zip whose bootstrap is not executable", "bootstrap")
        bad64 = json.loads(create_body("b64", b"x"))
        bad64["Code"]["ZipFile"] = "%%% not base64"
        st = r.call("POST", fn, json.dumps(bad64).encode())
        check(st[0] == 400 and st[1].get("x-amzn-errortype") in
              ("InvalidRequestContentException", "InvalidParameterValueException"),
              "ZipFile not base64: %r" % (st,))
        expect_aws_error(r.call("POST", fn, create_body("bad name!", py_runtime_zip())), 400,
                         "ValidationException", "a bad function name")
        expect_aws_error(r.call("POST", fn, create_body("rt", py_runtime_zip(), Runtime="java21")),
                         400, "InvalidParameterValueException", "an unsupported runtime")
        expect_aws_error(r.call("POST", fn, create_body("to", py_runtime_zip(), Timeout=901)),
                         400, "ValidationException", "Timeout over 900")
        r.alive("bad CreateFunction bodies")

        # Unknown functions and operations.
        for method, path in [("GET", fn + "/nope"), ("GET", fn + "/nope/configuration"),
                             ("DELETE", fn + "/nope"), ("POST", fn + "/nope/invocations"),
                             ("PUT", "/2017-10-31/functions/nope/concurrency"),
                             ("GET", "/2019-09-30/functions/nope/concurrency")]:
            body = b'{"ReservedConcurrentExecutions":1}' if method == "PUT" else b""
            expect_aws_error(r.call(method, path, body), 404, "ResourceNotFoundException",
                             "%s %s" % (method, path), "function:nope")
        st, h, _ = r.call("GET", "/2099-01-01/nothing-here")
        check(st == 404 and h.get("x-amzn-errortype") == "UnknownOperationException",
              "unknown operation")

        # A real function, then bad invokes of it.
        check(r.call("POST", fn, create_body("ok", py_runtime_zip()))[0] == 201, "create ok")
        inv = fn + "/ok/invocations"
        expect_aws_error(r.call("POST", inv, b"{bad"), 400, "InvalidRequestContentException",
                         "an invoke whose payload is not JSON")
        expect_aws_error(r.call("POST", inv, b"{}", {"X-Amz-Invocation-Type": "Sometimes"}),
                         400, "InvalidParameterValueException", "a bad invocation type")
        big = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
        expect_aws_error(r.call("POST", inv, big), 413, "RequestTooLargeException",
                         "a sync payload over 6 MB")
        ev = b'"' + b"x" * (1024 * 1024) + b'"'
        expect_aws_error(r.call("POST", inv, ev, {"X-Amz-Invocation-Type": "Event"}), 413,
                         "RequestTooLargeException", "an Event payload over 1 MB")
        # Just under the limits is accepted.
        st, _, body = r.call("POST", inv, json.dumps({"echo": "y" * (6 * 1024 * 1024 - 100)})
                             .encode())
        check(st == 200 and len(body) > 6 * 1024 * 1024 - 100, "a 6 MB sync payload: %s" % st)
        st, _, _ = r.call("POST", inv, b'"' + b"z" * (1024 * 1024 - 10) + b'"',
                          {"X-Amz-Invocation-Type": "Event"})
        check(st == 202, "a 1 MB Event payload: %s" % st)
        # Throttled: reserved concurrency 0.
        check(r.call("PUT", "/2017-10-31/functions/ok/concurrency",
                      b'{"ReservedConcurrentExecutions":0}')[0] == 200, "put concurrency")
        resp = r.call("POST", inv, b"{}")
        expect_aws_error(resp, 429, "TooManyRequestsException", "throttled")
        check(json.loads(resp[2])["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded",
              "Reason")
        check(resp[1].get("retry-after"), "Retry-After header")
        expect_aws_error(r.call("PUT", "/2017-10-31/functions/ok/concurrency",
                                b'{"ReservedConcurrentExecutions":10}'), 400,
                         "InvalidParameterValueException", "reserving below the unreserved minimum")
        check(r.call("DELETE", "/2017-10-31/functions/ok/concurrency")[0] == 204, "delete")
        st, _, body = r.call("POST", inv, b'{"echo":"after"}')
        check(st == 200 and json.loads(body) == "after", "serving after everything: %r" % body)
    print("ok")


if __name__ == "__main__":
    main()
