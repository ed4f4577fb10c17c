"""What a put writes: which channels a new head stores and which it refers to (the plan),
then the items: a checkpoint's head (and its chunks), a task's writes items, and a head
rewritten with every value whole. Pure.

Only channels in ``new_versions`` are serialized from the checkpoint (as LangGraph's own
savers do: LangGraph may still be changing the objects of the other channels while a
background ``put`` runs). An unchanged channel is stored again only from bytes already
held (a small value's :attr:`~.index.ChannelRef.inline` bytes); otherwise it refers to the
head that holds it, found in the parent's index, or, when the parent's index has no entry
at that version, by version among older heads at read time.

With a TTL, every head a new head needs must live at least as long as it: heads expiring
earlier are listed in ``touch``, and the writer extends their expiry before it writes the
new head. Expiries are rounded up to a window (:func:`expiry_in_seconds`), so a holder is touched at
most once per window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.codec import (
    Compression,
    Parts,
    channel_label,
    dumps,
    frame,
    join,
)
from langgraph_dynamodb.schema import AttrMap, Ref, TypedValue, n, s
from langgraph_dynamodb.storage import deltas, index
from langgraph_dynamodb.storage.index import ChannelIndex, ChannelRef
from langgraph_dynamodb.storage.items import Head, StoredWrite


# --- the plan -----------------------------------------------------------------------------
def expiry_in_seconds(now: float, ttl_seconds: float) -> int:
    """The expiry (epoch seconds) of items written at ``now``: at least ``ttl_seconds``
    later, rounded up to a window of :data:`~langgraph_dynamodb.limits.TTL_WINDOW_FRACTION`
    of the TTL, so that items written in one window expire together."""
    window = max(1.0, ttl_seconds * limits.TTL_WINDOW_FRACTION)
    return int(math.ceil((now + ttl_seconds) / window) * window)


@dataclass(frozen=True)
class ChannelPlan:
    """What a new head does with each channel of its checkpoint.

    Attributes:
        stored: Channels serialized from the checkpoint (its ``new_versions``).
        refs: Unchanged channels stored by reference.
        copies: Unchanged small channels stored again from bytes held (their entries).
        bases: The parent's entries of stored channels, for deltas.
        referred: The entries of ``refs`` as the new head's index holds them.
        touch: Heads whose expiry must be extended to the new head's first.
    """

    stored: tuple[str, ...]
    refs: dict[str, Ref] = field(default_factory=dict)
    copies: dict[str, ChannelRef] = field(default_factory=dict)
    bases: dict[str, ChannelRef] = field(default_factory=dict)
    referred: ChannelIndex = field(default_factory=dict)
    touch: frozenset[str] = frozenset()


def _outlived(entry: ChannelRef, expires_at: int | None) -> bool:
    """Whether a head ``entry`` needs expires before a head written now."""
    return expires_at is not None and (entry.expires is None or entry.expires < expires_at)


def plan_channels(
    checkpoint: Checkpoint,
    new_versions: ChannelVersions,
    parent_index: Mapping[str, ChannelRef] | None,
    *,
    expires_at: int | None,
) -> ChannelPlan:
    """Decide, per channel, whether the new head stores it, copies it or refers to it."""
    versions: Mapping[str, Any] = checkpoint["channel_versions"]
    parent = parent_index or {}
    refs: dict[str, Ref] = {}
    copies: dict[str, ChannelRef] = {}
    referred: ChannelIndex = {}
    touch: set[str] = set()
    for ch, ver in versions.items():
        if ch in new_versions:
            continue
        entry = parent.get(ch)
        if entry is None or entry.version != ver:
            refs[ch] = Ref(None, 0)
            continue
        if entry.inline is not None:
            copies[ch] = entry
            continue
        refs[ch] = Ref(entry.holder, entry.depth + 1)
        if _outlived(entry, expires_at):
            touch.update(entry.heads())
            referred[ch] = entry.referred(expires_at)
        else:
            referred[ch] = entry.referred()
    stored = tuple(new_versions)
    bases = {ch: parent[ch] for ch in stored if ch in parent}
    return ChannelPlan(stored, refs, copies, bases, referred, frozenset(touch))


# --- the items ----------------------------------------------------------------------------
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
    pk = schema.thread_pk(thread_id)
    framed = frame(structure, compression, pk, expires_at)
    item: AttrMap = {
        schema.PK: s(pk),
        schema.SK: s(sk),
        schema.KIND: s(kind),
        **extra,
        **framed.attrs,
    }
    if schema.decode_thread_pk(pk) is None:  # the key holds a digest of it
        item[schema.THREAD] = s(thread_id)
    if schema.ns_is_digested(checkpoint_ns):
        item[schema.NAMESPACE] = s(checkpoint_ns)
    if expires_at is not None:
        item[schema.TTL] = n(expires_at)
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
    lineage: str,
    expires_at: int | None,
) -> tuple[AttrMap, list[AttrMap]]:
    extra: AttrMap = {schema.LINEAGE: schema.id_attr(lineage)}
    if parent_id is not None:
        extra[schema.PARENT] = schema.id_attr(parent_id)
    if isinstance(run_id, str) and run_id:
        extra[schema.RUN_ID] = s(run_id)
    return _framed_item(
        schema.encode_head(payload),
        compression,
        sk=schema.head_sk(checkpoint_ns, checkpoint_id),
        kind=schema.KIND_CHECKPOINT,
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
    lineage: str,
    plan: ChannelPlan,
    expires_at: int | None,
    parent_writes: Sequence[StoredWrite] = (),
) -> PreparedHead:
    """Build the head item (and chunks) of a checkpoint, and its channel index; it
    records its ``lineage`` (see :mod:`..schema`, tombstones). A list's appended elements
    refer to ``parent_writes`` (the parent's regular writes known to be stored, in
    :func:`~.deltas.in_order`) when they are exactly those writes'."""
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
            parent_id=parent_id,
            parent_writes=parent_writes,
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
        lineage=lineage,
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
        lineage=head.lineage,
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
    in_key = not schema.task_id_digested(task_id)
    payload = schema.WritesPayload(task_path, tuple(entries), None if in_key else task_id)
    return _framed_item(
        schema.encode_writes(payload),
        compression,
        sk=schema.writes_sk(checkpoint_ns, checkpoint_id, task_id, tag),
        kind=schema.KIND_WRITES,
        extra={schema.NONCE: schema.new_nonce()},
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
        regular_item, extra = one(schema.REGULAR_TAG, regular.values())
        chunks.extend(extra)
    special_items = []
    for w_idx, entry in special.items():
        item, extra = one(schema.write_tag(w_idx), [entry])
        special_items.append(item)
        chunks.extend(extra)
    return PreparedWrites(regular_item, regular, special_items, chunks)
