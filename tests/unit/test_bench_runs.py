"""The counting of the benchmark's run-deletion workload (``python -m bench --workloads
runs``): the Scan it sends as the old ``delete_for_runs`` did (``bench/runs_workloads.py``),
the per-call and per-run figures of its report (``bench/runs_report.py``) and its place
in the command line. They back the figures in docs/performance.md, so the arithmetic is
pinned here; counts only, never times.
"""

from __future__ import annotations

from typing import Any

import pytest

from langgraph_dynamodb import schema

from ..conftest import load_bench_module

runs_workloads = load_bench_module("runs_workloads")
runs_report = load_bench_module("runs_report")
ddbsize = load_bench_module("ddbsize")
cli = load_bench_module("cli")


def test_the_old_scan_is_the_request_delete_for_runs_sent() -> None:
    params = runs_workloads.old_scan("tbl", ["run-a", "run-b"])
    assert params == {
        "TableName": "tbl",
        "FilterExpression": "#rid IN (:r0, :r1)",
        "ExpressionAttributeNames": {"#rid": "rid", "#pk": "pk", "#sk": "sk", "#tid": "tid"},
        "ExpressionAttributeValues": {":r0": {"S": "run-a"}, ":r1": {"S": "run-b"}},
        "ProjectionExpression": "#pk, #sk, #tid",
        "ConsistentRead": True,
    }
    # The attribute names are the stored format's (heads carry ``rid``).
    assert params["ExpressionAttributeNames"] == schema.names(
        schema.N_RUN_ID, schema.N_PK, schema.N_SK, schema.N_THREAD
    )
    assert (
        len(
            runs_workloads.old_scan("tbl", [str(i) for i in range(100)])[
                "ExpressionAttributeValues"
            ]
        )
        == 100
    )
    with pytest.raises(ValueError):
        runs_workloads.old_scan("tbl", [str(i) for i in range(101)])  # the old code split
    with pytest.raises(ValueError):
        runs_workloads.old_scan("tbl", [])


class Pages:
    """A client whose Scan answers in pages, as DynamoDB does past 1 MB."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.asked: list[dict[str, Any]] = []

    def scan(self, **params: Any) -> dict[str, Any]:
        self.asked.append(params)
        i = len(self.asked) - 1
        out: dict[str, Any] = {"Items": self.pages[i]}
        if i + 1 < len(self.pages):
            out["LastEvaluatedKey"] = {"pk": {"S": f"page-{i}"}}
        return out


def test_paginate_follows_last_evaluated_key_and_threads_come_from_the_keys() -> None:
    t1 = schema.thread_pk("thread-1")
    t2 = schema.thread_pk("thread-2")
    client = Pages(
        [
            [{"pk": {"S": t1}, "sk": {"S": "c#a"}}],
            [],  # a page can come back empty (the filter dropped everything on it)
            [{"pk": {"S": t1}, "sk": {"S": "c#b"}}, {"pk": {"S": t2}, "sk": {"S": "c#c"}}],
        ]
    )
    items, times = runs_workloads.paginate(client, "scan", {"TableName": "tbl"})
    assert len(times) == 3 and len(items) == 3  # a time per page
    assert [a.get("ExclusiveStartKey") for a in client.asked] == [
        None,
        {"pk": {"S": "page-0"}},
        {"pk": {"S": "page-1"}},
    ]
    assert runs_workloads.threads_of_scan(items) == {t1, t2}


def test_run_and_thread_ids_are_uuids_and_the_config_carries_the_run() -> None:
    ids = {runs_workloads.run_id(i, r) for i in range(50) for r in range(3)}
    assert len(ids) == 150 and {len(i) for i in ids} == {36}
    assert runs_workloads.thread_id(7) == runs_workloads.thread_id(7)
    assert runs_workloads.thread_id(7) != runs_workloads.thread_id(7, plain=True)
    assert runs_workloads.run_config("t", "r") == {
        "configurable": {"thread_id": "t"},
        "metadata": {"run_id": "r"},
    }
    assert runs_workloads.run_config("t", None) == {"configurable": {"thread_id": "t"}}


def test_a_run_marker_is_sized_as_its_own_kind() -> None:
    marker = schema.run_marker(runs_workloads.run_id(0, 0), runs_workloads.thread_id(0), None)
    assert ddbsize.item_kind(marker) == "run_marker"
    # pk "u#" + 36 + "#", sk "t#" + 36 + "#", k "u": (2 + 39) + (2 + 39) + (1 + 1)
    assert ddbsize.item_size(marker) == 84
    assert ddbsize.item_kind({"k": {"S": "c"}}) == "checkpoint"
    assert ddbsize.item_kind({"k": {"S": "d"}}) == "d"  # the store's kinds keep their letter


def phase(
    targets: dict[str, int],
    rcu: float,
    wcu: float,
    ops: dict[str, Any] | None = None,
    samples: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "totals": {"requests": sum(targets.values()), "targets": targets, "rcu": rcu, "wcu": wcu},
        "ops": ops or {},
        "samples": samples or {},
    }


LAT = {"n": 5, "p50_ms": 9.0, "p95_ms": 12.0}
PHASES = {
    "rollback@50": phase(
        {"Query": 10, "BatchWriteItem": 5},
        20.0,
        30.0,
        ops={"delete_for_runs": {"calls": 5, "latency": LAT, "upstream_ms": 26.5}},
    ),
    "rollback_find@50": phase({"Query": 5}, 5.0, 0.0, samples={"find": LAT}),
    "rollback_scan@50": phase(
        {"Scan": 15},
        2_770.0,
        0.0,
        ops={"-": {"calls": 0, "upstream_ms": 60.0}},
        samples={"scan": LAT},
    ),
}


def test_costs_are_per_call_of_each_way() -> None:
    found = runs_report.costs(PHASES, "rollback", 50)
    assert found["delete"]["requests"] == 3.0
    assert found["delete"]["targets"] == {"BatchWriteItem": 1.0, "Query": 2.0}
    assert (found["delete"]["rcu"], found["delete"]["wcu"]) == (4.0, 6.0)
    assert found["find"]["targets"] == {"Query": 1.0}
    assert found["scan"]["targets"] == {"Scan": 3.0}  # pages of one Scan
    assert found["scan"]["rcu"] == 554.0
    assert runs_report._requests_cell(found["delete"]) == "3 (BatchWriteItem 1, Query 2)"
    assert runs_report._capacity_cell(found["scan"]) == "554 / 0"
    assert found["delete"]["upstream_ms"] == 5.3  # DynamoDB Local's part of a call, mean
    assert runs_report._latency_cell(found["delete"]) == "9.0 / 12.0 ms (5.3)"
    assert runs_report._latency_cell(found["scan"]) == "9.0 / 12.0 ms (12.0)"
    assert runs_report.costs(PHASES, "batch", 50) == {}
    assert runs_report.per_call({**PHASES["rollback@50"], "error": "boom"}, 5) is None


def fill(targets: dict[str, int], wcu: float, kinds: dict[str, tuple[int, int]]) -> dict[str, Any]:
    written = {k: {"items": n, "bytes": b} for k, (n, b) in kinds.items()}
    return phase(targets, 100.0, wcu, ops={"put": {"calls": 450, "written_by_kind": written}})


WITH_ID = fill(
    {"Query": 150, "BatchWriteItem": 150, "PutItem": 600},
    950.0,
    {"run_marker": (150, 12_600), "checkpoint": (450, 306_150), "writes": (300, 152_100)},
)
WITHOUT = fill(
    {"Query": 150, "PutItem": 750},
    800.0,
    {"checkpoint": (450, 270_000), "writes": (300, 152_100)},
)


def test_the_markers_write_cost_per_run() -> None:
    with_id = runs_report.written_per_run(WITH_ID, 150)
    without = runs_report.written_per_run(WITHOUT, 150)
    assert with_id is not None and without is not None
    assert with_id["requests"] == without["requests"] == 6.0  # the marker rides the head
    assert with_id["written"]["run_marker"] == {"items": 1.0, "bytes": 84.0}
    assert runs_report.marker_cost(with_id, without) == {
        "requests": 0.0,
        "wcu": 1.0,
        "marker_items": 1.0,
        "marker_bytes": 84.0,
        "head_bytes": 241.0,
        "heads": 3.0,
    }
    stored = {"by_kind": {"run_marker": {"items": 150, "bytes": 12_600}}}
    assert runs_report.stored_per_run(stored, 150) == {
        "run_marker": {"items": 1.0, "bytes": 84.0, "bytes_with_overhead": 184.0}
    }


def test_tables_put_both_sizes_side_by_side() -> None:
    phases = dict(PHASES)
    for key, value in PHASES.items():
        phases[key.replace("@50", "@5000")] = value
    scan_100x = phase({"Scan": 1_500}, 277_000.0, 0.0, samples={"scan": LAT})
    phases["rollback_scan@5000"] = scan_100x
    phases["fill@50"] = WITH_ID
    phases["fill_no_run_id"] = WITHOUT
    notes = {
        "threads": [50, 5000],
        "runs_per_thread": 3,
        "rollbacks": 5,
        "batch": 10,
        "batches": 1,
        "fill@50_runs": 150,
        "fill_no_run_id_runs": 150,
        "stored@50": {"items": 900, "bytes": 470_000, "by_kind": {}},
        "rollback_scan@50_pages": [1, 1, 1, 1, 1],
        "rollback_scan@50_page_ms": [12.4, 12.4, 12.4],
        "rollback_scan@5000_pages": [45] * 5,
        "rollback_scan@5000_page_ms": [540.2, 300.0, 70.6],
    }
    results = {"savers": {"ours-runs": {"workloads": {"runs": {"phases": phases, "notes": notes}}}}}
    legend, sizes, pages, write = runs_report.tables(results)
    assert "1x = 50 threads: 900 items, 470.0 KB; 100x = 5,000 threads" in legend
    assert "a batch the latest runs of 10 threads: 1 call of 10 runs each" in legend
    assert "| 1x: requests | 1x: RCU / WCU | 1x: p50 / p95 | 100x: requests |" in sizes
    assert (
        "| rollback: finding the threads the old way: the Scan | 3 (Scan 3) | 554 / 0 | "
        "9.0 / 12.0 ms (12.0) | 300 (Scan 300) | 55,400 / 0 | 9.0 / 12.0 ms (0.0) |"
    ) in sizes
    assert pages == (
        "The Scan's pages, one after another (the first rollback's Scan): 1x: 1 page, 12 ms; "
        "100x: 45 pages, the first 540 ms, the median 300 ms, the last 71 ms."
    )
    assert "| requests (by operation) | 6 (BatchWriteItem 1, PutItem 4, Query 1) |" in write
    assert "0 requests, 1 WCU; 1 marker item of 84 B, and 241 B on its 3 checkpoints" in write
    assert runs_report.tables({"savers": {}}) == []


def test_the_command_line_knows_the_workload() -> None:
    assert cli.parse_workloads("r") == ["runs"]
    assert cli.parse_workloads("runs,a") == ["runs", "chat"]
    assert cli.kind("ours-runs") == "runs"
    assert cli.kind("ours") == "checkpointer"
    text = cli.DOCS.read_text()
    assert text.index(cli.RUNS_DOCS_BEGIN) < text.index(cli.RUNS_DOCS_END)
