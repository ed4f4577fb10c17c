"""Pin the round trips of each checkpointer operation (not timings), so a regression fails CI.

The benchmark's graphs (``bench/workloads.py``) run through LangGraph, sync and async, on
a saver that records, for every call of the checkpointer API, how many requests it made
(the difference in ``saver.stats``). Calls are serialized while counted, so concurrent
``put_writes`` of parallel tasks do not mix their counts; what each call sends is
unchanged. The figures pinned are issue 3's: ``put`` 1, ``put_writes`` 1, ``get_tuple``
(latest or by id, pending writes included) 1, ``list`` 1 per page of at least 25
checkpoints with their writes.
"""

from __future__ import annotations

import asyncio
import math
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION, load_bench_module

pytestmark = pytest.mark.integration

LIST_PAGE_CHECKPOINTS = 25
"""A ``list`` page holds at least this many checkpoints with their writes."""


workloads = load_bench_module("workloads")

_inside: ContextVar[bool] = ContextVar("request_count_inside", default=False)


@dataclass(frozen=True)
class CallCount:
    """One checkpointer call and the DynamoDB requests it made."""

    op: str
    requests: dict[str, int]
    rows: int | None = None

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}


class CountingSaver(DynamoDBSaver):
    """``DynamoDBSaver`` recording the requests of each outermost API call.

    LangGraph copies the saver per run (``with_allowlist``); the copies share ``calls``,
    the locks and ``stats``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[CallCount] = []
        self._sync_lock = threading.RLock()
        self._async_lock = asyncio.Lock()

    def of(self, op: str) -> list[CallCount]:
        return [c for c in self.calls if c.op == op]

    # --- counting wrappers -----------------------------------------------------------------
    def _count(self, op: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return fn(*args, **kwargs)
        with self._sync_lock:
            token = _inside.set(True)
            before = dict(self.stats.requests)
            try:
                return fn(*args, **kwargs)
            finally:
                _inside.reset(token)
                self.calls.append(CallCount(op, _delta(before, self.stats.requests)))

    async def _acount(self, op: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return await fn(*args, **kwargs)
        async with self._async_lock:
            token = _inside.set(True)
            before = dict(self.stats.requests)
            try:
                return await fn(*args, **kwargs)
            finally:
                _inside.reset(token)
                self.calls.append(CallCount(op, _delta(before, self.stats.requests)))

    def get_tuple(self, config: Any) -> Any:
        return self._count("get_tuple", super().get_tuple, config)

    async def aget_tuple(self, config: Any) -> Any:
        return await self._acount("get_tuple", super().aget_tuple, config)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        return self._count("put", super().put, *args, **kwargs)

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        return await self._acount("put", super().aput, *args, **kwargs)

    def put_writes(self, *args: Any, **kwargs: Any) -> Any:
        return self._count("put_writes", super().put_writes, *args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> Any:
        return await self._acount("put_writes", super().aput_writes, *args, **kwargs)

    def list(self, config: Any, **kwargs: Any) -> Iterator[Any]:
        if _inside.get():
            yield from super().list(config, **kwargs)
            return
        iterator = super().list(config, **kwargs)
        totals: dict[str, int] = {}
        rows = 0
        try:
            while True:
                with self._sync_lock:
                    before = dict(self.stats.requests)
                    try:
                        item = next(iterator)
                    except StopIteration:
                        break
                    finally:
                        for k, n in _delta(before, self.stats.requests).items():
                            totals[k] = totals.get(k, 0) + n
                rows += 1
                yield item
        finally:
            iterator.close()
            self.calls.append(CallCount("list", totals, rows))

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if _inside.get():
            async for item in super().alist(config, **kwargs):
                yield item
            return
        iterator = super().alist(config, **kwargs)
        totals: dict[str, int] = {}
        rows = 0
        try:
            while True:
                async with self._async_lock:
                    before = dict(self.stats.requests)
                    try:
                        item = await iterator.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        for k, n in _delta(before, self.stats.requests).items():
                            totals[k] = totals.get(k, 0) + n
                rows += 1
                yield item
        finally:
            await iterator.aclose()
            self.calls.append(CallCount("list", totals, rows))


# --- fixtures and helpers ------------------------------------------------------------------
@pytest.fixture
async def counting(ddb_endpoint: str, table_name: str) -> AsyncIterator[CountingSaver]:
    saver = CountingSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    try:
        yield saver
    finally:
        await saver.aclose()


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _show(calls: list[CallCount]) -> str:
    return ", ".join(f"{c.total} {c.requests}" for c in calls)


def assert_one_request_each(saver: CountingSaver, ops: tuple[str, ...]) -> None:
    for op in ops:
        calls = saver.of(op)
        assert calls, f"no {op} call was recorded"
        off = [c for c in calls if c.total != 1]
        assert not off, (
            f"{op}: {len(off)} of {len(calls)} calls did not make exactly 1 request: {_show(off)}"
        )


def assert_list_pages(saver: CountingSaver) -> None:
    for call in saver.of("list"):
        pages = max(1, math.ceil((call.rows or 0) / LIST_PAGE_CHECKPOINTS))
        assert call.total <= pages, (
            f"list returned {call.rows} checkpoints in {call.total} requests "
            f"({call.requests}); at most {pages} expected (1 per {LIST_PAGE_CHECKPOINTS})"
        )


class Runner:
    """Drives a compiled graph through the sync or the async API."""

    def __init__(self, graph: Any, mode: str) -> None:
        self.graph = graph
        self.mode = mode

    async def invoke(self, inputs: Any, config: dict[str, Any]) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(self.graph.invoke, inputs, config)
        return await self.graph.ainvoke(inputs, config)

    async def get_state(self, config: dict[str, Any]) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(self.graph.get_state, config)
        return await self.graph.aget_state(config)

    async def history(self, config: dict[str, Any], **kwargs: Any) -> list[Any]:
        if self.mode == "sync":
            return await asyncio.to_thread(
                lambda: list(self.graph.get_state_history(config, **kwargs))
            )
        return [s async for s in self.graph.aget_state_history(config, **kwargs)]


# --- tests ---------------------------------------------------------------------------------
CHAT_TURNS = 9
"""27 checkpoints: more than one list page of 25, still a fast test."""


async def test_chat_request_counts(counting: CountingSaver, mode: str) -> None:
    graph = workloads.build_chat_graph().compile(checkpointer=counting)
    run = Runner(graph, mode)
    thread = f"chat-{uuid.uuid4()}"
    for turn in range(CHAT_TURNS):
        await run.invoke(workloads.chat_input(turn), _config(thread))
    # LangGraph makes 6 calls a turn: get_tuple, then put + put_writes three times.
    assert len(counting.of("get_tuple")) == CHAT_TURNS
    assert len(counting.of("put")) == 3 * CHAT_TURNS
    assert len(counting.of("put_writes")) == 2 * CHAT_TURNS

    latest = await run.get_state(_config(thread))
    assert len(latest.values["messages"]) == 2 * CHAT_TURNS
    history = await run.history(_config(thread))
    assert len(history) == 3 * CHAT_TURNS
    middle = history[len(history) // 2].config["configurable"]["checkpoint_id"]
    by_id = await run.get_state(_config(thread, middle))
    assert by_id.config["configurable"]["checkpoint_id"] == middle
    page = await run.history(_config(thread), limit=10)
    assert len(page) == 10

    assert_one_request_each(counting, ("get_tuple", "put", "put_writes"))
    assert_list_pages(counting)
    assert [c.rows for c in counting.of("list")] == [3 * CHAT_TURNS, 10]
    assert counting.of("list")[-1].total == 1


async def test_fanout_request_counts(counting: CountingSaver, mode: str) -> None:
    agents = 6
    graph = workloads.build_fanout_graph(agents=agents).compile(checkpointer=counting)
    run = Runner(graph, mode)
    thread = f"fanout-{uuid.uuid4()}"
    out = await run.invoke({"topic": "request counts"}, _config(thread))
    assert len(out["findings"]) == agents
    # get_tuple, 4 checkpoints, and the writes of the input, each agent and the join.
    assert len(counting.of("get_tuple")) == 1
    assert len(counting.of("put")) == 4
    assert len(counting.of("put_writes")) == agents + 2

    state = await run.get_state(_config(thread))
    assert len(state.values["findings"]) == agents
    history = await run.history(_config(thread))
    assert len(history) == 4

    assert_one_request_each(counting, ("get_tuple", "put", "put_writes"))
    assert_list_pages(counting)


async def test_runs_are_marked_in_the_put_and_deleted_without_a_scan(
    counting: CountingSaver, mode: str
) -> None:
    """As under the Agent Server (a ``run_id`` in every run's metadata): a run's first
    ``put`` in a thread is still one request (a BatchWriteItem of the head and the run's
    marker); ``delete_for_runs`` Queries the markers, never scans, and makes as many
    requests on a table of 40 other threads as on one of none."""
    graph = workloads.build_chat_graph().compile(checkpointer=counting)
    run = Runner(graph, mode)
    thread = f"runs-{uuid.uuid4()}"
    runs = [str(uuid.uuid4()) for _ in range(3)]

    def in_run(run_id: str) -> dict[str, Any]:
        return {**_config(thread), "metadata": {"run_id": run_id}}

    for turn, run_id in enumerate(runs):
        await run.invoke(workloads.chat_input(turn), in_run(run_id))
    puts = counting.of("put")
    assert_one_request_each(counting, ("get_tuple", "put", "put_writes"))
    assert [c.requests for c in puts] == [  # each run's first put carries its marker
        {"batch_write_item": 1} if i % 3 == 0 else {"put_item": 1} for i in range(9)
    ]

    async def delete(run_ids: list[str]) -> dict[str, int]:
        before = dict(counting.stats.requests)
        if mode == "sync":
            await asyncio.to_thread(counting.delete_for_runs, run_ids)
        else:
            await counting.adelete_for_runs(run_ids)
        return _delta(before, counting.stats.requests)

    alone = await delete([runs[2]])  # the latest run: no survivor is made of its heads
    assert alone == {"query": 2, "batch_write_item": 1}  # markers, the thread, deletes
    for other in range(40):  # the table grows; the next deletion's cost does not
        await run.invoke(
            workloads.chat_input(0),
            {
                "configurable": {"thread_id": f"{thread}-{other}"},
                "metadata": {"run_id": f"o{other}"},
            },
        )
    assert await delete([runs[1]]) == alone
    state = await run.get_state(_config(thread))
    assert len(state.values["messages"]) == 2  # the first run's turn is left
    assert await delete(["never-ran"]) == {"query": 1}
    raw = counting.client.query(
        TableName=counting.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"u#{runs[0]}#"}},
    )["Items"]
    assert [i["sk"]["S"] for i in raw] == [f"t#{thread}#"]
    await run.invoke(workloads.chat_input(5), in_run("last"))
    await asyncio.to_thread(counting.prune, [thread], strategy="keep_latest")
    for run_id, left in ((runs[0], []), ("last", [f"t#{thread}#"])):  # pruned runs' markers go
        found = counting.client.query(
            TableName=counting.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"u#{run_id}#"}},
        )["Items"]
        assert [i["sk"]["S"] for i in found] == left
    await asyncio.to_thread(counting.delete_thread, thread)
    for run_id in [runs[0], "last"]:  # the markers of the thread's runs went with it
        gone = counting.client.query(
            TableName=counting.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"u#{run_id}#"}},
        )["Items"]
        assert gone == []
