#!/usr/bin/env python3
"""`parallelagram package` makes a self-contained function zip (issue 5, item 1).

The zip is unpacked at /var/task of a chroot that holds nothing else but a statically linked
/bin/sh (Debian's busybox-static), /tmp, /dev and /proc. Its `bootstrap` is started there (by
absolute path, with Lambda's environment) against a Runtime API served on loopback by this
script, and must complete a task. The host's libraries are out of reach inside the chroot,
so the worker can only start through what the zip carries. Mounts happen in a private mount
namespace (unshare -m) and vanish with it. Needs root (CI runs as root).
"""
import http.server
import json
import os
import queue
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import zipfile

PG_BIN = os.environ["PG_BIN"]
PREFIX = "/2018-06-01/runtime"


def serve_runtime_api(events, posts):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, code, body, headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != PREFIX + "/invocation/next":
                self._send(404, b"{}")
                return
            req_id, event = events.get()
            self._send(200, json.dumps(event).encode(), [
                ("Lambda-Runtime-Aws-Request-Id", req_id),
                ("Lambda-Runtime-Deadline-Ms", str(int(__import__("time").time() * 1000) + 60000)),
                ("Lambda-Runtime-Invoked-Function-Arn",
                 "arn:aws:lambda:us-east-1:123456789012:function:pg"),
                ("Content-Type", "application/json")])

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            posts.put((self.path, dict(self.headers), body))
            self._send(202, b'{"status":"OK"}')

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the worker is killed at the end with /next in flight

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    if os.geteuid() != 0:
        print("package_chroot_test needs root (chroot, mount); CI runs it as root")
        return 77
    busybox = shutil.which("busybox") or "/bin/busybox"
    ldd = subprocess.run(["ldd", busybox], capture_output=True, text=True)
    assert ldd.returncode != 0, f"{busybox} must be statically linked (busybox-static): {ldd.stdout}"

    work = tempfile.mkdtemp(prefix="pg-chroot-")
    try:
        zip_path = os.path.join(work, "fn with space.zip")
        r = subprocess.run([PG_BIN, "package", "-o", zip_path], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        print(r.stdout.strip())
        assert "wrote" in r.stdout and "architecture x86_64" in r.stdout, r.stdout

        root = os.path.join(work, "root")
        for d in ("bin", "tmp", "dev", "proc", "var/task"):
            os.makedirs(os.path.join(root, d))
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        shutil.copy(busybox, os.path.join(root, "bin", "sh"))
        with zipfile.ZipFile(zip_path) as z:
            names = z.namelist()
            for info in z.infolist():
                z.extract(info, os.path.join(root, "var/task"))
                mode = (info.external_attr >> 16) & 0o7777
                if mode:
                    os.chmod(os.path.join(root, "var/task", info.filename), mode)
        assert "bootstrap" in names
        task_root = os.path.join(root, "var/task")
        os.chmod(task_root, 0o555)  # read-only, as on Lambda
        bundled = "bin/bootstrap" in names
        if bundled:
            assert any(n.startswith("lib/ld-linux") for n in names), names
            assert "lib/libc.so.6" in names, names
        print(f"zip holds {len(names)} entries; bundled loader: {bundled}")

        events, posts = queue.Queue(), queue.Queue()
        server = serve_runtime_api(events, posts)
        port = server.server_address[1]
        events.put(("req-1", {"argv": ["/bin/sh", "-c", "echo hello from $PWD; echo oops >&2; exit 3"]}))
        events.put(("req-2", {"argv": ["/bin/does-not-exist"]}))
        env = {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "LAMBDA_TASK_ROOT": "/var/task",
            "_HANDLER": "bootstrap",
            "AWS_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "pg",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "TMPDIR": "/tmp",
            "ASAN_OPTIONS": "detect_leaks=0",  # the worker is killed below, not shut down
        }
        # Host tools are found with the host's PATH; the worker gets Lambda's PATH.
        script = ('mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" && '
                  'c=$(command -v chroot) && PATH=/bin && export PATH && '
                  'exec "$c" "$1" /var/task/bootstrap')
        proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                                 "sh", root], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            got = {}
            for _ in range(2):
                try:
                    path, headers, body = posts.get(timeout=60)
                except queue.Empty:
                    proc.kill()
                    out = proc.stdout.read().decode(errors="replace")
                    raise AssertionError(f"no post from the worker in the chroot; its output:\n{out}")
                got[path] = json.loads(body)
            ok = got[PREFIX + "/invocation/req-1/response"]
            assert ok["exit_code"] == 3, ok
            assert ok["stdout"].startswith("hello from /tmp/"), ok
            assert ok["stderr"] == "oops\n", ok
            missing = got.get(PREFIX + "/invocation/req-2/response") or got.get(
                PREFIX + "/invocation/req-2/error")
            assert missing is not None, got
            print("task completed in the chroot:", json.dumps(ok)[:200])
        finally:
            proc.kill()
            proc.wait()
            server.shutdown()
    finally:
        subprocess.run(["chmod", "-R", "u+w", work])
        shutil.rmtree(work, ignore_errors=True)
    print("package_chroot_test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
