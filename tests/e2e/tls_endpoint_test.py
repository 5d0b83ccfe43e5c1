#!/usr/bin/env python3
"""Lambda over TLS, end to end: `deploy` and `run --backend aws` with the Lambda endpoint
behind nginx's TLS (a certificate for `localhost` made here with openssl, trusted only through
AWS_CA_BUNDLE), in front of `local-lambda` (signatures checked) with moto for S3/IAM/STS.

The invoke path (Http1Client) and Lambda's control plane (libcurl) both talk TLS to a server
we did not write. Checks:
- with AWS_CA_BUNDLE: deploy works; a sync and an async run each run every task once with the
  right output; nginx logged every Invoke over TLS, and connections carried several requests
  (keep-alive over TLS);
- without it: `run` exits non-zero with a one-line error about the certificate that names
  AWS_CA_BUNDLE, and no Invoke reached nginx;
- an endpoint named by an address the certificate does not cover (127.0.0.1) is refused too;
- no secret in any output.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks, PgRunner  # noqa: E402
from fast_lambda import nginx_conf, start_nginx  # noqa: E402
from moto_fixture import (AwsStandIns, free_port, moto_refuses_boto3_listing,  # noqa: E402
                          set_moto_auth, stop_process)

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))
check = Checks()
pg = PgRunner(PG)

TLS_HTTP = """  client_max_body_size 0;
  log_format tls '$ssl_protocol $connection_requests $request_method $uri $status';
  server {
    listen 127.0.0.1:PORT ssl;
    server_name localhost;
    ssl_certificate DIR/cert.pem;
    ssl_certificate_key DIR/key.pem;
    access_log DIR/access.log tls;
    keepalive_requests 1000;
    location / {
      proxy_pass UPSTREAM;
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header Connection "";
      proxy_read_timeout 300s;
    }
  }
"""


def start_tls_nginx(d, upstream):
    """nginx serving TLS with a fresh certificate for localhost (d/cert.pem, its own CA),
    proxying to `upstream`. Returns (process, port)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", os.path.join(d, "key.pem"),
                    "-out", os.path.join(d, "cert.pem")], check=True, capture_output=True)
    port = free_port()
    conf = nginx_conf(d, TLS_HTTP.replace("PORT", str(port)).replace("UPSTREAM", upstream))
    return start_nginx(d, port, conf), port


def log_lines(d):
    with open(os.path.join(d, "access.log")) as f:
        return [l.split() for l in f.read().splitlines() if l]


def main():
    if shutil.which("nginx") is None or shutil.which("openssl") is None:
        print("FAIL: nginx and openssl are needed (scripts/setup.sh installs them)")
        return 1
    work = tempfile.mkdtemp(prefix="pg-tls-")
    ngx_dir = os.path.join(work, "nginx")
    os.makedirs(ngx_dir)
    nginx = None
    try:
        with AwsStandIns(PG, work, concurrency=4) as si:
            nginx, port = start_tls_nginx(ngx_dir, si.ll.endpoint)
            ca = os.path.join(ngx_dir, "cert.pem")
            env = dict(si.env, AWS_ENDPOINT_URL_LAMBDA="https://localhost:%d" % port,
                       AWS_CA_BUNDLE=ca)
            state = os.path.join(work, "state")
            rc, out, err = pg(env, "deploy", "--function", "pgtls", "--bucket", "pg-tls",
                              "--create-bucket", "--timeout", "60")
            check(rc == 0, "deploy through the TLS endpoint", out + err)

            values = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
            rc, out, err = pg(env, "run", "--backend", "aws", "--state-dir", state, "--job-id",
                              "tls-sync", "-j", "2", "--", "echo", "tls-{}", ":::", *values)
            check(rc == 0 and sorted(out.split()) == sorted("tls-" + v for v in values),
                  "sync run over TLS: every task's output", out + err)
            # moto refuses its own correctly signed listings of prefixes with '/' (see
            # moto_fixture): lifted while async mode lists its results, as in run_aws_test.
            lift = moto_refuses_boto3_listing(si.s3(), "pg-tls")
            set_moto_auth(si.moto.endpoint, not lift)
            rc, out, err = pg(env, "run", "--backend", "aws", "--mode", "async", "--state-dir",
                              state, "--job-id", "tls-async", "-j", "2", "--", "echo", "a-{}",
                              ":::", "1", "2", "3", "4")
            set_moto_auth(si.moto.endpoint, True)
            check(rc == 0 and sorted(out.split()) == ["a-1", "a-2", "a-3", "a-4"],
                  "async run over TLS: every task's output", out + err)

            invokes = [l for l in log_lines(ngx_dir) if l[3].endswith("/invocations")]
            check(len(invokes) == 10, "nginx saw exactly the 10 Invokes", invokes)
            check(all(l[0].startswith("TLSv1.") for l in invokes),
                  "every Invoke came over TLS", invokes)
            check(all(l[4] in ("200", "202") for l in invokes), "every Invoke was accepted",
                  invokes)
            check(max(int(l[1]) for l in invokes) >= 2,
                  "connections were kept alive across Invokes", invokes)

            # Not trusted: the same run without AWS_CA_BUNDLE.
            before = len(log_lines(ngx_dir))
            bare = {k: v for k, v in env.items() if k != "AWS_CA_BUNDLE"}
            rc, out, err = pg(bare, "run", "--backend", "aws", "--state-dir", state, "--job-id",
                              "tls-untrusted", "--", "echo", "x", ":::", "1")
            lines = [l for l in err.splitlines() if l.strip()]
            check(rc != 0 and len(lines) == 1 and "certif" in err.lower()
                  and "AWS_CA_BUNDLE" in err,
                  "an untrusted endpoint: a one-line error naming the certificate problem and "
                  "AWS_CA_BUNDLE", err)
            after = [l for l in log_lines(ngx_dir)[before:] if l[3].endswith("/invocations")]
            check(after == [], "no Invoke reached the untrusted endpoint", after)

            # A name the certificate does not cover.
            wrong = dict(env, AWS_ENDPOINT_URL_LAMBDA="https://127.0.0.1:%d" % port)
            rc, out, err = pg(wrong, "run", "--backend", "aws", "--state-dir", state, "--job-id",
                              "tls-wrong-name", "--", "echo", "x", ":::", "1")
            check(rc != 0 and len([l for l in err.splitlines() if l.strip()]) == 1,
                  "an endpoint the certificate does not name: a one-line error", err)

            pg.add(si.close())
            check.no_secret(pg.printed(), si.moto.secret_access_key)
    finally:
        if nginx is not None:
            stop_process(nginx)
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
