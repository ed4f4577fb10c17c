"""The channel index of a head: for each channel, where its value is stored and what it is
like, so that a writer of a child can store unchanged channels by reference and grown
lists as deltas. Pure.

An entry is a function of the stored items only: a writer derives its child's entries
from its parent's with :func:`describe` (a value stored whole), :func:`extend` (a delta)
and :meth:`ChannelRef.referred` (a reference); a reader derives the same entries from
what it read with :func:`describe` over the stored parts. So a child is stored the same
way whether its writer wrote the parent, read it, or read it cold; a test checks
``describe(parts + [tail]) == extend(describe(parts), tail)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits
from langgraph_dynamodb.codec import Parts, array_info, plain_list
from langgraph_dynamodb.schema import TypedValue, digest


@dataclass(frozen=True)
class ListShape:
    """A list value's elements as plaintext msgpack: how many, their digest, their bytes."""

    length: int
    digest: bytes
    body_bytes: int


@dataclass(frozen=True)
class ChannelRef:
    """Where the value of one channel of a head is stored, and what it is like.

    Attributes:
        version: The channel version.
        holder: The head that stores the value (whole, or as the top of a delta chain).
        depth: How many checkpoints back the holder is (0: the head itself).
        expires: The earliest expiry among the holder and its chain (None: no TTL).
        size: Bytes of the value as stored: the whole value and every tail.
        shape: The list's elements, when the value is a list (for appends).
        chain: The checkpoints under the holder, newest first, down to the keyframe: the
            delta bases (or, for a value that is its parent's writes alone, that parent).
        delta_bytes: Bytes of the tails of the holder and its chain.
        inline: The stored bytes of a small value stored whole, so that a child can store
            it again without serializing a live object.
    """

    version: Any
    holder: str
    depth: int = 0
    expires: int | None = None
    size: int = 0
    shape: ListShape | None = None
    chain: tuple[str, ...] = ()
    delta_bytes: int = 0
    inline: TypedValue | None = None

    @property
    def hops(self) -> int:
        """How many bases the holder's value sits on."""
        return len(self.chain)

    def heads(self) -> tuple[str, ...]:
        """Every head a read of the value needs."""
        return (self.holder, *self.chain)

    def referred(self, expires: int | None = None) -> ChannelRef:
        """The entry of a child that refers to this value (one checkpoint further back);
        ``expires`` when the child's writer extended the expiry of :meth:`heads`."""
        moved = replace(self, depth=self.depth + 1)
        return moved if expires is None else replace(moved, expires=expires)


ChannelIndex = dict[str, ChannelRef]


def earliest(*expiries: int | None) -> int | None:
    """The earliest of some expiries (None: none known)."""
    known = [e for e in expiries if e is not None]
    return min(known) if known else None


def shape_of(
    parts: Parts, value: Any, serde: SerializerProtocol | None, ch: str
) -> ListShape | None:
    """The shape of a list value: from its stored parts when each is a plaintext msgpack
    array (no serialization), else by serializing it in plaintext (``serde`` given)."""
    if type(value) is not list:
        return None
    bodies: list[memoryview] = []
    count = size = 0
    for (type_, data), _ in parts:
        parsed = array_info(data) if type_ == "msgpack" else None
        if parsed is None:
            break
        count += parsed[0]
        body = memoryview(data)[parsed[1] :]
        bodies.append(body)
        size += len(body)
    else:
        if count == len(value):
            return ListShape(count, digest(*bodies), size)
    if serde is None:
        return None
    plain = plain_list(serde, value, ch)
    if plain is None:
        return None
    return ListShape(len(value), digest(plain.body), len(plain.body))


def describe(
    version: Any,
    holder: str,
    parts: Parts,
    *,
    shape: ListShape | None,
    depth: int = 0,
    expires: int | None = None,
    chain: tuple[str, ...] = (),
) -> ChannelRef:
    """The entry of a value from its stored parts (the whole value, then the tails)."""
    whole = parts[0][0]
    small = len(parts) == 1 and len(whole[1]) <= limits.SMALL_VALUE_INLINE_BYTES
    return ChannelRef(
        version=version,
        holder=holder,
        depth=depth,
        expires=expires,
        size=sum(len(t[1]) for t, _ in parts),
        shape=shape,
        chain=chain,
        delta_bytes=sum(len(t[1]) for t, _ in parts[1:]),
        inline=whole if small else None,
    )


def removed(version: Any, holder: str, expires: int | None, depth: int = 0) -> ChannelRef:
    """The entry of a channel stored as removed."""
    return ChannelRef(version=version, holder=holder, depth=depth, expires=expires)


def extend(
    base: ChannelRef,
    *,
    version: Any,
    holder: str,
    expires: int | None,
    tail: TypedValue,
    shape: ListShape,
) -> ChannelRef:
    """The entry of a delta: ``tail`` appended on top of the value ``base`` describes."""
    return ChannelRef(
        version=version,
        holder=holder,
        depth=0,
        expires=earliest(expires, base.expires),
        size=base.size + len(tail[1]),
        shape=shape,
        chain=base.heads(),
        delta_bytes=base.delta_bytes + len(tail[1]),
        inline=None,
    )
