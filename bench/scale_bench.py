#!/usr/bin/env python3
"""Issue 6 item 7: the driver at scale (run by bench/run_scale.sh; see there).

  scale N JOBS SLEEP MODES   moto_server (S3/IAM, signatures enforced) + `local-lambda
                             --concurrency JOBS`; N tasks of `sleep SLEEP` through
                             `run --backend aws -j JOBS` in each mode (sync, async).
                             Ideal makespan = ceil(N/JOBS) waves x SLEEP + the measured cold
                             start: the wall time of one wave of JOBS `true` tasks on a fresh
                             function (every environment cold), run first.
  million N JOBS             N no-op tasks (`:::: FILE`) through `run --backend aws -j JOBS`
                             against a fast loopback Lambda endpoint (nginx answering
                             GetFunction and every Invoke with a fixed valid result).

Each run reports the wall time and the driver's peak RSS (VmHWM from /proc, polled).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests"))

PG = os.environ.get("PG_BIN", os.path.join(SRC, "build", "parallelagram"))


def load():
    return open("/proc/loadavg").read().split()[:3]


def run_measured(argv, env, cwd):
    """Runs argv; returns (rc, wall_s, peak_rss_mb, stderr)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    peak = [0]

    def poll():
        path = "/proc/%d/status" % p.pid
        while p.poll() is None:
            try:
                m = re.search(r"VmHWM:\s+(\d+) kB", open(path).read())
                if m:
                    peak[0] = max(peak[0], int(m.group(1)))
            except OSError:
                pass
            time.sleep(0.05)
    t = threading.Thread(target=poll)
    t.start()
    err = p.stderr.read()
    rc = p.wait()
    wall = time.monotonic() - t0
    t.join()
    return rc, wall, peak[0] / 1024.0, err


def manifest(state, job):
    with open(os.path.join(state, "jobs", job, "results.jsonl")) as f:
        return [json.loads(l) for l in f if l.strip()]


def check_once(state, job, n):
    rows = manifest(state, job)
    seqs = sorted(r["seq"] for r in rows)
    ok = seqs == list(range(1, n + 1)) and all(r["outcome"] == "succeeded" for r in rows)
    return ok, len(rows), sum(1 for r in rows if r["outcome"] == "succeeded")


def scale(n, jobs, sleep, modes):
    from moto_fixture import LocalLambda, MotoServer
    work = tempfile.mkdtemp(prefix="pg-scale-")
    state = os.path.join(work, "state")
    inputs = os.path.join(work, "inputs")
    with open(inputs, "w") as f:
        f.write("".join("%d\n" % i for i in range(n)))
    rows = []
    bad = False
    try:
        with MotoServer() as moto:
            env = moto.env()
            env.update(AWS_CONFIG_FILE="/nonexistent/config",
                       AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
                       XDG_CONFIG_HOME=os.path.join(work, "config"))
            ll = LocalLambda(PG, moto.access_key_id, moto.secret_access_key, concurrency=jobs,
                             env=env)
            try:
                env["AWS_ENDPOINT_URL_LAMBDA"] = ll.endpoint
                for fn in ["pgcold"] + ["pgscale" + m for m in modes]:
                    p = subprocess.run([PG, "deploy", "--function", fn, "--bucket", "pg-scale",
                                        "--create-bucket", "--timeout", "120", "--memory", "128"],
                                       env=env, capture_output=True, text=True)
                    if p.returncode != 0:
                        sys.exit("deploy failed: " + p.stdout + p.stderr)
                common = ["--backend", "aws", "--bucket", "pg-scale", "--state-dir", state, "-q"]
                with open(os.path.join(work, "wave"), "w") as f:
                    f.write("".join("%d\n" % i for i in range(jobs)))
                rc, cold, rss, err = run_measured(
                    [PG, "run", *common, "--function", "pgcold", "--job-id", "cold", "-j",
                     str(jobs), "--", "true", "::::", os.path.join(work, "wave")], env, work)
                if rc != 0:
                    sys.exit("cold-start wave failed: " + err[-2000:])
                print("cold wave: %d x true on %d fresh environments: %.2f s (load %s)"
                      % (jobs, jobs, cold, " ".join(load())), flush=True)
                waves = -(-n // jobs)
                ideal = waves * sleep + cold
                for mode in modes:
                    job = "scale-" + mode
                    l0 = load()
                    rc, wall, rss, err = run_measured(
                        [PG, "run", *common, "--function", "pgscale" + mode, "--mode", mode,
                         "--job-id", job, "-j", str(jobs), "--", "sleep", str(sleep), "::::",
                         inputs], env, work)
                    ok, lines, succ = check_once(state, job, n)
                    bad |= rc != 0 or not ok
                    rows.append((mode, n, jobs, wall, ideal, rss, rc, succ, " ".join(l0)))
                    print("%s: rc=%d wall=%.2f s ideal=%.2f s (%d waves x %s s + %.2f s cold) "
                          "over=%.1f%% driver_peak_rss=%.1f MB succeeded=%d/%d once=%s"
                          % (mode, rc, wall, ideal, waves, sleep, cold,
                             100 * (wall / ideal - 1), rss, succ, n, ok), flush=True)
                    if rc != 0:
                        print(err[-2000:])
            finally:
                ll.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| mode | tasks | -j | makespan (s) | ideal (s) | over ideal | driver peak RSS (MB) "
          "| load at start |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for mode, n_, j, wall, ideal, rss, rc, succ, l0 in rows:
        print("| %s | %d | %d | %.2f | %.2f | %+.1f%% | %.1f | %s |"
              % (mode, n_, j, wall, ideal, 100 * (wall / ideal - 1), rss, l0))
    print("targets: within 15% of ideal, driver < 200 MB")
    return 1 if bad else 0


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path DIR/body;
  proxy_temp_path DIR/proxy;
  fastcgi_temp_path DIR/fastcgi;
  uwsgi_temp_path DIR/uwsgi;
  scgi_temp_path DIR/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:PORT;
    location = /2015-03-31/functions/noop {
      default_type application/json;
      return 200 '{"Configuration":{"FunctionName":"noop","FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:noop","Runtime":"provided.al2023","Role":"arn:aws:iam::123456789012:role/noop","Handler":"noop","CodeSize":1,"MemorySize":128,"Timeout":60,"State":"Active","LastUpdateStatus":"Successful","Architectures":["x86_64"]},"Code":{"RepositoryType":"S3","Location":"http://127.0.0.1/"}}';
    }
    location / {
      default_type application/json;
      return 200 '{"v":1,"outcome":"succeeded","exit_code":0,"signal":null,"stdout":"","stderr":"","stdout_truncated":false,"stderr_truncated":false,"stdout_bytes":0,"stderr_bytes":0,"wall_ms":0,"cpu_user_ms":0,"cpu_sys_ms":0,"max_rss_kb":0,"cold":false,"invocation_index":1}';
    }
  }
}
"""


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FastLambda:
    """nginx on a free loopback port answering GetFunction(noop) and every Invoke."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pg-fast-")
        port = free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.replace("PORT", str(port)).replace("DIR", self.dir))
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.dir + "/nginx.conf"])
        self.url = "http://127.0.0.1:%d" % port
        import socket
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def fast_env(url, work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="not-a-real-secret",
               AWS_REGION="us-east-1", AWS_ENDPOINT_URL=url, AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/nonexistent/config",
               AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
               XDG_CONFIG_HOME=os.path.join(work, "config"))
    return env


def million(n, jobs, pg=PG, quiet=False):
    """Returns (rc, wall_s, peak_rss_mb, manifest lines)."""
    work = tempfile.mkdtemp(prefix="pg-million-")
    fast = FastLambda()
    try:
        inputs = os.path.join(work, "inputs")
        with open(inputs, "w") as f:
            f.write("".join("%d\n" % i for i in range(1, n + 1)))
        state = os.path.join(work, "state")
        l0 = load()
        rc, wall, rss, err = run_measured(
            [pg, "run", "--backend", "aws", "--function", "noop", "--bucket", "pg-noop",
             "--state-dir", state, "--job-id", "million", "-q", "-j", str(jobs), "--", "true",
             "::::", inputs], fast_env(fast.url, work), work)
        with open(os.path.join(state, "jobs", "million", "results.jsonl")) as f:
            lines = sum(1 for _ in f)
        if not quiet:
            print("million: %d no-op tasks -j %d: rc=%d wall=%.1f s (%.0f tasks/s) "
                  "driver_peak_rss=%.1f MB manifest_lines=%d (load at start %s)"
                  % (n, jobs, rc, wall, n / wall, rss, lines, " ".join(l0)))
            if rc != 0:
                print(err[-2000:])
            print("target: driver < 300 MB")
        return rc, wall, rss, lines
    finally:
        fast.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "scale":
        sys.exit(scale(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
                       sys.argv[5].split(",")))
    if what == "million":
        rc, _, rss, lines = million(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0 if rc == 0 and lines == int(sys.argv[2]) else 1)
    sys.exit("usage: scale_bench.py scale N JOBS SLEEP MODES | million N JOBS")
