"""One side of a race between a worker running graph runs on a thread and a user deleting
that thread (tests/reliability/test_tombstone_race.py). ``--mode run``: runs back to back,
each logged with when it started and ended; ``--mode delete``: ``delete_thread`` at
random moments, each logged with when it started and ended. JSON lines."""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

from langgraph_dynamodb import DynamoDBSaver


class State(TypedDict):
    log: Annotated[list[str], lambda a, b: a + b]


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("endpoint", "table", "thread", "log", "go", "mode"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    saver = DynamoDBSaver(
        table_name=args.table, endpoint_url=args.endpoint, region_name="us-east-1"
    )
    saver.setup(prepare_async=False)
    builder = StateGraph(State)
    for name in ("a", "b", "c"):
        builder.add_node(name, lambda s, n=name: (time.sleep(0.005), {"log": [n]})[1])
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": args.thread}}
    rng = random.Random(args.mode)
    with open(args.log, "w", encoding="utf-8", buffering=1) as log:
        while not Path(args.go).exists():
            time.sleep(0.005)
        for n in range(args.count):
            start = time.time()
            if args.mode == "run":
                graph.invoke({"log": [f"run {n}"]}, config)
            else:
                time.sleep(rng.uniform(0.01, 0.08))
                start = time.time()
                saver.delete_thread(args.thread)
            log.write(json.dumps([args.mode, n, start, time.time()]) + "\n")
    saver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
