"""Without aiobotocore, the async methods run the sync client on threads: LangGraph runs
on the saver and the store through ``ainvoke`` as through ``invoke``, with one warning
that names the extra, and no async client is made. Here aiobotocore is hidden from the
library; ``tests/install`` checks the same in a real base install (scripts/compat.sh)."""

from __future__ import annotations

import uuid
import warnings
from typing import Any, TypedDict

import pytest
from langgraph.graph import START, StateGraph
from langgraph.store.base import BaseStore

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore, _clients, _drivers

from ..conftest import REGION


class S(TypedDict):
    n: int


@pytest.fixture
def no_aiobotocore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_clients, "_aiobotocore_installed", lambda: False)
    monkeypatch.setattr(_drivers, "_warned_async_on_threads", False)


async def test_a_graph_runs_async_on_threads_with_one_warning(
    no_aiobotocore: None, ddb_endpoint: str, table_name: str
) -> None:
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    store = DynamoDBStore(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    builder = StateGraph(S)

    def inc(state: S, store: BaseStore) -> dict[str, int]:
        store.put(("counts",), "last", {"n": state["n"]})
        return {"n": state["n"] + 1}

    builder.add_node("inc", inc)
    builder.add_edge(START, "inc")
    graph = builder.compile(checkpointer=saver, store=store)
    config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await graph.ainvoke({"n": 1}, config) == {"n": 2}
        assert await graph.ainvoke({"n": 10}, config) == {"n": 11}
        history = [t.checkpoint["id"] async for t in saver.alist(config)]
        found = await store.asearch(("counts",))
    assert history == [t.checkpoint["id"] for t in saver.list(config)]
    assert [item.value for item in found] == [{"n": 10}]
    assert saver._clients.aclient is None and store._clients.aclient is None
    named = [w for w in caught if "pip install 'langgraph-dynamodb[async]'" in str(w.message)]
    assert len(named) == 1 and named[0].category is RuntimeWarning
    await saver.aclose()
    await store.aclose()


async def test_a_given_async_client_stays_native(no_aiobotocore: None, table_name: str) -> None:
    saver = DynamoDBSaver(table_name=table_name, aclient=object(), region_name=REGION)  # type: ignore[arg-type]
    assert saver._clients.native_async()
