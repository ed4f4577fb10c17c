"""Run inside a venv that has langgraph-checkpoint-aws (and this package): fill a table
of that saver with the representative threads, or compare our copy with it.

    python -m tests.cli.peer fill TABLE
    python -m tests.cli.peer compare SOURCE_TABLE OUR_TABLE     prints "same" or the difference
"""

from __future__ import annotations

import os
import sys

from tests.cli import threads as th


def _peer(table: str):  # type: ignore[no-untyped-def]
    from langgraph_checkpoint_aws import DynamoDBSaver as AwsSaver

    return AwsSaver(table_name=table, endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])


def fill(table: str) -> None:
    """The peer's table (as the benchmark makes it: it has no setup), then the threads."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "savers.py"
    spec = importlib.util.spec_from_file_location("bench_savers", path)
    assert spec is not None and spec.loader is not None
    savers = importlib.util.module_from_spec(spec)
    sys.modules["bench_savers"] = savers  # its dataclasses resolve their module
    spec.loader.exec_module(savers)
    savers._create_pk_sk_table(table, os.environ["AWS_ENDPOINT_URL_DYNAMODB"], "us-east-1")
    th.fill(_peer(table))


def compare(source: str, ours: str) -> str:
    from langgraph_dynamodb import DynamoDBSaver
    from tests.integration.graphs import first_difference

    peer = _peer(source)
    with DynamoDBSaver(table_name=ours) as mine:
        for name in th.THREADS:
            for what, a, b in (
                ("tuples", th.tuples(peer, name), th.tuples(mine, name)),
                ("history", th.state_history(peer, name), th.state_history(mine, name)),
            ):
                if a != b:
                    return f"{name} {what}: {first_difference(a, b)}"
        for name in ("waiting", "nested"):
            a, b = th.resume(peer, name), th.resume(mine, name)
            if a != b:
                return f"{name} resume: {first_difference(a, b)}"
    return "same"


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        fill(sys.argv[2])
    else:
        print(compare(sys.argv[2], sys.argv[3]))
