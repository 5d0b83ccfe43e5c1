#!/usr/bin/env python3
"""--pipe and --pipe-part (issue 15 item 5) against GNU parallel 20221122 on the same inputs.

Each case runs the same command line through both with -k; the command prints the block's
number and checksum (md5sum of its stdin), so equal stdout means equal blocks in the same order.
Inputs: FASTQ-like four-line records (--recstart '@', -L 4), a CSV with a header (--header :,
repeated per block), plain lines (-N, --block), a record longer than the block (the block grows).
Size splits are also checked for GNU parallel's invariants on our own output: every block ends
at a record boundary, none is over the size unless one record is, the blocks add up to the
input, the header is in front of each.

Differences on purpose, checked as such: GNU parallel runs every command through a shell (we
do with --shell, given below). Bad input (--block 0, a --pipe-part input that is a pipe, a
--regexp that does not compile, --recstart without --pipe, ::: values with --pipe) is refused
in one line naming the option, exit 255, no job made. After a job the blocks it stored are gone
from the store."""
import json
import os
import random
import signal
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import Checks, kill_when_lines  # noqa: E402

PG = os.path.abspath(os.environ.get("PG_BIN", "build/parallelagram"))
GNU = "/usr/bin/parallel"
check = Checks()
DIGEST = "echo {#}; md5sum"


def run(argv, cwd, stdin=b"", env=None):
    p = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=600, env=env)
    return p.returncode, p.stdout, p.stderr


def make_inputs(work):
    rnd = random.Random(15)
    fq = []
    for i in range(3000):
        n = rnd.randint(20, 120)
        seq = "".join(rnd.choice("ACGT") for _ in range(n))
        fq.append("@read%d/1\n%s\n+\n%s\n" % (i, seq, "".join(rnd.choice("IJ#") for _ in range(n))))
    fastq = "".join(fq).encode()
    rows = ["id,name,value"] + ["%d,n%d,%d" % (i, rnd.randint(0, 99), rnd.randint(0, 10**6))
                                for i in range(5000)]
    csv = ("\n".join(rows) + "\n").encode()
    lines = "".join("%d\n" % i for i in range(1, 20001)).encode()
    long_record = b"short\n" + b"x" * 50000 + b"\n" + b"tail\n" * 10
    keyed = "".join("%d:%s\n" % (rnd.randint(1, 999), "v" * rnd.randint(0, 9))
                    for _ in range(200)).encode()
    files = {"reads.fq": fastq, "table.csv": csv, "lines.txt": lines, "long.txt": long_record,
             "keyed.txt": keyed}
    for name, data in files.items():
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
    return files


# (what, options, input file name). Each is run as `--pipe OPTIONS` on stdin (or --pipe-part
# -a FILE when the options hold --pipe-part), with the command DIGEST.
CASES = [
    ("-N 1000 lines", ["--pipe", "-N", "1000"], "lines.txt"),
    ("--block 20k lines", ["--pipe", "--block", "20k"], "lines.txt"),
    ("--block 7K lines", ["--pipe", "--block", "7K"], "lines.txt"),
    ("FASTQ -L 4 --block 30k", ["--pipe", "-L", "4", "--block", "30k"], "reads.fq"),
    ("FASTQ -N 250 -L 4", ["--pipe", "-N", "250", "-L", "4"], "reads.fq"),
    ("FASTQ --recstart @ --block 25k", ["--pipe", "--recstart", "@", "--block", "25k"],
     "reads.fq"),
    ("FASTQ --recstart @ --recend '\\n' -N 100", ["--pipe", "--recstart", "@", "--recend", "\\n",
                                                  "-N", "100"], "reads.fq"),
    ("CSV --header : -N 700", ["--pipe", "--header", ":", "-N", "700"], "table.csv"),
    ("CSV --header : --block 16k", ["--pipe", "--header", ":", "--block", "16k"], "table.csv"),
    ("CSV --header 1 --block 16k", ["--pipe", "--header", "1", "--block", "16k"], "table.csv"),
    ("a record over the block grows it", ["--pipe", "--block", "10k"], "long.txt"),
    ("--regexp --recstart '[0-9]+:' -N 7", ["--pipe", "--regexp", "--recstart", "[0-9]+:",
                                            "-N", "7"], "keyed.txt"),
    ("--pipe-part --block 40k lines", ["--pipe-part", "--block", "40k"], "lines.txt"),
    ("--pipe-part FASTQ --recstart @ --block 50k", ["--pipe-part", "--recstart", "@",
                                                    "--recend", "\\n", "--block", "50k"],
     "reads.fq"),
    ("--pipe-part CSV --header : --block 30k", ["--pipe-part", "--header", ":", "--block",
                                                "30k"], "table.csv"),
    ("--pipe-part --block -3 (per job slot)", ["-j", "2", "--pipe-part", "--block", "-3"],
     "reads.fq"),
    ("--pipe-part without --block (10 per job slot)", ["-j", "3", "--pipe-part"], "lines.txt"),
]


def oracle(work, env, files):
    for what, opts, name in CASES:
        part = "--pipe-part" in opts
        stdin = b"" if part else files[name]
        extra = ["-a", name] if part else []
        rc, out, err = run([PG, "run", "-k", *opts, *extra, "--shell", DIGEST], work, stdin, env)
        grc, gout, gerr = run([GNU, "-k", *opts, *extra, DIGEST], work, stdin)
        blocks = out.count(b"\n") // 2
        check(rc == 0 and grc == 0 and out == gout and blocks > 1,
              "%s: the same %d blocks as GNU parallel" % (what, blocks),
              "ours %d %r %r\ngnu %d %r %r" % (rc, out[-300:], err[-500:], grc, gout[-300:],
                                               gerr[-300:]))


def invariants(work, env, files):
    """Size splits: every block ends at a record end, none over the size unless it holds a
    record that is (--pipe-part: the size plus one record), the blocks add up to the input, the
    header goes before each."""
    for opts, name, header, rec_end in (
            (["--pipe", "--block", "9k"], "lines.txt", b"", b"\n"),
            (["--pipe", "--block", "12k", "--header", ":"], "table.csv", b"id,name,value\n",
             b"\n"),
            (["--pipe-part", "--block", "12k", "--header", ":", "-a", "table.csv"], "table.csv",
             b"id,name,value\n", b"\n"),
            (["--pipe", "--block", "10k"], "long.txt", b"", b"\n")):
        part = "--pipe-part" in opts
        rc, out, err = run([PG, "run", "-k", *opts, "--shell", "cat; echo ==BLOCK=="], work,
                           b"" if part else files[name], env)
        blocks = out.split(b"==BLOCK==\n")[:-1]
        data = files[name]
        body = data[len(header):]
        size = int(opts[opts.index("--block") + 1].rstrip("k")) * 1000
        ok_header = all(b.startswith(header) for b in blocks)
        joined = b"".join(b[len(header):] for b in blocks)
        ok_ends = all(b.endswith(rec_end) for b in blocks)
        # --pipe: a block over the size holds a record over it (the block grew, as GNU
        # parallel's does); --pipe-part: a part runs from a multiple of the size to the next
        # record end, so it is at most the size plus one record.
        def longest(b):
            return max(len(r) + 1 for r in b.split(b"\n"))
        ok_size = all(len(b) - len(header) <= size + (longest(b) if part else 0) or
                      longest(b[len(header):]) > size for b in blocks)
        check(rc == 0 and len(blocks) > 1 and ok_header and joined == body and ok_ends and
              ok_size,
              "%s %s: %d blocks cut at record ends, within the size, adding up to the input%s"
              % (" ".join(opts[:3]), name, len(blocks), ", each after the header" if header
                 else ""),
              (rc, err[-500:], len(blocks), ok_header, joined == body, ok_ends, ok_size))


def big_blocks_through_the_store(work, env):
    """Blocks far over Lambda's payload limits travel through the store; none is left after."""
    data = b"".join(b"%07d %s\n" % (i, b"z" * 90) for i in range(220000))  # ~21 MB
    rc, out, err = run([PG, "run", "-k", "--pipe", "--block", "8M", "--shell", "wc -lc"], work,
                       data, env)
    counts = [tuple(map(int, l.split())) for l in out.decode().splitlines()]
    check(rc == 0 and len(counts) == 3 and sum(c[0] for c in counts) == 220000 and
          sum(c[1] for c in counts) == len(data) and all(c[1] <= 8 * 2**20 for c in counts),
          "21 MB in --block 8M blocks: 3 tasks, every line once, each block over 6 MB",
          (rc, out, err[-500:]))
    store = os.path.join(env["XDG_STATE_HOME"], "parallelagram", "store", "jobs")
    left = []
    for root, _, names in os.walk(store):
        left += [os.path.join(root, n) for n in names if "/blocks" in root]
    check(not left, "the job's blocks are deleted from the store when it ends", left[:5])


def tagged(work, env, files):
    """--tag of a --pipe job: each line starts with the (empty) value and a TAB, as GNU's."""
    rc, out, err = run([PG, "run", "-k", "--pipe", "-N", "1500", "--tag", "wc", "-l"], work,
                       files["lines.txt"], env)
    grc, gout, _ = run([GNU, "-k", "--pipe", "-N", "1500", "--tag", "wc", "-l"], work,
                       files["lines.txt"])
    check(rc == 0 and out == gout and out.startswith(b"\t"), "--pipe --tag as GNU parallel's",
          (out[:80], gout[:80], err))


def joblog(work, env, files):
    """--joblog of a --pipe job: Send is each block's size, as GNU parallel's."""
    cols = []
    for argv in ([PG, "run"], [GNU]):
        path = os.path.join(work, "jl-%d.txt" % len(cols))
        rc, out, err = run(argv + ["-k", "--pipe", "-N", "700", "--joblog", path, "cat"], work,
                           files["table.csv"], env)
        with open(path) as f:
            rows = [l.rstrip("\n").split("\t") for l in f][1:]
        cols.append(sorted((int(r[0]), r[4], r[5], r[6], r[8]) for r in rows))  # Seq Send Recv Exit Cmd
    check(cols[0] == cols[1] and len(cols[0]) > 2,
          "--joblog of a --pipe job: Seq, Send (the block's bytes), Receive, Exitval and "
          "Command as GNU parallel's", cols)


def manifest(env, job):
    path = os.path.join(env["XDG_STATE_HOME"], "parallelagram", "jobs", job, "results.jsonl")
    with open(path, "rb") as f:
        return [json.loads(l) for l in f.read().split(b"\n") if l.strip()]


def killed_and_resumed(work, env, files):
    """A --pipe-part job killed with SIGKILL part way and resumed: every block exactly once in
    the manifest, --results and --joblog, each task's output that of GNU parallel's block; a
    resume after the file changed, and a --pipe job's resume, are refused in one line."""
    gnu = subprocess.run([GNU, "-k", "--pipe-part", "--block", "20k", "-a", "lines.txt", "md5sum"],
                         cwd=work, capture_output=True, timeout=120).stdout.decode().splitlines()
    args = ["-j", "2", "--pipe-part", "--block", "20k", "-a", "lines.txt", "--results", "res",
            "--joblog", "jl.txt", "--job-id", "part", "--shell", "md5sum; sleep 0.3"]
    p = subprocess.Popen([PG, "run", *args], cwd=work, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    kill_when_lines(p, os.path.join(env["XDG_STATE_HOME"], "parallelagram", "jobs", "part",
                                    "results.jsonl"), 3)
    before = len(manifest(env, "part"))
    check(3 <= before < len(gnu), "the --pipe-part job was killed part way (%d of %d blocks)"
          % (before, len(gnu)))
    rc, out, err = run([PG, "run", "--resume", "part"], work, b"", env)
    check(rc == 0, "the --pipe-part job resumed and finished", (rc, out, err))
    rows = sorted(manifest(env, "part"), key=lambda r: r["seq"])
    check([r["seq"] for r in rows] == list(range(1, len(gnu) + 1)),
          "every block once in the manifest", [r["seq"] for r in rows])
    check([r.get("stdout", "").strip() for r in rows] == gnu,
          "each block's output is GNU parallel's for the same block",
          ([r.get("stdout") for r in rows][:3], gnu[:3]))
    with open(os.path.join(work, "res", "results.jsonl"), "rb") as f:
        res = sorted(json.loads(l)["seq"] for l in f.read().split(b"\n") if l.strip())
    with open(os.path.join(work, "jl.txt")) as f:
        jl = sorted(int(l.split("\t")[0]) for l in f.readlines()[1:])
    check(res == jl == list(range(1, len(gnu) + 1)), "--results and --joblog: every block once",
          (res, jl))
    with open(os.path.join(work, "lines.txt"), "ab") as f:
        f.write(b"one more\n")
    p = subprocess.Popen([PG, "run", *args[:-4], "--job-id", "part2", "--shell", "sleep 5"],
                         cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    with open(os.path.join(work, "lines.txt"), "wb") as f:
        f.write(files["lines.txt"])
    rc, out, err = run([PG, "run", "--resume", "part2"], work, b"", env)
    check(rc == 255 and b"changed size" in err and err.count(b"\n") == 1,
          "a resume after the file changed is refused in one line", (rc, err))
    p = subprocess.Popen([PG, "run", "--pipe", "--job-id", "piped", "--", "sleep", "5"], cwd=work,
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    p.stdin.write(b"a\nb\n")
    p.stdin.flush()
    time.sleep(1.5)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    rc, out, err = run([PG, "run", "--resume", "piped"], work, b"", env)
    check(rc == 255 and b"--pipe" in err and err.count(b"\n") == 1,
          "a --pipe job's resume is refused in one line", (rc, err))


def refused(work, env):
    cases = [
        ("--block 0", "--block", ["--pipe", "--block", "0", "cat"], b"x\n"),
        ("--block abc", "--block", ["--pipe", "--block", "abc", "cat"], b"x\n"),
        ("a bad --regexp", "--regexp", ["--pipe", "--regexp", "--recstart", "(", "cat"], b"x\n"),
        ("--recstart without --pipe", "--recstart", ["--recstart", "@", "echo", ":::", "a"], b""),
        ("--pipe with ::: values", "--pipe", ["--pipe", "cat", ":::", "a"], b""),
        ("--pipe-part without a file", "--pipe-part", ["--pipe-part", "cat"], b"x\n"),
        ("--pipe-part -N", "--pipe-part", ["--pipe-part", "-N", "2", "-a", "lines.txt", "cat"],
         b""),
        ("--pipe-part of a pipe", "--pipe-part", ["--pipe-part", "-a", "/dev/stdin", "cat"],
         b"x\n"),
    ]
    for what, name, args, stdin in cases:
        rc, out, err = run([PG, "run", *args], work, stdin, env)
        check(rc == 255 and out == b"" and err.count(b"\n") == 1 and name.encode() in err,
              "%s: refused in one line naming %s, exit 255" % (what, name), (rc, out, err))
    jobs = os.path.join(env["XDG_STATE_HOME"], "parallelagram", "jobs")
    check(not os.path.isdir(jobs) or not os.listdir(jobs), "no job was made by them",
          os.listdir(jobs) if os.path.isdir(jobs) else "")


def main():
    if not os.path.exists(GNU):
        print("skipped: no GNU parallel")
        return 77
    work = tempfile.mkdtemp(prefix="pg-gnu-pipe-")
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
    try:
        files = make_inputs(work)
        refused(work, env)
        oracle(work, env, files)
        invariants(work, env, files)
        joblog(work, env, files)
        tagged(work, env, files)
        killed_and_resumed(work, env, files)
        big_blocks_through_the_store(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
