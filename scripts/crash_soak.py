"""Crash soak: the crash-consistency test of tests/reliability/test_crash.py, long.

Every round builds, for each operation (put, put_writes, delete_thread, prune,
copy_thread, delete_for_runs), a fresh thread with history, and kills a worker process
running the operation with SIGKILL at *every* request it makes (before it is forwarded,
after DynamoDB answered, and after part of a batch), through the sync and the async API,
plus random-time kills. After each kill it checks that every visible checkpoint is whole
and equals its old or new value, that the operation run again reaches the new state, and
that prune and delete_thread leave no leftover (see tests/reliability/crashlab.py).

Usage (from the repository root)::

    .venv/bin/python scripts/crash_soak.py                     # 3 rounds, own DynamoDB Local
    .venv/bin/python scripts/crash_soak.py --rounds 20 --endpoint http://127.0.0.1:8000
    .venv/bin/python scripts/crash_soak.py --ops put prune --random 10

Exit status 1 if any check failed; the last line gives the counts.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # DynamoDB Local: placeholders
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from langgraph_dynamodb import DynamoDBSaver  # noqa: E402
from langgraph_dynamodb.local import DynamoDBLocal, install  # noqa: E402
from tests.reliability.crashlab import OPS, REGION, Kill, Lab, kill_points  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="DynamoDB Local endpoint (default: start one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", nargs="+", choices=OPS, default=list(OPS))
    parser.add_argument("--random", type=int, default=4, help="random-time kills per op")
    parser.add_argument("--seed", default="crash-soak")
    args = parser.parse_args(argv)

    local = None
    endpoint = args.endpoint or os.environ.get("DYNAMODB_ENDPOINT")
    if not endpoint:
        install()
        local = DynamoDBLocal().start()
        endpoint = local.endpoint_url
    table = f"crash-soak-{uuid.uuid4().hex[:8]}"
    counts: Counter[str] = Counter()
    failures: list[str] = []
    rng = random.Random(args.seed)
    started = time.monotonic()
    lab = None
    try:
        with DynamoDBSaver(table_name=table, endpoint_url=endpoint, region_name=REGION) as s:
            s.setup()
        lab = Lab(endpoint, table)
        for round_ in range(1, args.rounds + 1):
            for op in args.ops:
                ops, seconds = lab.journal(op, rng.choice(["sync", "async"]))
                kills = list(kill_points(ops, every_read=True))
                kills += [Kill(after_s=rng.uniform(0, seconds)) for _ in range(args.random)]
                for kill in kills:
                    for mode in ("sync", "async"):
                        try:
                            outcome = lab.crash(op, mode, kill)
                        except Exception as exc:  # noqa: BLE001 - reported below
                            failures.append(f"round {round_} {op} {mode} kill {kill}: {exc}")
                            traceback.print_exc()
                            continue
                        counts["runs"] += 1
                        counts["crashes injected"] += outcome.killed
                        counts["checkpoints lost"] += outcome.lost
                        counts["leftovers removed"] += outcome.leftovers
                print(
                    f"round {round_} {op}: {len(ops)} requests, {len(kills)} kill points, "
                    f"totals {dict(counts)}, failures {len(failures)}",
                    flush=True,
                )
        import boto3

        boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION).delete_table(
            TableName=table
        )
    finally:
        if lab is not None:
            lab.close()
        if local is not None:
            local.stop()
    for failure in failures:
        print("FAILED:", failure)
    print(
        f"crash soak: {counts['runs']} runs, {counts['crashes injected']} crashes injected, "
        f"{counts['checkpoints lost']} checkpoints lost, {counts['leftovers removed']} "
        f"leftovers removed, {len(failures)} failures, {time.monotonic() - started:.0f} s"
    )
    return 1 if failures or counts["checkpoints lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
