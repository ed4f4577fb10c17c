"""The store's TTL, as langgraph's ``TTLConfig`` (minutes): per-item ``ttl``,
``default_ttl``, ``refresh_on_read``; expired items are absent everywhere at once, and a
refresh is one conditional write that can never bring back an item deleted or replaced."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from langgraph_dynamodb import DynamoDBStore, schema
from langgraph_dynamodb.store import flows as store_flows
from langgraph_dynamodb.store import items as si

from ..conftest import REGION

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(ddb_endpoint: str, clock: Clock) -> Iterator[DynamoDBStore]:
    table = f"store-ttl-{uuid.uuid4().hex[:8]}"
    with DynamoDBStore.from_table(
        table,
        endpoint_url=ddb_endpoint,
        region_name=REGION,
        ttl={"default_ttl": 10, "refresh_on_read": True},
    ) as s:
        real = s._ctx

        def at_clock() -> Any:
            ctx = real()
            ctx.clock = clock
            return ctx

        s._ctx = at_clock  # type: ignore[method-assign]
        s.setup()
        yield s


def _expiry(store: DynamoDBStore, ns: tuple[str, ...], key: str) -> int | None:
    client = boto3.client("dynamodb", endpoint_url=store._clients.endpoint_url, region_name=REGION)
    item = client.get_item(TableName=store.table_name, Key=si.item_key(ns, key)).get("Item")
    if item is None:
        return None
    return int(item[schema.TTL]["N"]) if schema.TTL in item else -1


def test_expired_items_are_absent_everywhere(store: DynamoDBStore, clock: Clock) -> None:
    store.put(("users", "u1"), "short", {"x": 1}, ttl=1)
    store.put(("users", "u1"), "long", {"x": 2})  # default_ttl: 10 minutes
    store.put(("users", "u2"), "short", {"x": 3}, ttl=1)
    store.put(("users", "u3"), "forever", {"x": 4}, ttl=None)
    assert _expiry(store, ("users", "u3"), "forever") == -1  # no ttl attribute at all
    assert _expiry(store, ("users", "u1"), "long") == pytest.approx(clock.now + 600, abs=2)
    clock.now += 120  # the 1-minute items have expired (DynamoDB deletes them later)
    assert store.get(("users", "u1"), "short") is None
    assert [i.key for i in store.search(("users",))] == ["long", "forever"]
    assert store.list_namespaces(prefix=("users",)) == [("users", "u1"), ("users", "u3")]
    assert store.list_namespaces(prefix=("users",), max_depth=2) == [
        ("users", "u1"),
        ("users", "u3"),
    ]
    clock.now += 24 * 3600
    assert store.list_namespaces() == [("users", "u3")]


def test_reads_refresh_the_expiry_by_the_items_own_ttl(store: DynamoDBStore, clock: Clock) -> None:
    ns = ("users", "u1")
    store.put(ns, "a", {"x": 1}, ttl=1)
    first = _expiry(store, ns, "a")
    clock.now += 30
    assert store.get(ns, "a", refresh_ttl=False) is not None
    assert _expiry(store, ns, "a") == first
    assert store.get(ns, "a") is not None  # refresh_on_read: True
    assert _expiry(store, ns, "a") == pytest.approx(clock.now + 60, abs=2)
    clock.now += 1  # a moment later: the expiry would barely move, no write
    store.stats.reset()
    store.get(ns, "a")
    assert "update_item" not in store.stats.requests
    clock.now += 45
    assert [i.key for i in store.search(("users",))] == ["a"]  # search refreshes too
    clock.now += 45  # past the first expiry, not the refreshed one
    assert store.get(ns, "a") is not None


def test_a_refresh_never_brings_back_a_deleted_or_replaced_item(
    store: DynamoDBStore, clock: Clock
) -> None:
    ns = ("users", "u9")
    store.put(ns, "gone", {"x": 1}, ttl=1)
    store.put(ns, "replaced", {"x": 1}, ttl=1)
    ctx = store._ctx()
    read = store._run(store_flows.get_many(ctx, [(ns, "gone"), (ns, "replaced")]), "test.read")
    store.delete(ns, "gone")
    store.put(ns, "replaced", {"x": 2}, ttl=5)
    clock.now += 40
    store._run(store_flows.refresh(ctx, read.values()), "test.refresh")  # with what was read before
    assert _expiry(store, ns, "gone") is None  # not recreated
    assert _expiry(store, ns, "replaced") == pytest.approx(clock.now - 40 + 300, abs=2)
    assert store.get(ns, "replaced").value == {"x": 2}  # type: ignore[union-attr]
