"""Transient faults: real graphs run with 20% of DynamoDB requests failing, and end in the
same state and history as a fault-free InMemorySaver run.

The faults come from ``faultproxy.FaultProxy`` (throttling, 500/503, connection resets
before and after the request took effect, read timeouts, partially processed batches).
Retries are botocore's standard mode (``boto_config``); ``UnprocessedItems`` and
``UnprocessedKeys`` are retried by the saver's own flows. The saver never sends
``TransactWriteItems``, so ``TransactionCanceledException`` cannot occur (checked below
against every request the saver makes).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import zlib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_dynamodb import DynamoDBSaver, UnavailableError, limits, schema

from ..conftest import REGION
from . import tally
from .faultproxy import ERROR_KINDS, KINDS, FaultProxy
from .graphs import SCENARIOS, run_async, run_sync

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FAULT_RATE = 0.2
READ_TIMEOUT = 2.0
WEIGHTS = {
    "throttle_provisioned": 1.0,
    "throttle_throttling": 1.0,
    "throttle_request_limit": 1.0,
    "http_500": 1.0,
    "http_503": 1.0,
    "reset": 1.5,
    "drop": 2.0,
    "stall": 0.3,
    "unprocessed": 3.0,
}
ROOT = Path(__file__).resolve().parents[2]


def retrying(max_attempts: int = 10) -> Config:
    """What a user facing a flaky network would pass as ``boto_config``."""
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=1,
        read_timeout=READ_TIMEOUT,
    )


def saver_on(proxy: FaultProxy, table: str, max_attempts: int = 10) -> DynamoDBSaver:
    return DynamoDBSaver(
        table_name=table,
        endpoint_url=proxy.endpoint_url,
        region_name=REGION,
        boto_config=retrying(max_attempts),
    )


def seed_of(request: pytest.FixtureRequest) -> int:
    return zlib.crc32(request.node.nodeid.encode())


def record(proxy: FaultProxy, saver: DynamoDBSaver, runs: int = 0) -> None:
    tally.add(
        fault_requests_failed_on_purpose=proxy.total_injected,
        fault_requests_total=proxy.total_requests,
        fault_graph_runs=runs,
        **{f"fault_kind_{k}": n for k, n in proxy.injected.items()},
    )
    print(
        f"requests {proxy.total_requests}, failed on purpose {proxy.total_injected} "
        f"{dict(proxy.injected)}, saver-level requests {saver.stats.total_requests}"
    )


def check_rate(proxy: FaultProxy) -> None:
    """The run really was under fire: a binomial share of about 20% of the requests got
    a fault (at least 5% of 40+ requests: the draws are fixed by the seed, but how many
    requests a run makes depends on timing, and 54 draws at 20% give 4 or fewer 1% of the
    time)."""
    assert proxy.total_requests >= 40, proxy.total_requests
    ratio = proxy.total_injected / proxy.total_requests
    assert 0.25 * FAULT_RATE <= ratio <= 2 * FAULT_RATE, (ratio, proxy.total_requests)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_graph_sync_under_faults(
    name: str,
    ddb_endpoint: str,
    table_name: str,
    thread_id: str,
    fast_backoff: None,
    request: pytest.FixtureRequest,
) -> None:
    scenario = SCENARIOS[name]
    expected = run_sync(InMemorySaver(), scenario, "reference")
    with (
        FaultProxy(ddb_endpoint, rate=FAULT_RATE, seed=seed_of(request), weights=WEIGHTS) as proxy,
        saver_on(proxy, table_name) as saver,
    ):
        got = run_sync(saver, scenario, thread_id)
        record(proxy, saver, runs=1)
        check_rate(proxy)
    assert got["final"] == expected["final"]
    assert got["history"] == expected["history"]
    with DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.delete_thread(thread_id)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_graph_async_under_faults(
    name: str,
    ddb_endpoint: str,
    table_name: str,
    thread_id: str,
    fast_backoff: None,
    request: pytest.FixtureRequest,
) -> None:
    scenario = SCENARIOS[name]
    expected = await run_async(InMemorySaver(), scenario, "reference")
    with FaultProxy(ddb_endpoint, rate=FAULT_RATE, seed=seed_of(request), weights=WEIGHTS) as proxy:
        async with saver_on(proxy, table_name) as saver:
            got = await run_async(saver, scenario, thread_id)
            record(proxy, saver, runs=1)
            check_rate(proxy)
            await saver.adelete_thread(thread_id)
    assert got["final"] == expected["final"]
    assert got["history"] == expected["history"]


RUNS_AT_ONCE = 12


@pytest.mark.parametrize("name", ["chat", "fanout", "large"])
async def test_many_runs_at_once_under_faults(
    name: str,
    ddb_endpoint: str,
    table_name: str,
    fast_backoff: None,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Runs at once on one saver share requests (``combine_writes``): under faults a
    shared BatchWriteItem is reset, stalled, refused or partly processed, and every run
    still ends as alone on InMemorySaver."""
    caplog.set_level(logging.DEBUG, logger="langgraph_dynamodb.requests")
    scenario = SCENARIOS[name]
    expected = await run_async(InMemorySaver(), scenario, "reference")
    threads = [f"at-once-{name}-{i}-{uuid.uuid4()}" for i in range(RUNS_AT_ONCE)]
    with FaultProxy(ddb_endpoint, rate=FAULT_RATE, seed=seed_of(request), weights=WEIGHTS) as proxy:
        async with saver_on(proxy, table_name) as saver:
            got = await asyncio.gather(*(run_async(saver, scenario, t) for t in threads))
            record(proxy, saver, runs=RUNS_AT_ONCE)
            check_rate(proxy)
            shared = [r for r in caplog.records if getattr(r, "ddb_call", "") == "combined"]
            tally.add(fault_shared_requests=len(shared))
            assert shared  # they did share (how often depends on timing)
            await asyncio.gather(*(saver.adelete_thread(t) for t in threads))
    for one in got:
        assert one["final"] == expected["final"]
        assert one["history"] == expected["history"]


def _checkpoint(values: dict[str, Any]) -> Any:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6(clock_seq=-1))
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = {k: f"{1:032}.0" for k in values}
    return cp


def _exercise(saver: DynamoDBSaver, thread_id: str) -> None:
    """Every kind of request: puts (with chunks), writes, reads, batch deletes."""
    cfg = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    big = {"blob": b"\x01" * 10 + uuid.uuid4().bytes * 30_000}  # ~480 KB, 2 chunks
    stored = saver.put(cfg, _checkpoint(big), {"step": 0}, {"blob": f"{1:032}.0"})
    saver.put_writes(stored, [("a", 1), ("b", b"\x02" * 400_000)], "task-1")
    tup = saver.get_tuple(stored)
    assert tup is not None and tup.checkpoint["channel_values"] == big
    assert sorted((c, v if isinstance(v, int) else len(v)) for _, c, v in tup.pending_writes) == [
        ("a", 1),
        ("b", 400_000),
    ]
    assert len(list(saver.list({"configurable": {"thread_id": thread_id}}))) == 1
    saver.copy_thread(thread_id, thread_id + "-copy")
    saver.delete_thread(thread_id)
    saver.delete_thread(thread_id + "-copy")
    assert saver.get_tuple(cfg) is None


@pytest.mark.parametrize("kind", KINDS)
def test_each_fault_kind_is_survived(
    kind: str, ddb_endpoint: str, table_name: str, thread_id: str, fast_backoff: None
) -> None:
    weights = {k: (1.0 if k == kind else 0.0) for k in KINDS}
    with (
        FaultProxy(
            ddb_endpoint,
            rate=0.3 if kind != "stall" else 0.1,
            seed=kind,
            weights=weights,
            stall_seconds=READ_TIMEOUT + 0.2,
            ops=frozenset({"BatchWriteItem", "BatchGetItem"}) if kind == "unprocessed" else None,
        ) as proxy,
        saver_on(proxy, table_name) as saver,
    ):
        _exercise(saver, thread_id)
        record(proxy, saver)
    assert proxy.injected[kind] > 0, dict(proxy.requests)


PERSISTENT = [
    (kind, ("sync", "async")[i % 2]) for i, kind in enumerate([*ERROR_KINDS, "reset"])
] + [("reset", "sync"), ("throttle_provisioned", "async")]


@pytest.mark.parametrize(("kind", "mode"), PERSISTENT)
async def test_persistent_faults_give_a_clear_error(
    kind: str, mode: str, ddb_endpoint: str, table_name: str, thread_id: str, fast_backoff: None
) -> None:
    """When every attempt fails, the caller gets ``UnavailableError`` naming the action."""
    weights = {k: (1.0 if k == kind else 0.0) for k in KINDS}
    cfg = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    with FaultProxy(ddb_endpoint, rate=1.0, seed=1, weights=weights) as proxy:
        saver = saver_on(proxy, table_name, max_attempts=3)
        with pytest.raises(UnavailableError, match="dynamodb:Query") as info:
            if mode == "sync":
                with saver:
                    saver.get_tuple(cfg)
            else:
                async with saver:
                    await saver.aget_tuple(cfg)
        assert proxy.total_requests == 4  # max_attempts counts retries: 1 + 3 attempts
        tally.add(fault_requests_failed_on_purpose=proxy.total_injected)
    assert info.value.__cause__ is not None  # raised from the botocore error


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_unprocessed_items_forever_give_a_clear_error(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str, fast_backoff: None
) -> None:
    """DynamoDB never processing a batch: bounded retries, then ``UnavailableError``."""
    with DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.put(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}},
            _checkpoint({"x": 1}),
            {},
            {"x": f"{1:032}.0"},
        )
    weights = {k: (1.0 if k == "unprocessed" else 0.0) for k in KINDS}
    with FaultProxy(
        ddb_endpoint, rate=1.0, seed=2, weights=weights, ops=frozenset({"BatchWriteItem"})
    ) as proxy:
        saver = saver_on(proxy, table_name)
        with pytest.raises(UnavailableError, match="unprocessed"):
            if mode == "sync":
                with saver:
                    saver.delete_thread(thread_id)
            else:
                async with saver:
                    await saver.adelete_thread(thread_id)
        assert proxy.requests["BatchWriteItem"] == limits.UNPROCESSED_MAX_ATTEMPTS
        tally.add(fault_requests_failed_on_purpose=proxy.total_injected)
    with DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.delete_thread(thread_id)


def test_local_ignores_signatures(ddb_endpoint: str, table_name: str) -> None:
    """The proxy rewrites batch bodies; DynamoDB Local must serve a request whose body no
    longer matches its SigV4 signature (real DynamoDB would reject it)."""
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    pk = f"t#sig-{uuid.uuid4()}"

    def tamper(request: Any, **_: Any) -> None:
        request.body = request.body.replace(b"signed-value", b"forged-value")
        request.headers["Content-Length"] = str(len(request.body))

    client.meta.events.register("before-send.dynamodb.PutItem", tamper)
    item = {"pk": {"S": pk}, "sk": {"S": "x#sig"}, "k": {"S": "signed-value"}}
    client.put_item(TableName=table_name, Item=item)
    got = client.get_item(TableName=table_name, Key={"pk": {"S": pk}, "sk": {"S": "x#sig"}})
    assert got["Item"]["k"]["S"] == "forged-value"
    client.delete_item(TableName=table_name, Key={"pk": {"S": pk}, "sk": {"S": "x#sig"}})


#: The DynamoDB actions each feature needs, as docs/security.md lists them.
FEATURE_ACTIONS = {
    "setup": {"DescribeTable", "CreateTable", "PutItem", "DescribeTimeToLive", "UpdateTimeToLive"},
    "graph": {"Query", "PutItem", "GetItem", "BatchGetItem", "BatchWriteItem"},
    "delete_thread": {"Query", "BatchWriteItem"},
    "copy_thread": {"Query", "BatchWriteItem"},
    "prune": {"Query", "BatchGetItem", "BatchWriteItem", "PutItem"},
    "delete_for_runs": {"Scan", "Query", "BatchGetItem", "BatchWriteItem", "PutItem"},
    "list_all_threads": {"Scan", "BatchGetItem"},
}


def test_requests_stay_within_the_documented_iam_actions(ddb_endpoint: str, thread_id: str) -> None:
    """Every request the saver sends, per feature, is an action docs/security.md lists
    for that feature; no transactions (so no TransactionCanceledException)."""
    seen: dict[str, set[str]] = {}
    table = f"iam-{uuid.uuid4().hex[:8]}"
    with FaultProxy(ddb_endpoint) as proxy:
        saver = DynamoDBSaver(
            table_name=table, endpoint_url=proxy.endpoint_url, region_name=REGION, ttl=3600
        )
        with saver, proxy.journal() as ops:
            saver.setup()
            seen["setup"] = set(ops)
            ops.clear()
            run_sync(saver, SCENARIOS["large"], thread_id)
            run_sync(saver, SCENARIOS["interrupt"], thread_id + "-i")
            seen["graph"] = set(ops)
            for name, call in [
                ("list_all_threads", lambda: list(saver.list(None, limit=3))),
                ("copy_thread", lambda: saver.copy_thread(thread_id, thread_id + "-c")),
                ("prune", lambda: saver.prune([thread_id + "-c"])),
                ("delete_for_runs", lambda: saver.delete_for_runs(["no-such-run"])),
                ("delete_thread", lambda: saver.delete_thread(thread_id)),
            ]:
                ops.clear()
                call()
                seen[name] = set(ops)
        boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION).delete_table(
            TableName=table
        )
    for feature, actions in seen.items():
        assert actions <= FEATURE_ACTIONS[feature], (feature, actions - FEATURE_ACTIONS[feature])
        assert not any(a.startswith("Transact") for a in actions)
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for action in set().union(*FEATURE_ACTIONS.values()):
        assert f"dynamodb:{action}" in doc, action
    assert schema.TTL in doc
