"""Smallest reproductions of the saver bugs the reliability tests found, sync and async.

All three come from a checkpoint head whose payload is *chunked* (over 350 KB, stored in
chunk items) being used before its chunks are loaded:

1. reading a checkpoint that stores an unchanged channel by reference to a chunked head
   (a big value that did not change): the checkpoint is skipped as "not readable" and an
   older one is returned, or, when the holder came in a Query page that is not the last,
   ``get_tuple`` loops forever without sending a request (seen in a graph run);
2. ``delete_for_runs`` on a thread whose surviving checkpoint is chunked: raises
   ``CorruptItemError: ... has no payload``;
3. ``list(..., filter=...)`` over a chunked checkpoint: raises ``CorruptItemError``.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

V1, V2 = f"{1:032}.0", f"{2:032}.0"
BLOB = random.Random(0).randbytes(600_000)  # incompressible: the head is chunked


def cfg(thread: str, cp: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if cp is not None:
        conf["checkpoint_id"] = cp
    return {"configurable": conf}


def checkpoint(cp_id: str, values: dict[str, Any], versions: dict[str, str]) -> Any:
    return {
        **empty_checkpoint(),
        "id": cp_id,
        "channel_values": values,
        "channel_versions": versions,
    }


async def call(saver: DynamoDBSaver, mode: str, name: str, *args: Any, **kwargs: Any) -> Any:
    if name == "list":
        if mode == "sync":
            return list(saver.list(*args, **kwargs))
        return [t async for t in saver.alist(*args, **kwargs)]
    if mode == "sync":
        return await asyncio.to_thread(getattr(saver, name), *args, **kwargs)
    return await getattr(saver, "a" + name)(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def saver(ddb_endpoint: str, table_name: str) -> Any:
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as s:
        yield s


async def test_reference_to_a_chunked_checkpoint_is_readable(
    saver: DynamoDBSaver, mode: str, ddb_endpoint: str, table_name: str
) -> None:
    thread = f"reg-{uuid.uuid4()}"
    c1 = await call(
        saver,
        mode,
        "put",
        cfg(thread),
        checkpoint("1", {"blob": BLOB, "n": 1}, {"blob": V1, "n": V1}),
        {},
        {"blob": V1, "n": V1},
    )
    cp2 = checkpoint("2", {"blob": BLOB, "n": 2}, {"blob": V1, "n": V2})
    await call(saver, mode, "put", c1, cp2, {}, {"n": V2})  # blob: a reference to "1"
    for reader in (
        saver,
        DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION),
    ):
        latest = await call(reader, mode, "get_tuple", cfg(thread))
        assert latest is not None
        assert latest.checkpoint["id"] == "2"  # actual: "1" ("2" skipped as not readable)
        assert latest.checkpoint["channel_values"] == {"blob": BLOB, "n": 2}
    await call(saver, mode, "delete_thread", thread)


async def test_delete_for_runs_with_a_chunked_survivor(saver: DynamoDBSaver, mode: str) -> None:
    thread = f"reg-{uuid.uuid4()}"
    c1 = await call(
        saver,
        mode,
        "put",
        cfg(thread),
        checkpoint("1", {"n": 1}, {"n": V1}),
        {"run_id": f"{thread}-a"},
        {"n": V1},
    )
    cp2 = checkpoint("2", {"n": 1, "blob": BLOB}, {"n": V1, "blob": V2})
    await call(saver, mode, "put", c1, cp2, {"run_id": f"{thread}-b"}, {"blob": V2})
    await call(saver, mode, "delete_for_runs", [f"{thread}-a"])  # actual: CorruptItemError
    left = await call(saver, mode, "list", cfg(thread))
    assert [t.checkpoint["id"] for t in left] == ["2"]
    await call(saver, mode, "delete_thread", thread)


async def test_list_with_a_filter_over_a_chunked_checkpoint(
    saver: DynamoDBSaver, mode: str
) -> None:
    thread = f"reg-{uuid.uuid4()}"
    cp = checkpoint("1", {"blob": BLOB}, {"blob": V1})
    await call(saver, mode, "put", cfg(thread), cp, {"source": "input"}, {"blob": V1})
    found = await call(saver, mode, "list", cfg(thread), filter={"source": "input"})
    assert [t.checkpoint["id"] for t in found] == ["1"]  # actual: CorruptItemError
    await call(saver, mode, "delete_thread", thread)
