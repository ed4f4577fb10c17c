"""Replay and resume from DynamoDB (the seed's Task 4).

- Same input, same output: consensus, cost totals and execution trace are identical.
- Replaying from a stored checkpoint (time travel) reproduces the result.
- A process killed with SIGKILL after five of six agents finished resumes from DynamoDB:
  the finished agents are not run again (their saved writes are used), and the result is
  the uncrashed one.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from examples.incident.investigation import Investigator
from examples.incident.model import AGENTS
from examples.incident.worker import CrashError, crash_mid_graph, start_worker
from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION

pytestmark = pytest.mark.integration


def test_same_input_same_output(saver: DynamoDBSaver, event: dict[str, Any]) -> None:
    investigator = Investigator(saver)
    original = investigator.investigate(event, thread_id=f"{event['id']}-a").result
    replay = investigator.investigate(event, thread_id=f"{event['id']}-b").result
    assert replay["consensus"] == original["consensus"]
    assert replay["cost"] == original["cost"]
    assert replay["cost"]["total_usd"] == original["cost"]["total_usd"]  # type: ignore[index]
    assert replay["trace"] == original["trace"]
    assert replay == original


def test_replay_from_a_stored_checkpoint(saver: DynamoDBSaver, event: dict[str, Any]) -> None:
    investigator = Investigator(saver)
    outcome = investigator.investigate(event)
    fan_out = next(r for r in investigator.trail(outcome.thread_id) if r.next == tuple(AGENTS))
    config = {
        "configurable": {"thread_id": outcome.thread_id, "checkpoint_id": fan_out.checkpoint_id}
    }
    ctx = investigator.context()
    replayed = investigator.graph.invoke(None, config, context=ctx)["result"]
    assert ctx.log.agents() == sorted(AGENTS)  # the agents ran again, from the stored state
    assert replayed == outcome.result


def test_crash_mid_graph_and_resume(
    saver: DynamoDBSaver, event: dict[str, Any], ddb_endpoint: str, incident_table: str
) -> None:
    investigator = Investigator(saver)
    uncrashed = investigator.investigate(event, thread_id=f"{event['id']}-clean").result

    thread = f"{event['id']}-crash"
    crash = crash_mid_graph(
        investigator,
        endpoint_url=ddb_endpoint,
        region=REGION,
        table=incident_table,
        scenario="checkout-latency",
        thread_id=thread,
        event_id=event["id"],
        hang="runbooks",
    )
    assert crash.returncode == -signal.SIGKILL
    assert crash.finished == sorted(a for a in AGENTS if a != "runbooks")
    assert investigator.finished_agents(thread) == crash.finished  # the kill lost nothing

    resumed = investigator.investigate(event, thread_id=thread)
    assert resumed.mode == "resumed"
    assert resumed.agents_run == ["runbooks"]  # the five finished agents were not re-run
    assert [t["node"] for t in resumed.result["trace"]].count("entry") == 1
    assert resumed.result == uncrashed

    again = investigator.investigate(event, thread_id=thread)
    assert (again.mode, again.agents_run, again.result) == ("stored", [], uncrashed)


def test_a_worker_that_dies_early_is_reported(
    saver: DynamoDBSaver, event: dict[str, Any], ddb_endpoint: str
) -> None:
    with pytest.raises(CrashError, match="exited"):
        crash_mid_graph(
            Investigator(saver),
            endpoint_url=ddb_endpoint,
            region=REGION,
            table="no-such-table",
            scenario="checkout-latency",
            thread_id=f"{event['id']}-early",
        )


def test_the_worker_runs_to_completion_without_faults(
    saver: DynamoDBSaver, event: dict[str, Any], ddb_endpoint: str, incident_table: str
) -> None:
    proc = start_worker(
        endpoint_url=ddb_endpoint,
        region=REGION,
        table=incident_table,
        scenario="checkout-latency",
        thread_id=f"{event['id']}-worker",
        faults="",
        event_id=event["id"],
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert '"mode": "fresh"' in out.decode()
    stored = Investigator(saver).investigate(event, thread_id=f"{event['id']}-worker")
    assert stored.mode == "stored"
