#!/usr/bin/env python3
"""What local-lambda gives a function, held to Lambda's documented environment
(../shared/lambda-facts.md): a bootstrap that is a binary with its private shared libraries
in lib/ and no rpath (the layout AWS's own C++ packager makes) starts, because LD_LIBRARY_PATH
is Lambda's with the task root in place of /var/task; Lambda's variables and values; the ARN
used to invoke and the client context reach the runtime. (AWS's Node runtime client reads the
same from its side: tests/node/local_lambda_test.mjs.)"""
import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import Checks  # noqa: E402
from lltest import PY_RUNTIME, LocalLambda, make_zip  # noqa: E402

check = Checks()

MAIN_C = r'''
#include <unistd.h>
void hello(void);
int main(void) {
  hello();  /* from lib/libhello.so, found only through LD_LIBRARY_PATH */
  execl("/bin/sh", "sh", "-c", "exec python3 \"$LAMBDA_TASK_ROOT/rt.py\"", (char*)0);
  return 126;
}
'''
HELLO_C = r'''
#include <stdio.h>
void hello(void) { puts("hello from a private library"); fflush(stdout); }
'''
# The runtime: PY_RUNTIME, plus {"all": 1} -> the environment and the /next headers it got.
RUNTIME = PY_RUNTIME.replace(
    '''    elif isinstance(ev, dict) and "meta" in ev:''',
    '''    elif isinstance(ev, dict) and "all" in ev:
        out = {"env": dict(os.environ), "arn": arn,
               "cc": r.headers.get("Lambda-Runtime-Client-Context")}
    elif isinstance(ev, dict) and "meta" in ev:''')


def call(port, method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    c.close()
    return out


def build_package(work):
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "lib"))
    for name, text in (("main.c", MAIN_C), ("hello.c", HELLO_C)):
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", "lib/libhello.so", "hello.c"], cwd=src,
                   check=True)
    subprocess.run(["cc", "-o", "bootstrap", "main.c", "-Llib", "-lhello"], cwd=src, check=True)
    dyn = subprocess.run(["readelf", "-d", "bootstrap"], cwd=src, capture_output=True,
                         text=True).stdout
    check("RPATH" not in dyn and "RUNPATH" not in dyn, "the bootstrap has no rpath", dyn)
    files = {"rt.py": (RUNTIME, 0o644)}
    for name in ("bootstrap", "lib/libhello.so"):
        with open(os.path.join(src, name), "rb") as f:
            files[name] = (f.read(), 0o755)
    return make_zip(files)


def main():
    if shutil.which("cc") is None or shutil.which("readelf") is None:
        print("skipped: no C compiler")
        return 77
    work = tempfile.mkdtemp(prefix="pg-ll-env-")
    try:
        z = build_package(work)
        with LocalLambda() as ll:
            port = int(ll.endpoint.rsplit(":", 1)[1])
            body = {"FunctionName": "cpp", "Runtime": "provided.al2023", "Handler": "h",
                    "Role": "arn:aws:iam::123456789012:role/r", "Timeout": 10,
                    "Code": {"ZipFile": base64.b64encode(z).decode()}}
            st, _, b = call(port, "POST", "/2015-03-31/functions", json.dumps(body).encode())
            check(st == 201, "created the function", b)
            inv = "/2015-03-31/functions/cpp/invocations"
            st, h, b = call(port, "POST", inv, b'{"echo": "up"}', {"X-Amz-Log-Type": "Tail"})
            log = base64.b64decode(h.get("x-amz-log-result", "")).decode(errors="replace")
            check(st == 200 and b == b'"up"' and "x-amz-function-error" not in h,
                  "a binary bootstrap with its libraries in lib/ and no rpath starts", b + log.encode())
            check("hello from a private library" in log, "it ran its library's code", log)

            ctx = {"custom": {"k": "v"}, "client": {"app_title": "t"}}
            cc = base64.b64encode(json.dumps(ctx).encode()).decode()
            for qualifier in ("", "$LATEST"):
                path = inv + ("?Qualifier=%24LATEST" if qualifier else "")
                st, _, b = call(port, "POST", path, b'{"all": 1}', {"X-Amz-Client-Context": cc})
                got = json.loads(b)
                arn = "arn:aws:lambda:us-east-1:123456789012:function:cpp"
                check(st == 200 and got["arn"] == (arn + ":" + qualifier if qualifier else arn),
                      "Invoked-Function-Arn as invoked (qualifier %r)" % qualifier, got.get("arn"))
                check(json.loads(got["cc"] or "null") == ctx, "the client context reached the runtime",
                      got.get("cc"))
            env = got["env"]
            root = env.get("LAMBDA_TASK_ROOT", "?")
            want = {
                "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
                                   "%s:%s/lib:/opt/lib" % (root, root),
                "LAMBDA_RUNTIME_DIR": "/var/runtime",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cpp",
                "AWS_LAMBDA_FUNCTION_NAME": "cpp",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "LANG": "en_US.UTF-8",
                "_HANDLER": "h",
                "AWS_REGION": "us-east-1",
            }
            for k, v in want.items():
                check(env.get(k) == v, "%s is Lambda's" % k, env.get(k))
            check(re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}",
                               env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")),
                  "AWS_LAMBDA_LOG_STREAM_NAME is YYYY/MM/DD/[$LATEST] and 32 hex digits",
                  env.get("AWS_LAMBDA_LOG_STREAM_NAME"))
            check(env.get("PATH", "").startswith("/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
                  "PATH starts with Lambda's", env.get("PATH"))
            st, h, b = call(port, "POST", inv, b"{}", {"X-Amz-Client-Context": "bm90IGpzb24="})
            check(st == 400 and h.get("x-amzn-errortype") == "InvalidRequestContentException",
                  "a client context that is not base64 of a JSON object is refused", b)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
