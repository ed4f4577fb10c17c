"""Flows driven by hand with fake DynamoDB responses: request shapes and counts."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.base import WRITES_IDX_MAP, Checkpoint, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_dynamodb import flows, limits, schema
from langgraph_dynamodb.caches import IndexCache, ReadHints, RunMarks, Watermarks
from langgraph_dynamodb.codec import Compression, ZstdCompressor
from langgraph_dynamodb.errors import (
    InvalidInputError,
    TableSchemaError,
    UnavailableError,
)
from langgraph_dynamodb.flows import bulk
from langgraph_dynamodb.schema import Ref
from langgraph_dynamodb.steps import Emit, Failure, Request, Sleep
from langgraph_dynamodb.storage import items as it
from langgraph_dynamodb.storage import resolve as rs

TABLE = "checkpoints"
ERROR = next(c for c, i in WRITES_IDX_MAP.items() if i == -1)
INTERRUPT = next(c for c, i in WRITES_IDX_MAP.items() if i == -3)
BIG = random.Random(1).randbytes(limits.SMALL_VALUE_INLINE_BYTES * 2).hex()


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_ctx(
    *, ttl_seconds: float | None = None, clock: Callable[[], float] | None = None
) -> flows.Ctx:
    return flows.Ctx(
        table=TABLE,
        serde=JsonPlusSerializer(),
        compression=Compression(ZstdCompressor()),
        consistent_read=False,
        ttl_seconds=ttl_seconds,
        ttl_refresh_on_read=False,
        index=IndexCache(),
        hints=ReadHints(),
        runs=RunMarks(),
        watermarks=Watermarks(),
        clock=clock or Clock(),
    )


def config(thread_id: str = "t1", ns: str = "", cp: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if cp is not None:
        conf["checkpoint_id"] = cp
    return {"configurable": conf}


def checkpoint(cp_id: str, values: dict[str, Any], versions: dict[str, Any]) -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = cp_id
    cp["channel_values"] = values
    cp["channel_versions"] = versions
    return cp


def finish(flow: Any, response: Any) -> Any:
    """Send the last response; the flow must end, and its result is returned."""
    with pytest.raises(StopIteration) as stop:
        flow.send(response)
    return stop.value.value


# --- a small in-memory table, for multi-request flows ---------------------------------------
def _b(sk: str) -> bytes:
    return sk.encode("utf-8")


class FakeTable:
    """Just enough DynamoDB for the flows: keys, BETWEEN/begins_with, Limit, paging,
    conditional puts, batches. Expired items are returned (DynamoDB deletes lazily)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[Request] = []

    def handle(self, call: Request) -> Any:
        self.calls.append(call)
        return getattr(self, call.op)(**call.params)

    @staticmethod
    def _key(item: dict[str, Any]) -> tuple[str, str]:
        return item[schema.PK]["S"], item[schema.SK]["S"]

    def put_item(self, *, Item: dict[str, Any], **kw: Any) -> Any:
        old = self.items.get(self._key(Item))
        cond = kw.get("ConditionExpression")
        failed = (cond == "attribute_not_exists(#pk)" and old is not None) or (
            cond == "#n = :n"
            and (old is None or old.get(schema.NONCE) != kw["ExpressionAttributeValues"][":n"])
        )
        if failed:
            response: dict[str, Any] = {"Error": {"Code": "ConditionalCheckFailedException"}}
            if old is not None and kw.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                response["Item"] = old
            return Failure("ConditionalCheckFailedException", "failed", response)
        self.items[self._key(Item)] = Item
        return {}

    def get_item(self, *, Key: dict[str, Any], **kw: Any) -> Any:
        found = self.items.get(self._key(Key))
        return {"Item": found} if found else {}

    def update_item(self, *, Key: dict[str, Any], **kw: Any) -> Any:
        """Only what the saver uses: ``SET #ttl = :t``, optionally on an existing item."""
        assert kw["UpdateExpression"] == "SET #ttl = :t"
        found = self.items.get(self._key(Key))
        if found is None:
            if kw.get("ConditionExpression") == "attribute_exists(#pk)":
                return Failure("ConditionalCheckFailedException", "failed", {})
            found = dict(Key)
            self.items[self._key(Key)] = found
        found[schema.TTL] = kw["ExpressionAttributeValues"][":t"]
        return {"Attributes": found} if kw.get("ReturnValues") == "ALL_NEW" else {}

    def query(self, **kw: Any) -> Any:
        values = kw["ExpressionAttributeValues"]
        pk = values[":pk"]["S"]
        cond = kw["KeyConditionExpression"]
        rows = sorted(
            (item for (p, _), item in self.items.items() if p == pk),
            key=lambda i: _b(i[schema.SK]["S"]),
            reverse=not kw.get("ScanIndexForward", True),
        )
        if "BETWEEN" in cond:
            lo, hi = _b(values[":lo"]["S"]), _b(values[":hi"]["S"])
            rows = [r for r in rows if lo <= _b(r[schema.SK]["S"]) <= hi]
        elif "begins_with" in cond:
            rows = [r for r in rows if r[schema.SK]["S"].startswith(values[":pre"]["S"])]
        start = kw.get("ExclusiveStartKey")
        if start:
            pos = [self._key(r) for r in rows].index(self._key(start))
            rows = rows[pos + 1 :]
        limit = kw.get("Limit")
        response: dict[str, Any] = {}
        if limit is not None and len(rows) >= limit:
            rows = rows[:limit]
            response["LastEvaluatedKey"] = {
                schema.PK: rows[-1][schema.PK],
                schema.SK: rows[-1][schema.SK],
            }
        response["Items"] = rows
        return response

    def batch_write_item(self, *, RequestItems: dict[str, Any], **kw: Any) -> Any:
        for request in RequestItems[TABLE]:
            if "PutRequest" in request:
                item = request["PutRequest"]["Item"]
                self.items[self._key(item)] = item
            else:
                self.items.pop(self._key(request["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {}}

    def batch_get_item(self, *, RequestItems: dict[str, Any], **kw: Any) -> Any:
        wanted = RequestItems[TABLE]["Keys"]
        found = [self.items[self._key(k)] for k in wanted if self._key(k) in self.items]
        return {"Responses": {TABLE: found}, "UnprocessedKeys": {}}

    def ops(self) -> list[str]:
        return [c.op for c in self.calls]


def run(flow: Any, table: FakeTable) -> tuple[Any, list[Any]]:
    """Drive a flow against the fake table; returns its result and what it emitted."""
    emitted: list[Any] = []
    response: Any = None
    while True:
        try:
            step = flow.send(response)
        except StopIteration as stop:
            return stop.value, emitted
        if isinstance(step, Emit):
            emitted.append(step.value)
            response = None
        elif isinstance(step, Sleep):
            response = None
        else:
            response = table.handle(step)


def store(
    table: FakeTable,
    ctx: flows.Ctx,
    cp: Checkpoint,
    new_versions: dict[str, Any],
    *,
    parent: str | None = None,
    thread_id: str = "t1",
    ns: str = "",
) -> dict[str, Any]:
    result, _ = run(
        flows.put(ctx, config(thread_id, ns, parent), cp, {"step": 1}, new_versions), table
    )
    return result  # type: ignore[no-any-return]


# --- Ctx ------------------------------------------------------------------------------------
def test_ctx_call_adds_table_and_capacity() -> None:
    ctx = make_ctx()
    call = ctx.request("query", KeyConditionExpression="x")
    assert call.params["TableName"] == TABLE
    assert call.params["ReturnConsumedCapacity"] == "TOTAL"
    batch = ctx.request("batch_write_item", RequestItems={})
    assert "TableName" not in batch.params
    assert batch.params["ReturnConsumedCapacity"] == "TOTAL"
    describe = ctx.request("describe_table")
    assert describe.params == {"TableName": TABLE}


def test_expires_at() -> None:
    assert make_ctx().expires_at() is None
    # at least a TTL away, rounded up to a window of half a TTL: 160.5 -> 180
    assert make_ctx(ttl_seconds=60, clock=Clock(100.5)).expires_at() == 180
    assert make_ctx(ttl_seconds=60, clock=Clock(119.9)).expires_at() == 180


# --- put ------------------------------------------------------------------------------------
def knows(ctx: flows.Ctx, *checkpoint_ids: str, thread_id: str = "t1") -> flows.Ctx:
    """A saver that wrote (or read) these checkpoints: it has their (empty) index."""
    for cp_id in checkpoint_ids:
        ctx.index.put((thread_id, "", cp_id), {}, cp_id)
    return ctx


def test_put_issues_exactly_one_put_item() -> None:
    ctx = knows(make_ctx(), "1f0-0")
    cp = checkpoint("1f0-1", {"a": 1, "b": "two"}, {"a": "1", "b": "1"})
    flow = flows.put(ctx, config(cp="1f0-0"), cp, {"source": "loop", "step": 2}, {"a": "1"})
    call = next(flow)
    assert isinstance(call, Request)
    assert call.op == "put_item"
    assert call.params["TableName"] == TABLE
    assert "ConditionExpression" not in call.params
    item = call.params["Item"]
    assert item[schema.PK] == {"S": schema.thread_pk("t1")}
    assert item[schema.SK] == {"S": schema.head_sk("", "1f0-1")}
    assert item[schema.PARENT] == {"S": "1f0-0"}
    result = finish(flow, {})
    assert result == {
        "configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": "1f0-1"}
    }
    # the index of the new head is remembered for its children
    assert ctx.index.get(("t1", "", "1f0-1")) is not None


def test_put_on_a_parent_it_does_not_know_reads_the_parent_first() -> None:
    table = FakeTable()
    writer = make_ctx()
    store(table, writer, checkpoint("1", {"big": BIG}, {"big": "1"}), {"big": "1"})
    cold = make_ctx()
    table.calls.clear()
    store(table, cold, checkpoint("2", {"big": BIG}, {"big": "1"}), {}, parent="1")
    assert table.ops() == ["query", "put_item"]
    child = it.decode_item(table.items[(schema.thread_pk("t1"), schema.head_sk("", "2"))])
    assert isinstance(child, it.Head)
    assert child.payload(cold.compression).refs["big"].holder == "1"  # as a warm writer would


def test_put_writes_chunks_before_the_head() -> None:
    ctx = make_ctx()
    big = os.urandom(limits.MAX_INLINE_PAYLOAD_BYTES + 1)
    cp = checkpoint("1", {"big": big}, {"big": "1"})
    flow = flows.put(ctx, config(), cp, {}, {"big": "1"})
    first = next(flow)
    assert first.op == "batch_write_item"
    puts = first.params["RequestItems"][TABLE]
    kinds = [p["PutRequest"]["Item"][schema.KIND]["S"] for p in puts]
    assert kinds == [schema.KIND_CHUNK, schema.KIND_CHUNK, schema.KIND_ACTIVITY]  # + the entry
    second = flow.send({"UnprocessedItems": {}})
    assert second.op == "put_item"
    assert schema.CHUNKS in second.params["Item"]
    finish(flow, {})


@pytest.mark.parametrize(
    "bad",
    [{"id": 5}, {"id": "\ud800"}, {"id": "x" * limits.MAX_CHECKPOINT_ID_BYTES}, "not a dict"],
)
def test_put_rejects_bad_checkpoints(bad: Any) -> None:
    with pytest.raises(InvalidInputError):
        next(flows.put(make_ctx(), config(), bad, {}, {}))


# --- put_writes -----------------------------------------------------------------------------
def test_put_writes_with_only_regular_writes_is_one_conditional_put() -> None:
    ctx = make_ctx()
    flow = flows.put_writes(ctx, config(cp="1"), [("a", 1), ("b", 2)], "task-1", "~p")
    call = next(flow)
    assert call.op == "put_item"
    assert call.params["ConditionExpression"] == "attribute_not_exists(#pk)"
    assert call.params["ExpressionAttributeNames"] == {"#pk": schema.PK}
    assert "ConditionalCheckFailedException" in call.expect
    item = call.params["Item"]
    assert item[schema.SK] == {"S": schema.writes_sk("", "1", "task-1", schema.REGULAR_TAG)}
    assert item[schema.KIND] == {"S": schema.KIND_WRITES}
    assert finish(flow, {}) is None


def test_put_writes_with_one_special_write_is_one_plain_put() -> None:
    flow = flows.put_writes(make_ctx(), config(cp="1"), [(ERROR, "boom")], "task-1")
    call = next(flow)
    assert call.op == "put_item"
    assert "ConditionExpression" not in call.params
    assert call.params["Item"][schema.SK]["S"] == schema.writes_sk("", "1", "task-1", "-1")
    finish(flow, {})


def test_put_writes_with_regular_and_special_writes() -> None:
    flow = flows.put_writes(
        make_ctx(), config(cp="1"), [("a", 1), (ERROR, "e"), (INTERRUPT, "i")], "task-1"
    )
    first = next(flow)
    assert first.op == "put_item" and first.params["ConditionExpression"]
    second = flow.send({})
    assert second.op == "batch_write_item"
    assert len(second.params["RequestItems"][TABLE]) == 2
    finish(flow, {"UnprocessedItems": {}})


def test_put_writes_without_writes_does_nothing() -> None:
    assert finish(flows.put_writes(make_ctx(), config(cp="1"), [], "task-1"), None) is None


def test_put_writes_needs_a_checkpoint_and_a_task() -> None:
    with pytest.raises(InvalidInputError):
        next(flows.put_writes(make_ctx(), config(), [("a", 1)], "task-1"))
    with pytest.raises(InvalidInputError):
        next(flows.put_writes(make_ctx(), config(cp="1"), [("a", 1)], 7))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        next(flows.put_writes(make_ctx(), config(cp="1"), [("a", 1)], "t", 3))  # type: ignore[arg-type]


def test_put_writes_merges_with_a_concurrent_writer() -> None:
    ctx = make_ctx()
    other = flows.put_writes(ctx, config(cp="1"), [("a", "theirs")], "task-1")
    existing = next(other).params["Item"]

    flow = flows.put_writes(ctx, config(cp="1"), [("a", "mine"), ("b", "mine")], "task-1")
    first = next(flow)
    failure = Failure("ConditionalCheckFailedException", "", {"Item": existing})
    retry = flow.send(failure)
    assert retry.op == "put_item"
    assert retry.params["ConditionExpression"] == "#n = :n"
    assert retry.params["ExpressionAttributeValues"] == {":n": existing[schema.NONCE]}
    assert retry.params["Item"][schema.SK] == first.params["Item"][schema.SK]
    finish(flow, {})
    merged = it.decode_item(retry.params["Item"])
    assert isinstance(merged, it.Writes)
    pending = rs.pending_writes(ctx.serde, ctx.compression, [merged])
    # first write wins per index: index 0 keeps the other writer's value
    assert pending == [("task-1", "a", "theirs"), ("task-1", "b", "mine")]


def test_put_writes_first_write_wins_without_a_second_request() -> None:
    ctx = make_ctx()
    existing = next(flows.put_writes(ctx, config(cp="1"), [("a", 1)], "task-1")).params["Item"]
    flow = flows.put_writes(ctx, config(cp="1"), [("a", 2)], "task-1")
    next(flow)
    assert finish(flow, Failure("ConditionalCheckFailedException", "", {"Item": existing})) is None


# --- batch_write / batch_get ----------------------------------------------------------------
def _items(n: int) -> list[dict[str, Any]]:
    return [{schema.PK: {"S": "p"}, schema.SK: {"S": f"s{i:03d}"}} for i in range(n)]


def test_batch_write_groups_of_25() -> None:
    flow = bulk.batch_write(make_ctx(), puts=_items(30))
    first = next(flow)
    assert first.op == "batch_write_item"
    assert len(first.params["RequestItems"][TABLE]) == limits.BATCH_WRITE_MAX_ITEMS
    second = flow.send({"UnprocessedItems": {}})
    assert len(second.params["RequestItems"][TABLE]) == 30 - limits.BATCH_WRITE_MAX_ITEMS
    finish(flow, {})


def test_batch_write_retries_unprocessed_items_after_a_sleep() -> None:
    flow = bulk.batch_write(make_ctx(), puts=_items(3))
    first = next(flow)
    requests = first.params["RequestItems"][TABLE]
    assert len(requests) == 3
    sleep = flow.send({"UnprocessedItems": {TABLE: requests[1:]}})
    assert isinstance(sleep, Sleep)
    assert 0 <= sleep.seconds <= limits.UNPROCESSED_MAX_DELAY_S
    retry = flow.send(None)
    assert isinstance(retry, Request) and retry.op == "batch_write_item"
    assert retry.params["RequestItems"][TABLE] == requests[1:]
    finish(flow, {"UnprocessedItems": {}})


def test_batch_write_gives_up_after_max_attempts() -> None:
    flow = bulk.batch_write(make_ctx(), puts=_items(2))
    calls, sleeps = 0, 0
    step = next(flow)
    with pytest.raises(UnavailableError, match="unprocessed"):
        while True:
            if isinstance(step, Sleep):
                sleeps += 1
                step = flow.send(None)
            else:
                assert step.op == "batch_write_item"
                calls += 1
                pending = step.params["RequestItems"][TABLE]
                step = flow.send({"UnprocessedItems": {TABLE: pending}})
    assert calls == limits.UNPROCESSED_MAX_ATTEMPTS
    assert sleeps == limits.UNPROCESSED_MAX_ATTEMPTS - 1


def test_batch_write_does_not_delete_what_it_puts() -> None:
    items = _items(2)
    flow = bulk.batch_write(make_ctx(), puts=items[:1], deletes=items)
    requests = next(flow).params["RequestItems"][TABLE]
    assert requests == [{"PutRequest": {"Item": items[0]}}, {"DeleteRequest": {"Key": items[1]}}]
    finish(flow, {})


def test_batch_write_of_nothing_issues_no_request() -> None:
    assert finish(bulk.batch_write(make_ctx()), None) is None


def test_batch_get_retries_unprocessed_keys_then_gives_up() -> None:
    wanted = _items(3) + _items(1)  # duplicates are asked once
    flow = bulk.batch_get(make_ctx(), wanted)
    first = next(flow)
    assert first.params["RequestItems"][TABLE]["Keys"] == _items(3)
    sleep = flow.send(
        {
            "Responses": {TABLE: _items(2)},
            "UnprocessedKeys": {TABLE: {"Keys": _items(3)[2:]}},
        }
    )
    assert isinstance(sleep, Sleep)
    retry = flow.send(None)
    assert retry.params["RequestItems"][TABLE]["Keys"] == _items(3)[2:]
    assert finish(flow, {"Responses": {TABLE: _items(3)[2:]}}) == _items(3)

    flow = bulk.batch_get(make_ctx(), _items(1))
    step = next(flow)
    with pytest.raises(UnavailableError):
        for _ in range(2 * limits.UNPROCESSED_MAX_ATTEMPTS):
            if isinstance(step, Sleep):
                step = flow.send(None)
            else:
                step = flow.send({"UnprocessedKeys": {TABLE: step.params["RequestItems"][TABLE]}})


# --- get_tuple ------------------------------------------------------------------------------
def _written_checkpoint() -> tuple[Checkpoint, dict[str, Any], list[dict[str, Any]]]:
    """A head and its writes items, as a first saver wrote them."""
    ctx = knows(make_ctx(), "1f0-4")
    cp = checkpoint("1f0-5", {"messages": ["hi"], "n": 5}, {"messages": "3", "n": "5"})
    new_versions = {"messages": "3", "n": "5"}
    put = flows.put(ctx, config(cp="1f0-4"), cp, {"source": "loop", "step": 5}, new_versions)
    head = next(put).params["Item"]
    finish(put, {})
    writes = []
    for task, w in (("task-a", [("x", 1), ("y", 2)]), ("task-b", [(ERROR, "boom")])):
        flow = flows.put_writes(ctx, config(cp="1f0-5"), w, task, "~" + task)
        writes.append(next(flow).params["Item"])
        finish(flow, {})
    return cp, head, writes


def _desc(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: _b(i[schema.SK]["S"]), reverse=True)


def test_get_tuple_latest_is_one_query() -> None:
    cp, head, writes = _written_checkpoint()
    ctx = make_ctx()  # a fresh saver: nothing cached
    flow = flows.get_tuple(ctx, config())
    call = next(flow)
    assert call.op == "query"
    params = call.params
    assert params["ScanIndexForward"] is False
    assert params["Limit"] == limits.GET_TUPLE_QUERY_LIMIT
    assert params["KeyConditionExpression"] == "#pk = :pk AND #sk BETWEEN :lo AND :hi"
    assert params["ExpressionAttributeNames"] == {"#pk": schema.PK, "#sk": schema.SK}
    values = params["ExpressionAttributeValues"]
    assert values[":pk"] == {"S": schema.thread_pk("t1")}
    assert values[":lo"] == {"S": schema.checkpoint_ns_prefix("")}
    assert values[":hi"] == {"S": schema.range_end(schema.checkpoint_ns_prefix(""))}
    items = _desc([head, *writes])
    assert items[0] is head  # the head comes first in a descending query
    found = finish(flow, {"Items": items})
    assert found is not None
    assert found.checkpoint == cp
    assert found.metadata == {"source": "loop", "step": 5}
    assert found.config["configurable"]["checkpoint_id"] == "1f0-5"
    assert found.parent_config["configurable"]["checkpoint_id"] == "1f0-4"
    assert found.pending_writes == [
        ("task-a", "x", 1),
        ("task-a", "y", 2),
        ("task-b", ERROR, "boom"),
    ]


def test_get_tuple_by_id_is_one_query_up_to_its_head() -> None:
    cp, head, writes = _written_checkpoint()
    flow = flows.get_tuple(make_ctx(), config(cp="1f0-5"))
    call = next(flow)
    values = call.params["ExpressionAttributeValues"]
    assert values[":hi"] == {"S": schema.head_sk("", "1f0-5")}
    assert call.params["ScanIndexForward"] is False
    found = finish(flow, {"Items": _desc([head, *writes])})
    assert found is not None and found.checkpoint == cp
    assert found.config == config(cp="1f0-5")


def test_get_tuple_of_an_empty_thread_is_one_query() -> None:
    flow = flows.get_tuple(make_ctx(), config("nobody"))
    assert next(flow).op == "query"
    assert finish(flow, {"Items": []}) is None


def test_get_tuple_by_id_of_a_missing_checkpoint() -> None:
    _, head, _ = _written_checkpoint()
    flow = flows.get_tuple(make_ctx(), config(cp="1f0-6"))
    next(flow)
    # only an older head is in the range: not the one asked for
    assert finish(flow, {"Items": [head]}) is None


def test_get_tuple_pages_until_the_writes_are_complete() -> None:
    cp, head, writes = _written_checkpoint()
    items = _desc([head, *writes])
    flow = flows.get_tuple(make_ctx(), config())
    next(flow)
    last = items[1]
    second = flow.send({"Items": items[:2], "LastEvaluatedKey": schema.key_of(last)})
    assert second.op == "query"
    assert second.params["ExclusiveStartKey"] == schema.key_of(last)
    found = finish(flow, {"Items": items[2:]})
    assert found is not None and len(found.pending_writes) == 3


def test_get_tuple_uses_the_cache_to_size_its_query() -> None:
    table = FakeTable()
    ctx = make_ctx()
    store(table, ctx, checkpoint("1", {"a": 1}, {"a": "1"}), {"a": "1"})
    for task in ("t-a", "t-b", "t-c", "t-d", "t-e"):
        run(flows.put_writes(ctx, config(cp="1"), [("a", task)], task), table)
    table.calls.clear()
    found, _ = run(flows.get_tuple(ctx, config()), table)
    assert found is not None and len(found.pending_writes) == 5
    assert table.ops() == ["query"]
    assert table.calls[0].params["Limit"] == 5 + 2


def test_round_trip_with_references_and_a_distant_holder() -> None:
    table = FakeTable()
    writer = make_ctx()
    versions = {"big": "1", "n": "0"}
    store(table, writer, checkpoint("00", {"big": BIG, "n": 0}, versions), versions)
    for n in range(1, 5):
        versions = {"big": "1", "n": str(n)}
        cp = checkpoint(f"{n:02d}", {"big": BIG, "n": n}, versions)
        store(table, writer, cp, {"n": str(n)}, parent=f"{n - 1:02d}")
    latest = it.decode_item(table.items[(schema.thread_pk("t1"), schema.head_sk("", "04"))])
    assert isinstance(latest, it.Head)
    assert latest.payload(writer.compression).refs["big"] == Ref("00", 4)

    table.calls.clear()
    found, _ = run(flows.get_tuple(make_ctx(), config()), table)
    assert found is not None
    assert found.checkpoint["channel_values"] == {"big": BIG, "n": 4}
    # one Query for the head, one BatchGetItem for the holder beyond the first page
    assert table.ops() == ["query", "batch_get_item"]

    found, _ = run(flows.get_tuple(make_ctx(), config(cp="02")), table)
    assert found.checkpoint["channel_values"] == {"big": BIG, "n": 2}

    listed, emitted = run(flows.list_checkpoints(make_ctx(), config()), table)
    assert [t.checkpoint["channel_values"]["n"] for t in emitted] == [4, 3, 2, 1, 0]
    assert all(t.checkpoint["channel_values"]["big"] == BIG for t in emitted)


def test_references_never_outlive_their_holder() -> None:
    """A checkpoint written after a read must not refer to a holder that expires before
    it: the writer extends the expiry of holders from an earlier expiry window."""
    clock = Clock(0.0)
    table = FakeTable()
    writer = make_ctx(ttl_seconds=100, clock=clock)
    store(
        table,
        writer,
        checkpoint("0", {"big": BIG, "n": 0}, {"big": "1", "n": "0"}),
        {"big": "1", "n": "0"},
    )
    clock.now = 10
    cp1 = checkpoint("1", {"big": BIG, "n": 1}, {"big": "1", "n": "1"})
    store(table, writer, cp1, {"n": "1"}, parent="0")
    # A new saver reads the latest checkpoint, then writes its child later on.
    reader = make_ctx(ttl_seconds=100, clock=clock)
    clock.now = 20
    found, _ = run(flows.get_tuple(reader, config()), table)
    assert found is not None
    holder_key = (schema.thread_pk("t1"), schema.head_sk("", "0"))
    assert int(table.items[holder_key][schema.TTL]["N"]) == 150  # extended by "1" at t=10
    clock.now = 55  # a later window: "2" expires at 200, the holder at 150
    cp2 = checkpoint("2", {"big": BIG, "n": 2}, {"big": "1", "n": "2"})
    store(table, reader, cp2, {"n": "2"}, parent="1")
    head2 = it.decode_item(table.items[(schema.thread_pk("t1"), schema.head_sk("", "2"))])
    assert isinstance(head2, it.Head)
    assert head2.payload(reader.compression).refs["big"].holder == "0"  # still a reference...
    assert head2.expires_at == 200
    assert int(table.items[holder_key][schema.TTL]["N"]) == 200  # ...to a holder extended too
    clock.now = 151  # "1" has expired; "2" must still be whole
    found, _ = run(flows.get_tuple(make_ctx(ttl_seconds=100, clock=clock), config()), table)
    assert found is not None and found.checkpoint["id"] == "2"
    assert found.checkpoint["channel_values"] == {"big": BIG, "n": 2}


def test_lookalike_threads_and_namespaces_do_not_mix() -> None:
    table = FakeTable()
    ctx = make_ctx()
    for thread_id in ("t1", "t10", "t1#x"):
        for ns in ("", "n1", "n1#x", "n10"):
            cp = checkpoint("1", {"who": [thread_id, ns]}, {"who": "1"})
            store(table, ctx, cp, {"who": "1"}, thread_id=thread_id, ns=ns)
            run(flows.put_writes(ctx, config(thread_id, ns, "1"), [("w", ns)], "task"), table)
    for thread_id in ("t1", "t10", "t1#x"):
        for ns in ("", "n1", "n1#x", "n10"):
            found, _ = run(flows.get_tuple(make_ctx(), config(thread_id, ns)), table)
            assert found.checkpoint["channel_values"] == {"who": [thread_id, ns]}
            assert found.pending_writes == [("task", "w", ns)]


# --- list / invalid input -------------------------------------------------------------------
@pytest.mark.parametrize("before_id", [5, b"1"])
@pytest.mark.parametrize("ns", ["", None])
def test_list_rejects_non_string_before_ids(before_id: Any, ns: str | None) -> None:
    """Like every other id, a ``before`` checkpoint id that is not a string is invalid
    input (it is not: it reaches key building or a str/int comparison)."""
    table = FakeTable()
    store(table, make_ctx(), checkpoint("1", {"a": 1}, {"a": "1"}), {"a": "1"})
    conf = config() if ns is not None else {"configurable": {"thread_id": "t1"}}
    before = {"configurable": {"checkpoint_id": before_id}}
    flow = flows.list_checkpoints(make_ctx(), conf, before=before)
    with pytest.raises(InvalidInputError):
        run(flow, table)


def test_list_before_and_limit() -> None:
    table = FakeTable()
    ctx = make_ctx()
    for n in range(5):
        store(table, ctx, checkpoint(str(n), {"n": n}, {"n": str(n)}), {"n": str(n)})
    for conf in (config(), {"configurable": {"thread_id": "t1"}}):
        before = {"configurable": {"checkpoint_id": "3"}}
        _, emitted = run(flows.list_checkpoints(make_ctx(), conf, before=before, limit=2), table)
        assert [t.checkpoint["id"] for t in emitted] == ["2", "1"]


def test_list_rejects_bad_limit_and_filter() -> None:
    with pytest.raises(InvalidInputError):
        next(flows.list_checkpoints(make_ctx(), config(), limit="3"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        next(flows.list_checkpoints(make_ctx(), config(), filter=[("a", 1)]))  # type: ignore[arg-type]


# --- setup ----------------------------------------------------------------------------------
def _description(status: str = "ACTIVE") -> dict[str, Any]:
    params = schema.create_table_params(TABLE)
    return {
        "Table": {
            "TableStatus": status,
            "KeySchema": params["KeySchema"],
            "AttributeDefinitions": params["AttributeDefinitions"],
        }
    }


def test_setup_creates_a_missing_table_and_waits() -> None:
    flow = flows.setup(make_ctx(), ttl=False)
    describe = next(flow)
    assert describe.op == "describe_table" and "ResourceNotFoundException" in describe.expect
    create = flow.send(Failure("ResourceNotFoundException", "no table"))
    assert create.op == "create_table"
    assert create.params["KeySchema"] == schema.create_table_params(TABLE)["KeySchema"]
    assert flow.send({}).op == "describe_table"
    assert isinstance(flow.send(_description("CREATING")), Sleep)
    assert flow.send(None).op == "describe_table"
    finish(flow, _description())


def test_a_checkpointers_setup_marks_the_directory_of_the_table_it_creates() -> None:
    flow = flows.setup(make_ctx(), ttl=False, checkpointer=True)
    next(flow)
    assert flow.send(Failure("ResourceNotFoundException", "no table")).op == "create_table"
    assert flow.send({}).op == "describe_table"
    mark = flow.send(_description())
    assert mark.op == "put_item" and mark.params["Item"] == schema.directory_complete()
    finish(flow, {})
    flow = flows.setup(make_ctx(), ttl=False, checkpointer=True)  # another process made it
    next(flow)
    flow.send(Failure("ResourceNotFoundException", "no table"))
    assert flow.send(Failure("ResourceInUseException", "being created")).op == "describe_table"
    finish(flow, _description())
    flow = flows.setup(make_ctx(), ttl=False, checkpointer=True)  # it was there
    next(flow)
    finish(flow, _description())


def test_setup_rejects_a_foreign_key_schema() -> None:
    flow = flows.setup(make_ctx(), ttl=False)
    next(flow)
    wrong = {
        "Table": {
            "TableStatus": "ACTIVE",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        }
    }
    with pytest.raises(TableSchemaError, match="'pk'"):
        flow.send(wrong)


def test_setup_enables_ttl() -> None:
    flow = flows.setup(make_ctx(ttl_seconds=60), ttl=True)
    next(flow)
    ttl = flow.send(_description())
    assert ttl.op == "describe_time_to_live"
    update = flow.send({"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}})
    assert update.op == "update_time_to_live"
    assert update.params["TimeToLiveSpecification"] == {
        "Enabled": True,
        "AttributeName": schema.TTL,
    }
    finish(flow, {})


# --- delete ---------------------------------------------------------------------------------
def test_delete_thread_deletes_heads_before_what_they_depend_on() -> None:
    table = FakeTable()
    ctx = make_ctx()
    big = os.urandom(limits.MAX_INLINE_PAYLOAD_BYTES + 1)
    store(table, ctx, checkpoint("1", {"big": big}, {"big": "1"}), {"big": "1"})
    store(table, ctx, checkpoint("2", {"big": big}, {"big": "1"}), {}, parent="1")
    run(flows.put_writes(ctx, config(cp="2"), [("a", 1)], "task"), table)
    table.items[("other", "c#x")] = {schema.PK: {"S": "other"}, schema.SK: {"S": "c#x"}}
    table.calls.clear()
    run(flows.delete_thread(ctx, "t1"), table)
    assert table.ops() == ["query", "batch_write_item", "batch_write_item"]  # tombstone first
    (tombstone,) = table.calls[1].params["RequestItems"][TABLE]
    assert tombstone["PutRequest"]["Item"][schema.WATERMARK] == {"S": "2"}
    assert schema.TTL not in tombstone["PutRequest"]["Item"]  # no TTL: it lasts as they do
    deleted = [
        r["DeleteRequest"]["Key"][schema.SK]["S"]
        for r in table.calls[2].params["RequestItems"][TABLE]
    ]
    assert deleted[:3] == [
        schema.head_sk("", "2"),
        schema.writes_sk("", "2", "task", "r"),
        schema.head_sk("", "1"),
    ]
    assert all(sk.startswith(schema.CHUNK_PREFIX) for sk in deleted[3:-1])
    assert deleted[-1] == schema.directory_key("t1", "")[schema.SK]["S"]  # ids "1", "2": no time
    assert list(table.items) == [
        ("other", "c#x"),
        (schema.thread_pk("t1"), schema.tombstone_sk("")),
    ]


# --- a model-based round trip ---------------------------------------------------------------
CHANNELS = ("a", "b", "c")
step_actions = st.fixed_dictionaries(
    {ch: st.sampled_from(["keep", "small", "big", "remove"]) for ch in CHANNELS}
)


@given(st.lists(st.tuples(step_actions, st.booleans()), min_size=1, max_size=12))
@settings(max_examples=40, deadline=None)
def test_every_checkpoint_reads_back_as_written(steps: list[tuple[dict[str, str], bool]]) -> None:
    """Random histories (unchanged, changed and removed channels, small and large values,
    writers with and without a warm cache) read back exactly, by id and by list."""
    table = FakeTable()
    writer = make_ctx()
    values: dict[str, Any] = {}
    versions: dict[str, int] = {}
    expected: dict[str, dict[str, Any]] = {}
    parent: str | None = None
    for n, (actions, fresh_writer) in enumerate(steps):
        if fresh_writer:
            writer = make_ctx()
        new_versions: dict[str, int] = {}
        for ch, action in actions.items():
            if action == "keep":
                continue
            versions[ch] = versions.get(ch, 0) + 1
            new_versions[ch] = versions[ch]
            if action == "remove":
                values.pop(ch, None)
            else:
                values[ch] = f"{ch}{n}" if action == "small" else f"{ch}{n}" + BIG
        cp_id = f"{n:03d}"
        store(
            table,
            writer,
            checkpoint(cp_id, dict(values), dict(versions)),
            new_versions,
            parent=parent,
        )
        expected[cp_id] = dict(values)
        parent = cp_id
    for cp_id, want in expected.items():
        found, _ = run(flows.get_tuple(make_ctx(), config(cp=cp_id)), table)
        assert found is not None, cp_id
        assert found.checkpoint["channel_values"] == want, cp_id
    latest, _ = run(flows.get_tuple(make_ctx(), config()), table)
    assert latest.checkpoint["id"] == parent
    _, listed = run(flows.list_checkpoints(make_ctx(), config()), table)
    assert [t.checkpoint["id"] for t in listed] == sorted(expected, reverse=True)
    assert [t.checkpoint["channel_values"] for t in listed] == [
        expected[i] for i in sorted(expected, reverse=True)
    ]


def test_run_marks_say_when_a_put_writes_the_marker() -> None:
    marks = RunMarks(size=2)
    assert marks.needed("r", "t", None)  # never written here
    marks.note("r", "t", None)
    assert not marks.needed("r", "t", None)  # no TTL: once is for good
    marks.note("r", "t", 1_100)  # the marker's own expiry
    assert not marks.needed("r", "t", 1_100)  # it outlives this head
    assert marks.needed("r", "t", 1_101)  # it would expire before this one: again
    marks.note("a", "t2", None)
    marks.note("b", "t2", None)  # the oldest is forgotten: written again, harmlessly
    assert marks.needed("r", "t", None)
    marks.discard_thread("t2")
    assert marks.needed("a", "t2", None)
    ctx = make_ctx()
    assert ctx.run_marker(None, "t", None) == [] and ctx.run_marker("", "t", None) == []
    (marker,) = ctx.run_marker("r", "t", None)
    assert schema.TTL not in marker and schema.thread_of_run_marker(marker) == "t"
    (marker,) = make_ctx(ttl_seconds=60).run_marker("r", "t", 500)
    assert marker[schema.TTL] == {"N": "560"}  # a TTL after the head: it outlives the run
