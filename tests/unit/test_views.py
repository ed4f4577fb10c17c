"""How a checkpoint is shown (``langgraph_dynamodb.views``), without DynamoDB: the node of
a failed task, from the task path its writes were stored with."""

from __future__ import annotations

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.types import Send

from langgraph_dynamodb import views


def _failed(channel_values: dict, writes: list) -> CheckpointTuple:
    conf = {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "1"}
    checkpoint: dict = {
        "v": 4,
        "id": "1",
        "ts": "",
        "channel_versions": {ch: "1" for ch in channel_values},
        "versions_seen": {},
        "channel_values": channel_values,
    }
    return CheckpointTuple({"configurable": conf}, checkpoint, {}, None, writes)  # type: ignore[arg-type]


def test_task_node_reads_langgraph_task_paths() -> None:
    t = _failed({views.TASKS: [Send("a", 1), Send("b", 2)]}, [])
    assert views.task_node("~__pregel_pull, write", t) == "write"
    assert views.task_node("~__pregel_pull, a, b", t) == "a, b"  # a name may hold ", "
    assert views.task_node("~__pregel_push, 0000000001, 0000000000", t) == "b"
    assert views.task_node("~__pregel_push, 0000000007, 0000000000", t) is None
    assert views.task_node("~__pregel_push, ~__pregel_pull, f, 0000000000", t) is None
    assert views.task_node("", t) is None


def test_errors_name_their_node_by_path_then_by_the_one_next_node() -> None:
    writes = [("t1", views.ERROR, "ValueError('x')"), ("t2", "log", ["ok"])]
    fan_out = _failed({"branch:to:a": None, "branch:to:b": None}, writes)
    assert views.next_tasks(fan_out) == ["a", "b"]
    assert views.errors(fan_out) == [{"task": "t1", "node": None, "error": "ValueError('x')"}]
    named = views.errors(fan_out, {"t1": "~__pregel_pull, b", "t2": "~__pregel_pull, a"})
    assert [e["node"] for e in named] == ["b"]
    single = _failed({"branch:to:a": None}, [("t1", views.ERROR, ValueError("y"))])
    assert views.errors(single) == [{"task": "t1", "node": "a", "error": "ValueError('y')"}]
