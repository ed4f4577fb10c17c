"""Soak test: 50 concurrent threads x 200 steps of a real graph, sync and async, on
DynamoDB Local; checks that nothing failed and no step was lost, and prints a table of
throughput, memory (RSS, tracemalloc), sockets and aiobotocore clients.

Usage (from the repository root)::

    .venv/bin/python scripts/soak.py                      # starts its own DynamoDB Local
    .venv/bin/python scripts/soak.py --endpoint http://127.0.0.1:8000 --threads 10 --steps 20
    .venv/bin/python scripts/soak.py --mode async --json soak.json

Exit status 1 if a step failed or was lost, or memory or sockets did not stay flat.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # DynamoDB Local: placeholders
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from langgraph_dynamodb import DynamoDBSaver  # noqa: E402
from langgraph_dynamodb.local import DynamoDBLocal, install  # noqa: E402
from tests.reliability.soaklib import (  # noqa: E402
    REGION,
    Figures,
    run_async,
    run_sync,
    table_lines,
)

#: Memory growth from half-way to the end that still counts as flat (Python's allocator
#: and the bounded caches settle in steps, not exactly).
FLAT_TRACED_MB = 8.0
FLAT_RSS_MB = 40.0


def problems(fig: Figures) -> list[str]:
    found = list(fig.errors[:5])
    traced = list(fig.traced_mb.values())
    rss = list(fig.rss_mb.values())
    if len(traced) >= 2 and traced[-1] - traced[-2] > FLAT_TRACED_MB:
        found.append(f"{fig.mode}: traced memory grew {traced[-2]} -> {traced[-1]} MB")
    if len(rss) >= 2 and rss[-1] - rss[-2] > FLAT_RSS_MB:
        found.append(f"{fig.mode}: RSS grew {rss[-2]} -> {rss[-1]} MB")
    if fig.sockets.get("after close", 0) > fig.sockets.get("before", 0):
        found.append(f"{fig.mode}: sockets left open: {fig.sockets}")
    if fig.mode == "async":
        if fig.aio_clients.get("during", 0) > fig.aio_clients.get("before", 0) + 1:
            found.append(f"async: more than one aiobotocore client: {fig.aio_clients}")
        if fig.aio_clients.get("after close", 0) > fig.aio_clients.get("before", 0):
            found.append(f"async: aiobotocore clients left alive: {fig.aio_clients}")
        if fig.aiohttp_sessions_open_after:
            found.append(f"async: {fig.aiohttp_sessions_open_after} aiohttp sessions left open")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="DynamoDB Local endpoint (default: start one)")
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--mode", choices=["sync", "async", "both"], default="both")
    parser.add_argument("--no-tracemalloc", action="store_true", help="faster, RSS only")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    local = None
    endpoint = args.endpoint or os.environ.get("DYNAMODB_ENDPOINT")
    if not endpoint:
        install()
        local = DynamoDBLocal().start()
        endpoint = local.endpoint_url
    table = f"soak-{uuid.uuid4().hex[:8]}"
    try:
        with DynamoDBSaver(table_name=table, endpoint_url=endpoint, region_name=REGION) as s:
            s.setup()
        figures = []
        for mode in ["sync", "async"] if args.mode == "both" else [args.mode]:
            run = run_sync if mode == "sync" else run_async
            print(f"{mode}: {args.threads} threads x {args.steps} steps ...", flush=True)
            fig = run(endpoint, table, args.threads, args.steps, trace=not args.no_tracemalloc)
            print(f"{mode}: {fig.seconds:.1f} s, {len(fig.errors)} errors", flush=True)
            figures.append(fig)
        import boto3

        boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION).delete_table(
            TableName=table
        )
    finally:
        if local is not None:
            local.stop()
    print()
    print("\n".join(table_lines(figures)))
    found = [p for fig in figures for p in problems(fig)]
    for line in found:
        print("PROBLEM:", line)
    if args.json:
        Path(args.json).write_text(
            json.dumps([f.as_dict() for f in figures], indent=2), encoding="utf-8"
        )
    print("soak:", "FAILED" if found else "ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
