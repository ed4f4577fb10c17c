"""Late writes never resurrect a deleted thread: after ``delete_thread`` (or
``prune(strategy="delete")``), a ``put`` of a run that was still in flight (its parent
deleted, or a child of such a put), from the same saver or another process, leaves the
thread deleted; a new run on the same thread id works as on a new thread. LangGraph's
``InMemorySaver`` shows the late write (it is the oracle everywhere else; here the issue
asks for the opposite, and the test says so)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from langgraph_dynamodb import DynamoDBSaver, schema

from ..conftest import REGION
from .conftest import Driver
from .test_saver import cfg, make_checkpoint

pytestmark = pytest.mark.integration


async def _late_put(drive: Driver, thread_id: str, parent: str, n: int) -> dict[str, Any]:
    return await drive("put", cfg(thread_id, "", parent), make_checkpoint({"n": n}), {}, {"n": 1})


async def test_a_late_put_from_the_deleting_saver_stays_deleted(
    drive: Driver, thread_id: str
) -> None:
    first = await drive("put", cfg(thread_id), make_checkpoint({"n": 1}), {}, {"n": 1})
    second = await _late_put(drive, thread_id, first["configurable"]["checkpoint_id"], 2)
    await drive("delete_thread", thread_id)
    late = await _late_put(drive, thread_id, second["configurable"]["checkpoint_id"], 3)
    await drive("put_writes", late, [("n", 30)], "task")
    later = await _late_put(drive, thread_id, late["configurable"]["checkpoint_id"], 4)
    assert await drive("get_tuple", cfg(thread_id)) is None
    assert await drive("list", cfg(thread_id)) == []
    assert await drive("list", {"configurable": {"thread_id": thread_id}}) == []
    # a new run on the thread id works as on a new thread, and late writes stay out
    new = await drive("put", cfg(thread_id), make_checkpoint({"n": 5}), {}, {"n": 1})
    await _late_put(drive, thread_id, later["configurable"]["checkpoint_id"], 6)
    latest = await drive("get_tuple", cfg(thread_id))
    assert latest is not None and latest.config == new
    assert [t.config for t in await drive("list", cfg(thread_id))] == [new]
    await drive("copy_thread", thread_id, f"{thread_id}-copy")  # the late writes stay behind
    copied = await drive("list", cfg(f"{thread_id}-copy"))
    assert [t.checkpoint["id"] for t in copied] == [new["configurable"]["checkpoint_id"]]
    # a copy into a thread id deleted before is live (above that thread's tombstone)
    reused = f"{thread_id}-reused"
    await drive("delete_thread", reused)
    await drive("copy_thread", thread_id, reused)
    assert (await drive("get_tuple", cfg(reused))).config["configurable"]["thread_id"] == reused
    before = sum(drive.saver.stats.requests.values())
    await drive("get_tuple", cfg(reused))  # a reused thread id: still one request
    assert sum(drive.saver.stats.requests.values()) == before + 1


async def test_a_late_put_from_another_process_stays_deleted(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    kw = {"endpoint_url": ddb_endpoint, "region_name": REGION}
    async with (
        DynamoDBSaver.from_table(table_name, **kw) as worker,
        DynamoDBSaver.from_table(table_name, **kw) as admin,
    ):
        run, delete = Driver(worker, mode), Driver(admin, mode)
        first = await run("put", cfg(thread_id), make_checkpoint({"n": 1}), {}, {"n": 1})
        await delete("delete_thread", thread_id)  # the worker still knows its parent
        late = await _late_put(run, thread_id, first["configurable"]["checkpoint_id"], 2)
        assert await delete("get_tuple", cfg(thread_id)) is None
        async with DynamoDBSaver.from_table(table_name, **kw) as fresh:  # knows nothing
            await _late_put(
                Driver(fresh, mode), thread_id, late["configurable"]["checkpoint_id"], 3
            )
            assert await Driver(fresh, mode)("get_tuple", cfg(thread_id)) is None
            assert fresh.stats.skipped_checkpoints == 0  # its parent is there (dead)
            gone = first["configurable"]["checkpoint_id"]
            await _late_put(Driver(fresh, mode), thread_id, gone, 4)  # its parent is gone:
            assert fresh.stats.skipped_checkpoints == 1  # a warning, counted
            assert await Driver(fresh, mode)("get_tuple", cfg(thread_id)) is None
        await delete("prune", [thread_id], strategy="delete")  # again: the watermark rises
        assert await run("get_tuple", cfg(thread_id)) is None


async def test_a_new_root_from_a_clock_behind_still_starts_a_live_lineage(
    drive: Driver, thread_id: str
) -> None:
    late_id = "ffffffff-ffff-6fff-8fff-ffffffffffff"  # a clock far ahead wrote this one
    ahead = make_checkpoint({"n": 1})
    ahead["id"] = late_id
    await drive("put", cfg(thread_id), ahead, {}, {"n": 1})
    await drive("delete_thread", thread_id)
    assert await drive("get_tuple", cfg(thread_id)) is None  # LangGraph reads first
    behind = await drive("put", cfg(thread_id), make_checkpoint({"n": 2}), {}, {"n": 1})
    child = await _late_put(drive, thread_id, behind["configurable"]["checkpoint_id"], 3)
    latest = await drive("get_tuple", cfg(thread_id))
    assert latest is not None and latest.config == child
    raw = drive.saver.client.get_item(
        TableName=drive.saver.table_name,
        Key=schema.key(
            schema.thread_pk(thread_id), schema.head_sk("", behind["configurable"]["checkpoint_id"])
        ),
    )["Item"]
    assert raw[schema.LINEAGE] == {"S": late_id + "+"}


class State(TypedDict):
    log: Annotated[list[str], lambda a, b: a + b]


def _graph(checkpointer: Any, delete: Any) -> Any:
    def first(state: State) -> dict[str, list[str]]:
        return {"log": ["first"]}

    def deleting(state: State) -> dict[str, list[str]]:
        delete()  # the user deletes the conversation while the run is in flight
        return {"log": ["second"]}

    def third(state: State) -> dict[str, list[str]]:
        return {"log": ["third"]}

    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("deleting", deleting)
    builder.add_node("third", third)
    builder.add_edge(START, "first")
    builder.add_edge("first", "deleting")
    builder.add_edge("deleting", "third")
    builder.add_edge("third", END)
    return builder.compile(checkpointer=checkpointer)


def test_a_run_in_flight_when_its_thread_is_deleted_does_not_bring_it_back(
    ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    config = {"configurable": {"thread_id": thread_id}}
    memory = InMemorySaver()
    oracle = _graph(memory, lambda: memory.delete_thread(thread_id))
    oracle.invoke({"log": ["hi"]}, config)
    assert oracle.get_state(config).values  # InMemorySaver: the late writes resurrect it

    kw = {"table_name": table_name, "endpoint_url": ddb_endpoint, "region_name": REGION}
    with DynamoDBSaver(**kw) as saver, DynamoDBSaver(**kw) as other_process:
        graph = _graph(saver, lambda: other_process.delete_thread(thread_id))
        assert graph.invoke({"log": ["hi"]}, config) == {"log": ["hi", "first", "second", "third"]}
        assert graph.get_state(config).values == {}
        assert list(graph.get_state_history(config)) == []
        assert other_process.get_tuple(config) is None
        # the same thread id again: a new conversation, nothing of the deleted one
        fresh = _graph(saver, lambda: None)
        assert fresh.invoke({"log": ["again"]}, config) == {
            "log": ["again", "first", "second", "third"]
        }
        assert len(list(fresh.get_state_history(config))) == 5


def test_a_late_subgraph_stays_out_of_the_whole_threads_listing(
    ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    """The run in flight goes on into a subgraph after the deletion: the subgraph's
    checkpoints (a namespace the deletion never saw) belong to the deleted run."""

    def sub_step(state: State) -> dict[str, list[str]]:
        return {"log": ["inside"]}

    sub = StateGraph(State)
    sub.add_node("inner", sub_step)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", END)
    own_table = f"tomb-{uuid.uuid4().hex[:8]}"  # list(None) scans: a table of its own
    kw = {"table_name": own_table, "endpoint_url": ddb_endpoint, "region_name": REGION}
    with DynamoDBSaver(**kw) as saver, DynamoDBSaver(**kw) as other_process:
        saver.setup(prepare_async=False)

        def deleting(state: State) -> dict[str, list[str]]:
            other_process.delete_thread(thread_id)
            return {"log": ["deleted"]}

        builder = StateGraph(State)
        builder.add_node("deleting", deleting)
        builder.add_node("sub", sub.compile())
        builder.add_edge(START, "deleting")
        builder.add_edge("deleting", "sub")
        builder.add_edge("sub", END)
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": thread_id}}
        graph.invoke({"log": ["hi"]}, config)
        assert graph.get_state(config).values == {}
        assert other_process.get_tuple(config) is None
        assert list(other_process.list(config)) == []  # every namespace of the thread
        assert [
            t
            for t in other_process.list(None)
            if t.config["configurable"]["thread_id"] == thread_id
        ] == []
