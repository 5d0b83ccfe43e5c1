#!/usr/bin/env python3
"""A fast loopback Lambda endpoint for scale runs: nginx (a real HTTP server, not ours)
answering GetFunction for the function `noop` and every Invoke of it with a fixed, valid
succeeded result. It stands in for "a fast endpoint" so that what is measured is the driver.

Every request other than GetFunction(noop) and Invoke(noop) is logged to other.log, and
every Invoke to invoke.log (one short line each), so a test can count them:
    with FastLambda() as fast:      # fast.url, fast.env(work), fast.invokes(), fast.others()
        ...
Used by tests/e2e/scale_test.py and bench/scale_bench.py.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from moto_fixture import free_port, stop_process

_RESULT = ('{"v":1,"outcome":"succeeded","exit_code":0,"signal":null,"stdout":"","stderr":"",'
           '"stdout_truncated":false,"stderr_truncated":false,"stdout_bytes":0,"stderr_bytes":0,'
           '"wall_ms":0,"cpu_user_ms":0,"cpu_sys_ms":0,"max_rss_kb":0,"cold":false,'
           '"invocation_index":1}')

_FUNCTION = ('{"Configuration":{"FunctionName":"noop","FunctionArn":'
             '"arn:aws:lambda:us-east-1:123456789012:function:noop","Runtime":"provided.al2023",'
             '"Role":"arn:aws:iam::123456789012:role/noop","Handler":"noop","CodeSize":1,'
             '"MemorySize":128,"Timeout":60,"State":"Active","LastUpdateStatus":"Successful",'
             '"Architectures":["x86_64"]},"Code":{"RepositoryType":"S3",'
             '"Location":"http://127.0.0.1/"}}')

_HEAD = """daemon off;
master_process off;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/error.log warn;
events { worker_connections CONNECTIONS; }
http {
  client_body_temp_path DIR/body;
  proxy_temp_path DIR/proxy;
  fastcgi_temp_path DIR/fastcgi;
  uwsgi_temp_path DIR/uwsgi;
  scgi_temp_path DIR/scgi;
"""

_HTTP = """  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_buffer_size 64k;
  log_format short '$request_method $uri $status';
  server {
    listen 127.0.0.1:PORT;
    location = /2015-03-31/functions/noop {
      access_log off;
      default_type application/json;
      return 200 'FUNCTION';
    }
    location = /2015-03-31/functions/noop/invocations {
      access_log DIR/invoke.log short buffer=64k;
      default_type application/json;
      return 200 'RESULT';
    }
    location / {
      access_log DIR/other.log short;
      default_type application/json;
      return 404 '{"Type":"User","message":"not served by the fast Lambda stand-in"}';
    }
  }
"""


def nginx_conf(d, http_body, connections=1024):
    """A whole nginx.conf for one foreground, single-process nginx keeping its files in `d`
    (DIR in `http_body` becomes `d` too), with `http_body` inside `http { }`."""
    return (_HEAD.replace("CONNECTIONS", str(connections)) + http_body + "}\n").replace("DIR", d)


def start_nginx(d, port, conf):
    """Writes `conf` to d/nginx.conf, starts nginx on it and waits until it listens on `port`.
    Returns the process; raises RuntimeError (with nginx's complaint) if it does not start."""
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)
    proc = subprocess.Popen(["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("nginx did not start: " + proc.stderr.read())
            time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError("nginx did not listen on port %d" % port)


class FastLambda:
    """nginx on a free loopback port; close() (or leaving the `with`) stops it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pg-fast-")
        port = free_port()
        conf = nginx_conf(self.dir, _HTTP.replace("PORT", str(port))
                          .replace("FUNCTION", _FUNCTION).replace("RESULT", _RESULT), 8192)
        self.proc = start_nginx(self.dir, port, conf)
        self.url = "http://127.0.0.1:%d" % port

    def env(self, work):
        """Environment for the driver: dummy credentials, every endpoint this nginx."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="not-a-real-secret",
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL=self.url,
                   AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent/config",
                   AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
                   XDG_CONFIG_HOME=os.path.join(work, "config"))
        return env

    def _lines(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return [l for l in f.read().splitlines() if l]
        except FileNotFoundError:
            return []

    def invokes(self):
        """Invoke requests served so far (complete only after close(), which flushes)."""
        return len(self._lines("invoke.log"))

    def others(self):
        """Requests that were neither GetFunction(noop) nor Invoke(noop): 'METHOD URI STATUS'."""
        return self._lines("other.log")

    def close(self):
        """Stops nginx (flushing its logs); the logs stay readable until cleanup()."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: flushes the buffered log
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        stop_process(self.proc)

    def cleanup(self):
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
