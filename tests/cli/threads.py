"""Threads made by real graphs, to export, import and migrate: a chat, a run waiting on
parallel interrupts, a subgraph two levels deep waiting on its innermost interrupt, a
state of models, dataclasses, enums and datetimes, and a fork (``update_state`` on an
old checkpoint). Also what "read exactly as the original" means, as one comparison."""

from __future__ import annotations

import datetime as dt
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from tests.integration.graphs import (
    Address,
    Calls,
    Point,
    Profile,
    chat_graph,
    interrupt_graph,
    nested_graph,
    typed_graph,
)

THREADS = ["chat", "waiting", "nested", "typed", "forked"]


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def graphs(saver: BaseCheckpointSaver[Any]) -> dict[str, Any]:
    """The compiled graph of each thread."""
    calls = Calls()
    chat = chat_graph(calls).compile(checkpointer=saver)
    return {
        "chat": chat,
        "waiting": interrupt_graph(calls).compile(checkpointer=saver),
        "nested": nested_graph(calls).compile(checkpointer=saver),
        "typed": typed_graph(calls).compile(checkpointer=saver),
        "forked": chat,
    }


def fill(saver: BaseCheckpointSaver[Any], prefix: str = "") -> None:
    """Run the graphs on ``saver`` (thread ids ``prefix + name``)."""
    g = graphs(saver)
    t = {name: cfg(prefix + name) for name in THREADS}
    for turn in range(3):
        g["chat"].invoke({"messages": [HumanMessage(f"hello {turn}", id=f"h{turn}")]}, t["chat"])
    g["waiting"].invoke({"log": ["start"]}, t["waiting"])
    g["waiting"].invoke(Command(resume="alice"), t["waiting"])  # now waiting on left and right
    g["nested"].invoke({"log": ["go"]}, t["nested"])
    profile = Profile(name="ada", tags=["x"], address=Address(city="Paris", zip="75001"))
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    g["typed"].invoke({"profile": profile, "point": Point(1, 1.5, "p"), "when": when}, t["typed"])
    g["typed"].invoke({"point": Point(5, 2.0, "q")}, t["typed"])
    for turn in range(2):
        g["forked"].invoke({"messages": [HumanMessage(f"fork {turn}", id=f"f{turn}")]}, t["forked"])
    history = list(g["forked"].get_state_history(t["forked"]))
    old = history[-3].config  # an early checkpoint: a branch from there
    branched = g["forked"].update_state(old, {"summary": "rewritten"})
    g["forked"].invoke({"messages": [HumanMessage("after fork", id="f9")]}, branched)


def tuples(saver: BaseCheckpointSaver[Any], thread: str) -> list[Any]:
    """Every checkpoint of a thread as the saver reads it, in a fixed order."""
    found = list(saver.list(cfg(thread)))
    return sorted(
        (
            (
                t.config["configurable"].get("checkpoint_ns", ""),
                t.config["configurable"]["checkpoint_id"],
                t.checkpoint,
                t.metadata,
                t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None,
                t.pending_writes,
            )
            for t in found
        ),
        key=lambda r: (r[0], r[1]),
    )


def state_history(saver: BaseCheckpointSaver[Any], thread: str) -> list[Any]:
    """What LangGraph shows of a thread: every snapshot, with subgraph states."""
    g = graphs(saver)[thread.split("-")[-1] if "-" in thread else thread]
    out = []
    for snap in g.get_state_history(cfg(thread)):
        out.append(snap)
    out.append(g.get_state(cfg(thread), subgraphs=True))
    return out


def resume(saver: BaseCheckpointSaver[Any], thread: str) -> Any:
    """Answer what a waiting thread waits on; what the graph returns and its last state."""
    g = graphs(saver)
    name = thread.split("-")[-1] if "-" in thread else thread
    graph = g[name]
    state = graph.get_state(cfg(thread), subgraphs=True)
    if name == "waiting":
        answers = {i.id: f"answer {i.value['q']}" for i in state.interrupts}
        result = graph.invoke(Command(resume=answers), cfg(thread))
    else:
        result = graph.invoke(Command(resume="yes"), cfg(thread))
    return result, graph.get_state(cfg(thread)).values
