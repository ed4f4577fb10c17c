"""Concurrent writers: two processes resuming the same interrupted thread (a
double-delivered event), and many concurrent ``put_writes`` of the same task.

The semantics (docs/reliability.md): every ``put`` stores a new checkpoint id, so two
resumes of one checkpoint fork the thread into two branches, both whole; "latest" is the
highest checkpoint id. Pending writes of a task are first-write-wins per index (a
conditional put, merged optimistically under a nonce); special channels are last-write-
wins. Nothing is corrupted and no call fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.types import Command

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION
from . import tally
from .crashlab import ROOT, WORKER
from .graphs import approval_graph
from .model import key_of, normalize

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def cfg(thread: str, cp: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if cp is not None:
        conf["checkpoint_id"] = cp
    return {"configurable": conf}


def test_double_delivered_resume_forks_the_thread(
    ddb_endpoint: str, table_name: str, thread_id: str, tmp_path: Path
) -> None:
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    graph = approval_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread_id}}
    graph.invoke({"request": "post"}, config)
    interrupted = graph.get_state(config)
    assert interrupted.next == ("approve",)
    paused_id = interrupted.config["configurable"]["checkpoint_id"]

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for n in (1, 2):
        job = {
            "op": "resume",
            "endpoint": ddb_endpoint,
            "table": table_name,
            "thread": thread_id,
            "answer": f"yes-{n}",
            "slow": 0.5,  # both have read the paused checkpoint before either writes
            "ready": str(tmp_path / f"ready-{n}"),
            "go": str(tmp_path / "go"),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), "--job", json.dumps(job)], cwd=str(ROOT), env=env
            )
        )
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in (1, 2)):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), "a worker died while starting"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0], "a resume failed"
    tally.add(concurrency_processes=2)

    # every checkpoint is whole, list and get_tuple agree, every parent exists
    fresh = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    tuples = {key_of(t)[2]: t for t in fresh.list(cfg(thread_id))}
    for cp_id, tup in tuples.items():
        again = fresh.get_tuple(cfg(thread_id, cp_id))
        assert again is not None and normalize(again) == normalize(tup)
        if tup.parent_config is not None:
            assert tup.parent_config["configurable"]["checkpoint_id"] in tuples

    # the two resumes forked the thread at the paused checkpoint: two whole branches
    def branch_end(answer: str) -> str:
        ends = [
            cp_id
            for cp_id, t in tuples.items()
            if t.checkpoint["channel_values"].get("published") == [f"draft of post: {answer}"]
        ]
        assert len(ends) == 1, (answer, ends)
        return ends[0]

    ends = {answer: branch_end(answer) for answer in ("yes-1", "yes-2")}
    for answer, end in ends.items():
        cursor: str | None = end
        chain = []
        while cursor is not None and cursor != paused_id:
            chain.append(cursor)
            parent = tuples[cursor].parent_config
            cursor = parent["configurable"]["checkpoint_id"] if parent else None
        assert cursor == paused_id, f"branch {answer} does not start at the paused checkpoint"
        assert all(
            tuples[c].checkpoint["channel_values"]["decisions"] == [f"draft of post: {answer}"]
            for c in chain
        )
    latest = fresh.get_tuple(cfg(thread_id))
    assert latest is not None and latest.config["configurable"]["checkpoint_id"] == max(tuples)
    winner = "yes-1" if max(tuples) == ends["yes-1"] else "yes-2"
    assert max(tuples) == ends[winner]
    # the paused checkpoint's writes: first write wins for the task's regular writes
    paused = tuples[paused_id]
    decisions = [v for _, ch, v in paused.pending_writes if ch == "decisions"]
    assert len(decisions) == 1 and decisions[0][0] in {
        "draft of post: yes-1",
        "draft of post: yes-2",
    }
    # the thread goes on from the latest branch
    graph2 = approval_graph().compile(checkpointer=fresh)
    graph2.invoke({"request": "next"}, config)
    final = graph2.invoke(Command(resume="ok"), config)
    assert final["published"] == [f"draft of post: {winner}", "draft of next: ok"]
    fresh.delete_thread(thread_id)
    saver.close()
    fresh.close()


def _checkpoint(cp_id: str) -> Any:
    cp = empty_checkpoint()
    cp["id"] = cp_id
    cp["channel_values"] = {"x": 1}
    cp["channel_versions"] = {"x": f"{1:032}.0"}
    return cp


def _check_first_write_wins(
    calls: list[list[tuple[str, Any]]], pending: list[tuple[str, str, Any]]
) -> None:
    """The stored regular writes are what first-write-wins per index gives for *some*
    order of the calls: index j holds the value of a call c_j that wrote index j, and a
    call that wrote both j and k > j, and won j, also won k."""
    calls = [[w for w in c if not w[0].startswith("__")] for c in calls]  # regular writes
    regular = [(ch, v) for task, ch, v in pending if task == "task" and not ch.startswith("__")]
    assert len(regular) == max(len(c) for c in calls)
    winners = []
    for j, write in enumerate(regular):
        owners = [i for i, c in enumerate(calls) if len(c) > j and c[j] == write]
        assert len(owners) == 1, (j, write)
        winners.append(owners[0])
    for j, cj in enumerate(winners):
        for k in range(j + 1, len(winners)):
            if len(calls[cj]) > k:
                assert winners[k] == cj, (j, k, winners)


def _calls(n: int, mixed: bool) -> list[list[tuple[str, Any]]]:
    calls = []
    for i in range(n):
        length = (i % 3) + 1 if mixed else 2
        writes: list[tuple[str, Any]] = [(f"ch{j}", f"call {i} index {j}") for j in range(length)]
        if i % 4 == 0:
            writes.append(("__interrupt__", [f"call {i}"]))  # special: last write wins
        calls.append(writes)
    return calls


@pytest.mark.parametrize(("n", "mixed"), [(50, False), (9, True)])
async def test_concurrent_put_writes_from_coroutines(
    ddb_endpoint: str, table_name: str, thread_id: str, n: int, mixed: bool
) -> None:
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        stored = await saver.aput(cfg(thread_id), _checkpoint("cp-1"), {}, {"x": f"{1:032}.0"})
        calls = _calls(n, mixed)
        await asyncio.gather(*(saver.aput_writes(stored, w, "task", "path") for w in calls))
        tup = await saver.aget_tuple(stored)
        assert tup is not None
        _check_first_write_wins(calls, tup.pending_writes)
        interrupts = [v for _, ch, v in tup.pending_writes if ch == "__interrupt__"]
        assert len(interrupts) == 1
        assert interrupts[0] in [[f"call {i}"] for i in range(n) if i % 4 == 0]
        await saver.adelete_thread(thread_id)
    tally.add(concurrency_put_writes_calls=n)


@pytest.mark.parametrize(("n", "mixed"), [(24, False), (9, True)])
def test_concurrent_put_writes_from_threads(
    ddb_endpoint: str, table_name: str, thread_id: str, n: int, mixed: bool
) -> None:
    from botocore.config import Config

    with DynamoDBSaver.from_table(
        table_name,
        endpoint_url=ddb_endpoint,
        region_name=REGION,
        boto_config=Config(max_pool_connections=n),
    ) as saver:
        stored = saver.put(cfg(thread_id), _checkpoint("cp-1"), {}, {"x": f"{1:032}.0"})
        calls = _calls(n, mixed)
        with ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda w: saver.put_writes(stored, w, "task", "path"), calls))
        tup = saver.get_tuple(stored)
        assert tup is not None
        _check_first_write_wins(calls, tup.pending_writes)
        saver.delete_thread(thread_id)
    tally.add(concurrency_put_writes_calls=n)
