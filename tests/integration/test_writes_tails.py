"""Tails from writes on DynamoDB Local, through LangGraph: a checkpoint whose list
channels grew by exactly its parent's pending writes refers to them instead of storing
the elements again; what the bench's fan-out and chat write, pinned in write units; a
cold writer stores the same; every kind of reader reads it back; what refers to a run's
writes survives ``delete_for_runs``; a missing write is an error, never a shorter list."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver, schema
from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.storage.items import Head, decode_item

from ..conftest import REGION, load_bench_module

pytestmark = pytest.mark.integration

workloads = load_bench_module("workloads")
AGENTS = 6


def _saver(endpoint: str, table: str, **kw: Any) -> DynamoDBSaver:
    return DynamoDBSaver.from_table(table, endpoint_url=endpoint, region_name=REGION, **kw)


def _config(thread: str, **more: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, **more}}


def _heads(saver: DynamoDBSaver, thread: str) -> list[Head]:
    raw = saver.client.query(
        TableName=saver.table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread)}},
    )["Items"]
    return [h for h in map(decode_item, raw) if isinstance(h, Head)]


def _from_writes(saver: DynamoDBSaver, head: Head) -> dict[str, Any]:
    payload = head.payload(saver._compression)
    return {ch: d for ch, d in payload.deltas.items() if isinstance(d.tail, schema.WritesTail)}


async def test_the_fanout_join_refers_to_the_agents_findings(
    ddb_endpoint: str, table_name: str
) -> None:
    """Async LangGraph stores each agent's writes, then the checkpoint the join runs on:
    its ``findings`` are those six writes, referred to, not stored again: 18 WCU a run
    (the findings once each, 2 units a 3 KB finding) where a tail in the head made 25,
    and 1 for the new thread's directory entry."""
    thread = f"fanout-{uuid.uuid4()}"
    async with _saver(ddb_endpoint, table_name) as saver:
        graph = workloads.build_fanout_graph(agents=AGENTS).compile(checkpointer=saver)
        await graph.ainvoke({"topic": "tails"}, _config(thread))  # warm the clients
        thread = f"fanout-{uuid.uuid4()}"
        before = saver.stats.write_units
        out = await graph.ainvoke({"topic": "tails"}, _config(thread))
        assert saver.stats.write_units - before == 18 + 1
        assert len(out["findings"]) == AGENTS
        joined = [h for h in _heads(saver, thread) if _from_writes(saver, h)]
        assert len(joined) == 1
        tail = _from_writes(saver, joined[0])["findings"]
        assert tail.base is None and len(tail.tail.writes) == AGENTS
        state = await graph.aget_state(_config(thread))
    async with _saver(ddb_endpoint, table_name) as cold:
        graph = workloads.build_fanout_graph(agents=AGENTS).compile(checkpointer=cold)
        assert (await graph.aget_state(_config(thread))).values == state.values
        history = [s async for s in graph.aget_state_history(_config(thread))]
        assert [len(s.values.get("findings", [])) for s in history] == [6, 6, 0, 0]


async def test_chat_replies_are_stored_once(ddb_endpoint: str, table_name: str) -> None:
    """A chat turn is five saver writes (three checkpoints, the input's and the reply's
    writes), one item each; the user's message and the reply are stored in their writes
    only, and the checkpoints refer to them."""
    thread = f"chat-{uuid.uuid4()}"
    async with _saver(ddb_endpoint, table_name) as saver:
        graph = workloads.build_chat_graph().compile(checkpointer=saver)
        before = saver.stats.write_units
        turns = 9
        for turn in range(turns):
            await graph.ainvoke(workloads.chat_input(turn), _config(thread))
        # one unit an item, but the three keyframes (the whole list again: 2, 3, 4 units),
        # and the new thread's directory entry
        assert saver.stats.write_units - before == 5 * turns + 1 + 2 + 3 + 1
        heads = _heads(saver, thread)
        referring = [h for h in heads if "messages" in _from_writes(saver, h)]
        assert len(referring) == 2 * turns - 3  # every append but the keyframes
        state = await graph.aget_state(_config(thread))
        assert len(state.values["messages"]) == 2 * turns


def test_a_cold_writer_refers_to_the_writes_it_read(ddb_endpoint: str, table_name: str) -> None:
    """A saver that never saw the parent reads it (and its writes) before writing the
    child, and stores the child as the parent's own writer would."""
    thread = f"cold-{uuid.uuid4()}"
    parent_config = _config(thread, checkpoint_ns="")
    with _saver(ddb_endpoint, table_name) as warm, _saver(ddb_endpoint, table_name) as cold:
        from langgraph.checkpoint.base import empty_checkpoint
        from langgraph.checkpoint.base.id import uuid6

        first = empty_checkpoint()
        first["channel_values"] = {"m": ["hello " * 40]}
        first["channel_versions"] = {"m": "1"}
        parent = warm.put(parent_config, first, {"source": "loop", "step": 0}, {"m": "1"})
        warm.put_writes(parent, [("m", ["reply " * 40])], task_id="task-1")
        child_ids = []
        for writer in (warm, cold):
            child = empty_checkpoint()
            child["id"] = str(uuid6(clock_seq=-1))
            child["channel_values"] = {"m": ["hello " * 40, "reply " * 40]}
            child["channel_versions"] = {"m": "2"}
            meta: Any = {"source": "loop", "step": 1}
            done = writer.put(parent, child, meta, {"m": "2"})
            child_ids.append(done["configurable"]["checkpoint_id"])
        by_id = {h.checkpoint_id: h for h in _heads(warm, thread)}
        warm_tail, cold_tail = (_from_writes(warm, by_id[i])["m"] for i in child_ids)
        assert warm_tail == cold_tail
        for cp in child_ids:
            got = warm.get_tuple(_config(thread, checkpoint_ns="", checkpoint_id=cp))
            assert got is not None
            assert got.checkpoint["channel_values"]["m"] == ["hello " * 40, "reply " * 40]


def test_with_a_ttl_or_encryption_tails_stay_in_the_head(ddb_endpoint: str) -> None:
    """On a table of its own: the session table's ``list(None)`` readers do not hold the
    key of the encrypted checkpoints."""
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    from langgraph_dynamodb.crypto import AesGcmCipher

    encrypted = EncryptedSerializer(AesGcmCipher({"k": b"k" * 32}, active="k"))
    table = f"kept-{uuid.uuid4().hex[:12]}"
    with _saver(ddb_endpoint, table) as owner:
        owner.setup()
        try:
            for options in ({"ttl": 3600}, {"serde": encrypted}):
                thread = f"kept-{uuid.uuid4()}"
                with _saver(ddb_endpoint, table, **options) as saver:
                    graph = workloads.build_fanout_graph(agents=2).compile(checkpointer=saver)
                    out = graph.invoke({"topic": "kept"}, _config(thread))
                    assert len(out["findings"]) == 2
                    assert not any(_from_writes(saver, h) for h in _heads(saver, thread))
                    assert len(graph.get_state(_config(thread)).values["findings"]) == 2
        finally:
            owner.client.delete_table(TableName=table)


def test_what_refers_to_a_deleted_runs_writes_is_rewritten_whole(
    ddb_endpoint: str, table_name: str
) -> None:
    """The join runs in a second run (the first stopped before it): its checkpoint refers
    to writes stored under the first run's checkpoint; deleting the first run keeps the
    second one's state whole."""
    thread = f"runs-{uuid.uuid4()}"
    with _saver(ddb_endpoint, table_name) as saver:
        graph = workloads.build_fanout_graph(agents=3).compile(
            checkpointer=saver, interrupt_before=["join"]
        )
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        graph.invoke({"topic": "runs"}, {**_config(thread), "metadata": {"run_id": first}})
        graph.invoke(None, {**_config(thread), "metadata": {"run_id": second}})
        before = graph.get_state(_config(thread)).values
        assert any(_from_writes(saver, h) for h in _heads(saver, thread))
        saver.delete_for_runs([first])
        with _saver(ddb_endpoint, table_name) as cold:
            cold_graph = workloads.build_fanout_graph(agents=3).compile(checkpointer=cold)
            assert cold_graph.get_state(_config(thread)).values == before


def test_a_write_deleted_outside_the_library_is_an_error(
    ddb_endpoint: str, table_name: str
) -> None:
    thread = f"broken-{uuid.uuid4()}"
    with _saver(ddb_endpoint, table_name) as saver:
        graph = workloads.build_fanout_graph(agents=2).compile(checkpointer=saver)
        graph.invoke({"topic": "broken"}, _config(thread))
        joined = next(h for h in _heads(saver, thread) if _from_writes(saver, h))
        ref = _from_writes(saver, joined)["findings"].tail
        raw = saver.client.query(
            TableName=saver.table_name,
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={
                ":p": {"S": schema.thread_pk(thread)},
                ":s": {"S": schema.checkpoint_prefix("", ref.checkpoint_id) + "w"},
            },
        )["Items"]
        victim = raw[0]
        saver.client.delete_item(
            TableName=saver.table_name, Key={"pk": victim["pk"], "sk": victim["sk"]}
        )
    with _saver(ddb_endpoint, table_name) as cold:
        config = _config(thread, checkpoint_ns="", checkpoint_id=joined.checkpoint_id)
        with pytest.raises(CorruptItemError, match="pending write"):
            cold.get_tuple(config)
