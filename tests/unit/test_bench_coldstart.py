"""The cold-start workload's arithmetic and its place in the command line
(``bench/coldstart.py``, ``bench/coldstart_report.py``, ``bench/cli.py``): counts and
medians of given samples, never times measured here. A real sample runs in
``tests/integration/test_coldstart.py``."""

from __future__ import annotations

from typing import Any

from ..conftest import load_bench_module

coldstart = load_bench_module("coldstart")
coldstart_report = load_bench_module("coldstart_report")
cli = load_bench_module("cli")


def _sample(first_ms: float, requests: int = 6) -> dict[str, Any]:
    phases = {
        "init": {"requests": 1, "targets": {"DescribeTable": 1}},
        "first": {"requests": requests, "targets": {"PutItem": requests - 1, "Query": 1}},
        "second": {"requests": 6, "targets": {"PutItem": 5, "Query": 1}},
    }
    ms = {k: 10.0 for k in coldstart.TIMES} | {"first": first_ms}
    cpu = {"import": 5.0, "init": 5.0, "first": 1.0}
    return {
        "ms": ms,
        "cold_ms": 20.0 + first_ms,
        "cpu_ms": cpu,
        "cold_cpu_ms": 11.0,
        "peak_rss_mb": 90.0 + first_ms,
        "requests": phases,
    }


def test_the_summary_is_median_and_min_and_the_counts() -> None:
    summary = coldstart.summarize([_sample(3.0), _sample(1.0), _sample(2.0), {"error": "x"}])
    assert (summary["n"], summary["errors"]) == (3, 1)
    assert (summary["first.median_ms"], summary["first.min_ms"]) == (2.0, 1.0)
    assert (summary["cold.median_ms"], summary["cold.min_ms"]) == (22.0, 21.0)
    assert summary["peak_rss_mb.median"] == 92.0
    assert summary["init.requests"] == 1
    assert summary["first.requests"] == 6
    # A count that differs between samples shows every value, not a median.
    assert coldstart.summarize([_sample(1.0), _sample(1.0, 7)])["first.requests"] == [6, 7]


def test_the_goals_compare_ours_with_the_best_peer() -> None:
    entries = {
        name: {"workloads": {"coldstart": {"summary": coldstart.summarize([_sample(ms)])}}}
        for name, ms in (("ours", 1.0), ("aws", 2.0), ("amazon", 0.5))
    }
    figs = {name: coldstart_report.figures(entry) for name, entry in entries.items()}
    goals = {g["goal"]: g for g in coldstart_report.goals(figs, ["aws", "amazon"])}
    first = goals["first invoke, median"]
    assert (first["ours"], first["best_peer"], first["best_peer_value"]) == (1.0, "amazon", 0.5)
    assert first["met"] is False
    table = coldstart_report.table(["ours", "aws", "amazon"], {n: n for n in entries}, figs)
    assert table.startswith("| (i) cold start, a fresh process per sample: median (min) of 1 |")
    assert "| requests of the first invoke | 6 (PutItem 5, Query 1) |" in table
    assert coldstart_report.table(["x"], {"x": "x"}, {"x": {}}) == ""  # did not run


def test_the_command_line_knows_the_workload() -> None:
    assert cli.parse_workloads("i") == ["coldstart"]
    assert "coldstart" in cli.CHECKPOINT_WORKLOADS
    assert cli.WORKLOAD_TIMEOUT_S["coldstart"] > 0
    env = coldstart.sample_env({"PYTHONDONTWRITEBYTECODE": "1", "KEEP": "1"})
    assert env == {"KEEP": "1"}  # a sample reads the bytecode a deployment ships
