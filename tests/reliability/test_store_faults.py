"""The store with 20% of its DynamoDB requests failing (throttling, 5xx, resets before
and after the request took effect, stalls, partial batches): the same answers and the
same final contents as a fault-free ``InMemoryStore``, sync and async."""

from __future__ import annotations

import asyncio
import random
import uuid
import zlib
from typing import Any

import pytest
from langgraph.store.base import PutOp
from langgraph.store.memory import InMemoryStore

from langgraph_dynamodb import DynamoDBStore

from ..conftest import REGION
from ..integration.test_store import INDEX, WORDS
from . import tally
from .faultproxy import FaultProxy
from .test_faults import FAULT_RATE, WEIGHTS, retrying

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _workload(seed: int) -> list[tuple[str, Any]]:
    rng = random.Random(seed)
    steps: list[tuple[str, Any]] = []
    for round_ in range(10):
        ops = [
            PutOp(
                ("mem", f"u{rng.randrange(4)}", *([f"s{rng.randrange(2)}"] * rng.randrange(2))),
                f"k{rng.randrange(12)}",
                {"text": rng.choice(WORDS), "n": rng.randrange(5)},
            )
            for _ in range(30)
        ]
        steps.append(("batch", ops))
        steps.append(("delete", (("mem", f"u{rng.randrange(4)}"), f"k{rng.randrange(12)}")))
        steps.append(("get", (("mem", f"u{rng.randrange(4)}"), f"k{rng.randrange(12)}")))
        steps.append(("search", (("mem",), {"n": {"$gte": round_ % 3}})))
        steps.append(("query", (("mem", f"u{rng.randrange(4)}"), rng.choice(WORDS))))
        steps.append(("list", ("mem",)))
    return steps


def _answer(kind: str, result: Any) -> Any:
    if kind == "get":
        return None if result is None else (result.key, result.value)
    if kind == "search":
        return sorted((tuple(i.namespace), i.key, repr(i.value)) for i in result)
    if kind == "query":  # scores in order; ties may list their items either way
        return (
            [round(i.score, 5) for i in result if i.score is not None],
            sorted((round(i.score, 5), i.key) for i in result if i.score is not None),
        )
    return result


async def _run(store: DynamoDBStore, oracle: InMemoryStore, mode: str, seed: int) -> int:
    compared = 0
    for kind, arg in _workload(seed):

        async def call(name: str, *args: Any, **kwargs: Any) -> Any:
            if mode == "sync":
                return await asyncio.to_thread(getattr(store, name), *args, **kwargs)
            return await getattr(store, "a" + name)(*args, **kwargs)

        if kind == "batch":
            await call("batch", arg)
            for op in arg:  # one by one: InMemoryStore cannot embed one text twice a batch
                oracle.put(op.namespace, op.key, op.value)
            continue
        if kind == "delete":
            await call("delete", *arg)
            oracle.delete(*arg)
            continue
        if kind == "get":
            got, expected = await call("get", *arg), oracle.get(*arg)
        elif kind == "search":
            got = await call("search", arg[0], filter=arg[1], limit=1000)
            expected = oracle.search(arg[0], filter=arg[1], limit=1000)
        elif kind == "query":
            got = await call("search", arg[0], query=arg[1], limit=100)
            expected = oracle.search(arg[0], query=arg[1], limit=100)
        else:
            got = await call("list_namespaces", prefix=arg)
            expected = [
                ns
                for ns in oracle.list_namespaces(prefix=arg)
                if oracle.search(ns, limit=1)
                and any(i.namespace == ns for i in oracle.search(ns, limit=1000))
            ]
        assert _answer(kind, got) == _answer(kind, expected), kind
        compared += 1
    return compared


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_store_answers_through_faults_as_without(
    mode: str, ddb_endpoint: str, request: pytest.FixtureRequest, fast_backoff: None
) -> None:
    seed = zlib.crc32(request.node.nodeid.encode())
    table = f"store-faults-{uuid.uuid4().hex[:8]}"
    with DynamoDBStore.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as plain:
        plain.setup()
    with FaultProxy(ddb_endpoint, rate=FAULT_RATE, seed=seed, weights=WEIGHTS) as proxy:
        async with DynamoDBStore.from_table(
            table,
            endpoint_url=proxy.endpoint_url,
            region_name=REGION,
            boto_config=retrying(),
            index=INDEX,
        ) as store:
            oracle = InMemoryStore(index=INDEX)
            compared = await _run(store, oracle, mode, seed)
            proxy.disarm()
            everything = await asyncio.to_thread(store.search, (), limit=10_000)
            expected = oracle.search((), limit=10_000)
            assert sorted((tuple(i.namespace), i.key, repr(i.value)) for i in everything) == sorted(
                (tuple(i.namespace), i.key, repr(i.value)) for i in expected
            )
    # faults did happen, of many kinds (about FAULT_RATE of the requests: one root is one
    # partition, so a cross-user read is one Query and there are fewer requests to hit)
    assert proxy.total_injected >= 10 and len(proxy.injected) >= 5, proxy.injected
    tally.add(
        store_fault_requests_failed_on_purpose=proxy.total_injected,
        store_fault_answers_compared=compared,
    )
