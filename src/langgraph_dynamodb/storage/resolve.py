"""Resolution: the value of every channel of a head, followed through references and delta
chains among the items read so far, and the checkpoint tuple assembled from them. Pure.

:func:`resolve` never reads: it answers with the values, with a :class:`Need` (what to read
before asking again) or with a :class:`Missing` (a part is gone for good; the checkpoint
cannot be read). One loop in the reader (:class:`..flows.read.Reader`) turns needs into reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointTuple, PendingWrite, writes_sort_key
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits
from langgraph_dynamodb.codec import Compression, Parts, channel_label, join, loads
from langgraph_dynamodb.schema import Delta, TypedValue, WritesTail
from langgraph_dynamodb.storage import index
from langgraph_dynamodb.storage.deltas import materialize
from langgraph_dynamodb.storage.index import ChannelIndex
from langgraph_dynamodb.storage.items import Head, Writes, stored_writes


@dataclass(frozen=True)
class Need:
    """What a resolution still needs read.

    Attributes:
        heads: Heads to fetch by key (holders of referenced values).
        down_to: Read the namespace down to (and including) this checkpoint: the floor of a
            delta chain, whose heads then all come in one Query.
        chunks: Items read whose payload must first be joined from chunk items.
        older: More older heads (a value referred to by version only).
    """

    heads: frozenset[str] = frozenset()
    down_to: str | None = None
    chunks: tuple[Head | Writes, ...] = ()
    older: bool = False

    def __or__(self, other: Need) -> Need:
        lows = [x for x in (self.down_to, other.down_to) if x is not None]
        return Need(
            self.heads | other.heads,
            min(lows) if lows else None,
            self.chunks + tuple(c for c in other.chunks if c not in self.chunks),
            self.older or other.older,
        )


@dataclass(frozen=True)
class Missing:
    """A part of a checkpoint is gone for good: the checkpoint cannot be read."""

    reason: str


@dataclass(frozen=True)
class Located:
    """Where a channel's value was found and what it is made of.

    Attributes:
        version: The channel's version.
        holder: The head that stores it (whole or as the top delta).
        depth: How many checkpoints back the holder is.
        parts: The stored parts, or ``None`` when stored as removed.
        chain: The checkpoints it sits on, newest first: delta bases (or, for a value that
            is its parent's writes alone, that parent).
        by_version: Found by version among older heads (its writer knew no holder).
    """

    version: Any
    holder: Head
    depth: int
    parts: Parts | None
    chain: tuple[Head, ...] = ()
    by_version: bool = False


Resolved = dict[str, Located]


class Known(Protocol):
    """What the reader has read so far, as resolution sees it."""

    exhausted: bool
    """Every older head of the namespace has been read."""

    def head(self, checkpoint_id: str) -> Head | None:
        """A head read (and not found broken), by checkpoint id."""

    def absent(self, checkpoint_id: str) -> bool:
        """Whether a head is known to be gone (not found where it must be)."""

    def older_than(self, head: Head) -> Iterable[Head]:
        """Heads read that are older than ``head``, newest first."""

    def writes_of(self, checkpoint_id: str) -> Sequence[Writes] | None:
        """The pending-writes items of a checkpoint, once all of them have been read
        (``None`` before)."""


@dataclass
class _Walk:
    """The outcome of one channel."""

    located: Located | None = None
    need: Need | None = None
    missing: Missing | None = None
    absent: bool = False


def _tail_of(
    delta: Delta, tail: WritesTail, ch: str, known: Known, compression: Compression
) -> TypedValue | Need | Missing:
    """The stored tail a reference to pending writes stands for."""
    source = tail.checkpoint_id
    writes = known.writes_of(source)
    if writes is None:
        return Need(down_to=min(source, delta.floor))
    unloaded = tuple(w for w in writes if w.needs_chunks())
    if unloaded:
        return Need(chunks=unloaded)
    typed = materialize(tail, stored_writes(writes, compression))
    if typed is None:
        return Missing(
            f"a pending write of {source!r} that {channel_label(ch)} appends is gone or changed"
        )
    return typed


def _stored(
    holder: Head, ch: str, known: Known, compression: Compression
) -> tuple[Parts | None, tuple[Head, ...]] | Need | Missing:
    """The parts ``holder`` stores for ``ch`` (whole, removed, or down its delta chain),
    and the heads under them, newest first."""
    tails: Parts = []
    chain: list[Head] = []  # newest first: each base, or source, is older than the last

    cursor = holder
    for _ in range(limits.MAX_DELTA_CHAIN + 2):
        payload = cursor.payload(compression)
        if ch in payload.stored:
            value = payload.stored[ch]
            if value is None:
                return (
                    (None, tuple(chain))
                    if not tails
                    else Missing(
                        f"the delta base {cursor.checkpoint_id!r} of {channel_label(ch)} stores "
                        "it as removed"
                    )
                )
            return [(value, -1), *reversed(tails)], tuple(chain)
        delta = payload.deltas.get(ch)
        if delta is None:
            return Missing(
                f"head {cursor.checkpoint_id!r} does not store {channel_label(ch)}, which "
                f"{holder.checkpoint_id!r} builds on"
            )
        if isinstance(delta.tail, WritesTail):
            found = _tail_of(delta, delta.tail, ch, known, compression)
            if isinstance(found, (Need, Missing)):
                return found
            typed = found
            if delta.base is None:  # else the base (the parent or older) is what is under it
                source = known.head(delta.tail.checkpoint_id)
                if source is None:
                    return Missing(
                        f"head {delta.tail.checkpoint_id!r}, whose pending writes "
                        f"{channel_label(ch)} is, is gone"
                    )
                chain.append(source)
        else:
            typed = delta.tail
        if delta.base is None:
            return [(typed, -1), *reversed(tails)], tuple(chain)
        tails.append((typed, delta.base_len))
        base = known.head(delta.base)
        if base is None:
            if known.absent(delta.base):
                return Missing(
                    f"head {delta.base!r}, the delta base of {channel_label(ch)} (keyframe "
                    f"{delta.floor!r}), is gone"
                )
            return Need(down_to=delta.floor)
        if base.needs_chunks():
            return Need(chunks=(base,))
        chain.append(base)
        cursor = base
    return Missing(f"the delta chain of {channel_label(ch)} in {holder.checkpoint_id!r} loops")


def _channel(head: Head, ch: str, version: Any, known: Known, compression: Compression) -> _Walk:
    payload = head.payload(compression)
    depth, by_version = 0, False
    if payload.stores(ch):
        holder = head
    elif ch in payload.refs:
        ref = payload.refs[ch]
        if ref.holder is not None:
            found = known.head(ref.holder)
            if found is None:
                if known.absent(ref.holder):
                    return _Walk(
                        missing=Missing(
                            f"head {ref.holder!r}, which holds {channel_label(ch)}, is gone"
                        )
                    )
                return _Walk(need=Need(heads=frozenset({ref.holder})))
            if found.needs_chunks():
                return _Walk(need=Need(chunks=(found,)))
            stored_at = found.payload(compression)
            if not stored_at.stores(ch) or stored_at.versions.get(ch, version) != version:
                return _Walk(
                    missing=Missing(
                        f"head {ref.holder!r} does not hold {channel_label(ch)} at version "
                        f"{version!r}"
                    )
                )
            holder, depth = found, ref.depth
        else:
            unloaded = []
            holder_found = None
            for older in known.older_than(head):
                if older.needs_chunks():
                    unloaded.append(older)
                    continue
                stored_at = older.payload(compression)
                if stored_at.stores(ch) and stored_at.versions.get(ch) == version:
                    holder_found = older
                    break
            if holder_found is None:
                if unloaded or not known.exhausted:
                    return _Walk(need=Need(chunks=tuple(unloaded), older=not known.exhausted))
                return _Walk(absent=True)  # stored nowhere at that version, as InMemorySaver
            holder, by_version = holder_found, True
    else:
        return _Walk(absent=True)
    got = _stored(holder, ch, known, compression)
    if isinstance(got, (Need, Missing)):
        return _Walk(need=got) if isinstance(got, Need) else _Walk(missing=got)
    parts, chain = got
    return _Walk(located=Located(version, holder, depth, parts, chain, by_version))


def resolve(
    head: Head, versions: Mapping[str, Any], known: Known, compression: Compression
) -> Resolved | Need | Missing:
    """Where every channel in ``versions`` of ``head`` is stored, and its parts; else what
    to read first, or what is gone. ``head``'s own payload must be loaded."""
    out: Resolved = {}
    need: Need | None = None
    for ch, version in versions.items():
        walk = _channel(head, ch, version, known, compression)
        if walk.missing is not None:
            return walk.missing
        if walk.need is not None:
            need = walk.need if need is None else need | walk.need
        elif walk.located is not None:
            out[ch] = walk.located
    return out if need is None else need


# --- assembly ---------------------------------------------------------------------------
def make_config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    """The config that addresses one checkpoint."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def pending_writes(
    serde: SerializerProtocol, compression: Compression, items: Iterable[Writes]
) -> list[PendingWrite]:
    """Pending writes of one checkpoint, in ``writes_sort_key`` order."""
    rows: list[tuple[tuple[str, str, int], PendingWrite]] = []
    for item in items:
        payload = item.payload(compression)
        task_id = str(payload.task_id)
        for entry in payload.entries:
            what = f"the write to {channel_label(entry.channel)} of task {task_id!r}"
            value = loads(serde, entry.value, what)
            rows.append(
                (
                    writes_sort_key(payload.task_path, task_id, entry.idx),
                    (task_id, entry.channel, value),
                )
            )
    rows.sort(key=lambda r: r[0])
    return [r[1] for r in rows]


@dataclass(frozen=True)
class Assembled:
    """A checkpoint read: its tuple, its channel index for writers of its children, and
    the stored parts of its values (for a rewrite)."""

    tuple: CheckpointTuple
    index: ChannelIndex = field(default_factory=dict)
    parts: dict[str, Parts] = field(default_factory=dict)
    task_paths: dict[str, str] = field(default_factory=dict)
    """Task id -> task path of its pending writes (what an export keeps)."""


def assemble(
    *,
    serde: SerializerProtocol,
    compression: Compression,
    head: Head,
    resolved: Resolved,
    writes: Iterable[Writes],
    thread_id: str,
    checkpoint_ns: str,
    config: RunnableConfig | None = None,
) -> Assembled:
    """The ``CheckpointTuple`` of a resolved head, and its channel index."""
    writes = list(writes)
    skeleton = head.skeleton(serde, compression)
    values = {
        ch: join(serde, loc.parts, channel_label(ch))
        for ch, loc in resolved.items()
        if loc.parts is not None
    }
    checkpoint = cast(Checkpoint, {**skeleton, "channel_values": values})
    found = CheckpointTuple(
        config=config or make_config(thread_id, checkpoint_ns, head.checkpoint_id),
        checkpoint=checkpoint,
        metadata=head.metadata(serde, compression),
        parent_config=(
            make_config(thread_id, checkpoint_ns, head.parent_id) if head.parent_id else None
        ),
        pending_writes=pending_writes(serde, compression, writes),
    )
    parts = {ch: loc.parts for ch, loc in resolved.items() if loc.parts is not None}
    paths: dict[str, str] = {}
    for item in writes:
        payload = item.payload(compression)
        paths.setdefault(str(payload.task_id), payload.task_path)
    return Assembled(found, index_of(resolved, values, serde), parts, paths)


def index_of(
    resolved: Resolved, values: Mapping[str, Any], serde: SerializerProtocol
) -> ChannelIndex:
    """The channel index of a resolved head: what its writer derived when it wrote it
    (see :mod:`.index`). Values found by version only get no entry, as their writer had
    none."""
    out: ChannelIndex = {}
    for ch, loc in resolved.items():
        if loc.by_version:
            continue
        expires = index.earliest(loc.holder.expires_at, *(h.expires_at for h in loc.chain))
        if loc.parts is None:
            out[ch] = index.removed(loc.version, loc.holder.checkpoint_id, expires, loc.depth)
            continue
        shape = index.shape_of(loc.parts, values.get(ch), serde, ch)
        out[ch] = index.describe(
            loc.version,
            loc.holder.checkpoint_id,
            loc.parts,
            shape=shape,
            depth=loc.depth,
            expires=expires,
            chain=tuple(h.checkpoint_id for h in loc.chain),
        )
    return out
