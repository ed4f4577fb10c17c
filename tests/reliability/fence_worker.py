"""One of two processes racing on one thread (tests/reliability/test_fencing.py): it runs
graph runs back to back on the thread, each with a new run id that sorts in start order,
and logs every saver write (run, operation, start and end times, stored or refused) as
JSON lines. Under ``fencing=True`` a write of a superseded run raises ``FencedError``,
which ends that run; any other error fails the worker."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from langgraph_dynamodb import DynamoDBSaver, FencedError


class State(TypedDict):
    log: Annotated[list[str], lambda a, b: a + b]


def run_id_now() -> str:
    """A run id that sorts in start order across processes on one machine (as uuid7)."""
    return f"{time.time_ns():020d}-{os.getpid()}"


class LoggingSaver(DynamoDBSaver):
    """Logs each write: which run, when it started and ended, stored or refused."""

    def __init__(self, log: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._log = log

    def _logged(self, op: str, run: str, fn: Any, *args: Any) -> Any:
        start = time.time()
        try:
            out = fn(*args)
        except FencedError:
            self._log.write(json.dumps([run, op, start, time.time(), "refused"]) + "\n")
            raise
        self._log.write(json.dumps([run, op, start, time.time(), "stored"]) + "\n")
        return out

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        run = (config.get("metadata") or {}).get("run_id", "")
        return self._logged("put", run, super().put, config, checkpoint, metadata, new_versions)

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> Any:
        run = (config.get("metadata") or {}).get("run_id", "")
        return self._logged(
            "put_writes", run, super().put_writes, config, writes, task_id, task_path
        )


def step(name: str) -> Any:
    def node(state: State) -> dict[str, list[str]]:
        time.sleep(0.004)
        return {"log": [name]}

    return node


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint")
    parser.add_argument("--table")
    parser.add_argument("--thread")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--log")
    parser.add_argument("--go")
    parser.add_argument("--fencing", choices=["on", "off"])
    args = parser.parse_args()
    builder = StateGraph(State)
    for name in ("a", "b", "c"):
        builder.add_node(name, step(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    with open(args.log, "w", encoding="utf-8", buffering=1) as log:
        saver = LoggingSaver(
            log,
            table_name=args.table,
            endpoint_url=args.endpoint,
            region_name="us-east-1",
            fencing=args.fencing == "on",
        )
        graph = builder.compile(checkpointer=saver)
        saver.setup(prepare_async=False)
        while not Path(args.go).exists():
            time.sleep(0.005)
        for _ in range(args.runs):
            run = run_id_now()
            config = {"configurable": {"thread_id": args.thread}, "metadata": {"run_id": run}}
            try:
                graph.invoke({"log": [f"run {run}"]}, config)
            except FencedError:
                pass  # superseded: this run stops, the next one starts
        saver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
