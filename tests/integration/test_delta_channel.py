"""LangGraph's DeltaChannel (beta) on DynamoDBSaver: same states as InMemorySaver, and the
saver's get_delta_channel_history answers like the base class's parent walk, in at most
two requests."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from langgraph_dynamodb import DynamoDBSaver

pytestmark = pytest.mark.integration


def _extend(state: list[str], writes: list[list[str]]) -> list[str]:
    out = list(state)
    for w in writes:
        out.extend(w)
    return out


class State(TypedDict):
    log: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=4)]
    turn: int


def _step(state: State) -> dict[str, Any]:
    return {"log": [f"entry {state['turn']}"], "turn": state["turn"]}


def _graph(saver: BaseCheckpointSaver[Any]) -> Any:
    builder = StateGraph(State)
    builder.add_node("step", _step)
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile(checkpointer=saver)


async def test_delta_channel_graph_matches_in_memory(saver: DynamoDBSaver, mode: str) -> None:
    memory = InMemorySaver()
    ours, theirs = _graph(saver), _graph(memory)
    cfg = {"configurable": {"thread_id": f"delta-{uuid.uuid4()}"}}
    for turn in range(11):
        if mode == "sync":
            a = ours.invoke({"log": [f"user {turn}"], "turn": turn}, cfg)
        else:
            a = await ours.ainvoke({"log": [f"user {turn}"], "turn": turn}, cfg)
        b = theirs.invoke({"log": [f"user {turn}"], "turn": turn}, cfg)
        assert a == b
    history_ours = [s.values for s in ours.get_state_history(cfg)]
    history_theirs = [s.values for s in theirs.get_state_history(cfg)]
    assert history_ours == history_theirs

    latest = saver.get_tuple(cfg)
    assert latest is not None
    expected = BaseCheckpointSaver.get_delta_channel_history(
        saver, config=latest.config, channels=["log", "turn", "missing"]
    )
    saver.stats.reset()
    if mode == "sync":
        got = saver.get_delta_channel_history(
            config=latest.config, channels=["log", "turn", "missing"]
        )
    else:
        got = await saver.aget_delta_channel_history(
            config=latest.config, channels=["log", "turn", "missing"]
        )
    assert saver.stats.total_requests <= 2, saver.stats.requests
    assert got == expected
    for snapshot in list(ours.get_state_history(cfg))[::3]:
        want = BaseCheckpointSaver.get_delta_channel_history(
            saver, config=snapshot.config, channels=["log"]
        )
        assert saver.get_delta_channel_history(config=snapshot.config, channels=["log"]) == want
