"""How a changed channel is stored: whole, or, for a list that only grew since the
parent's version, as the appended tail on top of it (an append-only delta). Pure.

A tail that is exactly what the parent checkpoint's tasks wrote to the channel (LangGraph
applies a step's writes to the next checkpoint) refers to those pending writes instead of
storing the elements again (:class:`~langgraph_dynamodb.schema.WritesTail`); a list that is
nothing but such writes (a channel's first value) is that tail alone, with no base.

A chain of deltas ends, and the value is stored whole again (a keyframe), when what a
read of it brings beyond the value (the tails, plus
:data:`~langgraph_dynamodb.limits.DELTA_HOP_BYTES` per head of the chain) would pass
:data:`~langgraph_dynamodb.limits.DELTA_READ_FACTOR` times the value's size. Keyframes
then come at geometrically growing sizes: the bytes written per append stay flat however
long the list grows, and a read stays within a constant factor of the value's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import writes_sort_key
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits
from langgraph_dynamodb.codec import (
    Compression,
    array_header,
    array_info,
    channel_label,
    dumps,
    is_encrypted,
    plain_list,
)
from langgraph_dynamodb.schema import Delta, TypedValue, WriteEntry, WritesTail, digest
from langgraph_dynamodb.storage import index
from langgraph_dynamodb.storage.index import ChannelRef, ListShape
from langgraph_dynamodb.storage.items import Head, StoredWrite


def in_order(writes: Iterable[StoredWrite]) -> list[StoredWrite]:
    """Writes in ``writes_sort_key`` order: the order LangGraph applies them in."""
    return sorted(writes, key=lambda w: writes_sort_key(w.task_path, w.task_id, w.entry.idx))


def _elements(typed: TypedValue) -> tuple[int, bytes] | None:
    """What one write adds to a list: its elements (count and encodings), or the value
    itself as one element when it is not a list; ``None`` for a value that is not
    plaintext msgpack."""
    if typed[0] != "msgpack":
        return None
    parsed = array_info(typed[1])
    if parsed is None:
        return 1, typed[1]
    return parsed[0], typed[1][parsed[1] :]


def _joined(entries: Iterable[WriteEntry | None]) -> tuple[int, bytes] | None:
    """The elements some writes add to a list, in order: their count and encodings,
    back to back; ``None`` when one is missing or not plaintext msgpack. What a writer
    compares a tail with and a reader rebuilds it from: the same function."""
    total = 0
    pieces: list[bytes] = []
    for entry in entries:
        elements = _elements(entry.value) if entry is not None else None
        if elements is None:
            return None
        total += elements[0]
        pieces.append(elements[1])
    return total, b"".join(pieces)


def _from_writes(
    ch: str, count: int, body: memoryview | bytes, source: str, writes: Sequence[StoredWrite]
) -> WritesTail | None:
    """The reference to ``source``'s writes whose elements are exactly ``count`` elements
    encoded as ``body``; ``None`` if they are not."""
    mine = [w for w in writes if w.entry.channel == ch]
    joined = _joined(w.entry for w in mine)
    if not mine or joined is None or joined[0] != count or joined[1] != body:
        return None
    return WritesTail(source, tuple((w.task_id, w.entry.idx) for w in mine))


def materialize(tail: WritesTail, writes: Iterable[StoredWrite]) -> TypedValue | None:
    """The tail a :class:`~langgraph_dynamodb.schema.WritesTail` stands for, as one
    msgpack list, from the regular writes of its checkpoint; ``None`` when one of them is
    missing or no longer what it was."""
    by_ref = {(w.task_id, w.entry.idx): w.entry for w in writes}
    joined = _joined(by_ref.get(ref) for ref in tail.writes)
    if joined is None:
        return None
    return "msgpack", array_header(joined[0]) + joined[1]


@dataclass(frozen=True)
class Encoded:
    """A changed channel as a head stores it: whole, or as a delta; and its index entry."""

    entry: ChannelRef
    whole: TypedValue | None = None
    delta: Delta | None = None


def _within_budget(delta_bytes: int, hops: int, base_size: int) -> bool:
    extra = delta_bytes + hops * limits.DELTA_HOP_BYTES
    return extra <= limits.DELTA_READ_FACTOR * max(base_size, limits.DELTA_MIN_BUDGET_BYTES)


def _usable(base: ChannelRef | None, expires_at: int | None) -> ListShape | None:
    """The base's shape if a delta may sit on it: a list, a chain not at its cap, and (with
    a TTL) heads that live at least as long as the new one."""
    if base is None or base.shape is None or base.hops >= limits.MAX_DELTA_CHAIN:
        return None
    if expires_at is not None and (base.expires is None or base.expires < expires_at):
        return None
    return base.shape


def encode(
    serde: SerializerProtocol,
    ch: str,
    value: Any,
    version: Any,
    base: ChannelRef | None,
    *,
    holder: str,
    expires_at: int | None,
    parent_id: str | None = None,
    parent_writes: Sequence[StoredWrite] = (),
) -> Encoded:
    """Encode one changed channel of head ``holder``: as a delta on ``base`` (the parent's
    entry) when the list only grew and the chain is within budget, else whole. The
    appended elements refer to ``parent_writes`` (the parent's stored writes, in
    :func:`in_order`) when they are exactly those writes' elements."""
    plain = plain_list(serde, value, ch) if type(value) is list else None
    if plain is None:
        typed = dumps(serde, value, channel_label(ch))
        entry = index.describe(version, holder, [(typed, -1)], shape=None, expires=expires_at)
        return Encoded(entry, whole=typed)
    body = plain.body
    encrypted = is_encrypted(serde)
    shape = ListShape(len(value), digest(body), len(body))
    # not with a TTL (the writes expire on their own clock), not encrypted
    by_writes = bool(parent_writes) and parent_id is not None
    by_writes = by_writes and not encrypted and expires_at is None
    old = _usable(base, expires_at)
    if (
        base is not None
        and old is not None
        and old.length <= len(value)
        and old.body_bytes <= len(body)
        and digest(body[: old.body_bytes]) == old.digest
    ):
        count = len(value) - old.length
        from_writes = (
            _from_writes(ch, count, body[old.body_bytes :], str(parent_id), parent_writes)
            if by_writes and count
            else None
        )
        if encrypted:
            tail = dumps(serde, value[old.length :], channel_label(ch))
        else:
            tail = ("msgpack", array_header(count) + bytes(body[old.body_bytes :]))
        if _within_budget(base.delta_bytes + len(tail[1]), base.hops + 1, base.size):
            # The writes sort between the parent and the head: a read down to the base
            # (the parent or older) brings them, so they add no head to the chain.
            entry = index.extend(
                base, version=version, holder=holder, expires=expires_at, tail=tail, shape=shape
            )
            floor = entry.chain[-1]
            return Encoded(entry, delta=Delta(base.holder, old.length, floor, from_writes or tail))
    typed = dumps(serde, value, channel_label(ch)) if encrypted else ("msgpack", plain.data)
    from_writes = (
        _from_writes(ch, len(value), body, str(parent_id), parent_writes) if by_writes else None
    )
    if from_writes is not None:
        entry = index.describe(
            version,
            holder,
            [(typed, -1)],
            shape=shape,
            expires=expires_at,
            chain=(from_writes.checkpoint_id,),
        )
        return Encoded(entry, delta=Delta(None, 0, from_writes.checkpoint_id, from_writes))
    entry = index.describe(version, holder, [(typed, -1)], shape=shape, expires=expires_at)
    return Encoded(entry, whole=typed)


def chain_of(
    head: Head, ch: str, compression: Compression, find_head: Callable[[str], Head | None]
) -> tuple[str, ...]:
    """The checkpoints under the value ``head`` stores for ``ch`` (delta bases, and those
    whose writes a tail is), newest first, walked through the heads read (stops where a
    base was not read or is not loaded)."""
    chain: list[str] = []
    cursor: Head | None = head
    for _ in range(limits.MAX_DELTA_CHAIN + 1):
        if cursor is None or cursor.needs_chunks():
            break
        delta = cursor.payload(compression).deltas.get(ch)
        if delta is None:
            break
        if isinstance(delta.tail, WritesTail):
            chain.append(delta.tail.checkpoint_id)
        if delta.base is None:
            break
        chain.append(delta.base)
        cursor = find_head(delta.base)
    return tuple(sorted(set(chain), reverse=True))
