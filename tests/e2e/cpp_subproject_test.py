#!/usr/bin/env python3
"""The C++ API from the source tree, as a project that vendors it does: an outside project
pulls this checkout in with FetchContent (which is add_subdirectory underneath), links
parallelagram::parallelagram, packages its binary with parallelagram_add_function_zip, and
runs the Monte Carlo example on the local backend. Only the CLI, the worker and the library
are built then: no tests, no benchmarks, and none of our warnings-as-errors imposed.

Built unoptimised as a unity build: the integration is under test, not the code.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.abspath(os.environ.get("PG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.join(SRC, "tests"))
from e2e_util import Checks  # noqa: E402

check = Checks()


def run(cmd, env=None, cwd=None, timeout=1200):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def main():
    if shutil.which("ninja") is None:
        print("skipped: no ninja")
        return 77
    work = tempfile.mkdtemp(prefix="pg-cpp-sub-")
    try:
        app = os.path.join(work, "app")
        os.makedirs(app)
        shutil.copy(os.path.join(SRC, "examples", "monte_carlo_pi", "main.cc"), app)
        with open(os.path.join(app, "CMakeLists.txt"), "w") as f:
            f.write("""cmake_minimum_required(VERSION 3.25)
project(vendoring CXX)
set(CMAKE_CXX_STANDARD 20)
include(FetchContent)
FetchContent_Declare(parallelagram SOURCE_DIR "%s")
FetchContent_MakeAvailable(parallelagram)
add_executable(mypi main.cc)
target_link_libraries(mypi PRIVATE parallelagram::parallelagram)
parallelagram_add_function_zip(mypi)
""" % SRC)
        # Under the checkout (not a temporary directory): ccache keys on paths relative to it
        # (CCACHE_BASEDIR), so the generated unity sources hit the cache from one run to the
        # next, which they cannot from a directory with a random name.
        b = os.path.join(SRC, "build", "subproject-test")
        shutil.rmtree(b, ignore_errors=True)
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
        env.pop("PG_BOOTSTRAP", None)
        # Unoptimised, no debug info, a unity build: the cheapest whole build (it is the
        # integration that is under test here, not the code, which the other tests cover).
        rc, out, err = run(["cmake", "-S", app, "-B", b, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug",
                            "-DCMAKE_CXX_FLAGS_DEBUG=-O0", "-DCMAKE_UNITY_BUILD=ON"], env=env)
        check(rc == 0, "configured with FetchContent of the source tree", out + err)
        check("GoogleTest" not in out + err or "tests are not built" in out + err,
              "a subproject does not look for the tests' dependencies", out + err)
        rc, out, err = run(["cmake", "--build", b, "-j", str(os.cpu_count() or 2)], env=env)
        if not check(rc == 0, "built the app, the library, the CLI and the function zip", out[-3000:] + err):
            return check.exit_status()
        built = set(os.listdir(b)) | set(os.listdir(os.path.join(b, "_deps", "parallelagram-build")))
        check("mypi-function.zip" in built, "parallelagram_add_function_zip made the app's zip", sorted(built))
        check(not any(n.endswith("_tests") or n.endswith("_bench") for n in built),
              "no tests or benchmarks built in a subproject", sorted(built))
        with open(os.path.join(b, "build.ninja")) as f:
            check(" -Werror" not in f.read(), "our -Werror is not imposed on the vendoring project")
        rc, out, err = run([os.path.join(b, "mypi"), "--tasks", "40"], env=env, cwd=work)
        m = re.search(r"pi ~ ([0-9.]+) from (\d+) points in 40 tasks", out)
        check(rc == 0 and m is not None and abs(float(m.group(1)) - 3.1416) < 0.05,
              "the vendoring project's program ran 40 calls on the local backend", out + err)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(os.path.join(SRC, "build", "subproject-test"), ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
