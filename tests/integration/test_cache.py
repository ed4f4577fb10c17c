"""DynamoDBCache behaves as LangGraph's InMemoryCache: the same answers to the same calls
(the oracle), sync and async, on DynamoDB Local; and LangGraph caches a node on it."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from typing import Any, TypedDict

import pytest
from langgraph.cache.memory import InMemoryCache
from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy

from langgraph_dynamodb import DynamoDBCache, InvalidInputError, schema

from ..conftest import REGION

pytestmark = pytest.mark.integration

NAMESPACES = [
    (),
    ("a",),
    ("a", "b"),
    ("a#b",),
    ("näme", "$x|y"),
    ("__pregel_ns_writes", "m.f", "n"),
]
KEYS = ["k1", "k2", "", "#$|é", "x" * 300]


@pytest.fixture
def cache(ddb_endpoint: str) -> Any:
    table = f"cache-{uuid.uuid4().hex[:10]}"  # a table of its own: clear() clears it all
    with DynamoDBCache.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as made:
        made.setup(prepare_async=False)
        yield made


def test_answers_equal_in_memory_cache(cache: DynamoDBCache[Any]) -> None:
    oracle: InMemoryCache[Any] = InMemoryCache()
    rng = random.Random(7)
    every = [(ns, k) for ns in NAMESPACES for k in KEYS]
    for step in range(40):
        kind = rng.choice(["set", "set", "get", "clear"])
        if kind == "set":
            pairs = {
                full: (
                    {"step": step, "v": [rng.random()] * rng.randint(0, 3)},
                    rng.choice([None, 600]),
                )
                for full in rng.sample(every, rng.randint(1, 6))
            }
            cache.set(pairs)
            oracle.set(pairs)
        elif kind == "get":
            asked = rng.sample(every, rng.randint(0, 12))
            assert cache.get(asked) == oracle.get(asked), step
        else:
            cleared = None if rng.random() < 0.2 else rng.sample(NAMESPACES, rng.randint(0, 3))
            cache.clear(cleared)
            oracle.clear(cleared)
    assert cache.get(every) == oracle.get(every)


def test_expiry_is_exact_and_children_survive_a_clear(cache: DynamoDBCache[Any]) -> None:
    cache.set({(("a",), "now"): ("gone", 0), (("a",), "later"): ("kept", 600)})
    cache.set({(("a", "b"), "child"): ("child", None)})
    assert cache.get([(("a",), "now"), (("a",), "later")]) == {(("a",), "later"): "kept"}
    cache.clear([("a",)])
    assert cache.get([(("a",), "later"), (("a", "b"), "child")]) == {(("a", "b"), "child"): "child"}
    cache.clear([])  # nothing
    assert cache.get([(("a", "b"), "child")]) == {(("a", "b"), "child"): "child"}
    cache.clear()
    assert cache.get([(("a", "b"), "child")]) == {}


def test_requests_per_call(cache: DynamoDBCache[Any]) -> None:
    keys = [(("ns",), f"k{i}") for i in range(150)]
    cache.stats.reset()
    cache.set({k: (i, None) for i, k in enumerate(keys)})
    assert cache.stats.requests == {"batch_write_item": 7}  # 151 items: 150 entries, 1 directory
    cache.stats.reset()
    cache.set({keys[0]: ("again", None)})  # the namespace's directory entry is known
    assert cache.stats.requests == {"batch_write_item": 1}
    cache.stats.reset()
    assert len(cache.get(keys)) == 150
    assert cache.stats.requests == {"batch_get_item": 2}  # 100 keys a request
    cache.stats.reset()
    cache.clear([("ns",)])
    assert cache.stats.requests == {"query": 1, "batch_write_item": 6}
    assert "scan" not in cache.stats.requests


def test_large_values_are_chunked_and_read_whole(cache: DynamoDBCache[Any]) -> None:
    big = os.urandom(600_000).hex()  # incompressible, over an item's size
    cache.set({(("big",), "k"): (big, None)})
    assert cache.get([(("big",), "k")]) == {(("big",), "k"): big}
    cache.clear([("big",)])
    assert cache.get([(("big",), "k")]) == {}
    with pytest.raises(InvalidInputError, match="namespace"):
        cache.get([(("a", 1), "k")])  # type: ignore[list-item]


def test_async_answers_as_sync(ddb_endpoint: str) -> None:
    async def run() -> None:
        table = f"cache-{uuid.uuid4().hex[:10]}"
        async with DynamoDBCache.from_table(
            table, endpoint_url=ddb_endpoint, region_name=REGION
        ) as cache:
            await cache.asetup()
            await cache.aset({(("x",), "k"): ({"a": 1}, None), (("x",), "t"): ("gone", 0)})
            got = await cache.aget([(("x",), "k"), (("x",), "t"), (("y",), "k")])
            assert got == {(("x",), "k"): {"a": 1}}
            await cache.aclear()
            assert await cache.aget([(("x",), "k")]) == {}

    asyncio.run(run())


class S(TypedDict):
    n: int


def test_langgraph_runs_a_cached_node_once(cache: DynamoDBCache[Any]) -> None:
    calls: list[int] = []

    def slow(state: S) -> dict[str, int]:
        calls.append(state["n"])
        return {"n": state["n"] * 2}

    builder = StateGraph(S)
    builder.add_node("slow", slow, cache_policy=CachePolicy(ttl=600))
    builder.add_edge(START, "slow")
    graph = builder.compile(cache=cache)
    assert graph.invoke({"n": 3}) == {"n": 6}
    assert graph.invoke({"n": 3}) == {"n": 6}  # from the cache
    assert graph.invoke({"n": 4}) == {"n": 8}
    assert calls == [3, 4]
    graph.clear_cache(["slow"])
    assert graph.invoke({"n": 3}) == {"n": 6}
    assert calls == [3, 4, 3]
    assert schema.KIND_CACHE == "e"
