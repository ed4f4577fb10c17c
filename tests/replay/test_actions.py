"""Time travel on a subgraph's checkpoints (``replay/actions.py``) through the real fixture
graph (tests/replay/graphs.py: ``research`` is a subgraph) on DynamoDB Local, as LangGraph
defines it: a subgraph's checkpoint forks in its namespace (``update_state`` through the
root graph); the run goes on from a subgraph's checkpoint where it stopped (the root graph
resumes, the subgraph from that checkpoint); from one the run left behind, LangGraph would
rerun the subgraph from its start (langgraph #8458), so that is refused with the root
graph's checkpoint to replay from instead."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.errors import InvalidInputError, NotFoundError
from langgraph_dynamodb.replay import ReplayModel
from langgraph_dynamodb.replay.actions import TimeTravel, compiled_graph
from tests.conftest import REGION
from tests.replay.graphs import UNSEARCHABLE, builder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def saver(ddb_endpoint: str) -> Iterator[DynamoDBSaver]:
    name = f"replay-actions-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
        yield s


def _cfg(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


def _rows(saver: DynamoDBSaver, thread_id: str) -> list[dict[str, Any]]:
    return list(ReplayModel(saver).thread(thread_id)["checkpoints"])


def test_a_subgraph_stopped_by_an_error_forks_and_goes_on_from_the_fork(
    saver: DynamoDBSaver,
) -> None:
    graph = compiled_graph(builder, saver)
    with pytest.raises(RuntimeError, match="found nothing"):
        graph.invoke({"topic": UNSEARCHABLE}, _cfg("stuck"))
    rows = _rows(saver, "stuck")
    stopped = next(r for r in rows if r["checkpoint_ns"] and r["errors"])
    ns = stopped["checkpoint_ns"]
    assert ns.startswith("research:") and stopped["next"] == ["search"]
    assert [e["node"] for e in stopped["errors"]] == ["search"]
    root = next(r for r in rows if not r["checkpoint_ns"] and r["errors"])
    assert [e["node"] for e in root["errors"]] == ["research"]
    assert stopped["parents"] == {"": root["checkpoint_id"]}

    travel = TimeTravel(graph)
    forked = travel.fork("stuck", ns, stopped["checkpoint_id"], {"topic": "dark energy"})
    assert forked["created"]["checkpoint_ns"] == ns  # in the subgraph's own namespace
    fork_id = forked["created"]["checkpoint_id"]

    done = travel.resume("stuck", ns, fork_id)
    assert done["error"] is None
    state = graph.get_state(_cfg("stuck"))
    assert state.next == ("approve",)  # research finished, write ran, the interrupt waits
    assert state.values["summary"].startswith("Summary of dark energy")
    assert done["created"]["checkpoint_id"] == state.config["configurable"]["checkpoint_id"]
    after = [r for r in _rows(saver, "stuck") if r["checkpoint_ns"] == ns]
    went_on = [r for r in after if r["parent_id"] == fork_id]
    assert [r["nodes"] for r in went_on] == [["search"]]  # from the fork, in its namespace
    assert sum(r["source"] == "input" for r in after) == 1  # the subgraph did not start over


def test_a_subgraph_checkpoint_the_run_left_is_not_replayed_from(saver: DynamoDBSaver) -> None:
    graph = compiled_graph(builder, saver)
    graph.invoke({"topic": "otters"}, _cfg("left"))  # waits on approve, past the subgraph
    rows = _rows(saver, "left")
    sub = next(r for r in rows if r["checkpoint_ns"] and r["next"] == ["summarize"])
    ran_it = next(r for r in rows if not r["checkpoint_ns"] and r["next"] == ["research"])
    assert sub["parents"] == {"": ran_it["checkpoint_id"]}
    travel = TimeTravel(graph)
    says = rf"not where its run stopped.*#8458.*checkpoint '{ran_it['checkpoint_id']}'"
    with pytest.raises(InvalidInputError, match=says):
        travel.resume("left", sub["checkpoint_ns"], sub["checkpoint_id"])
    with pytest.raises(InvalidInputError, match=says):
        travel.answer("left", sub["checkpoint_ns"], sub["checkpoint_id"], True)
    assert len(_rows(saver, "left")) == len(rows)  # nothing ran, nothing was written
    with pytest.raises(NotFoundError, match="no checkpoint"):
        travel.resume("left", sub["checkpoint_ns"], "1f000000-0000-6000-8000-000000000000")

    replayed = travel.resume("left", "", ran_it["checkpoint_id"])  # what the error says to do
    assert replayed["error"] is None
    assert graph.get_state(_cfg("left")).next == ("approve",)
    namespaces = {r["checkpoint_ns"] for r in _rows(saver, "left") if r["checkpoint_ns"]}
    assert len(namespaces) == 2  # the subgraph ran again, from its start, in a task of its own
