"""A worker runs graph runs on a thread while a user deletes the thread at random moments,
from another process, many times: after each round, the thread is either deleted or holds
exactly a run that started after the last deletion ended; a run that started before a
deletion never shows (no resurrection), and the last run that started after the last
deletion is the latest, whole (no loss)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION
from . import tally
from .crashlab import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

WORKER = Path(__file__).resolve().parent / "delete_race_worker.py"


def _round(ddb_endpoint: str, table_name: str, tmp_path: Path, n: int) -> tuple[int, int]:
    thread = f"delrace-{uuid.uuid4()}"
    go = tmp_path / f"go-{n}"
    logs = {mode: tmp_path / f"{mode}-{n}.jsonl" for mode in ("run", "delete")}
    counts = {"run": 12, "delete": 4}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                *("--endpoint", ddb_endpoint, "--table", table_name, "--thread", thread),
                *("--log", str(log), "--go", str(go), "--mode", mode),
                *("--count", str(counts[mode])),
            ],
            cwd=str(ROOT),
            env=env,
        )
        for mode, log in logs.items()
    ]
    time.sleep(2.0)
    go.touch()
    assert [p.wait(timeout=240) for p in procs] == [0, 0], "a worker failed"
    runs = [json.loads(line) for line in logs["run"].read_text().splitlines()]
    deletes = [json.loads(line) for line in logs["delete"].read_text().splitlines()]
    last_delete_start = max(d[2] for d in deletes)
    last_delete_end = max(d[3] for d in deletes)
    with DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        config = {"configurable": {"thread_id": thread}}
        latest = s.get_tuple(config)
        history = list(s.list(config))
    after = [r for r in runs if r[2] > last_delete_end]  # started after the last deletion
    resurrected = 0
    if latest is not None:
        shown = [int(x.split()[1]) for x in latest.checkpoint["channel_values"]["log"] if " " in x]
        started = {r[1]: r[2] for r in runs}
        # every run the latest state holds started after the last deletion began
        resurrected += sum(1 for n_ in shown if started[n_] < last_delete_start)
        assert all(h.checkpoint["channel_values"] for h in history)
    lost = 0
    if after:
        last = max(after, key=lambda r: r[1])
        if latest is None or f"run {last[1]}" not in latest.checkpoint["channel_values"]["log"]:
            lost = 1
    return resurrected, lost


def test_deleting_a_thread_while_a_worker_writes_it(
    ddb_endpoint: str, table_name: str, tmp_path: Path
) -> None:
    rounds = 6
    outcomes = [_round(ddb_endpoint, table_name, tmp_path, n) for n in range(rounds)]
    resurrected = sum(r for r, _ in outcomes)
    lost = sum(lost for _, lost in outcomes)
    tally.add(
        delete_race_rounds=rounds,
        delete_race_runs=rounds * 12,
        delete_race_deletions=rounds * 4,
        delete_race_resurrected=resurrected,
        delete_race_lost=lost,
    )
    assert resurrected == 0 and lost == 0
