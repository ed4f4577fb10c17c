"""Requests of concurrent async calls sent together (``combine_writes`` and
``combine_reads``, on by default), on DynamoDB Local: many runs at once on one saver (and
one store, one cache) end in the same states, and read the same values, as on LangGraph's
in-memory ones and as with every call sending its own requests, in fewer requests and the
same capacity units."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBStore

from ..conftest import REGION, load_bench_module

pytestmark = pytest.mark.integration

workloads = load_bench_module("workloads")
RUNS = 32


def _on_and_off(kind: Any, table_name: str, endpoint: str, option: str) -> dict[bool, Any]:
    """Two of ``kind`` (saver, store or cache) on the table, with ``option`` on and off."""
    return {
        on: kind.from_table(table_name, endpoint_url=endpoint, region_name=REGION, **{option: on})
        for on in (True, False)
    }


def _history(graph: Any, thread_id: str) -> list[tuple[Any, ...]]:
    config = {"configurable": {"thread_id": thread_id}}
    return [
        (s.values, s.next, s.metadata.get("step"), s.metadata.get("source"))
        for s in graph.get_state_history(config)
    ]


async def _chat_runs(checkpointer: Any, tag: str) -> Any:
    graph = workloads.build_chat_graph().compile(checkpointer=checkpointer)
    for turn in range(2):  # a first run of each thread, then a second on top of it
        await asyncio.gather(
            *(
                graph.ainvoke(
                    workloads.chat_input(turn * RUNS + i),
                    {"configurable": {"thread_id": f"{tag}-{i}"}},
                )
                for i in range(RUNS)
            )
        )
    return graph


async def test_many_runs_at_once_store_what_each_alone_would(
    ddb_endpoint: str, table_name: str
) -> None:
    savers = _on_and_off(DynamoDBSaver, table_name, ddb_endpoint, "combine_writes")
    tags = {on: f"combine-{on}-{uuid.uuid4()}" for on in savers}
    graphs = {on: await _chat_runs(saver, tags[on]) for on, saver in savers.items()}
    reference = await _chat_runs(InMemorySaver(), "memory")
    try:
        for i in range(RUNS):
            expected = _history(reference, f"memory-{i}")
            for on, graph in graphs.items():
                assert _history(graph, f"{tags[on]}-{i}") == expected, (on, i)
        ops = {on: savers[on].stats.operations for on in savers}
        put = {on: ops[on]["checkpoint.put"] for on in savers}
        # the same items written, so the same write units, in far fewer requests
        assert put[True].write_units == pytest.approx(put[False].write_units)
        assert put[True].calls == put[False].calls == put[False].requests
        assert put[True].requests < put[False].requests * 0.8
        writes = {on: ops[on]["checkpoint.put_writes"] for on in savers}
        assert writes[True].write_units == pytest.approx(writes[False].write_units)
    finally:
        for saver in savers.values():
            await saver.aclose()


async def test_one_call_at_a_time_sends_what_it_always_sent(
    ddb_endpoint: str, table_name: str
) -> None:
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        graph = workloads.build_chat_graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": f"alone-{uuid.uuid4()}"}}
        for turn in range(3):
            await graph.ainvoke(workloads.chat_input(turn), config)
        ops = saver.stats.operations
        assert ops["checkpoint.put"].requests == ops["checkpoint.put"].calls == 9
        assert ops["checkpoint.put_writes"].requests == ops["checkpoint.put_writes"].calls


async def test_many_puts_at_once_on_one_store(ddb_endpoint: str, table_name: str) -> None:
    async with DynamoDBStore.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as store:
        namespace = ("combined", str(uuid.uuid4()))
        reference = InMemoryStore()
        await store.aput(namespace, "first", {"text": "the group's first"})
        await reference.aput(namespace, "first", {"text": "the group's first"})
        store.stats.reset()
        values = [{"text": f"note {i}", "n": i} for i in range(RUNS)]
        await asyncio.gather(*(store.aput(namespace, f"k{i}", v) for i, v in enumerate(values)))
        for i, v in enumerate(values):
            await reference.aput(namespace, f"k{i}", v)
        put = store.stats.operations["store.put"]
        # all 32 are ready in one turn of the loop (a small put reads nothing first): 25 + 7
        assert put.calls == RUNS and put.requests == 2, store.stats.requests
        got = await store.asearch(namespace, limit=100)
        want = await reference.asearch(namespace, limit=100)
        assert sorted((i.key, i.value) for i in got) == sorted((i.key, i.value) for i in want)
        writes_before = store.stats.requests.get("batch_write_item", 0)
        await asyncio.gather(*(store.adelete(namespace, f"k{i}") for i in range(RUNS)))
        deleted_in = store.stats.requests["batch_write_item"] - writes_before
        # a delete reads what it removes first; how many of their writes then meet in one
        # turn depends on when the reads come back, so only: never more than one each
        assert deleted_in <= RUNS, store.stats.requests
        left = await store.asearch(namespace, limit=100)
        assert [(i.key, i.value) for i in left] == [("first", {"text": "the group's first"})]


async def test_runs_that_start_together_share_what_they_all_write(
    ddb_endpoint: str, table_name: str
) -> None:
    """The first puts of a new group (the store's directory item) and of threads in one
    quarter hour write some items that are the very same: they go once."""
    async with DynamoDBStore.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as store:
        namespace = ("combined", str(uuid.uuid4()))
        await asyncio.gather(*(store.aput(namespace, f"k{i}", {"n": i}) for i in range(RUNS)))
        # the group's directory item, the same in all 32, once; then their items, 25 + 7
        assert store.stats.operations["store.put"].requests == 3, store.stats.requests
        assert len(await store.asearch(namespace, limit=100)) == RUNS


async def test_arequest_is_always_a_request_of_its_own(ddb_endpoint: str, table_name: str) -> None:
    """The tooling seam returns DynamoDB's own response, so it never shares."""
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        pk = f"seam-{uuid.uuid4()}"
        answers = await asyncio.gather(
            *(
                saver.arequest("put_item", Item={"pk": {"S": pk}, "sk": {"S": f"x#{i}"}})
                for i in range(8)
            )
        )
        assert all(a["ConsumedCapacity"]["CapacityUnits"] == 1.0 for a in answers)
        assert saver.stats.requests == {"put_item": 8}
        await saver.arequest(
            "batch_write_item",
            RequestItems={
                table_name: [
                    {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": f"x#{i}"}}}}
                    for i in range(8)
                ]
            },
        )


# --- reads ---------------------------------------------------------------------------------
async def test_many_gets_at_once_on_one_store_read_what_each_alone_would(
    ddb_endpoint: str, table_name: str
) -> None:
    stores = _on_and_off(DynamoDBStore, table_name, ddb_endpoint, "combine_reads")
    reference = InMemoryStore()
    namespace = ("combined-reads", str(uuid.uuid4()))
    big = {"text": os.urandom(3000).hex()}  # 6 KB after compression: two read units
    for key, value in [("a", {"n": 1}), ("b", {"n": 2}), ("big", big)]:
        await stores[True].aput(namespace, key, value)
        await reference.aput(namespace, key, value)
    # every call asks one key: some twice, one missing, one large
    keys = ["a", "b", "a", "missing", "big", "b", "a", "big"] * 4
    try:
        want = [await reference.aget(namespace, k) for k in keys]
        for on, store in stores.items():
            store.stats.reset()
            got = await asyncio.gather(*(store.aget(namespace, k) for k in keys))
            assert [(g.key, g.value) if g else None for g in got] == [
                (w.key, w.value) if w else None for w in want
            ], on
        get = {on: stores[on].stats.operations["store.get"] for on in stores}
        assert get[False].requests == get[False].calls == len(keys)
        assert get[True].calls == len(keys) and get[True].requests == 1  # four keys, once each
        # the units of reading each key once, shared among the calls
        stores[False].stats.reset()
        for k in set(keys):
            await stores[False].aget(namespace, k)
        once = stores[False].stats.operations["store.get"].read_units
        assert once >= 3  # the large value is two units
        assert get[True].read_units == pytest.approx(once)
    finally:
        for store in stores.values():
            await store.aclose()


async def test_a_get_sees_what_its_run_put_while_others_read(
    ddb_endpoint: str, table_name: str
) -> None:
    """Each run puts a value then gets it back while the other runs' gets are combined:
    every run reads its own write (a strongly consistent read sent together is sent after
    every call it carries asked)."""
    async with DynamoDBStore.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as store:
        namespace = ("read-own", str(uuid.uuid4()))

        async def run(i: int) -> Any:
            for turn in range(3):
                await store.aput(namespace, f"k{i % 8}", {"by": i, "turn": turn})
                got = await store.aget(namespace, f"k{i % 8}")
                assert got is not None
                if got.value == {"by": i, "turn": turn}:
                    continue
                # another run wrote the same key after this one: never an older value
                assert got.value["turn"] >= turn or got.value["by"] != i, (i, turn, got.value)
            return i

        await asyncio.gather(*(run(i) for i in range(RUNS)))
        get = store.stats.operations["store.get"]
        assert get.requests < get.calls, store.stats.requests


async def test_memory_runs_at_once_on_one_store_end_as_on_the_in_memory_one(
    ddb_endpoint: str, table_name: str
) -> None:
    """The bench's memory agent (a get, a search and a put a run), many at once, with
    requests combined or not: the same memories recalled and stored as on InMemoryStore."""
    stores = _on_and_off(DynamoDBStore, table_name, ddb_endpoint, "combine_reads")
    tag = str(uuid.uuid4())

    async def runs(store: Any, users: str) -> list[Any]:
        graph = workloads.build_memory_graph().compile(store=store)
        for turn in range(2):
            out = await asyncio.gather(
                *(
                    graph.ainvoke(
                        {"user": f"{users}-{i % 4}", "turn": turn * RUNS + i, "recalled": 0},
                        {"configurable": {"thread_id": f"{users}-{turn}-{i}"}},
                    )
                    for i in range(RUNS)
                )
            )
        # what a run of the first wave recalls depends on which of its user's runs put
        # first; in the second, each user has 8 memories, and each run recalls 5
        return [o["recalled"] for o in out]

    async def stored(store: Any, users: str) -> list[Any]:
        return [
            sorted(
                (i.key, i.value)
                for i in await store.asearch(("memories", f"{users}-{u}"), limit=100)
            )
            for u in range(4)
        ]

    try:
        for on, store in stores.items():
            users, reference = f"{tag}-{on}", InMemoryStore()
            assert await runs(store, users) == await runs(reference, users) == [5] * RUNS
            assert await stored(store, users) == await stored(reference, users)
        gets = {on: stores[on].stats.operations["store.get"] for on in stores}
        assert gets[True].calls == gets[False].calls == 2 * RUNS
        assert gets[True].requests < gets[False].requests == 2 * RUNS
    finally:
        for store in stores.values():
            await store.aclose()


async def test_many_lookups_at_once_on_one_cache(ddb_endpoint: str, table_name: str) -> None:
    caches = _on_and_off(DynamoDBCache, table_name, ddb_endpoint, "combine_reads")
    ns = ("combined", str(uuid.uuid4()))
    try:
        await caches[True].aset({(ns, f"k{i}"): ({"n": i}, None) for i in range(8)})
        for on, cache in caches.items():
            cache.stats.reset()
            got = await asyncio.gather(*(cache.aget([(ns, f"k{i}")]) for i in range(12)))
            assert got == [{(ns, f"k{i}"): {"n": i}} if i < 8 else {} for i in range(12)], on
        assert caches[False].stats.total_requests == 12
        assert caches[True].stats.total_requests == 1
    finally:
        for cache in caches.values():
            await cache.aclose()
