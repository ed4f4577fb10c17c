"""``fencing=True``, one writer per thread: once a newer run has written to a thread, a
write of an older run raises ``FencedError`` and stores nothing (every write is one
TransactWriteItems with a claim of the thread's fence); the saver's semantics one call at
a time, under a graph with parallel tasks, and two processes racing on one thread many
times (every write logged with its start and end: no write of a run that started after a
newer run's first write completed may be stored)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_dynamodb import DynamoDBSaver, FencedError, InvalidInputError

from ..conftest import REGION, load_bench_module
from . import tally
from .crashlab import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

workloads = load_bench_module("workloads")

WORKER = Path(__file__).resolve().parent / "fence_worker.py"


def cfg(thread: str, run: str | None, cp: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if cp is not None:
        conf["checkpoint_id"] = cp
    out: dict[str, Any] = {"configurable": conf}
    if run is not None:
        out["metadata"] = {"run_id": run}
    return out


def checkpoint(n: int) -> Any:
    cp = empty_checkpoint()
    cp["channel_values"] = {"n": n}
    cp["channel_versions"] = {"n": n}
    return cp


def test_an_older_runs_writes_are_refused_whole(
    ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    kw = {"table_name": table_name, "endpoint_url": ddb_endpoint, "region_name": REGION}
    with DynamoDBSaver(**kw, fencing=True) as a, DynamoDBSaver(**kw, fencing=True) as b:
        first = a.put(cfg(thread_id, "run-1"), checkpoint(1), {}, {"n": 1})
        parent = first["configurable"]["checkpoint_id"]
        a.put_writes({**first, "metadata": {"run_id": "run-1"}}, [("n", 10)], "task-a")
        newer = b.put(cfg(thread_id, "run-2", parent), checkpoint(2), {}, {"n": 2})
        with pytest.raises(FencedError) as refused:
            a.put(cfg(thread_id, "run-1", parent), checkpoint(3), {}, {"n": 3})
        assert refused.value.holder == "run-2" and refused.value.run_id == "run-1"
        assert "'run-2'" in str(refused.value) and repr(thread_id) in str(refused.value)
        with pytest.raises(FencedError):
            a.put_writes({**first, "metadata": {"run_id": "run-1"}}, [("n", 11)], "task-b")
        with pytest.raises(FencedError):  # special writes (last-write-wins) too
            a.put_writes({**first, "metadata": {"run_id": "run-1"}}, [("__error__", "x")], "t")
        # nothing of run-1 after the fence: the latest is run-2's, the writes as before
        latest = b.get_tuple(cfg(thread_id, None))
        assert latest is not None and latest.config == newer
        stored = a.get_tuple(first)
        assert stored is not None and stored.pending_writes == [("task-a", "n", 10)]
        assert len(list(b.list(cfg(thread_id, None)))) == 2
        # the holder writes on; a write naming no run is refused with the fix
        b.put(
            cfg(thread_id, "run-2", newer["configurable"]["checkpoint_id"]),
            checkpoint(4),
            {},
            {"n": 4},
        )
        with pytest.raises(InvalidInputError, match="run_id"):
            b.put(cfg(thread_id, None), checkpoint(5), {}, {"n": 5})
        # a deleted thread keeps its fence: a late write of run-1 stays refused, newer runs write
        b.delete_thread(thread_id)
        with pytest.raises(FencedError):
            a.put(cfg(thread_id, "run-1"), checkpoint(6), {}, {"n": 6})
        assert b.get_tuple(cfg(thread_id, None)) is None
        a.put(cfg(thread_id, "run-3"), checkpoint(7), {}, {"n": 7})
        assert b.get_tuple(cfg(thread_id, None)).checkpoint["channel_values"] == {"n": 7}
        # a saver without fencing on the same table is not fenced (every writer must opt in)
        with DynamoDBSaver(**kw) as unfenced:
            unfenced.put(cfg(thread_id, "run-0"), checkpoint(8), {}, {"n": 8})


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_fenced_graph_with_parallel_tasks(
    ddb_endpoint: str, table_name: str, thread_id: str, mode: str
) -> None:
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION, fencing=True
    ) as saver:
        graph = workloads.build_fanout_graph(agents=6).compile(checkpointer=saver)
        for turn in range(2):
            config = {"configurable": {"thread_id": thread_id}, "metadata": {"run_id": f"r{turn}"}}
            if mode == "sync":
                out = await asyncio.to_thread(graph.invoke, {"topic": "fenced"}, config)
            else:
                out = await graph.ainvoke({"topic": "fenced"}, config)
            assert len(out["findings"]) == 6 * (turn + 1)
        assert saver.stats.requests.get("transact_write_items", 0) > 0


def _race(ddb_endpoint: str, table_name: str, tmp_path: Path, fencing: str, runs: int) -> Any:
    thread = f"race-{uuid.uuid4()}"
    go = tmp_path / f"go-{fencing}"
    logs = [tmp_path / f"log-{fencing}-{n}.jsonl" for n in (1, 2)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                *("--endpoint", ddb_endpoint, "--table", table_name, "--thread", thread),
                *("--runs", str(runs), "--log", str(log), "--go", str(go)),
                *("--fencing", fencing),
            ],
            cwd=str(ROOT),
            env=env,
        )
        for log in logs
    ]
    time.sleep(2.0)  # both set up (imports, clients) before either writes
    go.touch()
    assert [p.wait(timeout=240) for p in procs] == [0, 0], "a worker failed"
    writes = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    stored = [w for w in writes if w[4] == "stored"]
    first_write_done: dict[str, float] = {}
    for run, _op, _start, end, _ in sorted(stored, key=lambda w: w[3]):
        first_write_done.setdefault(run, end)
    # a write of an older run that started after a newer run's first write had completed
    late = [
        w
        for w in stored
        for newer, done in first_write_done.items()
        if newer > w[0] and w[2] > done
    ]
    return thread, writes, late


def test_two_processes_racing_on_one_thread(
    ddb_endpoint: str, table_name: str, tmp_path: Path
) -> None:
    runs = 25
    thread, writes, late = _race(ddb_endpoint, table_name, tmp_path, "on", runs)
    refused = [w for w in writes if w[4] == "refused"]
    runs_seen = {w[0] for w in writes}
    tally.add(
        fencing_race_runs=len(runs_seen),
        fencing_race_writes_refused=len(refused),
        fencing_race_late_writes_stored=len(late),
    )
    assert not late, f"writes of superseded runs were stored: {late[:3]}"
    assert len(runs_seen) == 2 * runs
    assert refused, "the two processes never raced: no write was refused"
    # every checkpoint left is whole and the latest belongs to a run that was not refused
    with DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        history = list(s.list({"configurable": {"thread_id": thread}}))
        assert history and all(s.get_tuple(t.config) is not None for t in history)
    # the same race without fencing: what it prevents (counted, not asserted: a race)
    _, _, unfenced_late = _race(ddb_endpoint, table_name, tmp_path, "off", runs)
    tally.add(unfenced_race_late_writes_stored=len(unfenced_late))
