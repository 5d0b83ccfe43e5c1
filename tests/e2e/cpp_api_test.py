#!/usr/bin/env python3
"""The C++ API as a C++ engineer adopts it: `cmake --install` the release build into a
temporary prefix, check the installed headers stand alone (std and nlohmann/json only), build
each example in examples/ out of tree against the installed package (find_package), run it on
the local backend and check its output against an independent computation, and see the job in
`parallelagram jobs` / `results`. Then deploy an example binary to the AWS stand-ins (moto_server
+ local-lambda, signatures enforced) with `parallelagram deploy --bootstrap`, run it there, and
check that another build, or the stock worker, is refused in one line before anything is sent.

Needs the release build (build/, which scripts/setup.sh makes); exits 77 (skipped) without it.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

SRC = os.path.abspath(os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks  # noqa: E402

BUILD = os.path.join(SRC, "build")
check = Checks()


def run(cmd, env=None, cwd=None, timeout=900):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def main():
    if not os.path.exists(os.path.join(BUILD, "libparallelagram.so")) or not os.path.exists(
            os.path.join(BUILD, "parallelagram")):
        print("skipped: no release build with the library in build/ (run scripts/setup.sh)")
        return 77
    work = tempfile.mkdtemp(prefix="pg-cpp-api-")
    prefix = os.path.join(work, "prefix")
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
    env.pop("PG_BOOTSTRAP", None)
    try:
        rc, out, err = run(["cmake", "--install", BUILD, "--prefix", prefix])
        check(rc == 0, "cmake --install into a temporary prefix", out + err)
        pg = os.path.join(prefix, "bin", "parallelagram")
        for f in ["bin/parallelagram", "bin/bootstrap", "include/parallelagram/parallelagram.h",
                  "lib/cmake/parallelagram/parallelagramConfig.cmake"]:
            check(os.path.exists(os.path.join(prefix, f)), "installed " + f)
        libs = [f for f in os.listdir(os.path.join(prefix, "lib")) if f.startswith("libparallelagram.so")]
        check(libs, "installed libparallelagram.so", os.listdir(os.path.join(prefix, "lib")))

        # The public headers: only each other, std and nlohmann/json.
        incdir = os.path.join(prefix, "include", "parallelagram")
        for h in sorted(os.listdir(incdir)):
            with open(os.path.join(incdir, h)) as f:
                bad = [inc for inc in re.findall(r'#include\s+([<"][^>"]+[>"])', f.read())
                       if not (inc[1:].startswith("parallelagram/") or inc[1:].startswith("nlohmann/") or
                               (inc[0] == "<" and "/" not in inc and "." not in inc))]
            check(not bad, "%s includes only std, nlohmann and parallelagram/" % h, bad)
        probe = os.path.join(work, "probe.cc")
        with open(probe, "w") as f:
            f.write("#include <parallelagram/parallelagram.h>\nint main() { return 0; }\n")
        rc, out, err = run(["c++", "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                            "-I", os.path.join(prefix, "include"), probe])
        check(rc == 0, "parallelagram.h compiles alone against the installed include dir", err)

        # Each example, out of tree, against the installed package.
        exe = {}
        for ex in ["monte_carlo_pi", "word_frequency", "checksum_report"]:
            b = os.path.join(work, "build-" + ex)
            rc, out, err = run(["cmake", "-S", os.path.join(SRC, "examples", ex), "-B", b, "-G", "Ninja",
                                "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"])
            check(rc == 0, ex + ": configured with find_package(parallelagram)", out + err)
            rc, out, err = run(["cmake", "--build", b])
            if not check(rc == 0, ex + ": built", out + err):
                return check.exit_status()
            exe[ex] = os.path.join(b, ex)
            check(os.path.exists(os.path.join(b, ex + "-function.zip")),
                  ex + ": parallelagram_add_function_zip made its Lambda zip")

        data = os.path.join(work, "data")
        os.makedirs(data)
        texts = {
            "a.txt": b"The cat and the hat.\nThe END\n",
            "b b.txt": b"caf\xc3\xa9 and \xff\xfe bytes, the cat\n",
            "c.txt": b"no newline at the end and a long line " + b"x" * 300,
        }
        for name, body in texts.items():
            with open(os.path.join(data, name), "wb") as f:
                f.write(body)

        # Monte Carlo pi: 1,000 tasks, reduced in the driver.
        rc, out, err = run([exe["monte_carlo_pi"], "--tasks", "1000"], env=env, cwd=work)
        m = re.search(r"pi ~ ([0-9.]+) from (\d+) points in (\d+) tasks \(job (\S+)\)", out)
        check(rc == 0 and m is not None, "monte_carlo_pi ran 1,000 tasks", out + err)
        if m:
            check(abs(float(m.group(1)) - 3.14159265) < 0.005, "pi within 0.005", out)
            job = m.group(4)
            with open(os.path.join(work, "state", "parallelagram", "jobs", job, "results.jsonl")) as f:
                lines = [json.loads(l) for l in f if l.strip()]
            check(sorted(l["seq"] for l in lines) == list(range(1, 1001)) and
                  all(l["outcome"] == "succeeded" for l in lines),
                  "the manifest holds each of the 1,000 calls once, succeeded")
            rc, out, err = run([pg, "jobs"], env=env)
            check(rc == 0 and job in out, "the library job shows in `parallelagram jobs`", out + err)
            rc, out, err = run([pg, "results", job], env=env)
            check(rc == 0 and "CountInside" in out, "`parallelagram results` shows its calls", out[:2000] + err)

        # Word frequency: map + reduce over files, vs the same rule computed here.
        files = [os.path.join(data, n) for n in texts]
        rc, out, err = run([exe["word_frequency"], "--top", "1000", *files], env=env, cwd=work)
        words = Counter()
        for body in texts.values():
            words.update(w.lower().decode() for w in re.findall(rb"[A-Za-z]+", body))
        want = "".join("%7d %s\n" % (n, w) for w, n in sorted(words.items(), key=lambda x: (-x[1], x[0])))
        check(rc == 0 and out == want, "word_frequency equals the counts computed independently",
              "got:\n" + out + err + "\nwant:\n" + want)

        # Process tasks and functions in one job.
        # Files are shipped by relative path (as run's --transferfile): run it where they are.
        rc, out, err = run([exe["checksum_report"], *texts], env=env, cwd=data)
        want = ""
        for n, body in texts.items():
            longest = max(len(l) for l in body.split(b"\n"))
            want += "%s  %d  %d  %s\n" % (hashlib.sha256(body).hexdigest(), body.count(b"\n"),
                                          longest, n)
        check(rc == 0 and out == want, "checksum_report: sha256sum tasks and line stats calls",
              "got:\n" + out + err + "\nwant:\n" + want)
        rc, out, err = run([exe["checksum_report"], files[0]], env=env, cwd=work)
        check(rc != 0 and "must be a path relative to the current directory" in err and
              err.count("\n") == 1, "an absolute path to ship is refused in one line", out + err)

        # The README's C++ example, as a reader would paste it.
        with open(os.path.join(SRC, "README.md")) as f:
            readme = f.read()
        code = re.search(r"## From C\+\+.*?```cpp\n(.*?)```", readme, re.S).group(1)
        rdir = os.path.join(work, "readme")
        os.makedirs(rdir)
        with open(os.path.join(rdir, "main.cc"), "w") as f:
            f.write(code)
        with open(os.path.join(rdir, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.25)\nproject(readme CXX)\nset(CMAKE_CXX_STANDARD 20)\n"
                    "find_package(parallelagram CONFIG REQUIRED)\nadd_executable(app main.cc)\n"
                    "target_link_libraries(app PRIVATE parallelagram::parallelagram)\n")
        rc, out, err = run(["cmake", "-S", rdir, "-B", os.path.join(rdir, "b"), "-G", "Ninja",
                            "-DCMAKE_PREFIX_PATH=" + prefix])
        rc2, out2, err2 = run(["cmake", "--build", os.path.join(rdir, "b")])
        check(rc == 0 and rc2 == 0, "the README's C++ example builds", out + err + out2 + err2)
        if rc2 == 0:
            rc, out, err = run([os.path.join(rdir, "b", "app")], env=env, cwd=rdir)
            want = "".join("%g\n" % sum(i * 0.5 for i in range(n * 1000)) for n in range(1, 101))
            got = out.split("\n")
            check(rc == 0 and len(got) == 101 and all(
                abs(float(a) - float(b)) <= 1e-5 * abs(float(b)) for a, b in zip(got[:-1], want.split("\n")[:-1])),
                "the README's C++ example runs and prints its 100 sums", out[:500] + err)

        aws_part(work, pg, exe["monte_carlo_pi"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


def aws_part(work, pg, pi):
    try:
        from moto_fixture import AwsStandIns
    except ImportError as e:
        check(False, "moto_fixture importable: " + str(e))
        return
    with AwsStandIns(pg, work, concurrency=8) as si:
        env = dict(si.env, XDG_STATE_HOME=os.path.join(work, "aws-state"))
        secret = si.moto.secret_access_key
        printed = ""
        rc, out, err = run([pg, "deploy", "--function", "pgpi", "--bucket", "pg-cpp", "--create-bucket",
                            "--bootstrap", pi, "--timeout", "60"], env=env)
        printed += out + err
        check(rc == 0, "deploy --bootstrap monte_carlo_pi to the stand-ins", out + err)
        rc, out, err = run([pi, "--aws", "pgpi", "--tasks", "20"], env=env, cwd=work)
        printed += out + err
        m = re.search(r"pi ~ ([0-9.]+) from 2000000 points in 20 tasks", out)
        check(rc == 0 and m is not None, "monte_carlo_pi ran its 20 calls on the deployed function",
              out + err)
        # The same calls locally give the same count: the deployed code is this build.
        rc2, out2, err2 = run([pi, "--tasks", "20"], env=env, cwd=work)
        check(rc2 == 0 and re.search(r"inside \d+", out2) and
              re.search(r"inside \d+", out2).group(0) == (re.search(r"inside \d+", out) or [None])[0],
              "the same 20 calls give the same result locally and on the function", out + out2 + err2)

        # Another build of the program: refused before anything is sent.
        os.makedirs(os.path.join(work, "v2"))
        other = os.path.join(work, "v2", "monte_carlo_pi")
        shutil.copy(pi, other)
        with open(other, "ab") as f:
            f.write(b"\0another build")
        rc, out, err = run([other, "--aws", "pgpi", "--tasks", "3"], env=env, cwd=work)
        printed += out + err
        check(rc != 0 and "runs another build of monte_carlo_pi:" in err and
              "parallelagram deploy --bootstrap" in err and err.count("\n") <= 2,
              "another build is refused in one line naming the deploy command", out + err)
        # The stock worker: not this program at all.
        rc, out, err = run([pg, "deploy", "--function", "pgstock", "--bucket", "pg-cpp"], env=env)
        check(rc == 0, "deploy the stock worker", out + err)
        rc, out, err = run([pi, "--aws", "pgstock", "--tasks", "3"], env=env, cwd=work)
        printed += out + err
        check(rc != 0 and "function pgstock runs bootstrap, not monte_carlo_pi: redeploy" in err,
              "the stock worker is refused", out + err)
        log = si.close()
        check.no_secret(printed + log, secret)


if __name__ == "__main__":
    sys.exit(main())
