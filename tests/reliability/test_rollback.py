"""Never an older state passed off as the latest. Remove any one item of a thread that its
latest checkpoint does not own (its head, its writes and their chunks), and a fresh saver
reads that latest checkpoint exactly, or raises the library's own ``CorruptItemError``
naming it and what it is missing; it never answers with an older checkpoint. On a real
chat graph whose state has every way of being stored (deltas, references, copies, a
chunked value, pending writes), sync and async."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import boto3
import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from langgraph_dynamodb import CorruptItemError, DynamoDBSaver, schema
from langgraph_dynamodb.caches import IndexCache, ReadHints
from langgraph_dynamodb.storage import items as it

from ..conftest import REGION
from . import tally

pytestmark = pytest.mark.integration

TURNS = 14


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    profile: str  # set once, large: stored once and referred to
    attachment: bytes  # set once, over an item's size: chunked
    turns: int  # small, changes every turn
    mood: str  # small, set once: copied into each head


def _graph(saver: DynamoDBSaver) -> Any:
    def bot(state: State) -> dict[str, Any]:
        turn = state.get("turns", 0) + 1
        last = state["messages"][-1].content
        reply = AIMessage(id=f"ai-{turn}", content=f"turn {turn}: you said {last!r}")
        return {"messages": [reply], "turns": turn}

    builder = StateGraph(State)
    builder.add_node("bot", bot)
    builder.add_edge(START, "bot")
    builder.add_edge("bot", END)
    return builder.compile(checkpointer=saver)


def _inputs() -> Iterator[dict[str, Any]]:
    for i in range(TURNS):
        turn: dict[str, Any] = {
            "messages": [HumanMessage(id=f"human-{i}", content=f"hello {i} " * 30)]
        }
        if i == 0:
            turn |= {
                "profile": "a long-lived user profile " * 80,
                "attachment": random.Random(7).randbytes(400_000),  # incompressible
                "mood": "calm",
            }
        yield turn


def _forget(saver: DynamoDBSaver) -> None:
    """The saver of a new process: nothing remembered."""
    saver._index = IndexCache()
    saver._hints = ReadHints()


def _own_keys(items: list[dict[str, Any]], latest: str, saver: DynamoDBSaver) -> set[str]:
    """Sort keys of the latest checkpoint's own items: its head, its writes, their chunks."""
    prefix = schema.checkpoint_prefix("", latest)
    own = {i[schema.SK]["S"] for i in items if i[schema.SK]["S"].startswith(prefix)}
    for item in items:
        if item[schema.SK]["S"] in own:
            decoded = it.decode_item(item)
            assert decoded is not None
            own.update(k[schema.SK]["S"] for k in decoded.chunk_keys())
    return own


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_any_one_item_removed_gives_the_latest_exactly_or_our_error(
    mode: str, ddb_endpoint: str, table_name: str
) -> None:
    thread_id = f"rollback-{uuid.uuid4()}"
    config = {"configurable": {"thread_id": thread_id}}
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        graph = _graph(saver)
        for turn in _inputs():
            if mode == "sync":
                graph.invoke(turn, config)
            else:
                await graph.ainvoke(turn, config)
        _forget(saver)

        async def read() -> Any:
            if mode == "sync":
                return saver.get_tuple(config)
            return await saver.aget_tuple(config)

        expected = await read()
        latest = expected.config["configurable"]["checkpoint_id"]
        client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
        pages = client.get_paginator("query").paginate(
            TableName=table_name,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread_id)}},
        )
        items = [i for page in pages for i in page["Items"]]
        own = _own_keys(items, latest, saver)
        kinds = {i[schema.KIND]["S"] for i in items}
        assert kinds == {schema.KIND_CHECKPOINT, schema.KIND_WRITES, schema.KIND_CHUNK}, kinds
        exact = refused = 0
        for item in items:
            if item[schema.SK]["S"] in own:
                continue
            key = {schema.PK: item[schema.PK], schema.SK: item[schema.SK]}
            client.delete_item(TableName=table_name, Key=key)
            _forget(saver)
            try:
                found = await read()
            except CorruptItemError as exc:
                assert repr(latest) in str(exc) and "cannot be read" in str(exc), exc
                refused += 1
            else:
                assert found is not None, item[schema.SK]
                assert found.config == expected.config, item[schema.SK]
                assert found.checkpoint == expected.checkpoint, item[schema.SK]
                assert found.metadata == expected.metadata
                assert found.parent_config == expected.parent_config
                assert found.pending_writes == expected.pending_writes
                exact += 1
            finally:
                client.put_item(TableName=table_name, Item=item)
        # Both kinds happened: items the latest needs (the holders, the delta bases, the
        # chunks) and items it does not (older writes, superseded heads).
        assert refused >= 3 and exact >= TURNS, (refused, exact)
        tally.add(
            **{f"rollback_items_removed_{mode}": len(items) - len(own)},
            **{f"rollback_refused_{mode}": refused, f"rollback_older_state_{mode}": 0},
        )
        # list() leaves out, and says so, what it cannot read; it raises nothing.
        holder = next(
            i
            for i in items
            if i[schema.KIND]["S"] == schema.KIND_CHUNK and i[schema.SK]["S"] not in own
        )
        client.delete_item(
            TableName=table_name, Key={schema.PK: holder[schema.PK], schema.SK: holder[schema.SK]}
        )
        _forget(saver)
        saver.stats.reset()
        listed = list(saver.list(config))
        assert saver.stats.skipped_checkpoints > 0
        assert len(listed) + saver.stats.skipped_checkpoints == sum(
            i[schema.KIND]["S"] == schema.KIND_CHECKPOINT for i in items
        )
        saver.delete_thread(thread_id)
