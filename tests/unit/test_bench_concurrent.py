"""The benchmark's concurrent workload, (e): its runs on a saver and on a store (through
LangGraph's ``store=``), the figures and goals of its report (``bench/concurrent_report.py``).
Counts only, never times: the workload runs here on LangGraph's in-memory saver and store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from ..conftest import load_bench_module

workloads = load_bench_module("workloads")
savers = load_bench_module("savers")
concurrent_report = load_bench_module("concurrent_report")


class FakeHarness:
    """What the workload needs of the runner's harness, counting store calls."""

    def __init__(self, saver_name: str, saver: Any) -> None:
        self.args = SimpleNamespace(saver=saver_name)
        self.saver = saver
        self.result: dict[str, Any] = {"phases": {}, "notes": {}}
        self.sizes = {
            "concurrent_runs": [3, 5],
            "concurrent_sequential": 2,
            "concurrent_repeats": 2,
            "concurrent_rtt_ms": 10,
        }

    def size(self, key: str) -> Any:
        return self.sizes[key]

    @staticmethod
    def load(name: str) -> Any:
        return load_bench_module(name)

    @contextmanager
    def phase(self, name: str, api: str = "sync", rtt_ms: float = 0.0) -> Iterator[None]:
        self.result["phases"][name] = {"api": api, "rtt_ms": rtt_ms}
        yield

    def note(self, key: str, value: Any) -> None:
        self.result["notes"][key] = value

    async def aclose_saver(self) -> None:
        pass


class CountingStore(InMemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []

    async def abatch(self, ops: Any) -> Any:
        ops = list(ops)
        self.ops += [type(op).__name__ for op in ops]
        return await super().abatch(ops)


def test_the_saver_variant_runs_every_size_with_and_without_rtt() -> None:
    h = FakeHarness("ours", InMemorySaver())
    workloads.concurrent(h)
    notes = h.result["notes"]
    assert notes["runs"] == [3, 5] and notes["kind"] == "saver"
    for suffix in ("", "_rtt"):
        assert len(notes[f"sequential_s{suffix}"]) == 2
        for n in (3, 5):
            assert notes[f"errors{suffix}@{n}"] == 0
            assert len(notes[f"concurrent_s{suffix}@{n}"]) == 2
    # the first size keeps the names of the bench before issue 24
    assert notes["concurrent_per_s"] == notes["concurrent_per_s@3"]
    phases = h.result["phases"]
    assert sorted(p for p in phases if p.startswith("conc")) == sorted(
        f"conc{n}{s}-{rep}" for n in (3, 5) for s in ("", "_rtt") for rep in (0, 1, "warm")
    )
    assert {p["rtt_ms"] for name, p in phases.items() if "_rtt" in name} == {10}


def test_the_store_variant_makes_three_store_calls_a_run() -> None:
    store = CountingStore()
    h = FakeHarness("ours-store", store)
    assert "ours-store" in savers.STORES
    workloads.concurrent(h)
    # warm-up; loopback and RTT: 2 repeats of 2, 3 and 5, and a round of 3 and of 5 first
    runs = 1 + 2 * (2 * (2 + 3 + 5) + 3 + 5)
    assert store.ops == ["GetOp", "SearchOp", "PutOp"] * runs
    assert h.result["notes"]["kind"] == "store"
    assert h.result["notes"]["errors_rtt@5"] == 0
    # run i writes memory turn-i of user i % 32: every repeat rewrites the same items, so
    # each repeat reads and writes the same amount
    namespaces = asyncio.run(store.alist_namespaces(prefix=("memories",)))
    assert sorted(namespaces) == [("memories", f"user-{i:02d}") for i in range(5)]
    found = asyncio.run(store.asearch(("memories", "user-00"), limit=100))
    assert [item.key for item in found] == ["turn-0"]


def _result(per_s: dict[str, float]) -> dict[str, Any]:
    notes: dict[str, Any] = {"invokes": 32, "runs": [32, 256], "rtt_ms": 10}
    for n in (32, 256):
        for suffix in ("", "_rtt"):
            notes[f"concurrent_per_s{suffix}@{n}"] = per_s[f"{n}{suffix}"]
            notes[f"errors{suffix}@{n}"] = 0
    return {"label": "x", "workloads": {"concurrent": {"notes": notes, "phases": {}}}}


@pytest.mark.parametrize(("mine", "peer"), [("ours", "amazon"), ("ours-store", "aws-store")])
def test_goals_compare_each_cell_with_the_best_peer_of_its_kind(mine: str, peer: str) -> None:
    ours = {"32": 120.0, "32_rtt": 119.0, "256": 60.0, "256_rtt": 130.0}
    theirs = {"32": 100.0, "32_rtt": 100.0, "256": 100.0, "256_rtt": 100.0}
    results = {"savers": {mine: _result(ours), peer: _result(theirs)}}
    figs = {
        s: concurrent_report.figures(r["workloads"]["concurrent"])
        for s, r in results["savers"].items()
    }
    goals = concurrent_report.goals(results, figs)
    kind = "store" if mine == "ours-store" else "saver"
    assert [(g["goal"], g["ratio"], g["met"]) for g in goals] == [
        (f"32 concurrent ainvokes/s on one {kind} (loopback)", 1.2, True),
        (f"32 concurrent ainvokes/s on one {kind} (10 ms RTT)", 1.19, False),
        (f"256 concurrent ainvokes/s on one {kind} (loopback)", 0.6, False),
        (f"256 concurrent ainvokes/s on one {kind} (10 ms RTT)", 1.3, True),
    ]
    (table,) = concurrent_report.tables(results, figs)
    assert f"on one {kind}" in table
    assert (
        "| **256 at once: ainvokes/s, loopback / 10 ms RTT** | 60.0 / 130.0 | 100.0 / 100.0 |"
        in table
    )


def test_two_passes_merge_into_the_medians_of_all_their_rounds() -> None:
    h1, h2 = FakeHarness("ours", InMemorySaver()), FakeHarness("ours", InMemorySaver())
    workloads.concurrent(h1)
    workloads.concurrent(h2)
    first, second = h1.result["notes"], h2.result["notes"]
    assert first["sequential_runs"] == 2 and len(first["cpu_s_rtt@5"]) == 2
    # make the rounds known numbers: the first pass slow, the second fast
    for notes, walls in ((first, [1.0, 0.8]), (second, [0.5, 0.4])):
        for suffix in ("", "_rtt"):
            notes[f"sequential_s{suffix}"] = [w * 4 for w in walls]
            for n in (3, 5):
                notes[f"concurrent_s{suffix}@{n}"] = list(walls)
                notes[f"cpu_s{suffix}@{n}"] = [w / 2 for w in walls]
    second["errors_rtt@5"], second["error@5_rtt"] = 1, "TimeoutError: one run"
    merged = concurrent_report.merge_passes(first, second)
    assert merged["concurrent_s@3"] == [1.0, 0.8, 0.5, 0.4]
    assert merged["concurrent_per_s@3"] == round(3 / 0.65, 2)  # the median of four rounds
    assert merged["concurrent_per_s"] == merged["concurrent_per_s@3"]  # first size's alias
    assert merged["cpu_ms_rtt@5"] == round(0.325 * 1000 / 5, 2)
    assert merged["sequential_per_s_rtt"] == round(2 / 2.6, 2)
    assert merged["speedup@5"] == round(
        merged["concurrent_per_s@5"] / merged["sequential_per_s"], 2
    )
    assert (merged["errors_rtt@5"], merged["error@5_rtt"]) == (1, "TimeoutError: one run")
    assert merged["passes"] == 2
    figs = concurrent_report.figures({"notes": merged})
    assert figs["concurrent.concurrent_per_s_rtt@5"] == round(5 / 0.65, 2)
