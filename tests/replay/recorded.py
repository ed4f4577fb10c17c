"""A table of its own filled by real compiled LangGraph graphs (an interrupt answered, a
subgraph, a fork by ``update_state``, a node that raised, a finished run), with memories
and node cache entries beside the checkpoints: what the replay model's and the MCP
server's tests read. Import the fixtures into a test module."""

from __future__ import annotations

import hashlib
import operator
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBStore
from tests.conftest import REGION

SECRET = "sk-live-0123456789"


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    status: str
    notes: str
    credentials: dict[str, str]


def _inner(state: State) -> dict[str, Any]:
    return {"log": ["inner"]}


def _ask(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "ship it?"})
    return {"log": [f"answer:{answer}"], "status": "answered"}


def _boom(state: State) -> dict[str, Any]:
    raise ValueError("the tool failed")


def _write(state: State) -> dict[str, Any]:
    return {"log": ["wrote"], "notes": "x" * 5000, "credentials": {"token": SECRET}}


def agent(saver: DynamoDBSaver) -> Any:
    """START -> sub (a subgraph: inner) -> ask (an interrupt) -> END."""
    sub = StateGraph(State)
    sub.add_node("inner", _inner)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", END)
    graph = StateGraph(State)
    graph.add_node("sub", sub.compile())
    graph.add_node("ask", _ask)
    graph.add_edge(START, "sub")
    graph.add_edge("sub", "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=saver)


def one_node(saver: DynamoDBSaver, node: Any) -> Any:
    graph = StateGraph(State)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    graph.add_edge("node", END)
    return graph.compile(checkpointer=saver)


DIMS = 32


def embed(texts: Any) -> list[list[float]]:
    """An offline embedder: each word, hashed, adds to one of DIMS buckets."""
    out = []
    for text in texts:
        vector = [0.0] * DIMS
        for word in str(text).lower().split():
            vector[hashlib.sha256(word.encode()).digest()[0] % DIMS] += 1.0
        out.append(vector)
    return out


INDEX: Any = {"dims": DIMS, "embed": embed, "fields": ["text"]}
"""The store's index (``--index tests.replay.recorded:INDEX`` for the mcp command)."""


def config(thread_id: str, **metadata: Any) -> Any:
    return {"configurable": {"thread_id": thread_id}, "metadata": metadata}


class Count(TypedDict):
    n: int


def long_thread(saver: DynamoDBSaver, thread_id: str, steps: int) -> None:
    """A thread of ``steps`` checkpoints and more: a node that runs until its count."""
    graph = StateGraph(Count)
    graph.add_node("tick", lambda state: {"n": state["n"] + 1})
    graph.add_edge(START, "tick")
    graph.add_conditional_edges("tick", lambda state: END if state["n"] >= steps else "tick")
    run: Any = {"configurable": {"thread_id": thread_id}, "recursion_limit": steps + 10}
    graph.compile(checkpointer=saver).invoke({"n": 0}, run)


@pytest.fixture(scope="module")
def saver(ddb_endpoint: str) -> Iterator[DynamoDBSaver]:
    """A table of its own (threads() lists the whole table), filled by real graphs."""
    name = f"replay-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
        g = agent(s)
        g.invoke({"log": ["start"], "status": "new"}, config("waiting", user="alice"))
        g.invoke({"log": ["start"], "status": "new"}, config("answered", user="bob"))
        g.invoke(Command(resume="yes"), config("answered"))
        history = list(g.get_state_history(config("answered")))
        after_sub = next(h for h in history if h.metadata["step"] == 1)
        g.update_state(after_sub.config, {"status": "forked"}, as_node="sub")
        with pytest.raises(ValueError):
            one_node(s, _boom).invoke({"log": ["go"]}, config("failed", user="carol"))
        one_node(s, _write).invoke({"log": ["go"]}, config("done", user="dave"))
        yield s


@pytest.fixture(scope="module")
def store(saver: DynamoDBSaver) -> Iterator[DynamoDBStore]:
    """Memories in the same table (their keys never meet the checkpoints')."""
    with DynamoDBStore(
        table_name=saver.table_name,
        endpoint_url=saver.endpoint_url,
        region_name=REGION,
        index=INDEX,
        vector_search="client",
    ) as st:
        st.put(("users", "alice"), "tea", {"text": "likes green tea", "kind": "taste"})
        st.put(("users", "alice"), "mode", {"text": "prefers dark mode", "kind": "ui"})
        st.put(("users", "alice"), "key", {"text": "api key", "secret": SECRET})
        st.put(("users", "bob"), "coffee", {"text": "drinks coffee", "kind": "taste"})
        st.put(("docs",), "readme", {"text": "how to deploy"})
        yield st


@pytest.fixture(scope="module")
def cache(saver: DynamoDBSaver) -> Iterator[DynamoDBCache[Any]]:
    with DynamoDBCache(
        table_name=saver.table_name, endpoint_url=saver.endpoint_url, region_name=REGION
    ) as c:
        c.set({(("node", "agent"), "k1"): ({"answer": 1}, 3600)})
        c.set({(("node", "agent"), "k2"): ({"answer": 2}, 3600)})
        yield c
