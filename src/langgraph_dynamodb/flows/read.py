"""Reading checkpoints: ``get_tuple`` (the latest exactly, or by id) and
``get_delta_channel_history``. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, DeltaChannelHistory, PendingWrite

from langgraph_dynamodb import limits
from langgraph_dynamodb.calls import Flow
from langgraph_dynamodb.flows.context import Ctx, Target, target_of
from langgraph_dynamodb.flows.maintenance import rewrite_whole
from langgraph_dynamodb.flows.reader import Reader, unreadable
from langgraph_dynamodb.storage.resolve import Assembled, Missing, pending_writes
from langgraph_dynamodb.storage.values import channel_label, join


def read_checkpoint(
    ctx: Ctx, target: Target, config: RunnableConfig | None = None
) -> Flow[tuple[Reader, Assembled] | None]:
    """The newest checkpoint of the target's namespace, or its ``checkpoint_id``'s, read
    whole (usually one Query) and remembered for writers of its children; ``None`` when
    there is none.

    Raises:
        CorruptItemError: The checkpoint exists but a part of it is gone: never an older
            checkpoint in its place.
    """
    expected = ctx.hints.expected_items(
        target.thread_id, target.checkpoint_ns, target.checkpoint_id, ctx.index.get
    )
    reader = Reader.of(ctx, target, expected or limits.GET_TUPLE_QUERY_LIMIT)
    while not reader.heads and not reader.exhausted:
        yield from reader.next_page()
    if not reader.heads:
        return None
    head = reader.heads[0]
    if target.checkpoint_id is not None and head.checkpoint_id != target.checkpoint_id:
        return None
    found = yield from reader.read(head, prefer_paging=False, config=config)
    if isinstance(found, Missing):
        raise unreadable(target, head.checkpoint_id, found)
    ctx.index.put(target.key(head.checkpoint_id), found.index)
    return reader, found


def get_tuple(ctx: Ctx, config: RunnableConfig) -> Flow[CheckpointTuple | None]:
    """The latest checkpoint of a namespace, or the one with the config's id, with its
    pending writes; with a sliding TTL, rewritten with a later expiry when items written
    now would expire later than it (once per expiry window)."""
    target = target_of(config)
    read = yield from read_checkpoint(
        ctx, target, config if target.checkpoint_id is not None else None
    )
    if read is None:
        return None
    reader, found = read
    head = reader.heads[0]
    fresh = ctx.expires_at()
    if (
        target.checkpoint_id is None
        and ctx.ttl_refresh_on_read
        and fresh is not None
        and head.expires_at is not None
        and head.expires_at < fresh
    ):
        yield from rewrite_whole(ctx, reader, head, found)
    return found.tuple


def delta_channel_history(
    ctx: Ctx, config: RunnableConfig, channels: Sequence[str]
) -> Flow[dict[str, DeltaChannelHistory]]:
    """``get_delta_channel_history`` in one or two Queries instead of one ``get_tuple``
    per ancestor: read the namespace down from the target once, walk the parent chain in
    memory, collect each ancestor's writes to the channels and stop at the nearest
    ancestor that stores a value (the seed). The walk ends at an ancestor that is not in
    the table (as LangGraph's own default does); an ancestor that is there but cannot be
    read raises :class:`~langgraph_dynamodb.errors.CorruptItemError`."""
    if not channels:
        return {}
    target = target_of(config)
    reader = Reader.of(ctx, target, limits.LIST_QUERY_LIMIT)
    collected: dict[str, list[PendingWrite]] = {ch: [] for ch in channels}
    seeds: dict[str, Any] = {}
    remaining = set(channels)
    while not reader.heads and not reader.exhausted:
        yield from reader.next_page()
    head = reader.heads[0] if reader.heads else None
    if head is not None and target.checkpoint_id not in (None, head.checkpoint_id):
        head = None
    cursor = head.parent_id if head is not None else None
    while cursor is not None and remaining:
        while cursor not in reader.by_id and not reader.exhausted:
            yield from reader.next_page()
        ancestor = reader.head(cursor)
        if ancestor is None:
            break
        writes = yield from reader.complete(ancestor)
        if isinstance(writes, Missing):
            raise unreadable(target, ancestor.checkpoint_id, writes)
        for write in reversed(pending_writes(ctx.serde, ctx.compression, writes)):
            if write[1] in remaining:
                collected[write[1]].append(write)
        versions = ancestor.versions(ctx.serde, ctx.compression)
        wanted = {ch: versions[ch] for ch in remaining if ch in versions}
        resolved = yield from reader.values_of(ancestor, wanted, prefer_paging=True)
        if isinstance(resolved, Missing):
            raise unreadable(target, ancestor.checkpoint_id, resolved)
        for ch, loc in resolved.items():
            if loc.parts is not None:
                seeds[ch] = join(ctx.serde, loc.parts, channel_label(ch))
                remaining.discard(ch)
        cursor = ancestor.parent_id
    result: dict[str, DeltaChannelHistory] = {}
    for ch in channels:
        entry: DeltaChannelHistory = {"writes": list(reversed(collected[ch]))}
        if ch in seeds:
            entry["seed"] = seeds[ch]
        result[ch] = entry
    return result
