"""The store item's payload: every field spelled once, for writer and reader. Pure.

A store item keeps its value and what comes with it in one payload (msgpack, then
compressed and, over an item's size, chunked, exactly as the checkpointer's)::

    {"n": [label, ...],           the namespace
     "k": key,
     "v": [type, bytes],          the value, through the store's serializer
     "c": created, "u": updated,  microseconds since the epoch (UTC)
     "t": ttl minutes,            only with a TTL (what a refresh on read extends by)
     "e": {path: vector}}         only when indexed: each embedding as float32, little-endian

The item's own attributes (``pk``, ``sk``, ``k`` = ``m``, ``n`` a nonce per write, ``ttl``,
and ``vn``, how many vector items it has) are :mod:`langgraph_dynamodb.keys`'s; its vector
items' keys and attributes (``vec``, ``ns1`` ... ``ns8``) are :mod:`.keys`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.storage.values import TypedValue

NAMESPACE = "n"
KEY = "k"
VALUE = "v"
CREATED = "c"
UPDATED = "u"
TTL_MINUTES = "t"
EMBEDDINGS = "e"


@dataclass(frozen=True)
class MemoryPayload:
    """What a store item holds."""

    namespace: tuple[str, ...]
    key: str
    value: TypedValue
    created: int
    updated: int
    ttl_minutes: float | None = None
    embeddings: Mapping[str, bytes] = field(default_factory=dict)


def encode(payload: MemoryPayload) -> dict[str, Any]:
    """The msgpack structure of a store item's payload."""
    out: dict[str, Any] = {
        NAMESPACE: list(payload.namespace),
        KEY: payload.key,
        VALUE: list(payload.value),
        CREATED: payload.created,
        UPDATED: payload.updated,
    }
    if payload.ttl_minutes is not None:
        out[TTL_MINUTES] = payload.ttl_minutes
    if payload.embeddings:
        out[EMBEDDINGS] = dict(payload.embeddings)
    return out


def decode(raw: Any, what: str) -> MemoryPayload:
    """Invert :func:`encode`.

    Raises:
        CorruptItemError: Not a store item's payload.
    """
    try:
        type_, data = raw[VALUE]
        if not isinstance(type_, str) or not isinstance(data, bytes):
            raise TypeError("value")
        namespace = tuple(raw[NAMESPACE])
        if not all(isinstance(label, str) for label in namespace):
            raise TypeError("namespace")
        embeddings = raw.get(EMBEDDINGS, {})
        if not all(isinstance(k, str) and isinstance(v, bytes) for k, v in embeddings.items()):
            raise TypeError("embeddings")
        ttl = raw.get(TTL_MINUTES)
        return MemoryPayload(
            namespace=namespace,
            key=str(raw[KEY]),
            value=(type_, data),
            created=int(raw[CREATED]),
            updated=int(raw[UPDATED]),
            ttl_minutes=None if ttl is None else float(ttl),
            embeddings=dict(embeddings),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc
