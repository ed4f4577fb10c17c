"""Real LangGraph graphs for the reliability tests, and a way to compare their runs.

Each scenario is a graph plus a script of inputs (new input or ``Command(resume=...)``).
Node outputs are deterministic (message ids included), so a run on DynamoDBSaver and a
run on InMemorySaver have equal states; ``history_of`` keeps what must be equal (values,
next nodes, step, source, interrupt values) and drops ids and timestamps.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

# --- chat: a growing message list (append-only deltas) --------------------------------------


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: int


def chat_graph() -> StateGraph:
    def bot(state: ChatState) -> dict[str, Any]:
        turn = state.get("turns", 0) + 1
        last = state["messages"][-1].content
        reply = AIMessage(id=f"ai-{turn}", content=f"turn {turn}: you said {last!r}")
        return {"messages": [reply], "turns": turn}

    builder = StateGraph(ChatState)
    builder.add_node("bot", bot)
    builder.add_edge(START, "bot")
    builder.add_edge("bot", END)
    return builder


def chat_script(turns: int = 8) -> list[Any]:
    return [
        {"messages": [HumanMessage(id=f"human-{i}", content=f"hello {i} " * 20)]}
        for i in range(turns)
    ]


# --- fan-out: Send to a worker per item, plus two static parallel branches ------------------


class FanState(TypedDict):
    items: list[str]
    results: Annotated[list[str], operator.add]
    left: str
    right: str
    summary: str


def fanout_graph() -> StateGraph:
    def split(state: FanState) -> dict[str, Any]:
        return {}

    def fan(state: FanState) -> list[Send]:
        return [Send("work", {"item": item}) for item in state["items"]]

    def work(arg: dict[str, Any]) -> dict[str, Any]:
        return {"results": [f"done:{arg['item']}"]}

    def left(state: FanState) -> dict[str, Any]:
        return {"left": f"left saw {len(state['items'])}"}

    def right(state: FanState) -> dict[str, Any]:
        return {"right": f"right saw {sorted(state['items'])[:1]}"}

    def join(state: FanState) -> dict[str, Any]:
        return {"summary": f"{sorted(state['results'])} | {state['left']} | {state['right']}"}

    builder = StateGraph(FanState)
    for name, fn in [("split", split), ("left", left), ("right", right), ("join", join)]:
        builder.add_node(name, fn)
    builder.add_node("work", work)
    builder.add_edge(START, "split")
    builder.add_conditional_edges("split", fan, ["work"])
    builder.add_edge("split", "left")
    builder.add_edge("split", "right")
    builder.add_edge("work", "join")
    builder.add_edge("left", "join")
    builder.add_edge("right", "join")
    builder.add_edge("join", END)
    return builder


def fanout_script() -> list[Any]:
    return [
        {"items": [f"a{i}" for i in range(5)]},
        {"items": [f"b{i}" for i in range(3)]},
        {"items": [f"c{i}" for i in range(4)]},
    ]


# --- interrupt and resume ---------------------------------------------------------------------


class ApprovalState(TypedDict):
    request: str
    decisions: Annotated[list[str], operator.add]
    published: list[str]


def approval_graph(slow_resume: float = 0.0) -> StateGraph:
    def draft(state: ApprovalState) -> dict[str, Any]:
        return {"request": f"draft of {state['request']}"}

    def approve(state: ApprovalState) -> dict[str, Any]:
        answer = interrupt({"question": f"publish {state['request']}?"})
        if slow_resume:
            import time

            time.sleep(slow_resume)  # both resumers have read the same state by now
        return {"decisions": [f"{state['request']}: {answer}"]}

    def publish(state: ApprovalState) -> dict[str, Any]:
        return {"published": [*state.get("published", []), state["decisions"][-1]]}

    builder = StateGraph(ApprovalState)
    builder.add_node("draft", draft)
    builder.add_node("approve", approve)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "approve")
    builder.add_edge("approve", "publish")
    builder.add_edge("publish", END)
    return builder


def approval_script() -> list[Any]:
    return [
        {"request": "post-1"},
        Command(resume="yes"),
        {"request": "post-2"},
        Command(resume="no, shorten it"),
        {"request": "post-3"},
        Command(resume={"edit": "add a title"}),
    ]


# --- a large state: chunked payloads, unchanged big values (references) -----------------------


class BigState(TypedDict):
    blob: bytes
    log: Annotated[list[str], operator.add]
    rounds: int


def big_bytes(seed: int, size: int) -> bytes:
    """Incompressible bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def big_graph(blob_bytes: int = 600_000) -> StateGraph:
    def grow(state: BigState) -> dict[str, Any]:
        rounds = state.get("rounds", 0) + 1
        return {"blob": big_bytes(rounds, blob_bytes), "rounds": rounds, "log": [f"grow {rounds}"]}

    def note(state: BigState) -> dict[str, Any]:
        return {"log": [f"note after {state['rounds']} ({len(state['blob'])} bytes)"]}

    def again(state: BigState) -> str:
        return "grow" if state["rounds"] % 2 == 1 else END

    builder = StateGraph(BigState)
    builder.add_node("grow", grow)
    builder.add_node("note", note)
    builder.add_edge(START, "grow")
    builder.add_edge("grow", "note")
    builder.add_conditional_edges("note", again, ["grow", END])
    return builder


def big_script() -> list[Any]:
    return [{"log": ["start"]}, {"log": ["again"]}]


# --- scenarios and comparison ------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    build: Callable[[], StateGraph]
    script: Callable[[], list[Any]]


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("chat", chat_graph, chat_script),
        Scenario("fanout", fanout_graph, fanout_script),
        Scenario("interrupt", approval_graph, approval_script),
        Scenario("large", big_graph, big_script),
    ]
}


def _plain(value: Any) -> Any:
    """Messages and other objects as comparable plain data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value


def snapshot_of(state: Any) -> dict[str, Any]:
    """What must be equal between two runs in one ``StateSnapshot`` (no ids, no times)."""
    return {
        "values": _plain(state.values),
        "next": tuple(state.next),
        "step": (state.metadata or {}).get("step"),
        "source": (state.metadata or {}).get("source"),
        "interrupts": [_plain(i.value) for t in state.tasks for i in t.interrupts],
        "has_parent": state.parent_config is not None,
    }


def run_sync(saver: BaseCheckpointSaver, scenario: Scenario, thread_id: str) -> dict[str, Any]:
    """Run a scenario through ``invoke``; return its final state and history."""
    graph = scenario.build().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread_id}}
    for step in scenario.script():
        graph.invoke(step, config)
    final = snapshot_of(graph.get_state(config))
    history = [snapshot_of(s) for s in graph.get_state_history(config)]
    return {"final": final, "history": history}


async def run_async(
    saver: BaseCheckpointSaver, scenario: Scenario, thread_id: str
) -> dict[str, Any]:
    """Run a scenario through ``ainvoke``; return its final state and history."""
    graph = scenario.build().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread_id}}
    for step in scenario.script():
        await graph.ainvoke(step, config)
    final = snapshot_of(await graph.aget_state(config))
    history = [snapshot_of(s) async for s in graph.aget_state_history(config)]
    return {"final": final, "history": history}
