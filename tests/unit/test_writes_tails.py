"""Tails from writes, without DynamoDB: a list channel whose appended elements are exactly
its parent's pending writes refers to them instead of storing them again; the reader
joins them back, asks for them when it has not read them, and says what is gone."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langgraph_dynamodb import schema
from langgraph_dynamodb.caches import StoredWrites, WritesInFlight
from langgraph_dynamodb.schema import Delta, WritesTail
from langgraph_dynamodb.storage import deltas
from langgraph_dynamodb.storage import resolve as rs
from langgraph_dynamodb.storage.items import StoredWrite

from .storage_helpers import (
    COMP,
    SERDE,
    assembled,
    body_of,
    decode_head,
    make_checkpoint,
    table_of,
    write_head,
    writes_of,
)

HELLO = "hello " * 20


def _stored(prepared: Any, task_id: str, task_path: str = "") -> list[StoredWrite]:
    return [StoredWrite(task_path, task_id, e) for e in prepared.regular_entries.values()]


def _parent(values: dict[str, Any], versions: dict[str, Any]) -> Any:
    put, _ = write_head(make_checkpoint("0001", values, versions), dict(versions))
    return put


def _reply_of_task_a() -> tuple[Any, Any, Any]:
    """A parent, the writes of its task ``task-a`` (one reply), and the child that appends
    exactly that reply: the parent's, the task's and the child's prepared items."""
    parent = _parent({"m": ["first " * 30]}, {"m": "1"})
    task = writes_of([("m", [HELLO])], task_id="task-a", checkpoint_id="0001")
    child, _ = write_head(
        make_checkpoint("0002", {"m": ["first " * 30, HELLO]}, {"m": "2"}),
        {"m": "2"},
        parent_id="0001",
        parent_index=parent.index,
        parent_writes=_stored(task, "task-a"),
    )
    return parent, task, child


def test_a_tail_that_is_the_parents_writes_refers_to_them() -> None:
    parent, task, child = _reply_of_task_a()
    delta = body_of(child.head).deltas["m"]
    assert delta == Delta("0001", 1, "0001", WritesTail("0001", (("task-a", 0),)))
    found = assembled(child.head, others=[parent.head, task.regular])
    assert found.tuple.checkpoint["channel_values"] == {"m": ["first " * 30, HELLO]}
    assert found.index == child.index  # the reader derives what the writer derived


def test_a_first_value_made_of_writes_is_that_tail_alone_in_sort_order() -> None:
    parent = _parent({}, {})
    b = writes_of([("m", ["from b"])], task_id="task-b", task_path="~p, b", checkpoint_id="0001")
    a = writes_of([("m", ["from a"])], task_id="task-a", task_path="~p, a", checkpoint_id="0001")
    known = deltas.in_order([*_stored(b, "task-b", "~p, b"), *_stored(a, "task-a", "~p, a")])
    child, _ = write_head(
        make_checkpoint("0002", {"m": ["from a", "from b"]}, {"m": "1"}),
        {"m": "1"},
        parent_id="0001",
        parent_index=parent.index,
        parent_writes=known,
    )
    delta = body_of(child.head).deltas["m"]
    assert delta.base is None and delta.floor == "0001"
    assert delta.tail == WritesTail("0001", (("task-a", 0), ("task-b", 0)))
    found = assembled(child.head, others=[parent.head, a.regular, b.regular])
    assert found.tuple.checkpoint["channel_values"]["m"] == ["from a", "from b"]
    assert found.index == child.index


def test_a_write_that_is_not_a_list_is_one_element() -> None:
    parent = _parent({"m": ["x"]}, {"m": "1"})
    task = writes_of([("m", {"role": "ai", "content": HELLO})], checkpoint_id="0001")
    value = ["x", {"role": "ai", "content": HELLO}]
    child, _ = write_head(
        make_checkpoint("0002", {"m": value}, {"m": "2"}),
        {"m": "2"},
        parent_id="0001",
        parent_index=parent.index,
        parent_writes=_stored(task, "task-1"),
    )
    assert isinstance(body_of(child.head).deltas["m"].tail, WritesTail)
    found = assembled(child.head, others=[parent.head, task.regular])
    assert found.tuple.checkpoint["channel_values"]["m"] == value


@pytest.mark.parametrize("case", ["other values", "ttl", "encrypted", "more than the writes"])
def test_otherwise_the_tail_is_stored_in_the_head(case: str) -> None:
    serde: Any = SERDE
    if case == "encrypted":
        from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

        from langgraph_dynamodb.crypto import AesGcmCipher

        serde = EncryptedSerializer(AesGcmCipher({"k": b"k" * 32}, active="k"))
    expires_at = 10_000 if case == "ttl" else None
    put, _ = write_head(
        make_checkpoint("0001", {"m": ["first"]}, {"m": "1"}),
        {"m": "1"},
        serde=serde,
        expires_at=expires_at,
    )
    task = writes_of([("m", ["other" if case == "other values" else HELLO])], checkpoint_id="0001")
    value = ["first", HELLO, *(["not a write"] if case == "more than the writes" else [])]
    child, _ = write_head(
        make_checkpoint("0002", {"m": value}, {"m": "2"}),
        {"m": "2"},
        parent_id="0001",
        parent_index=put.index,
        parent_writes=_stored(task, "task-1"),
        serde=serde,
        expires_at=expires_at,
    )
    delta = body_of(child.head).deltas["m"]
    assert not isinstance(delta.tail, WritesTail)


def test_the_reader_asks_for_the_writes_then_says_what_is_gone() -> None:
    parent, task, child = _reply_of_task_a()
    head = decode_head(child.head)
    versions = head.versions(SERDE, COMP)
    unread = table_of([child.head], exhausted=False)
    assert rs.resolve(head, versions, unread, COMP) == rs.Need(down_to="0001")
    without_writes = table_of([child.head, parent.head])
    outcome = rs.resolve(head, versions, without_writes, COMP)
    assert isinstance(outcome, rs.Missing) and "pending write" in outcome.reason
    without_parent = table_of([child.head, task.regular])
    outcome = rs.resolve(head, versions, without_parent, COMP)
    assert isinstance(outcome, rs.Missing) and "'0001'" in outcome.reason


@given(
    st.lists(
        st.tuples(st.sampled_from(["writes", "inline", "replace"]), st.integers(1, 3)),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_chain_of_tails_from_writes_reads_back_and_indexes_alike(
    steps: list[tuple[str, int]], read_parent: bool
) -> None:
    """Lists that grow by their parent's writes, by other elements, or are replaced: the
    value reads back through every kind of tail, and the reader's index is the writer's."""
    value: list[str] = []
    items: list[dict[str, Any]] = []
    parent_index = None
    parent_id: str | None = None
    known: list[StoredWrite] = []
    for n, (how, count) in enumerate(steps):
        cp_id = f"{n + 1:04d}"
        added = [f"{cp_id} element {i} " * 8 for i in range(count)]
        value = added if how == "replace" else [*value, *added]
        child, _ = write_head(
            make_checkpoint(cp_id, {"m": list(value)}, {"m": str(n + 1)}),
            {"m": str(n + 1)},
            parent_id=parent_id,
            parent_index=parent_index,
            parent_writes=known if how == "writes" else [],
        )
        found = assembled(child.head, others=items)
        assert found.tuple.checkpoint["channel_values"] == {"m": value}
        assert found.index == child.index, (n, how)
        items.append(child.head)
        parent_index = found.index if read_parent else child.index
        parent_id = cp_id
        # the next step's writes: what its task wrote for this checkpoint
        nxt = (
            [f"{n + 2:04d} element {i} " * 8 for i in range(steps[n + 1][1])]
            if (n + 1 < len(steps))
            else []
        )
        task = writes_of([("m", nxt)], task_id=f"task-{n}", checkpoint_id=cp_id)
        items.append(task.regular)
        known = _stored(task, f"task-{n}")


def test_the_format_round_trips_tails_of_both_kinds() -> None:
    payload = schema.HeadPayload(
        skeleton=("json", b"{}"),
        metadata=("json", b"{}"),
        deltas={
            "a": Delta("0002", 3, "0001", ("msgpack", b"\x91\x01")),
            "b": Delta("0002", 1, "0001", WritesTail("0003", (("t1", 0), ("t2", 1)))),
            "c": Delta(None, 0, "0003", WritesTail("0003", (("t1", 2),))),
        },
    )
    raw = schema.encode_head(payload)
    assert set(raw[schema.DELTAS]) == {"a"} and set(raw[schema.DELTAS_FROM_WRITES]) == {"b", "c"}
    assert schema.decode_head(raw, "head") == payload
    raw[schema.DELTAS_FROM_WRITES]["c"][4] = []
    with pytest.raises(schema.CorruptItemError, match="names no writes"):
        schema.decode_head(raw, "head")


def test_stored_writes_are_bounded_by_bytes_and_forgotten_per_thread() -> None:
    cache = StoredWrites(size=10, max_bytes=1000)
    entry = schema.WriteEntry(0, "m", ("msgpack", b"x" * 400))
    for n in range(3):
        cache.add(("t", "", f"{n}"), [StoredWrite("", f"task-{n}", entry)])
    assert cache.get(("t", "", "0")) == []  # the oldest went: 1,200 bytes > 1,000
    assert len(cache.get(("t", "", "2"))) == 1
    cache.add(("t", "", "2"), [StoredWrite("", "task-x", entry)], replace=True)
    assert [w.task_id for w in cache.get(("t", "", "2"))] == ["task-x"]
    cache.discard_thread("t")
    assert cache.get(("t", "", "1")) == [] and cache.get(("t", "", "2")) == []


def test_a_put_waits_for_its_parents_writes_in_flight() -> None:
    flight = WritesInFlight()
    key = ("t", "", "0001")
    done: list[str] = []

    def write() -> None:
        with flight.writing(key):
            time.sleep(0.2)
            done.append("writes")

    worker = threading.Thread(target=write)
    worker.start()
    time.sleep(0.05)
    flight.wait(key, timeout=5)
    done.append("put")
    worker.join()
    assert done == ["writes", "put"]

    async def both() -> list[str]:
        order: list[str] = []

        async def awrite() -> None:
            with flight.writing(key):
                await asyncio.sleep(0.1)
                order.append("writes")

        task = asyncio.create_task(awrite())
        await asyncio.sleep(0.01)
        await flight.await_idle(key, timeout=5)
        order.append("put")
        await task
        return order

    assert asyncio.run(both()) == ["writes", "put"]
    started = time.monotonic()
    with flight.writing(key):
        flight.wait(key, timeout=0.1)  # gives up: the put stores the elements itself
    assert time.monotonic() - started < 2
