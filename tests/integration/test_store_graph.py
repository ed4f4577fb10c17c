"""The store as LangGraph uses it: ``builder.compile(checkpointer=saver, store=store)``,
nodes that remember and recall through the runtime's store, sync and async; the same
answers as on ``InMemorySaver`` and ``InMemoryStore``."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore

from ..conftest import REGION
from .test_store import INDEX

pytestmark = pytest.mark.integration


class State(TypedDict, total=False):
    user: str
    said: str
    recalled: list[str]


def _graph() -> StateGraph:
    def remember(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        assert runtime.store is not None
        namespace = ("memories", state["user"])
        hits = runtime.store.search(namespace, query=state["said"], limit=2)
        runtime.store.put(
            namespace,
            f"m{len(runtime.store.search(namespace, limit=100))}",
            {"text": state["said"]},
        )
        return {"recalled": [h.value["text"] for h in hits]}

    async def aremember(state: State, runtime: Runtime[Any]) -> dict[str, Any]:
        assert runtime.store is not None
        namespace = ("memories", state["user"])
        hits = await runtime.store.asearch(namespace, query=state["said"], limit=2)
        count = len(await runtime.store.asearch(namespace, limit=100))
        await runtime.store.aput(namespace, f"m{count}", {"text": state["said"]})
        return {"recalled": [h.value["text"] for h in hits]}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("aremember", aremember)
    builder.add_conditional_edges(
        START, lambda s: "aremember" if s.get("user") == "async" else "remember"
    )
    builder.add_edge("remember", END)
    builder.add_edge("aremember", END)
    return builder


TURNS = [
    "I like green tea",
    "deploy checkout on friday",
    "tea with milk please",
    "rollback the deploy",
]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_nodes_remember_and_recall_across_threads(
    mode: str, ddb_endpoint: str, table_name: str
) -> None:
    user = "async" if mode == "async" else f"u-{uuid.uuid4().hex[:6]}"

    async def run(saver: Any, store: Any) -> list[list[str]]:
        graph = _graph().compile(checkpointer=saver, store=store)
        out = []
        for i, said in enumerate(TURNS):
            config = {"configurable": {"thread_id": f"{user}-{uuid.uuid4().hex[:4]}-{i}"}}
            if mode == "sync":
                result = graph.invoke({"user": user, "said": said}, config)
            else:
                result = await graph.ainvoke({"user": user, "said": said}, config)
            out.append(result["recalled"])
        return out

    expected = await run(InMemorySaver(), InMemoryStore(index=INDEX))
    async with (
        DynamoDBSaver.from_table(
            table_name, endpoint_url=ddb_endpoint, region_name=REGION
        ) as saver,
        DynamoDBStore.from_table(
            table_name, endpoint_url=ddb_endpoint, region_name=REGION, index=INDEX
        ) as store,
    ):
        for ns_key in [(("memories", user), f"m{i}") for i in range(len(TURNS))]:
            store.delete(*ns_key)
        got = await run(saver, store)
    assert got == expected
    assert got[2] == ["I like green tea", "deploy checkout on friday"]  # tea first
