"""Writing checkpoints and writes: ``put`` (usually one PutItem: chunks first when large,
a Query first when the saver knows nothing of the parent, with a TTL an UpdateItem per
older head it needs once per window; a BatchWriteItem with its run marker for a run's
first in a thread, and with the thread directory entry for a root checkpoint that enters
a period) and ``put_writes`` (one PutItem per kind of write, more on a conflict); with
``fencing``, each of them one TransactWriteItems that claims the thread's fence first
(:func:`fenced`). No I/O.

What ``put`` stores is a function of the checkpoint, its parent as stored and the
options: the parent's channel index comes from the saver's cache when it wrote or read the
parent, and is read from the table otherwise (the same index either way, see
:mod:`..storage.index`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_checkpoint_metadata,
)

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import (
    ConflictError,
    CorruptItemError,
    FencedError,
    InvalidInputError,
)
from langgraph_dynamodb.flows.bulk import batch_get, batch_write
from langgraph_dynamodb.flows.context import Ctx, Target, target_of
from langgraph_dynamodb.flows.read import read_checkpoint
from langgraph_dynamodb.schema import AttrMap, get_n, get_s, key, key_of, sk_of
from langgraph_dynamodb.steps import Failure, Flow, Sleep, backoff
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.storage.build import (
    PreparedWrites,
    build_head,
    build_writes,
    plan_channels,
    writes_item,
)
from langgraph_dynamodb.storage.index import ChannelIndex
from langgraph_dynamodb.storage.items import Head, StoredWrite, Writes, decode_item
from langgraph_dynamodb.storage.resolve import make_config


def parent_index(ctx: Ctx, target: Target) -> Flow[ChannelIndex | None]:
    """The channel index of the checkpoint ``target`` names (a new checkpoint's parent):
    remembered, or read; ``None`` when it is not in the table."""
    if target.checkpoint_id is None:
        return None
    cached = ctx.index.get(target.cache_key())
    if cached is not None:
        return cached
    read = yield from read_checkpoint(ctx, target)
    return read[1].index if read is not None else None


def put(
    ctx: Ctx,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> Flow[RunnableConfig]:
    """Store a checkpoint head: one PutItem (chunks first, if the payload is large)."""
    target = target_of(config)
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("id"), str):
        raise InvalidInputError("checkpoint must be a Checkpoint dict with a string 'id'")
    checkpoint_id = schema.require_id(checkpoint["id"], "checkpoint id")
    schema.checkpoint_component(checkpoint_id)
    expires_at = ctx.expires_at()
    parent = yield from parent_index(ctx, target)
    lineage = _lineage(ctx, target, checkpoint_id, parent is not None, config)
    if parent is None and target.checkpoint_id is not None:
        ctx.on_skip(
            f"put() of checkpoint {checkpoint_id!r} in thread {target.thread_id!r}: its parent "
            f"{target.checkpoint_id!r} is not in the table. If the thread was deleted while "
            "this run was writing, this checkpoint stays deleted (under the thread's "
            "tombstone); otherwise it starts from nothing"
        )
    plan = plan_channels(checkpoint, new_versions, parent, expires_at=expires_at)
    full_metadata = get_checkpoint_metadata(config, metadata)
    parent_writes = (
        ctx.stored_writes.get(target.cache_key())
        if parent is not None and expires_at is None
        else []
    )
    prepared = build_head(
        serde=ctx.serde,
        compression=ctx.compression,
        thread_id=target.thread_id,
        checkpoint_ns=target.checkpoint_ns,
        checkpoint=checkpoint,
        metadata=full_metadata,
        parent_id=target.checkpoint_id,
        lineage=lineage,
        plan=plan,
        expires_at=expires_at,
        parent_writes=parent_writes,
    )
    if plan.touch and expires_at is not None:
        yield from touch_heads(ctx, target, plan.touch, expires_at)
    fence = _fence_of(ctx, target, full_metadata.get("run_id"))
    marker = ctx.run_marker(full_metadata.get("run_id"), target.thread_id, expires_at)
    beside = [*marker, *_directory_entry(target, checkpoint_id, expires_at)]
    if prepared.chunks:
        yield from batch_write(ctx, puts=[*prepared.chunks, *([] if fence else beside)])
    if fence is not None:  # the claim, the marker, the entry and the head: one transaction
        puts = [{"Item": m} for m in beside] + [{"Item": prepared.head}]
        yield from fenced(ctx, fence, puts)
    elif beside and not prepared.chunks:  # the marker and entry with the head: one request
        yield from batch_write(ctx, puts=[*beside, prepared.head])
    else:
        yield ctx.request("put_item", Item=prepared.head)
    if marker:
        ctx.runs.note(full_metadata["run_id"], target.thread_id, get_n(marker[0], schema.TTL))
    head_key = target.cache_key(checkpoint_id)
    ctx.index.put(head_key, prepared.index, lineage)
    ctx.hints.note_head(head_key, target.checkpoint_id)
    return make_config(target.thread_id, target.checkpoint_ns, checkpoint_id)


def _directory_entry(target: Target, checkpoint_id: str, expires_at: int | None) -> list[AttrMap]:
    """The thread directory entry a root ``put`` writes beside its head: when the
    checkpoint enters a period (see :mod:`..schema`, the thread directory); else none."""
    if target.checkpoint_ns:
        return []
    period = schema.entered_period(target.checkpoint_id, checkpoint_id)
    if period is None:
        return []
    return [schema.directory_entry(target.thread_id, period, expires_at)]


def _lineage(
    ctx: Ctx, target: Target, checkpoint_id: str, parent_found: bool, config: RunnableConfig
) -> str:
    """The lineage of a new head: its parent's (remembered when the parent was written or
    read here); a parent that is not in the table (deleted) is its own lineage, so a late
    write of a deleted thread stays under its tombstone; a subgraph's first checkpoint
    takes the lineage of the checkpoint of the root graph it runs under (LangGraph's
    ``checkpoint_map``), so the root namespace's tombstone covers it; another root starts
    a lineage after the namespace's tombstone, if this saver has read one."""
    if target.checkpoint_id is not None:
        known = ctx.index.lineage(target.cache_key()) if parent_found else None
        return known or target.checkpoint_id
    outer = (config.get("configurable") or {}).get("checkpoint_map") or {}
    if target.checkpoint_ns and isinstance(outer.get(""), str):
        # the root graph's checkpoint may still be being written (LangGraph puts in the
        # background): its id stands for its lineage, which readers look up
        return ctx.index.lineage((target.thread_id, "", outer[""])) or outer[""]
    watermark = ctx.watermarks.get(target.thread_id, target.checkpoint_ns)
    if watermark is not None and checkpoint_id <= watermark:
        return schema.lineage_after(watermark)
    return checkpoint_id


@dataclass(frozen=True)
class Fence:
    """Who writes, with ``fencing=True``: the run, the thread, the fence's expiry."""

    thread_id: str
    run_id: str
    expires_at: int | None


def _fence_of(ctx: Ctx, target: Target, run_id: Any) -> Fence | None:
    """The fence a write must claim (``None`` without ``fencing``).

    Raises:
        InvalidInputError: ``fencing=True`` and the write names no run.
    """
    if not ctx.fencing:
        return None
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInputError(
            f"fencing=True: a write to thread {target.thread_id!r} names no run; give every "
            "run a run_id that sorts in start order (uuid7), in the config's metadata "
            "({'metadata': {'run_id': ...}}) or configurable, as LangGraph's Agent Server does"
        )
    return Fence(target.thread_id, run_id, ctx.expires_at())


def run_of(config: RunnableConfig) -> Any:
    """The run a config belongs to: its metadata's ``run_id``, else its configurable's."""
    for part in (config.get("metadata"), config.get("configurable")):
        if isinstance(part, Mapping) and part.get("run_id"):
            return str(part["run_id"])
    return None


def fenced(ctx: Ctx, fence: Fence, puts: Sequence[Mapping[str, Any]]) -> Flow[Any]:
    """Write ``puts`` (PutItem parameters) in one TransactWriteItems with the claim of the
    thread's fence first: all of them, or, when a newer run holds the thread, none.

    Returns:
        The response; or a :class:`Failure` carrying the item found (``Item``) when a
        conditional put's own condition failed.

    Raises:
        FencedError: A newer run holds the thread.
        ConflictError: Concurrent transactions on the fence kept cancelling this one.
    """
    claim = requests.claim_fence(fence.thread_id, fence.run_id, fence.expires_at)
    items = requests.fenced_writes(ctx.table, claim, puts)
    for attempt in range(limits.FENCE_CONFLICT_MAX_ATTEMPTS):
        resp = yield ctx.request(
            "transact_write_items", expect=("TransactionCanceledException",), TransactItems=items
        )
        if not isinstance(resp, Failure):
            return resp
        reasons = resp.response.get("CancellationReasons") or []
        codes = [r.get("Code") for r in reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            holder = get_s(reasons[0].get("Item") or {}, schema.HOLDER)
            raise FencedError(
                f"thread {fence.thread_id!r} is held by run {holder!r}, newer than run "
                f"{fence.run_id!r}: this write of {fence.run_id!r} was refused and nothing of "
                "it was stored. The run was superseded (a rollback, an interrupt or a "
                "newer run on the thread); stop it, do not retry it.",
                thread_id=fence.thread_id,
                run_id=fence.run_id,
                holder=holder,
            )
        for reason in reasons[1:]:
            if reason.get("Code") == "ConditionalCheckFailed":
                return Failure(
                    "ConditionalCheckFailedException",
                    str(reason.get("Message", "")),
                    {"Item": reason.get("Item") or {}},
                )
        if not any(c in ("TransactionConflict", "ThrottlingError") for c in codes):
            raise ConflictError(
                f"a fenced write to thread {fence.thread_id!r} was cancelled: {codes}"
            )
        yield Sleep(backoff(attempt + 1))
    raise ConflictError(
        f"fenced writes to thread {fence.thread_id!r} kept meeting concurrent ones on its "
        f"fence ({limits.FENCE_CONFLICT_MAX_ATTEMPTS} attempts)"
    )


def touch_heads(ctx: Ctx, target: Target, ids: Iterable[str], expires_at: int) -> Flow[None]:
    """Extend the expiry of older heads (and their chunks) a new head needs, so that no
    checkpoint outlives what it is made of.

    Raises:
        CorruptItemError: One of them is gone (the parent cannot be read either).
    """
    for checkpoint_id in sorted(ids):
        head_key = key(target.pk, schema.head_sk(target.checkpoint_ns, checkpoint_id))
        resp = yield ctx.request(
            "update_item",
            expect=("ConditionalCheckFailedException",),
            **requests.set_expiry(head_key, expires_at, if_exists=True),
        )
        if isinstance(resp, Failure):
            raise CorruptItemError(
                f"checkpoint {checkpoint_id!r} of thread {target.thread_id!r}, which the new "
                "checkpoint's parent is made of, is gone; the parent cannot be read either"
            )
        decoded = decode_item(resp.get("Attributes", {}))
        if isinstance(decoded, Head):
            for chunk_key in decoded.chunk_keys():
                yield ctx.request("update_item", **requests.set_expiry(chunk_key, expires_at))
            for marker in ctx.run_marker(decoded.run_id, target.thread_id, expires_at):
                yield ctx.request("put_item", Item=marker)  # it lasts as long as its heads
                ctx.runs.note(str(decoded.run_id), target.thread_id, get_n(marker, schema.TTL))


def put_writes(
    ctx: Ctx,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
) -> Flow[None]:
    """Store a task's writes: one conditional PutItem for regular writes (first write
    wins per index) and one PutItem / BatchWriteItem for special channels (last wins)."""
    target = target_of(config, need_checkpoint=True)
    assert target.checkpoint_id is not None
    schema.require_id(task_id, "task_id")
    if not isinstance(task_path, str):
        raise InvalidInputError(f"task_path must be a string, got {task_path!r}")
    if not writes:
        return
    prepared = build_writes(
        serde=ctx.serde,
        compression=ctx.compression,
        thread_id=target.thread_id,
        checkpoint_ns=target.checkpoint_ns,
        checkpoint_id=target.checkpoint_id,
        writes=writes,
        task_id=task_id,
        task_path=task_path,
        expires_at=ctx.expires_at(),
    )
    fence = _fence_of(ctx, target, run_of(config))
    if prepared.chunks:
        yield from batch_write(ctx, puts=prepared.chunks)
    if prepared.regular is not None:
        stored = yield from _put_regular(ctx, target, task_id, task_path, prepared, fence)
        if ctx.expires_at() is None:  # a child may refer to them: they never expire
            ctx.stored_writes.add(
                target.cache_key(), (StoredWrite(task_path, task_id, e) for e in stored)
            )
    if fence is not None and prepared.special:
        yield from fenced(ctx, fence, [{"Item": i} for i in prepared.special])
    elif len(prepared.special) == 1:
        yield ctx.request("put_item", Item=prepared.special[0])
    elif prepared.special:
        yield from batch_write(ctx, puts=prepared.special)
    written = [sk_of(i) for i in [prepared.regular, *prepared.special] if i is not None]
    ctx.hints.note_writes(target.cache_key(), written)


def _put_regular(
    ctx: Ctx,
    target: Target,
    task_id: str,
    task_path: str,
    prepared: PreparedWrites,
    fence: Fence | None,
) -> Flow[list[schema.WriteEntry]]:
    """Put the task's regular-writes item, or merge into the one a concurrent writer put
    (first write wins per index), optimistically on its nonce; fenced, each put is one
    transaction with the fence's claim. Returns the entries the item holds now."""
    assert prepared.regular is not None and target.checkpoint_id is not None
    params = requests.put_new(prepared.regular)
    mine = list(prepared.regular_entries.values())
    entries = mine
    for _ in range(limits.WRITES_MERGE_MAX_ATTEMPTS):
        if fence is not None:
            put = {k: v for k, v in params.items() if k != "ReturnValuesOnConditionCheckFailure"}
            resp = yield from fenced(ctx, fence, [put])
        else:
            resp = yield ctx.request(
                "put_item", expect=("ConditionalCheckFailedException",), **params
            )
        if not isinstance(resp, Failure):
            return entries
        old_raw: AttrMap | None = resp.response.get("Item")
        if not old_raw:  # it went away meanwhile, or the old item did not come back
            old_raw = (
                yield ctx.request("get_item", Key=key_of(prepared.regular), ConsistentRead=True)
            ).get("Item")
            if not old_raw:
                params = requests.put_new(prepared.regular)
                entries = mine
                continue
        old = decode_item(old_raw)
        if not isinstance(old, Writes):
            raise CorruptItemError(
                f"item {sk_of(old_raw)!r} of thread {target.thread_id!r} is where this task's "
                "writes go, but it is not a writes item; remove it"
            )
        if old.needs_chunks():
            found = yield from batch_get(ctx, old.chunk_keys())
            assert old.chunk_ref is not None
            data = old.chunk_ref.join({sk_of(c): c for c in found})
            if data is None:  # its chunks are being replaced: try again on its nonce
                params = requests.put_replacing(prepared.regular, old_raw[schema.NONCE])
                entries = mine
                continue
            old.set_chunk_data(data)
        have = old.payload(ctx.compression)
        taken = {e.idx for e in have.entries}
        new = [e for idx, e in prepared.regular_entries.items() if idx not in taken]
        if not new:
            return list(have.entries)
        merged: list[schema.WriteEntry] = [*have.entries, *new]
        item, chunks = writes_item(
            compression=ctx.compression,
            thread_id=target.thread_id,
            checkpoint_ns=target.checkpoint_ns,
            checkpoint_id=target.checkpoint_id,
            task_id=task_id,
            task_path=have.task_path or task_path,
            tag=schema.REGULAR_TAG,
            entries=merged,
            expires_at=ctx.expires_at(),
        )
        if chunks:
            yield from batch_write(ctx, puts=chunks)
        params = requests.put_replacing(item, old_raw[schema.NONCE])
        entries = merged
    raise ConflictError(
        f"writes of task {task_id!r} kept racing with concurrent writers "
        f"({limits.WRITES_MERGE_MAX_ATTEMPTS} attempts)"
    )
