#!/usr/bin/env python3
"""Starts moto_server with SigV4 checking on, and makes the credentials to use.

moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT free calls are spent.
We spend exactly those on: CreateUser, PutUserPolicy (allow *), CreateAccessKey.
From then on every call must be signed with the returned key.

As a module (Python e2e tests):
    from moto_fixture import MotoServer
    with MotoServer() as m:  # m.endpoint, m.access_key_id, m.secret_access_key, m.env()
        ...
As a command (the C++ fixture src/aws/moto_fixture_test_util.h uses this):
    python3 tests/moto_fixture.py bootstrap http://127.0.0.1:PORT
        prints {"access_key_id": ..., "secret_access_key": ..., "user": ...}
"""
import json
import os
import socket
import subprocess
import sys
import time

FREE_CALLS = 3  # the three bootstrap calls below


def stop_process(proc, timeout=10):
    """Terminates `proc` (a subprocess.Popen) if it still runs, killing it after `timeout` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, proc, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("moto_server exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not listen on port %d" % port)


def bootstrap(endpoint, user="pg-test"):
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="allow-all",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "user": user,
    }


class MotoServer:
    """moto_server on 127.0.0.1:<free port>, signatures enforced after bootstrap."""

    def __init__(self, free_calls=FREE_CALLS):
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ)
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(free_calls)
        self.proc = subprocess.Popen(
            ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port, self.proc)
            creds = bootstrap(self.endpoint)
        except Exception:
            self.close()
            raise
        self.access_key_id = creds["access_key_id"]
        self.secret_access_key = creds["secret_access_key"]

    def env(self):
        """Environment for a child that should talk to this moto (no other AWS config)."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update(
            AWS_ACCESS_KEY_ID=self.access_key_id,
            AWS_SECRET_ACCESS_KEY=self.secret_access_key,
            AWS_REGION="us-east-1",
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_EC2_METADATA_DISABLED="true",
        )
        return e

    def close(self):
        stop_process(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "bootstrap":
        print(json.dumps(bootstrap(sys.argv[2])))
    else:
        sys.exit("usage: moto_fixture.py bootstrap ENDPOINT")


def set_moto_auth(endpoint, on):
    """Turns moto's signature checking on, or off (every call then free)."""
    import urllib.request
    req = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0" if on else b"inf",
                                 method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()


def moto_refuses_boto3_listing(s3, bucket):
    """moto 5's signature check rebuilds the canonical request from a decoded URL, so it
    refuses correctly signed ListObjectsV2 requests whose prefix holds '/' -- boto3's own too.
    Async mode lists the job's result prefix, so tests lift the check (set_moto_auth) while
    that part runs, only when boto3 itself is refused (a fixed moto turns it back on)."""
    import botocore.exceptions
    try:
        s3.list_objects_v2(Bucket=bucket, Prefix="parallelagram/jobs/")
        return False
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"] == "SignatureDoesNotMatch"


class AwsStandIns:
    """moto_server (S3/IAM/STS, signatures enforced) plus `local-lambda` checking the same
    key, wired by AWS_ENDPOINT_URL* in .env (no shared config files, XDG_CONFIG_HOME under
    `work`): what `run --backend aws` talks to in the e2e tests and bench/scale_bench.py.
    close() stops both and returns everything local-lambda printed (again when called again:
    a test may close() in its own `finally` inside the `with`)."""

    def __init__(self, pg, work, concurrency, ll_args=()):
        self._log = None
        self.moto = MotoServer()
        try:
            self.env = self.moto.env()
            self.env.update(AWS_CONFIG_FILE="/nonexistent/config",
                            AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
                            XDG_CONFIG_HOME=os.path.join(work, "config"))
            self.ll = LocalLambda(pg, self.moto.access_key_id, self.moto.secret_access_key,
                                  concurrency=concurrency, env=self.env, extra_args=ll_args)
        except Exception:
            self.moto.close()
            raise
        self.env["AWS_ENDPOINT_URL_LAMBDA"] = self.ll.endpoint

    def client(self, service, **kw):
        """A boto3 client for `service` signed with the test user's key: "lambda" talks to
        local-lambda, any other service to moto. `kw`: more boto3.client arguments."""
        import boto3
        endpoint = self.ll.endpoint if service == "lambda" else self.moto.endpoint
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id=self.moto.access_key_id,
                            aws_secret_access_key=self.moto.secret_access_key, **kw)

    def s3(self):
        return self.client("s3")

    def close(self):
        if self._log is None:
            try:
                self._log = self.ll.close()
            finally:
                self.moto.close()
        return self._log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalLambda:
    """`parallelagram local-lambda` (binary `pg`) on a free port, checking SigV4 signatures
    with the given key: the Lambda half of the local AWS stand-ins (moto has no Lambda data
    plane). close() stops it and returns everything it printed (for secret checks)."""

    def __init__(self, pg, key, secret, concurrency, env=None, extra_args=()):
        # `env`: the service's environment, which its workers inherit the AWS_* credentials
        # and AWS_ENDPOINT_URL* of (as Lambda gives a function its role's credentials).
        self.proc = subprocess.Popen(
            [pg, "local-lambda", "--port", "0", "--access-key-id", key,
             "--secret-access-key", secret, "--concurrency", str(concurrency), *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.close()
            raise RuntimeError("local-lambda did not start: %r" % line)
        self.endpoint = line.strip().split()[-1]

    def close(self):
        stop_process(self.proc)
        return (self.proc.stdout.read() or "") + (self.proc.stderr.read() or "")
