"""The drivers' forks: independent sub-flows run concurrently, results in order, the first
error raised once every sub-flow has stopped, capacity counted from every thread."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from langgraph_dynamodb import _drivers, errors, steps
from langgraph_dynamodb.stats import CallStats
from langgraph_dynamodb.steps import Fork, Request

WHERE = steps.Where("t", "eu-west-1", None)


class SlowClient:
    """Answers each query after ``delay`` seconds, noting how many were in flight."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def query(self, **params: Any) -> Any:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(self.delay)
        with self.lock:
            self.in_flight -= 1
        if params.get("fail"):
            raise RuntimeError("boom")
        return {"Items": [params["n"]], "ConsumedCapacity": {"CapacityUnits": 0.5}}


class AsyncSlowClient(SlowClient):
    async def query(self, **params: Any) -> Any:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        if params.get("fail"):
            raise RuntimeError("boom")
        return {"Items": [params["n"]], "ConsumedCapacity": {"CapacityUnits": 0.5}}


def sub(n: int, *, fail: bool = False, closed: list[int] | None = None) -> Any:
    try:
        first = yield Request("query", {"n": n, "fail": fail})
        second = yield Request("query", {"n": n * 10})
        return first["Items"] + second["Items"]
    finally:
        if closed is not None:
            closed.append(n)


def parent(flows: list[Any]) -> Any:
    results = yield Fork(tuple(flows))
    return results


def test_sync_fork_runs_concurrently_in_order() -> None:
    client, stats = SlowClient(), CallStats()
    started = time.perf_counter()
    out = _drivers.run_sync(parent([sub(i) for i in range(6)]), client, stats, WHERE)
    elapsed = time.perf_counter() - started
    assert out == [[i, i * 10] for i in range(6)]
    assert client.most == 6
    assert elapsed < 12 * client.delay / 2  # not one after the other
    assert stats.requests == {"query": 12} and stats.read_units == 6.0


def test_sync_fork_raises_the_error_after_every_sub_flow_stopped() -> None:
    client, closed = SlowClient(), []
    flows = [sub(0, closed=closed), sub(1, fail=True, closed=closed), sub(2, closed=closed)]
    with pytest.raises(RuntimeError, match="boom"):
        _drivers.run_sync(parent(flows), client, CallStats(), WHERE)
    assert sorted(closed) == [0, 1, 2] and client.in_flight == 0


def test_async_fork_runs_concurrently_in_order() -> None:
    client, stats = AsyncSlowClient(), CallStats()
    out = asyncio.run(_drivers.run_async(parent([sub(i) for i in range(5)]), client, stats, WHERE))
    assert out == [[i, i * 10] for i in range(5)]
    assert client.most == 5
    assert stats.requests == {"query": 10}


def test_async_fork_cancels_the_others_on_an_error() -> None:
    client, closed = AsyncSlowClient(), []
    flows = [sub(0, closed=closed), sub(1, fail=True, closed=closed), sub(2, closed=closed)]
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(_drivers.run_async(parent(flows), client, CallStats(), WHERE))
    assert sorted(closed) == [0, 1, 2]


def test_a_translated_error_in_a_sub_flow_keeps_its_type() -> None:
    class Throttled:
        def query(self, **params: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "m"}}, "Query")

    with pytest.raises(errors.UnavailableError):
        _drivers.run_sync(parent([sub(0), sub(1)]), Throttled(), CallStats(), WHERE)


def test_stats_count_every_thread() -> None:
    stats = CallStats()

    def hammer() -> None:
        for _ in range(2000):
            stats.record("query", {"ConsumedCapacity": {"CapacityUnits": 1}})

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.requests["query"] == 16000 and stats.read_units == 16000
