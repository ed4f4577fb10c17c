"""A Lambda cold start's requests (issue 24, Must 4): counts only, never times.

The saver made in the init phase, as the README advises, sends one ``DescribeTable``
(``setup()``: the table is there and its keys are the saver's; the connection is open
before the first request) and nothing else until the first ``invoke``, whose chat turn is
one request per checkpointer call: one ``Query`` and five ``PutItem`` (the new thread's
first checkpoint a ``BatchWriteItem`` with its thread directory entry). A saver used
without ``setup()`` sends no set-up request on first use. The benchmark's cold-start
sample (``bench/coldstart_sample.py``, a fresh process, through the counting proxy) sees
the same, and its report (``bench/coldstart_report.py``) shows them.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION, load_bench_module

pytestmark = pytest.mark.integration

workloads = load_bench_module("workloads")
coldstart = load_bench_module("coldstart")
coldstart_report = load_bench_module("coldstart_report")

INIT = {"describe_table": 1}
"""``setup()`` in the init phase: one DescribeTable (no ``ttl=``, the table exists)."""
CHAT_TURN = {"query": 1, "put_item": 5}
"""LangGraph's six checkpointer calls of a chat turn: get_tuple, then three put and two
put_writes, one request each."""
FIRST_TURN = {"query": 1, "batch_write_item": 1, "put_item": 4}
"""A new thread's first turn: its first checkpoint goes with its thread directory entry."""


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}


def _turn(saver: DynamoDBSaver, graph: Any, turn: int, thread: str) -> dict[str, int]:
    before = dict(saver.stats.requests)
    graph.invoke(workloads.chat_input(turn), {"configurable": {"thread_id": thread}})
    return _delta(before, dict(saver.stats.requests))


@pytest.mark.parametrize("setup", [True, False], ids=["setup-in-init", "no-setup"])
def test_a_fresh_saver_sends_only_what_each_call_needs(
    ddb_endpoint: str, table_name: str, setup: bool
) -> None:
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    with saver:
        assert dict(saver.stats.requests) == {}  # making it sends nothing
        if setup:
            saver.setup(prepare_async=False)
            assert dict(saver.stats.requests) == INIT
        before = dict(saver.stats.requests)
        graph = workloads.build_chat_graph().compile(checkpointer=saver)
        assert dict(saver.stats.requests) == before  # compiling sends nothing
        thread = f"cold-{uuid.uuid4()}"
        assert _turn(saver, graph, 0, thread) == FIRST_TURN  # no set-up request on first use
        assert _turn(saver, graph, 1, thread) == CHAT_TURN


def test_the_bench_sample_counts_a_fresh_process(ddb_endpoint: str, table_name: str) -> None:
    proxy_module = load_bench_module("proxy")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = coldstart.sample_env(
        dict(
            os.environ,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION=REGION,
            PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        )
    )
    scope = f"test/{uuid.uuid4().hex[:8]}/ours/coldstart/1"
    with proxy_module.CountingProxy(ddb_endpoint) as proxy:
        got = coldstart.sample(
            Path(sys.executable), "ours", table_name, proxy.endpoint_url, REGION, scope, env
        )
        assert "error" not in got, got.get("error")
        got["requests"] = coldstart.counted(proxy.endpoint_url, scope)
    assert got["requests"]["init"] == {"requests": 1, "targets": {"DescribeTable": 1}}
    first = {"requests": 6, "targets": {"BatchWriteItem": 1, "PutItem": 4, "Query": 1}}
    assert got["requests"]["first"] == first
    assert got["requests"]["second"] == {"requests": 6, "targets": {"PutItem": 5, "Query": 1}}
    assert set(got["ms"]) == set(coldstart.TIMES)
    assert got["peak_rss_mb"] >= got["rss_after_import_mb"] > 0

    summary = coldstart.summarize([got, got, {"error": "boom"}])
    assert (summary["n"], summary["errors"]) == (2, 1)
    assert summary["first.requests"] == 6
    assert summary["first.targets"] == first["targets"]
    assert summary["cold.median_ms"] == round(got["cold_ms"], 1)
    saver = {"label": "ours", "workloads": {"coldstart": {"summary": summary}}}
    figures = coldstart_report.figures(saver)
    assert figures["coldstart.first.requests"] == 6
    table = coldstart_report.table(["ours"], {"ours": "ours"}, {"ours": figures})
    assert "| requests of the first invoke | 6 (BatchWriteItem 1, PutItem 4, Query 1) |" in table
    assert "| requests of init | 1 (DescribeTable 1) |" in table
