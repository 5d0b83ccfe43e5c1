#!/usr/bin/env python3
"""SigV4 oracle: signs generated requests with botocore (and a few with curl
--aws-sigv4) and writes the inputs and the oracle's results as JSON.

Used by src/aws/sigv4_oracle_test.cc, which signs the same requests with our
signer and compares canonical requests and signatures, and checks that our
verifier accepts every oracle-signed request.

usage: sigv4_oracle.py --seed N --count N --out FILE [--curl N]
"""
import argparse
import datetime
import hashlib
import http.server
import json
import random
import subprocess
import threading
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICES = ["s3", "lambda", "iam", "sts"]
ENDPOINTS = {
    "s3": ["https://s3.us-west-2.amazonaws.com", "https://my-bucket.s3.amazonaws.com",
           "http://127.0.0.1:4566", "http://LocalHost:80"],
    "lambda": ["https://lambda.eu-west-1.amazonaws.com", "http://127.0.0.1:9001",
               "https://lambda.us-east-1.amazonaws.com:443"],
    "iam": ["https://iam.amazonaws.com", "http://localhost:5000"],
    "sts": ["https://sts.us-east-2.amazonaws.com", "http://127.0.0.1:5000"],
}
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"]
METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]
# Characters the issue asks for, and friends.
SPECIAL = [" ", "+", "%", "~", "=", "/", "é", "日本", "💥", "!", "*", "'", "(", ")", ":",
           "@", "&", "$", ",", ";", "?", "#", "[", "]", "-", "_", ".", "%20", "%2F"]
PLAIN = "abcXYZ0189"


def rand_text(rng, maxlen, allow_slash=True, allow_empty=True):
    n = rng.randint(0 if allow_empty else 1, maxlen)
    out = []
    for _ in range(n):
        if rng.random() < 0.45:
            c = rng.choice(SPECIAL)
            if c == "/" and not allow_slash:
                c = "-"
            out.append(c)
        else:
            out.append(rng.choice(PLAIN))
    return "".join(out)


def rand_path(rng):
    segs = []
    for _ in range(rng.randint(0, 4)):
        r = rng.random()
        if r < 0.08:
            segs.append(".")
        elif r < 0.14:
            segs.append("..")
        elif r < 0.2:
            segs.append("")
        else:
            segs.append(rand_text(rng, 8, allow_slash=False, allow_empty=False))
    path = "/" + "/".join(segs)
    if rng.random() < 0.2:
        path += "/"
    return path


def rand_query(rng, allow_dup_keys=True):
    pairs = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5])):
        k = rand_text(rng, 6, allow_empty=False)
        v = "" if rng.random() < 0.2 else rand_text(rng, 8)
        pairs.append((k, v))
    if allow_dup_keys and pairs and rng.random() < 0.2:
        pairs.append((pairs[0][0], rand_text(rng, 5)))
    if not allow_dup_keys:
        seen, uniq = set(), []
        for k, v in pairs:
            if k not in seen:
                seen.add(k)
                uniq.append((k, v))
        pairs = uniq
    return pairs


HEADER_NAMES = ["Content-Type", "x-amz-meta-Key", "X-Custom-Header", "x-amz-target",
                "X-Amz-Invocation-Type", "content-md5", "Range", "If-Match", "user-agent",
                "X-Amzn-Trace-Id", "My-header1"]
HEADER_VALUES = ["", "   ", "value", "  lead and trail  ", "a   b\tc", "\"a   b   c\"",
                 "application/json; charset=utf-8", "bytes=0-99", "é ü", "x=1, y=2",
                 "multi\n  line"]


def rand_headers(rng):
    hs = []
    for _ in range(rng.randint(0, 4)):
        hs.append((rng.choice(HEADER_NAMES), rng.choice(HEADER_VALUES)))
    return hs


def rand_secret(rng):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"
    return "".join(rng.choice(alphabet) for _ in range(40))


class Recorder:
    """Captures the canonical request and string to sign botocore computes."""

    def __init__(self, base):
        outer = self

        class Signer(base):
            def string_to_sign(self, request, canonical_request):
                sts = super().string_to_sign(request, canonical_request)
                outer.canonical_request = canonical_request
                outer.string_to_sign = sts
                return sts

        self.cls = Signer
        self.canonical_request = None
        self.string_to_sign = None


class _ClientConfig:
    def __init__(self, s3):
        self.s3 = s3


def make_case(rng, i):
    service = SERVICES[i % len(SERVICES)]
    presign = rng.random() < 0.2
    region = "us-east-1" if service == "iam" else rng.choice(REGIONS)
    endpoint = rng.choice(ENDPOINTS[service])
    method = "GET" if presign else rng.choice(METHODS)
    raw_path = rand_path(rng)
    query = rand_query(rng, allow_dup_keys=not presign)
    headers = rand_headers(rng)
    body = "" if presign or method in ("GET", "HEAD") else rand_text(rng, 40)
    token = rand_secret(rng) + "//+=" if rng.random() < 0.3 else ""
    akid = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    secret = rand_secret(rng)
    t = datetime.datetime(2015, 8, 30, 12, 36, 0) + datetime.timedelta(
        seconds=rng.randint(0, 10 * 365 * 86400))
    unsigned = service == "s3" and not presign and rng.random() < 0.25
    expires = rng.choice([1, 60, 3600, 604800])

    wire_path = quote(raw_path, safe="/~")
    url = endpoint + wire_path
    req = AWSRequest(method=method, url=url, data=body.encode("utf-8"), params=list(query))
    for k, v in headers:
        req.headers[k] = v  # HTTPHeaders appends: duplicates are kept
    if service != "s3" and not presign and not (service == "lambda" and body):
        # Parallelagram's Signer (src/aws/signer.h) sends x-amz-content-sha256 on every non-S3
        # request (moto needs it) but a Lambda one with a body (none, as SigV4Auth).
        req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body.encode("utf-8")).hexdigest()
    if unsigned:
        req.context["client_config"] = _ClientConfig({"payload_signing_enabled": False})

    creds = Credentials(akid, secret, token or None)
    if presign:
        base = botocore.auth.S3SigV4QueryAuth if service == "s3" else botocore.auth.SigV4QueryAuth
    else:
        base = botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth
    rec = Recorder(base)
    signer = rec.cls(creds, service, region, expires) if presign else rec.cls(creds, service, region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=t):
        signer.add_auth(req)
    signature = rec.string_to_sign and signer.signature(rec.string_to_sign, req)
    out_headers = [[k, v] for k, v in req.headers.items()]
    return {
        "id": i,
        "service": service,
        "region": region,
        "presign": presign,
        "expires": expires,
        "unsigned_payload": unsigned,
        "method": method,
        "endpoint": endpoint,
        "raw_path": raw_path,
        "query": [[k, v] for k, v in query],
        "headers": [[k, v] for k, v in headers],
        "body": body,
        "access_key_id": akid,
        "secret_access_key": secret,
        "session_token": token,
        "epoch_seconds": int((t - datetime.datetime(1970, 1, 1)).total_seconds()),
        "expected": {
            "wire_path": wire_path,
            "canonical_request": rec.canonical_request,
            "string_to_sign": rec.string_to_sign,
            "signature": signature,
            "signed_url": req.url,
            "signed_headers": out_headers,
        },
    }


class _Capture(http.server.BaseHTTPRequestHandler):
    captured = []

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8") if n else ""
        _Capture.captured.append({"method": self.command, "target": self.path,
                                  # http.server decodes header bytes as latin-1.
                                  "headers": [[k, v.encode("latin-1").decode("utf-8")]
                                              for k, v in self.headers.items()],
                                  "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = _any

    def log_message(self, *args):
        pass


def curl_cases(rng, count):
    """Requests signed by curl --aws-sigv4 (an implementation independent of botocore)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    port = server.server_address[1]
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    cases = []
    try:
        for i in range(count):
            service = rng.choice(["lambda", "iam", "sts", "s3"])
            region = rng.choice(REGIONS)
            method = rng.choice(["GET", "POST", "PUT", "DELETE"])
            segs = ["".join(rng.choice("abcXYZ019-_.~") for _ in range(rng.randint(1, 8)))
                    for _ in range(rng.randint(1, 3))]
            path = "/" + "/".join(quote(s + rng.choice(["", " ", "é", ":"]), safe="~")
                                  for s in segs)
            # curl 7.88 signs the query as sent, unsorted: send it sorted, unique
            # keys, and no '+' (which it mishandles), so that the canonical form is
            # unambiguous.
            keys = sorted(quote(k, safe="~") for k in rng.sample(
                ["Action", "a", "Version", "b c", "x~y", "k=é"], rng.randint(0, 3)))
            query = "&".join(
                k + "=" + quote(rand_text(rng, 6, allow_slash=True).replace("+", "-"), safe="~")
                for k in keys)
            body = "" if method in ("GET", "DELETE") else rand_text(rng, 30)
            akid = "AKIDCURL%04d" % i
            secret = rand_secret(rng)
            url = "http://127.0.0.1:%d%s%s" % (port, path, "?" + query if query else "")
            cmd = ["curl", "-sS", "-o", "/dev/null", "--aws-sigv4",
                   "aws:amz:%s:%s" % (region, service), "--user", "%s:%s" % (akid, secret),
                   "-X", method, "-H", "X-Custom: " + rng.choice(["v", " a  b ", "é"])]
            if body:
                cmd += ["--data-binary", body, "-H", "Content-Type: application/octet-stream"]
            cmd.append(url)
            _Capture.captured.clear()
            r = subprocess.run(cmd, capture_output=True, timeout=30)
            if r.returncode != 0 or len(_Capture.captured) != 1:
                raise SystemExit("curl failed: %s" % r.stderr.decode())
            got = _Capture.captured[0]
            target = got["target"]
            cases.append({
                "id": i, "service": service, "region": region, "method": got["method"],
                "raw_path": target.split("?")[0],
                "raw_query": target.split("?", 1)[1] if "?" in target else "",
                "headers": got["headers"], "body": got["body"],
                "access_key_id": akid, "secret_access_key": secret,
            })
    finally:
        server.shutdown()
        server.server_close()
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=1200)
    ap.add_argument("--curl", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    cases = [make_case(rng, i) for i in range(a.count)]
    curl = curl_cases(rng, a.curl) if a.curl else []
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"botocore_version": botocore.__version__, "cases": cases, "curl": curl}, f,
                  ensure_ascii=False)


if __name__ == "__main__":
    main()
