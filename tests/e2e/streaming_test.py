#!/usr/bin/env python3
"""Inputs consumed as they arrive, as GNU parallel consumes them (the real binary, the
embedded local Lambda):

- `(echo a; sleep 3; echo b) | parallelagram run -- echo` prints `a` long before `b` is
  written (GNU parallel prints it at once); the same for a `::::` FIFO.
- the cartesian product with a streamed last source keeps GNU parallel's order and `{#}`
  (`-k`), and its first combination starts before the stream ends.
- --dry-run prints each command line as its input arrives.
- a streamed job killed while it was still reading its input resumes with the inputs it had
  read, each task once in the manifest, and says the rest was not read.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import Checks  # noqa: E402

PG = os.environ.get("PG_BIN", "build/parallelagram")
check = Checks()
work = tempfile.mkdtemp(prefix="pg_stream_")
env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
state = os.path.join(work, "state", "parallelagram")


def first_line_time(cmd, feeder, timeout=60):
    """Runs `cmd`; `feeder(stdin)` writes its input. Returns (seconds until the first stdout
    line, the whole stdout, stderr, exit status)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=work)
    t0 = time.monotonic()
    import threading
    threading.Thread(target=feeder, args=(p.stdin,), daemon=True).start()
    first = p.stdout.readline()
    t_first = time.monotonic() - t0
    # Not communicate(): it would close stdin under the feeder.
    rest = p.stdout.read()
    err = p.stderr.read()
    p.wait(timeout=timeout)
    return t_first, (first + rest).decode(), err.decode(), p.returncode


def slow_ab(stdin):
    stdin.write(b"a\n")
    stdin.flush()
    time.sleep(3)
    stdin.write(b"b\n")
    stdin.close()


# 1. stdin streams: `a` comes out while `b` is still 3 s away.
t, out, err, rc = first_line_time([PG, "run", "-q", "--", "echo"], slow_ab)
check(rc == 0 and sorted(out.split()) == ["a", "b"], "stdin: both tasks ran", out + err)
check(t < 2.5, "stdin: the first task's output came %.2f s after start (< 2.5 s; b at 3 s)" % t)

# 2. A `::::` FIFO streams the same way.
fifo = os.path.join(work, "inputs.fifo")
os.mkfifo(fifo)


def fifo_writer():
    with open(fifo, "w") as f:
        f.write("x\n")
        f.flush()
        time.sleep(3)
        f.write("y\n")


import threading  # noqa: E402
threading.Thread(target=fifo_writer, daemon=True).start()
t, out, err, rc = first_line_time([PG, "run", "-q", "--", "echo", "::::", fifo],
                                  lambda s: s.close())
check(rc == 0 and sorted(out.split()) == ["x", "y"], ":::: FIFO: both tasks ran", out + err)
check(t < 2.5, ":::: FIFO: first output after %.2f s (< 2.5 s)" % t)

# 3. The product with a streamed last source: GNU parallel's order and {#} with -k, and the
# first combination starts before the stream ends.
t, out, err, rc = first_line_time(
    [PG, "run", "-q", "-k", "--", "echo", "{#}", "{1}", "{2}", ":::", "x", "y", "::::", "-"],
    slow_ab)
gnu = subprocess.run(["parallel", "-k", "echo", "{#}", "{1}", "{2}", ":::", "x", "y", "::::", "-"],
                     input=b"a\nb\n", capture_output=True).stdout.decode()
check(rc == 0 and out == gnu, "product with streamed stdin: output equals GNU parallel's -k",
      "ours:\n" + out + "\nGNU:\n" + gnu + err)
check(t < 2.5, "product: the first combination ran before stdin ended (%.2f s)" % t)

# --link with a streamed last source, against GNU parallel.
inp = b"1\n2\n3\n4\n5\n"
ours = subprocess.run([PG, "run", "-q", "-k", "--link", "--", "echo", "{1}", "{2}", ":::", "p", "q",
                       "::::", "-"], input=inp, capture_output=True, env=env, cwd=work)
gnu = subprocess.run(["parallel", "-k", "--link", "echo", "{1}", "{2}", ":::", "p", "q", "::::",
                      "-"], input=inp, capture_output=True)
check(ours.returncode == 0 and ours.stdout == gnu.stdout,
      "--link with streamed stdin equals GNU parallel's", ours.stdout + gnu.stdout + ours.stderr)

# 4. --dry-run prints as the input arrives.
t, out, err, rc = first_line_time([PG, "run", "--dry-run", "--", "echo", "{#}", "{}"], slow_ab)
check(rc == 0 and out == "echo 1 a\necho 2 b\n", "--dry-run: the command lines", out + err)
check(t < 2.5, "--dry-run: the first line after %.2f s (< 2.5 s)" % t)

# 5. Killed while still reading stdin: resume runs what was read, once each, and says so.
p = subprocess.Popen([PG, "run", "--job-id", "st1", "--", "echo"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=work)
for v in ("v1", "v2", "v3"):
    p.stdin.write((v + "\n").encode())
p.stdin.flush()
# Wait until the three are recorded (the manifest has them), then kill the driver.
manifest = os.path.join(state, "jobs", "st1", "results.jsonl")
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    if os.path.exists(manifest) and open(manifest).read().count("\n") >= 3:
        break
    time.sleep(0.05)
p.send_signal(signal.SIGKILL)
p.wait()
p.stdin.close()
info = json.load(open(os.path.join(state, "jobs", "st1", "job.json")))
check(info.get("total") is None, "job.json: total unknown while the input streamed", info)
r = subprocess.run([PG, "run", "--resume", "st1"], capture_output=True, env=env, cwd=work,
                   stdin=subprocess.DEVNULL)
lines = [json.loads(l) for l in open(manifest).read().splitlines()]
seqs = sorted(l["seq"] for l in lines)
check(r.returncode == 0 and seqs == [1, 2, 3], "resume: each of the 3 read tasks once",
      r.stdout + r.stderr + str(seqs).encode())
check(b"still reading stdin" in r.stderr, "resume says the input was cut", r.stderr)
info = json.load(open(os.path.join(state, "jobs", "st1", "job.json")))
check(info.get("status") == "finished" and info.get("total") == 3, "job.json: finished, total 3",
      info)

# 6. Killed with lines read from the pipe but not yet run (-j 1, slow tasks): the pipe gave
# them up, so they must be in the job's recorded inputs; the resume runs every one of the 20
# exactly once in the manifest.
p = subprocess.Popen([PG, "run", "-j", "1", "--job-id", "st2", "--", "sh", "-c",
                      'sleep 0.2; echo "$1"', "sh"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=work)
p.stdin.write("".join("w%d\n" % i for i in range(1, 21)).encode())
p.stdin.flush()
manifest = os.path.join(state, "jobs", "st2", "results.jsonl")
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    if os.path.exists(manifest) and open(manifest).read().count("\n") >= 1:
        break
    time.sleep(0.02)
p.send_signal(signal.SIGKILL)
p.wait()
p.stdin.close()
done_before = open(manifest).read().count("\n")
r = subprocess.run([PG, "run", "--resume", "st2"], capture_output=True, env=env, cwd=work,
                   stdin=subprocess.DEVNULL)
lines = [json.loads(l) for l in open(manifest).read().splitlines()]
seqs = sorted(l["seq"] for l in lines)
check(r.returncode == 0 and seqs == list(range(1, 21)),
      "resume after a kill with %d of 20 read lines run: each of the 20 once" % done_before,
      r.stdout + r.stderr + str(seqs).encode())
outs = sorted(l.get("stdout", "").strip() for l in lines)
check(outs == sorted("w%d" % i for i in range(1, 21)), "their outputs: w1..w20", str(outs))

shutil.rmtree(work, ignore_errors=True)
sys.exit(check.exit_status())
