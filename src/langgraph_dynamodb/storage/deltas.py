"""How a changed channel is stored: whole, or, for a list that only grew since the
parent's version, as the appended tail on top of it (an append-only delta). Pure.

A chain of deltas ends, and the value is stored whole again (a keyframe), when what a
read of it brings beyond the value (the tails, plus
:data:`~langgraph_dynamodb.limits.DELTA_HOP_BYTES` per head of the chain) would pass
:data:`~langgraph_dynamodb.limits.DELTA_READ_FACTOR` times the value's size. Keyframes
then come at geometrically growing sizes: the bytes written per append stay flat however
long the list grows, and a read stays within a constant factor of the value's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits
from langgraph_dynamodb.codec import (
    Compression,
    array_header,
    channel_label,
    dumps,
    is_encrypted,
    plain_list,
)
from langgraph_dynamodb.schema import Delta, TypedValue, digest
from langgraph_dynamodb.storage import index
from langgraph_dynamodb.storage.index import ChannelRef, ListShape
from langgraph_dynamodb.storage.items import Head


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
) -> Encoded:
    """Encode one changed channel of head ``holder``: as a delta on ``base`` (the parent's
    entry) when the list only grew and the chain is within budget, else whole."""
    plain = plain_list(serde, value, ch) if type(value) is list else None
    if plain is None:
        typed = dumps(serde, value, channel_label(ch))
        entry = index.describe(version, holder, [(typed, -1)], shape=None, expires=expires_at)
        return Encoded(entry, whole=typed)
    body = plain.body
    encrypted = is_encrypted(serde)
    shape = ListShape(len(value), digest(body), len(body))
    old = _usable(base, expires_at)
    if (
        base is not None
        and old is not None
        and old.length <= len(value)
        and old.body_bytes <= len(body)
        and digest(body[: old.body_bytes]) == old.digest
    ):
        if encrypted:
            tail = dumps(serde, value[old.length :], channel_label(ch))
        else:
            tail = (
                "msgpack",
                array_header(len(value) - old.length) + bytes(body[old.body_bytes :]),
            )
        if _within_budget(base.delta_bytes + len(tail[1]), base.hops + 1, base.size):
            floor = base.chain[-1] if base.chain else base.holder
            entry = index.extend(
                base, version=version, holder=holder, expires=expires_at, tail=tail, shape=shape
            )
            return Encoded(entry, delta=Delta(base.holder, old.length, floor, tail))
    typed = dumps(serde, value, channel_label(ch)) if encrypted else ("msgpack", plain.data)
    entry = index.describe(version, holder, [(typed, -1)], shape=shape, expires=expires_at)
    return Encoded(entry, whole=typed)


def chain_of(
    head: Head, ch: str, compression: Compression, find_head: Callable[[str], Head | None]
) -> tuple[str, ...]:
    """The delta bases under the value ``head`` stores for ``ch``, newest first, walked
    through the heads read (stops where a base was not read or is not loaded)."""
    chain: list[str] = []
    cursor: Head | None = head
    for _ in range(limits.MAX_DELTA_CHAIN + 1):
        if cursor is None or cursor.needs_chunks():
            break
        delta = cursor.payload(compression).deltas.get(ch)
        if delta is None:
            break
        chain.append(delta.base)
        cursor = find_head(delta.base)
    return tuple(chain)
