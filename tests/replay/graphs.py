"""The replay UI's fixture: real compiled LangGraph graphs run on a DynamoDB table, so the
UI has every kind of thread to show. ``builder`` is also what the browser test passes to
``langgraph-dynamodb ui --graph tests.replay.graphs:builder``.

The graph: ``plan`` -> ``research`` (a subgraph: ``search``, which fails on
:data:`UNSEARCHABLE`, -> ``summarize``) -> ``write`` (fails when the input says so) ->
``approve`` (an interrupt: publish?) -> the end. :func:`fill` runs it into threads that
finished, wait on the interrupt, failed (in the root graph, and inside the subgraph), are
in progress, and one with a fork; writes a 10,000-checkpoint thread straight through
``saver.put``; puts memories in the store and entries in the node cache."""

from __future__ import annotations

import logging
import operator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy, Command, interrupt
from typing_extensions import TypedDict

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.cache import DynamoDBCache
from langgraph_dynamodb.store import DynamoDBStore

LONG_THREAD = "long-10k"
LONG_CHECKPOINTS = 10_000
UNSEARCHABLE = "dark matter"
"""The topic the subgraph's ``search`` fails on: its thread stops inside the subgraph."""
SUMMARY_CHARS = 5_000
"""The subgraph's summary: long enough to be cut, so "show all" has something to show."""


class State(TypedDict, total=False):
    topic: str
    fail: bool
    notes: Annotated[list[str], operator.add]
    findings: list[str]
    summary: str
    draft: str
    approved: bool


class ResearchState(TypedDict, total=False):
    topic: str
    findings: list[str]
    summary: str


def search(state: ResearchState) -> dict[str, Any]:
    if state["topic"] == UNSEARCHABLE:
        raise RuntimeError(f"the search tool found nothing on {UNSEARCHABLE}")
    return {"findings": [f"{state['topic']} are in the news"]}


def summarize(state: ResearchState) -> dict[str, Any]:
    head = f"Summary of {state['topic']}: "
    return {"summary": head + "lorem ipsum " * (SUMMARY_CHARS // 12)}


def chain(state: Any, *nodes: tuple[str, Any]) -> StateGraph[Any]:
    """A graph that runs ``nodes`` (name, function or subgraph) one after the other."""
    g = StateGraph(state)
    before = START
    for name, node in nodes:
        g.add_node(name, node)
        g.add_edge(before, name)
        before = name
    g.add_edge(before, END)
    return g


def _research() -> Any:
    return chain(ResearchState, ("search", search), ("summarize", summarize)).compile()


def plan(state: State) -> dict[str, Any]:
    return {"notes": [f"plan: write about {state['topic']}"]}


def write(state: State) -> dict[str, Any]:
    if state.get("fail"):
        raise RuntimeError("the writer model returned nothing")
    return {"draft": f"A post about {state['topic']}", "notes": ["drafted"]}


def approve(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "Publish this draft?", "draft": state.get("draft", "")})
    return {"approved": bool(answer), "notes": [f"approved: {answer}"]}


def _builder() -> StateGraph[State]:
    g = StateGraph(State)
    g.add_node("plan", plan, cache_policy=CachePolicy(ttl=3600))
    g.add_node("research", _research())
    g.add_node("write", write)
    g.add_node("approve", approve)
    g.add_edge(START, "plan")
    g.add_edge("plan", "research")
    g.add_edge("research", "write")
    g.add_edge("write", "approve")
    g.add_edge("approve", END)
    return g


builder = _builder()
"""The graph builder ``--graph tests.replay.graphs:builder`` names."""


def _cfg(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


@dataclass
class Filled:
    """What :func:`fill` wrote, for the tests to look for."""

    finished: str = "finished-1"
    waiting: str = "waiting-1"
    failed: str = "failed-1"
    running: str = "running-1"
    forked: str = "forked-1"
    failed_in_subgraph: str = "failed-in-subgraph-1"
    long: str = LONG_THREAD


def fill(saver: DynamoDBSaver, store: DynamoDBStore, cache: DynamoDBCache[Any]) -> Filled:
    """Every kind of thread, memories and cache entries (see the module's docstring)."""
    names = Filled()
    graph = builder.compile(checkpointer=saver, cache=cache)

    graph.invoke({"topic": "otters"}, _cfg(names.finished))
    graph.invoke(Command(resume=True), _cfg(names.finished))

    graph.invoke({"topic": "tides", "fail": False}, _cfg(names.waiting))

    try:
        graph.invoke({"topic": "volcanoes", "fail": True}, _cfg(names.failed))
    except RuntimeError:
        pass  # the error is stored as the task's write: what the UI shows

    graph.invoke({"topic": "glaciers"}, _cfg(names.running), interrupt_before=["write"])

    try:
        graph.invoke({"topic": UNSEARCHABLE}, _cfg(names.failed_in_subgraph))
    except RuntimeError:
        pass  # stopped inside the subgraph: its search's error is written there

    graph.invoke({"topic": "comets"}, _cfg(names.forked))
    graph.invoke(Command(resume=False), _cfg(names.forked))
    after_plan = next(
        s for s in graph.get_state_history(_cfg(names.forked)) if s.next == ("research",)
    )
    forked = graph.update_state(after_plan.config, {"topic": "meteors"})
    graph.invoke(None, forked)

    long_thread(saver, names.long, LONG_CHECKPOINTS)

    store.put(("users", "alice"), "profile", {"name": "Alice", "likes": ["otters", "tea"]})
    store.put(("users", "alice"), "style", {"tone": "short sentences", "kind": "preference"})
    store.put(("users", "bob"), "profile", {"name": "Bob", "likes": ["comets"]})
    store.put(("facts",), "otters", {"text": "Otters hold hands while sleeping", "kind": "fact"})
    return names


def long_thread(saver: DynamoDBSaver, thread_id: str, count: int, workers: int = 16) -> None:
    """A thread of ``count`` checkpoints, each the child of the one before, written with
    ``saver.put``: ``workers`` runs of consecutive checkpoints in parallel (the ids are made
    first, so each put knows its parent). The first put of each run but the first names a
    parent another run has not written yet; the saver notes that (a warning, silenced
    here) and stores the checkpoint with its parent id all the same."""
    ids = [str(uuid6(clock_seq=i)) for i in range(count)]

    def put(i: int) -> None:
        checkpoint = {**empty_checkpoint(), "id": ids[i]}
        checkpoint["channel_values"] = {"counter": i}
        checkpoint["channel_versions"] = {"counter": i + 1}
        conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
        if i:
            conf["checkpoint_id"] = ids[i - 1]
        metadata: Any = {"source": "loop", "step": i, "parents": {}, "writes": {"count": i}}
        saver.put({"configurable": conf}, checkpoint, metadata, {"counter": i + 1})  # type: ignore[arg-type]

    def run(start: int) -> None:
        for i in range(start, min(start + size, count)):
            put(i)

    size = -(-count // workers)
    logger = logging.getLogger("langgraph_dynamodb")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, range(0, count, size)))
    finally:
        logger.setLevel(level)


# --- a secret in every kind of value, for --redact ------------------------------------------
SECRET = "sk-live-5ecret0123456789"
"""What ``langgraph-dynamodb ui --redact 'sk-live-\\w+'`` must never show."""
SECRET_THREADS = ("secret-asked", "secret-rejected")


class KeyState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    credentials: dict[str, str]
    note: str


def fetch_key(state: KeyState) -> dict[str, Any]:
    return {"log": ["fetched"], "credentials": {"token": SECRET}, "note": f"using {SECRET}"}


def confirm_key(state: KeyState) -> dict[str, Any]:
    answer = interrupt({"question": "Use this key?", "key": SECRET})
    return {"log": [f"confirmed: {answer}"]}


def reject_key(state: KeyState) -> dict[str, Any]:
    raise ValueError(f"the API rejected {SECRET}")


def fill_secrets(saver: DynamoDBSaver, store: DynamoDBStore) -> None:
    """:data:`SECRET` in a state's channels (so in diffs), a run's metadata, an interrupt's
    payload, a failed task's error, a memory: one thread waits on the interrupt, one
    failed."""
    for thread_id, then in zip(SECRET_THREADS, (confirm_key, reject_key), strict=True):
        g = chain(KeyState, ("fetch", fetch_key), ("then", then))
        run: RunnableConfig = {**_cfg(thread_id), "metadata": {"api_key": SECRET}}
        try:
            g.compile(checkpointer=saver).invoke({"log": []}, run)
        except ValueError:
            pass  # the rejected key: its error write names the secret
    store.put(("keys",), "openai", {"text": "the team's key", "token": SECRET})
