"""The thread directory (see :mod:`..schema`): its entries newest period first, one
Query per shard, merged; whether it lists every thread of the table; and a thread's
current entry written for a table written before the directory. No I/O."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from langchain_core.runnables import RunnableConfig

from langgraph_dynamodb import schema
from langgraph_dynamodb.flows.context import Ctx, TableCtx
from langgraph_dynamodb.flows.read import get_tuple
from langgraph_dynamodb.schema import AttrMap, DirectoryEntry, get_n
from langgraph_dynamodb.steps import Flow, Fork
from langgraph_dynamodb.storage import requests


@dataclass(frozen=True)
class DirectoryPage:
    """Directory entries newest first, and the sort key to read on from (``None``: the
    directory has no more)."""

    entries: list[DirectoryEntry]
    next_below: str | None


def _shard_entries(ctx: TableCtx, pk: str, below: str | None, wanted: int) -> Flow[list[AttrMap]]:
    """Up to ``wanted`` live entries of one shard, newest first, below sort key
    ``below``: as many Query pages as the expired ones the filter drops take."""
    found: list[AttrMap] = []
    start = schema.key(pk, below) if below is not None else None
    while len(found) < wanted:
        params = requests.query(
            pk,
            descending=True,
            limit=wanted - len(found),
            start=start,
            consistent=ctx.consistent_read,
            keys_only=True,
            also=(schema.N_THREAD,),
            live_at=ctx.clock(),
        )
        resp = yield ctx.request("query", **params)
        found.extend(resp.get("Items", []))
        start = resp.get("LastEvaluatedKey")
        if not start:
            break
    return found


def directory_page(ctx: TableCtx, below: str | None, limit: int) -> Flow[DirectoryPage]:
    """The ``limit`` newest entries of the thread directory below sort key ``below``:
    every shard's ``limit + 1`` newest, read at once (one Query a shard, more only past
    expired entries), merged; the one past the page says whether there are more. Stale
    entries included: the reader skips them (:func:`is_current`)."""
    shards = schema.directory_shard_pks()
    found = yield Fork(tuple(_shard_entries(ctx, pk, below, limit + 1) for pk in shards))
    merged = [
        entry
        for entry in map(
            schema.parse_directory_entry, heapq.merge(*found, key=schema.sk_of, reverse=True)
        )
        if entry is not None
    ]
    entries = merged[:limit]
    more = len(merged) > limit
    return DirectoryPage(entries, entries[-1].sk if entries and more else None)


def is_current(entry: DirectoryEntry, latest_root_id: str | None) -> bool:
    """Whether ``entry`` is its thread's current entry, given the id of the thread's
    latest root checkpoint (``None``: the thread has none, deleted or expired)."""
    return latest_root_id is not None and schema.activity_period(latest_root_id) == entry.period


def directory_is_complete(ctx: TableCtx) -> Flow[bool]:
    """Whether the thread directory lists every thread (its ``complete`` item is there)."""
    resp = yield ctx.request(
        "get_item", Key=schema.key_of(schema.directory_complete()), ConsistentRead=True
    )
    return "Item" in resp


def mark_directory_complete(ctx: TableCtx) -> Flow[None]:
    """Say that the thread directory lists every thread."""
    yield ctx.request("put_item", Item=schema.directory_complete())


def index_thread(ctx: Ctx, thread_id: str) -> Flow[str | None]:
    """Write a thread's current directory entry (the period of its latest live root
    checkpoint, expiring after that head): what a ``put`` of this version would have
    written. The latest checkpoint as ``get_tuple`` reads it, its expiry, one PutItem;
    the period, or ``None`` for a thread without a live root checkpoint."""
    schema.require_id(thread_id, "thread_id")
    root: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    latest = yield from get_tuple(ctx, root)
    if latest is None:
        return None
    checkpoint_id = str(latest.config["configurable"]["checkpoint_id"])
    head = yield ctx.request(
        "get_item",
        Key=schema.key(schema.thread_pk(thread_id), schema.head_sk("", checkpoint_id)),
        ProjectionExpression=schema.N_TTL,
        ExpressionAttributeNames=schema.names(schema.N_TTL),
        ConsistentRead=True,
    )
    period = schema.activity_period(checkpoint_id)
    expires = get_n(head.get("Item", {}), schema.TTL)
    yield ctx.request("put_item", Item=schema.directory_entry(thread_id, period, expires))
    return period
