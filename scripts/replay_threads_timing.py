"""How long the replay model takes on a big table, on DynamoDB Local. Threads: fills a
table with N threads (two checkpoints each, written by the saver), then times
``ReplayModel.threads()``: from the thread directory, the first page, the next page and
searches; by a keys-only Scan of the whole table (``scan=True``, as for a table without
a complete directory), the first page, the next (from the listing kept), and a first
page once the listing is old.
A long thread: a graph runs M steps in one thread, then ``ReplayModel.thread()`` opens
it (the first page of 200) and pages once. A measurement, not a test.

    python scripts/replay_threads_timing.py --threads 100000 --checkpoints 10000
    python scripts/replay_threads_timing.py --endpoint-url http://127.0.0.1:8000 --table T
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

from langgraph_dynamodb import DynamoDBSaver, limits
from langgraph_dynamodb.local import DynamoDBLocal
from langgraph_dynamodb.replay import ReplayModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests
from tests.replay.recorded import long_thread  # noqa: E402 - the tests' long thread

PARALLEL_WRITERS = 16


def fill(saver: DynamoDBSaver, threads: int) -> None:
    """``threads`` threads of two checkpoints each (an input and a step)."""

    def one(i: int) -> None:
        thread = f"thread-{i:06d}"
        first = empty_checkpoint()
        first["channel_values"] = {"messages": [f"hello {i}"]}
        first["channel_versions"] = {"messages": saver.get_next_version(None, None)}
        cfg = saver.put(
            {"configurable": {"thread_id": thread, "checkpoint_ns": ""}},
            first,
            {"source": "input", "step": -1, "parents": {}, "user": f"user-{i % 1000}"},
            first["channel_versions"],
        )
        second = create_checkpoint(first, None, 0)
        second["channel_values"] = {"messages": [f"hello {i}", "hi"]}
        second["channel_versions"] = {"messages": saver.get_next_version("1", None)}
        saver.put(
            cfg,
            second,
            {"source": "loop", "step": 0, "parents": {}, "user": f"user-{i % 1000}"},
            second["channel_versions"],
        )

    with ThreadPoolExecutor(PARALLEL_WRITERS) as pool:
        for done, _ in enumerate(pool.map(one, range(threads)), 1):
            if done % 10_000 == 0:
                print(f"  {done:,} threads written", flush=True)


def timed(what: str, call: object) -> object:
    start = time.perf_counter()
    result = call()  # type: ignore[operator]
    print(f"{what}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--endpoint-url", help="a running DynamoDB Local (default: start one)")
    parser.add_argument("--checkpoints", type=int, default=10_000, help="of the long thread")
    parser.add_argument("--table", help="a table already filled (default: a new one, filled)")
    args = parser.parse_args()
    with ExitStack() as stack:
        endpoint = args.endpoint_url or stack.enter_context(DynamoDBLocal()).endpoint_url
        table = args.table or f"replay-timing-{uuid.uuid4().hex[:8]}"
        saver = stack.enter_context(
            DynamoDBSaver(table_name=table, endpoint_url=endpoint, region_name="us-east-1")
        )
        if not args.table:
            saver.setup()
            timed(f"writing {args.threads:,} threads", lambda: fill(saver, args.threads))
        model = ReplayModel(saver)
        directory = model.uses_directory()
        print(f"the table's thread directory is {'complete' if directory else 'not complete'}")
        page = timed("first page of 50 (the thread directory, then the page)", model.threads)
        print(f"  newest {page['threads'][0]['thread_id']}")  # type: ignore[index]
        timed(
            "next page of 50",
            lambda: model.threads(cursor=page["cursor"]),  # type: ignore[index]
        )
        timed("a search by thread id ('thread-0421')", lambda: model.threads(query="thread-0421"))
        timed(
            "a search by metadata ('user-7', 500 threads looked at)",
            lambda: model.threads(query="user-7"),
        )
        scanned = ReplayModel(saver, scan=True)
        page = timed("first page of 50 by a Scan of the keys (no directory)", scanned.threads)
        print(f"  {page['total']:,} threads; newest {page['threads'][0]['thread_id']}")  # type: ignore[index]
        timed(
            "next page of 50 (the listing kept)",
            lambda: scanned.threads(cursor=page["cursor"]),  # type: ignore[index]
        )
        limits.REPLAY_THREAD_LISTING_S = 0.0  # as if the listing were old
        timed("first page again, listing old (served, renewed in the background)", scanned.threads)
        if args.checkpoints:
            with DynamoDBSaver(
                table_name=f"{table}-long", endpoint_url=endpoint, region_name="us-east-1"
            ) as long_saver:
                if not args.table:
                    long_saver.setup()
                    timed(
                        f"a graph writing {args.checkpoints:,} checkpoints in one thread",
                        lambda: long_thread(long_saver, "long", args.checkpoints),
                    )
                view = ReplayModel(long_saver)
                first = timed(
                    "opening the long thread (first page of 200)", lambda: view.thread("long")
                )
                timed(
                    "its next page",
                    lambda: view.thread("long", cursor=first["cursor"]),  # type: ignore[index]
                )


if __name__ == "__main__":
    main()
