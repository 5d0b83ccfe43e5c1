#!/usr/bin/env python3
"""`parallelagram run` with inputs already in S3, given as s3:// URIs (--transferfile {}).

The local backend's real worker fetches them from moto_server (signatures enforced) with the
credentials and AWS_ENDPOINT_URL passed through local-lambda, as a Lambda worker would with
its role's. Nothing is copied into the job's store, the task finds each file at the URI
string itself (the kernel folds "//"), and a missing object fails only its own task, naming
the URI.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ.get("PG_SOURCE_DIR", "."), "tests"))
from moto_fixture import MotoServer  # noqa: E402

PG = os.environ.get("PG_BIN", "build/parallelagram")


class S3InputsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer()
        import boto3

        env = cls.moto.env()
        s3 = boto3.client("s3", endpoint_url=cls.moto.endpoint, region_name="us-east-1",
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
        s3.create_bucket(Bucket="pg-inputs")
        cls.objects = {
            "data/first file.txt": b"first\nfile\n",
            "data/second.txt": b"2\n" * 1000,
        }
        cls.big = b"".join(b"%d %s\n" % (i, b"q" * (i % 37)) for i in range(20000))
        s3.put_object(Bucket="pg-inputs", Key="big/lines.txt", Body=cls.big)
        for k, v in cls.objects.items():
            s3.put_object(Bucket="pg-inputs", Key=k, Body=v)

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pg_s3in_e2e_")
        self.state = os.path.join(self.dir, "state")
        self.cwd = os.path.join(self.dir, "work")
        os.makedirs(self.cwd)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_pg(self, *args):
        cmd = [PG, "run", "--state-dir", self.state] + list(args)
        return subprocess.run(cmd, cwd=self.cwd, env=self.moto.env(), capture_output=True,
                              timeout=120)

    def test_s3_inputs_are_fetched_by_the_worker_in_place(self):
        uris = ["s3://pg-inputs/" + k for k in sorted(self.objects)]
        p = self.run_pg("-k", "--tf", "{}", "--job-id", "s3in", "--", "wc", "-c", "{}",
                        ":::", *uris)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines, ["%d %s" % (len(self.objects[k]), "s3://pg-inputs/" + k)
                                 for k in sorted(self.objects)])
        # Nothing was copied into the job's store.
        cas = os.path.join(self.state, "store", "cas")
        self.assertFalse(os.path.isdir(cas) and os.listdir(cas), "inputs were copied")

    def test_a_missing_object_fails_its_task_naming_it(self):
        p = self.run_pg("--tf", "{}", "--job-id", "miss", "--", "cat", "{}", ":::",
                        "s3://pg-inputs/data/second.txt", "s3://pg-inputs/nope.txt")
        self.assertEqual(p.returncode, 1, p.stderr.decode())
        self.assertIn("s3://pg-inputs/nope.txt", p.stderr.decode())
        self.assertEqual(p.stdout, self.objects["data/second.txt"])
        with open(os.path.join(self.state, "jobs", "miss", "results.jsonl")) as f:
            res = {json.loads(l)["args"][0]: json.loads(l) for l in f}
        self.assertEqual(res["s3://pg-inputs/nope.txt"]["outcome"], "staging_error")
        self.assertEqual(res["s3://pg-inputs/data/second.txt"]["outcome"], "succeeded")

    def test_pipe_part_of_an_s3_object_gives_gnu_parallels_blocks(self):
        """--pipe-part -a s3://...: the driver reads only around the split points (ranged GETs),
        each worker fetches its own byte range; the blocks are GNU parallel's for the same
        bytes in a local file."""
        local = os.path.join(self.dir, "lines.txt")
        with open(local, "wb") as f:
            f.write(self.big)
        cmd = "echo {#}; md5sum"
        p = self.run_pg("-k", "--pipe-part", "--block", "40k", "-a", "s3://pg-inputs/big/lines.txt",
                        "--job-id", "s3part", "--shell", cmd)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        g = subprocess.run(["parallel", "-k", "--pipe-part", "--block", "40k", "-a", local, cmd],
                           capture_output=True, timeout=120)
        self.assertEqual(p.stdout, g.stdout)
        self.assertGreater(p.stdout.count(b"\n"), 10)
        store = os.path.join(self.state, "store")
        copied = [os.path.join(r, n) for r, _, ns in os.walk(store) for n in ns]
        self.assertEqual(copied, [], "the object was copied")
        with open(os.path.join(self.state, "jobs", "s3part", "journal.jsonl")) as f:
            self.assertIn('"t":', f.read())
        p = self.run_pg("--pipe-part", "-a", "s3://pg-inputs/big/none.txt", "cat")
        self.assertEqual(p.returncode, 255, p.stderr.decode())
        self.assertIn("s3://pg-inputs/big/none.txt", p.stderr.decode())

    def test_bad_s3_input_paths_start_nothing(self):
        p = self.run_pg("--tf", "{}", "--", "cat", "{}", ":::", "s3://pg-inputs/a/../b")
        self.assertEqual(p.returncode, 255)
        self.assertIn("'.' or '..'", p.stderr.decode())
        self.assertEqual(len(p.stderr.decode().strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
