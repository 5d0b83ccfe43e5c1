#!/usr/bin/env python3
"""boto3 Lambda Invoke from a thread pool, the way PyWren and Lithops dispatch tasks.

    dispatch_boto3.py URL [tasks=20000] [threads=64]

Each task is one signed RequestResponse Invoke of a no-op task event (fake credentials),
from a ThreadPoolExecutor of THREADS threads sharing one client whose connection pool has
THREADS connections (botocore's default of 10 would cap it). Prints one line in
dispatch_bench's format; CPU is this process's (getrusage, all threads).
"""
import concurrent.futures
import json
import resource
import sys
import time

import boto3
from botocore.config import Config


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main():
    url = sys.argv[1]
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    client = boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="AKIDBENCHMARK",
        aws_secret_access_key="benchmarkSecretKey000000000000000000000000",
        aws_session_token="benchmark-session-token",
        config=Config(max_pool_connections=threads, retries={"max_attempts": 1, "mode": "standard"}))

    def invoke(seq):
        event = {"v": 1, "task_id": "bench-%d" % seq, "kind": "process", "argv": ["true"]}
        r = client.invoke(FunctionName="bench", InvocationType="RequestResponse",
                          Payload=json.dumps(event).encode())
        result = json.loads(r["Payload"].read())
        return r["StatusCode"] == 200 and "FunctionError" not in r and \
            result.get("outcome") == "succeeded"

    start = time.monotonic()
    cpu0 = cpu_seconds()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(invoke, range(1, tasks + 1)))
    wall = time.monotonic() - start
    cpu = cpu_seconds() - cpu0
    print("tasks=%d failed=%d seconds=%.2f tasks_per_s=%.0f cpu_us_per_task=%.1f"
          % (tasks, tasks - ok, wall, tasks / wall, cpu * 1e6 / tasks))
    return 0 if ok == tasks else 1


if __name__ == "__main__":
    sys.exit(main())
