"""Building items: a checkpoint's head (and its chunks), a task's writes items, and a head
rewritten with every value whole. Pure."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import WRITES_IDX_MAP, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import keys
from langgraph_dynamodb.codec import Compression
from langgraph_dynamodb.storage import deltas, index, schema
from langgraph_dynamodb.storage.attrs import AttrMap, n, s
from langgraph_dynamodb.storage.chunks import frame
from langgraph_dynamodb.storage.index import ChannelIndex
from langgraph_dynamodb.storage.items import Head
from langgraph_dynamodb.storage.plan import ChannelPlan
from langgraph_dynamodb.storage.values import Parts, TypedValue, channel_label, dumps, join


@dataclass(frozen=True)
class PreparedHead:
    """The items of one head: chunk items (written first), the head, and its index."""

    head: AttrMap
    chunks: list[AttrMap]
    index: ChannelIndex


def _framed_item(
    structure: Any,
    compression: Compression,
    *,
    sk: str,
    kind: str,
    extra: AttrMap,
    thread_id: str,
    checkpoint_ns: str,
    expires_at: int | None,
) -> tuple[AttrMap, list[AttrMap]]:
    """An item holding a payload structure (framed, chunked if large), and its chunks."""
    pk = keys.thread_pk(thread_id)
    framed = frame(structure, compression, pk, expires_at)
    item: AttrMap = {keys.PK: s(pk), keys.SK: s(sk), keys.KIND: s(kind), **extra, **framed.attrs}
    if keys.decode_thread_pk(pk) is None:  # the key holds a digest of it
        item[keys.THREAD] = s(thread_id)
    if keys.is_digest(keys.ns_prefix(checkpoint_ns)[len(keys.CHECKPOINT_PREFIX) : -1]):
        item[keys.NAMESPACE] = s(checkpoint_ns)
    if expires_at is not None:
        item[keys.TTL] = n(expires_at)
    return item, framed.chunks


def _head_item(
    payload: schema.HeadPayload,
    compression: Compression,
    *,
    thread_id: str,
    checkpoint_ns: str,
    checkpoint_id: str,
    parent_id: str | None,
    run_id: Any,
    expires_at: int | None,
) -> tuple[AttrMap, list[AttrMap]]:
    extra: AttrMap = {}
    if parent_id is not None:
        extra[keys.PARENT] = keys.id_attr(parent_id)
    if isinstance(run_id, str) and run_id:
        extra[keys.RUN_ID] = s(run_id)
    return _framed_item(
        schema.encode_head(payload),
        compression,
        sk=keys.head_sk(checkpoint_ns, checkpoint_id),
        kind=keys.KIND_CHECKPOINT,
        extra=extra,
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        expires_at=expires_at,
    )


def build_head(
    *,
    serde: SerializerProtocol,
    compression: Compression,
    thread_id: str,
    checkpoint_ns: str,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    parent_id: str | None,
    plan: ChannelPlan,
    expires_at: int | None,
) -> PreparedHead:
    """Build the head item (and chunks) of a checkpoint, and its channel index."""
    cp_id = checkpoint["id"]
    values = checkpoint["channel_values"]
    versions = checkpoint["channel_versions"]
    # The id is the sort key's: the skeleton leaves it out, Head.skeleton puts it back.
    skeleton = {k: v for k, v in checkpoint.items() if k not in ("channel_values", "id")}
    stored: dict[str, TypedValue | None] = {}
    tails: dict[str, schema.Delta] = {}
    stored_versions: dict[str, Any] = {}
    entries: ChannelIndex = dict(plan.referred)
    for ch in plan.stored:
        known = ch in versions
        if known:
            stored_versions[ch] = versions[ch]
        if ch not in values:
            stored[ch] = None
            if known:
                entries[ch] = index.removed(versions[ch], cp_id, expires_at)
            continue
        encoded = deltas.encode(
            serde,
            ch,
            values[ch],
            versions.get(ch),
            plan.bases.get(ch),
            holder=cp_id,
            expires_at=expires_at,
        )
        if encoded.delta is not None:
            tails[ch] = encoded.delta
        else:
            stored[ch] = encoded.whole
        if known:
            entries[ch] = encoded.entry
    for ch, copied in plan.copies.items():
        assert copied.inline is not None
        stored[ch] = copied.inline
        stored_versions[ch] = copied.version
        entries[ch] = index.describe(
            copied.version, cp_id, [(copied.inline, -1)], shape=copied.shape, expires=expires_at
        )
    payload = schema.HeadPayload(
        skeleton=dumps(serde, skeleton, "the checkpoint's versions"),
        metadata=dumps(serde, metadata, "the checkpoint metadata"),
        stored=stored,
        versions=stored_versions,
        refs=plan.refs,
        deltas=tails,
    )
    head, chunks = _head_item(
        payload,
        compression,
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        checkpoint_id=cp_id,
        parent_id=parent_id,
        run_id=metadata.get("run_id"),
        expires_at=expires_at,
    )
    return PreparedHead(head, chunks, entries)


def rebuild_head(
    head: Head,
    compression: Compression,
    serde: SerializerProtocol,
    parts: Mapping[str, Parts],
    channel_values: Mapping[str, Any],
    *,
    thread_id: str,
    checkpoint_ns: str,
    expires_at: int | None,
) -> PreparedHead:
    """The same checkpoint with every channel value stored whole in it (no references,
    no deltas): what prune keeps, and what a TTL refresh writes."""
    payload = head.payload(compression)
    versions = head.versions(serde, compression)
    stored: dict[str, TypedValue | None] = {}
    entries: ChannelIndex = {}
    for ch, ver in versions.items():
        if ch not in parts:
            stored[ch] = None
            entries[ch] = index.removed(ver, head.checkpoint_id, expires_at)
            continue
        ch_parts = parts[ch]
        value = channel_values.get(ch)
        if len(ch_parts) == 1:
            typed = ch_parts[0][0]
        else:
            typed = dumps(serde, join(serde, ch_parts, channel_label(ch)), channel_label(ch))
        whole: Parts = [(typed, -1)]
        shape = index.shape_of(whole, value, serde, ch)
        stored[ch] = typed
        entries[ch] = index.describe(
            ver, head.checkpoint_id, whole, shape=shape, expires=expires_at
        )
    rebuilt = schema.HeadPayload(
        skeleton=payload.skeleton,
        metadata=payload.metadata,
        stored=stored,
        versions=dict(versions),
    )
    item, chunks = _head_item(
        rebuilt,
        compression,
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        checkpoint_id=head.checkpoint_id,
        parent_id=head.parent_id,
        run_id=head.run_id,
        expires_at=expires_at,
    )
    return PreparedHead(item, chunks, entries)


# --- writes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedWrites:
    """The items of one ``put_writes``: the task's regular-writes item (written only if
    absent: first write wins per index), one item per special channel (last write wins),
    and chunk items (written first)."""

    regular: AttrMap | None
    regular_entries: dict[int, schema.WriteEntry]
    special: list[AttrMap]
    chunks: list[AttrMap]


def writes_item(
    *,
    compression: Compression,
    thread_id: str,
    checkpoint_ns: str,
    checkpoint_id: str,
    task_id: str,
    task_path: str,
    tag: str,
    entries: Iterable[schema.WriteEntry],
    expires_at: int | None,
) -> tuple[AttrMap, list[AttrMap]]:
    """One writes item (and its chunks, if large)."""
    in_key = not keys.task_id_digested(task_id)
    payload = schema.WritesPayload(task_path, tuple(entries), None if in_key else task_id)
    return _framed_item(
        schema.encode_writes(payload),
        compression,
        sk=keys.writes_sk(checkpoint_ns, checkpoint_id, task_id, tag),
        kind=keys.KIND_WRITES,
        extra={keys.NONCE: s(secrets.token_hex(8))},
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        expires_at=expires_at,
    )


def build_writes(
    *,
    serde: SerializerProtocol,
    compression: Compression,
    thread_id: str,
    checkpoint_ns: str,
    checkpoint_id: str,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
    expires_at: int | None,
) -> PreparedWrites:
    """Build the items of one ``put_writes`` call, as ``InMemorySaver`` keeps writes:
    regular writes (index >= 0) first-wins per index, special ones (ERROR, INTERRUPT, ...)
    last-wins per channel."""
    regular: dict[int, schema.WriteEntry] = {}
    special: dict[int, schema.WriteEntry] = {}
    for idx, (channel, value) in enumerate(writes):
        w_idx = WRITES_IDX_MAP.get(channel, idx)
        typed = dumps(serde, value, f"the write to {channel_label(channel)} of task {task_id!r}")
        entry = schema.WriteEntry(w_idx, channel, typed)
        if w_idx >= 0:
            regular.setdefault(w_idx, entry)
        else:
            special[w_idx] = entry

    def one(tag: str, entries: Iterable[schema.WriteEntry]) -> tuple[AttrMap, list[AttrMap]]:
        return writes_item(
            compression=compression,
            thread_id=thread_id,
            checkpoint_ns=checkpoint_ns,
            checkpoint_id=checkpoint_id,
            task_id=task_id,
            task_path=task_path,
            tag=tag,
            entries=entries,
            expires_at=expires_at,
        )

    chunks: list[AttrMap] = []
    regular_item = None
    if regular:
        regular_item, extra = one(keys.REGULAR_TAG, regular.values())
        chunks.extend(extra)
    special_items = []
    for w_idx, entry in special.items():
        item, extra = one(keys.write_tag(w_idx), [entry])
        special_items.append(item)
        chunks.extend(extra)
    return PreparedWrites(regular_item, regular, special_items, chunks)
