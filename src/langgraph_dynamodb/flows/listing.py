"""``list``: checkpoints newest first, of one namespace (a Query that pages), of every
namespace of a thread (one read of the thread), or of the whole table (a Scan). A
checkpoint that cannot be read is left out, said (a warning and a count in the saver's
stats). No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.runnables import RunnableConfig

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import InvalidInputError
from langgraph_dynamodb.flows.bulk import query_all, read_all
from langgraph_dynamodb.flows.context import Ctx, Target, target_of
from langgraph_dynamodb.flows.maintenance import thread_of
from langgraph_dynamodb.flows.read import Reader, readers_of_thread
from langgraph_dynamodb.schema import AttrMap
from langgraph_dynamodb.steps import Emit, Flow
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.storage.items import Head
from langgraph_dynamodb.storage.resolve import Missing


def list_checkpoints(
    ctx: Ctx,
    config: RunnableConfig | None,
    *,
    filter: Mapping[str, Any] | None = None,
    before: RunnableConfig | None = None,
    limit: int | None = None,
) -> Flow[None]:
    """Emit matching checkpoints newest first (see the saver's ``list``)."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise InvalidInputError(f"limit must be an int or None, got {limit!r}")
    if filter is not None and not isinstance(filter, Mapping):
        raise InvalidInputError(f"filter must be a dict of metadata values, got {filter!r}")
    before_id = None
    if before is not None:
        configurable = before.get("configurable") if isinstance(before, Mapping) else None
        if not isinstance(configurable, Mapping):
            raise InvalidInputError(
                "before must be a config like {'configurable': {'checkpoint_id': ...}} (the "
                f"config of a checkpoint, as list() returns it), got {before!r}"
            )
        before_id = configurable.get("checkpoint_id")
        if before_id is not None:
            before_id = schema.require_id(before_id, "checkpoint_id of before")
    if limit is not None and limit <= 0:
        return
    if config is None:
        yield from _list_scan(ctx, filter, before_id, limit)
        return
    target = target_of(config)
    configurable = config["configurable"]
    if configurable.get("checkpoint_ns") is None:
        raw = yield from query_all(ctx, target.pk, schema.CHECKPOINT_PREFIX)
        readers = readers_of_thread(ctx, target.thread_id, raw)
        yield from _emit_merged(ctx, readers, target.checkpoint_id, filter, before_id, limit)
        return
    yield from _list_ns(ctx, target, filter, before_id, limit)


def _matches(ctx: Ctx, reader: Reader, head: Head, filter: Mapping[str, Any] | None) -> Flow[bool]:
    """Whether a head's metadata matches a ``list`` filter: exact top-level equality on
    every key, as ``InMemorySaver`` (its chunks loaded first)."""
    if not filter:
        return True
    if (yield from reader.load_chunks([head])):
        return False
    metadata = head.metadata(ctx.serde, ctx.compression)
    return all(metadata.get(k) == v for k, v in filter.items())


def _emit(ctx: Ctx, reader: Reader, head: Head, prefer_paging: bool) -> Flow[bool]:
    """Emit one checkpoint; False (said, not emitted) if it cannot be read."""
    found = yield from reader.checkpoint(head, prefer_paging=prefer_paging)
    if isinstance(found, Missing):
        ctx.on_skip(
            f"list() leaves out checkpoint {head.checkpoint_id!r} of thread "
            f"{reader.target.thread_id!r} (namespace {reader.target.checkpoint_ns!r}): it "
            f"cannot be read ({found.reason}); prune() or delete_thread() removes it"
        )
        return False
    yield Emit(found.tuple)
    return True


def _list_ns(
    ctx: Ctx,
    target: Target,
    filter: Mapping[str, Any] | None,
    before_id: str | None,
    remaining: int | None,
) -> Flow[None]:
    prefix = schema.checkpoint_ns_prefix(target.checkpoint_ns)
    if target.checkpoint_id is not None:
        lo = schema.checkpoint_prefix(target.checkpoint_ns, target.checkpoint_id)
        hi = lo + schema.HEAD_MARK
        if before_id is not None and target.checkpoint_id >= before_id:
            return
    else:
        lo, hi = prefix, schema.range_end(prefix)
        if before_id is not None:
            hi = schema.checkpoint_prefix(target.checkpoint_ns, before_id)
    page = limits.LIST_QUERY_LIMIT
    if remaining is not None:
        page = min(page, max(8, remaining * 4 + 8))
    reader = Reader(ctx, target, lo, hi, page)
    done = 0
    while True:
        while len(reader.heads) <= done and not reader.exhausted:
            yield from reader.next_page()
        if len(reader.heads) <= done:
            return
        head = reader.heads[done]
        done += 1
        if not (yield from _matches(ctx, reader, head, filter)):
            continue
        # a whole listing reads every head anyway, so it pages down to an old holder; a
        # limited one fetches holders by key (an unchanged channel's may be the
        # namespace's first head: paging would read the whole namespace for one page)
        if not (yield from _emit(ctx, reader, head, prefer_paging=remaining is None)):
            continue
        if remaining is not None:
            remaining -= 1
            if remaining <= 0:
                return


def _emit_merged(
    ctx: Ctx,
    readers: Mapping[str, Reader],
    only_id: str | None,
    filter: Mapping[str, Any] | None,
    before_id: str | None,
    remaining: int | None,
) -> Flow[int | None]:
    """Emit the checkpoints of several namespaces of one thread, newest id first."""
    heads = [(h.checkpoint_id, ns, h) for ns, r in readers.items() for h in r.heads]
    heads.sort(key=lambda x: x[0], reverse=True)
    for cp_id, ns, head in heads:
        if only_id is not None and cp_id != only_id:
            continue
        if before_id is not None and cp_id >= before_id:
            continue
        if not (yield from _matches(ctx, readers[ns], head, filter)):
            continue
        if not (yield from _emit(ctx, readers[ns], head, prefer_paging=False)):
            continue
        if remaining is not None:
            remaining -= 1
            if remaining <= 0:
                return 0
    return remaining


def _list_scan(
    ctx: Ctx, filter: Mapping[str, Any] | None, before_id: str | None, remaining: int | None
) -> Flow[None]:
    by_thread: dict[str, list[AttrMap]] = {}
    for item in (yield from read_all(ctx, "scan", requests.scan_checkpoints())):
        thread = thread_of(item)
        if thread is not None:
            by_thread.setdefault(thread, []).append(item)
    for thread_id, raw in by_thread.items():
        readers = readers_of_thread(ctx, thread_id, raw)
        left = yield from _emit_merged(ctx, readers, None, filter, before_id, remaining)
        if remaining is not None:
            remaining = left
            if not remaining:
                return


def dump_thread(ctx: Ctx, thread_id: str) -> Flow[None]:
    """Emit ``(tuple, task paths)`` for every checkpoint of a thread, each namespace oldest
    first (what an export writes; one read of the thread). A checkpoint that cannot be
    read is left out and said, as in ``list``."""
    raw = yield from query_all(ctx, schema.thread_pk(thread_id), schema.CHECKPOINT_PREFIX)
    readers = readers_of_thread(ctx, thread_id, raw)
    for ns in sorted(readers):
        reader = readers[ns]
        for head in sorted(reader.heads, key=lambda h: h.checkpoint_id):
            found = yield from reader.checkpoint(head, prefer_paging=False)
            if isinstance(found, Missing):
                ctx.on_skip(
                    f"checkpoint {head.checkpoint_id!r} of thread {thread_id!r} (namespace "
                    f"{ns!r}) cannot be read ({found.reason}); it is left out"
                )
                continue
            yield Emit((found.tuple, found.task_paths))
