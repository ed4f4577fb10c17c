"""Writes the golden items: raw DynamoDB items of today's stored format, and what the public
API reads from them, for ``tests/integration/test_golden.py`` (which never regenerates
them: every later build must read these files as they are).

Run once per format change, never to make a failing test pass::

    PYTHONPATH=src .venv/bin/python -m tests.golden.make

It starts DynamoDB Local, writes with today's saver and store (checkpoints compressed with
the zstd dictionary and uncompressed, a chat whose messages are deltas and references, a
state chunked over several items, pending writes, a store item with TTL, a store item with
embeddings and its vector items, the store's directory), then scans the table raw into
``items.json`` and reads everything back through the public API into ``expected.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator
import os
import random
import sys
from pathlib import Path
from typing import Annotated, Any, TypedDict

HERE = Path(__file__).resolve().parent
TABLE = "golden"
THREADS = ("chat-zstd", "chat-plain", "large")
NAMESPACES = [("memories", "alice"), ("memories", "bob"), ("docs",)]
TTL_MINUTES = 60 * 24 * 365 * 100
"""A century: the store item with TTL must not expire while these files are in use."""
FORMAT = 1
"""``langgraph_dynamodb.schema.FORMAT_VERSION`` when these items were written."""


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def embed(texts: list[str]) -> list[list[float]]:
    """The golden store's embeddings (deterministic, 4 dimensions)."""
    return [
        [float(t.count("tea")), float(t.count("coffee")), float(len(t) % 7), 1.0] for t in texts
    ]


INDEX = {"dims": 4, "embed": embed, "fields": ["text"]}


def encode(value: Any) -> Any:
    """DynamoDB JSON with binary values as base64 text (``{"B": "..."}``)."""
    if isinstance(value, dict):
        return {
            k: (base64.b64encode(v).decode() if k == "B" else encode(v)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """Invert :func:`encode`."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v) if k == "B" else decode(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def short(messages: list[str] | None) -> list[str] | None:
    """Messages, a long one as its SHA-256 (the large state is 800 KB of text)."""
    if messages is None:
        return None
    return [
        m if len(m) < 1000 else "sha256:" + hashlib.sha256(m.encode()).hexdigest() for m in messages
    ]


def read_saver(saver: Any) -> dict[str, Any]:
    """What the saver's public API reads of each golden thread."""
    out: dict[str, Any] = {}
    for thread in THREADS:
        config = {"configurable": {"thread_id": thread}}
        latest = saver.get_tuple(config)
        history = list(saver.list(config))
        middle = saver.get_tuple(history[len(history) // 2].config)  # by id
        out[thread] = {
            "messages": short(latest.checkpoint["channel_values"].get("messages")),
            "step": latest.metadata["step"],
            "pending_writes": [list(w) for w in latest.pending_writes or []],
            "history": [t.checkpoint["id"] for t in history],
            "middle": [
                middle.checkpoint["id"],
                short(middle.checkpoint["channel_values"].get("messages")),
            ],
        }
    return out


def read_store(store: Any) -> dict[str, Any]:
    """What the store's public API reads of the golden memories."""
    return {
        "get": {
            "/".join(ns) + ":" + key: (item.value if item else None)
            for ns, key in [
                (("memories", "alice"), "tea"),
                (("memories", "bob"), "coffee"),
                (("docs",), "ttl"),
            ]
            for item in [store.get(ns, key, refresh_ttl=False)]
        },
        "search": [
            [i.key, round(i.score, 4)]
            for i in store.search(("memories",), query="tea please", limit=2)
        ],
        "list_namespaces": [list(ns) for ns in store.list_namespaces()],
        "prefix": sorted(i.key for i in store.search(("memories",))),
    }


def write(endpoint: str) -> None:
    from langgraph.graph import START, StateGraph

    from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore

    def reply(state: State) -> dict[str, list[str]]:
        return {"messages": [f"echo: {state['messages'][-1]}"]}

    def big(state: State) -> dict[str, list[str]]:
        return {"messages": [random.Random(7).randbytes(400_000).hex()]}

    options = {"endpoint_url": endpoint, "region_name": "us-east-1"}
    for thread, compression, node in [
        ("chat-zstd", "zstd", reply),
        ("chat-plain", None, reply),
        ("large", "zstd", big),
    ]:
        with DynamoDBSaver(table_name=TABLE, compression=compression, **options) as saver:
            saver.setup(prepare_async=False)
            builder = StateGraph(State)
            builder.add_node("reply", node)
            builder.add_edge(START, "reply")
            graph = builder.compile(checkpointer=saver)
            config = {"configurable": {"thread_id": thread}}
            for text in ("hi", "tea or coffee?", "tea, then")[: 1 if thread == "large" else 3]:
                graph.invoke({"messages": [text]}, config)
            latest = saver.get_tuple(config)
            saver.put_writes(latest.config, [("messages", ["pending"])], task_id="golden-task")
    with DynamoDBStore(table_name=TABLE, index=INDEX, **options) as store:
        store.put(("memories", "alice"), "tea", {"text": "prefers green tea"})
        store.put(("memories", "bob"), "coffee", {"text": "coffee at night"})
    with DynamoDBStore(table_name=TABLE, ttl={"default_ttl": TTL_MINUTES}, **options) as store:
        store.put(("docs",), "ttl", {"text": "kept a century", "n": 1})


def main() -> None:
    import boto3

    from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore
    from langgraph_dynamodb.local import DynamoDBLocal

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    with DynamoDBLocal() as ddb:
        write(ddb.endpoint_url)
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint_url, region_name="us-east-1")
        items = [
            i
            for page in client.get_paginator("scan").paginate(TableName=TABLE)
            for i in page["Items"]
        ]
        items.sort(key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        options = {"endpoint_url": ddb.endpoint_url, "region_name": "us-east-1"}
        with DynamoDBSaver(table_name=TABLE, **options) as saver:
            saver_view = read_saver(saver)
        with DynamoDBStore(table_name=TABLE, index=INDEX, **options) as store:
            store_view = read_store(store)
    (HERE / "items.json").write_text(
        json.dumps({"format": FORMAT, "items": encode(items)}, indent=1) + "\n"
    )
    expected = {"format": FORMAT, "saver": saver_view, "store": store_view}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{len(items)} items", file=sys.stderr)


if __name__ == "__main__":
    main()
