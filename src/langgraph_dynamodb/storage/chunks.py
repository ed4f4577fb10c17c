"""Payload framing: a payload structure to stored bytes (msgpack, then compressed) and, when
that is larger than an item may hold, to chunk items; and back. Pure.

A chunked payload is published by the item that refers to it (attribute ``ch``): its
chunks are written first, so a crash leaves unreferenced chunks, never a head without
its payload. The reference carries a digest of the joined bytes, so a chunk that is
missing, truncated or from another write is detected.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph_dynamodb import keys, limits
from langgraph_dynamodb.codec import Compression, pack, unpack
from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.storage.attrs import AttrMap, get_b, get_s, key, n, s


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


@dataclass(frozen=True)
class Framed:
    """A payload ready to store: the attributes of the item that holds it, plus chunk
    items (written first) when it is large."""

    attrs: AttrMap
    chunks: list[AttrMap]


def frame(
    structure: Any,
    compression: Compression,
    pk: str,
    expires_at: int | None,
    *,
    nonce_prefix: str = "",
) -> Framed:
    """Pack, compress and (if over the item limit) chunk a payload structure.

    Chunk sort keys are ``x#`` + ``nonce_prefix`` + a fresh nonce + ``#`` + seq: a
    prefix lets the owner of the item find every chunk it ever wrote (the store's items
    pass their own key)."""
    data, codec = compression.encode(pack(structure))
    attrs: AttrMap = {}  # no FORMAT attribute: format 1
    if codec is not None:
        attrs[keys.CODEC] = s(codec)
    if len(data) <= limits.MAX_INLINE_PAYLOAD_BYTES:
        attrs[keys.PAYLOAD] = {"B": data}
        return Framed(attrs, [])
    nonce = nonce_prefix + secrets.token_hex(12)
    chunks: list[AttrMap] = []
    for seq, start in enumerate(range(0, len(data), limits.CHUNK_BYTES)):
        chunk: AttrMap = {
            **key(pk, keys.chunk_sk(nonce, seq)),
            keys.KIND: s(keys.KIND_CHUNK),
            keys.PAYLOAD: {"B": data[start : start + limits.CHUNK_BYTES]},
        }
        if expires_at is not None:
            chunk[keys.TTL] = n(expires_at)
        chunks.append(chunk)
    attrs[keys.CHUNKS] = {"L": [s(nonce), n(len(chunks)), n(len(data)), s(_digest(data))]}
    return Framed(attrs, chunks)


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunked payload lives, and how to check it once joined."""

    nonce: str
    count: int
    total: int
    digest: str

    def keys(self, pk: str) -> list[AttrMap]:
        """Primary keys of the chunk items."""
        return [key(pk, keys.chunk_sk(self.nonce, i)) for i in range(self.count)]

    def sort_keys(self) -> list[str]:
        """Sort keys of the chunk items."""
        return [keys.chunk_sk(self.nonce, i) for i in range(self.count)]

    def join(self, found: Mapping[str, AttrMap]) -> bytes | None:
        """The payload from chunk items found by sort key; ``None`` if one is missing or
        the joined bytes are not the ones referred to."""
        parts: list[bytes] = []
        for sk in self.sort_keys():
            chunk = found.get(sk)
            data = get_b(chunk, keys.PAYLOAD) if chunk is not None else None
            if data is None:
                return None
            parts.append(data)
        joined = b"".join(parts)
        if len(joined) != self.total or _digest(joined) != self.digest:
            return None
        return joined


def chunk_ref_of(item: AttrMap) -> ChunkRef | None:
    """The chunk reference of an item whose payload is in chunks, else ``None``."""
    attr = item.get(keys.CHUNKS)
    if not isinstance(attr, dict) or "L" not in attr:
        return None
    try:
        nonce, count, total, digest = attr["L"]
        return ChunkRef(nonce["S"], int(count["N"]), int(total["N"]), digest["S"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptItemError(f"item {item.get(keys.SK)} has a malformed chunk list") from exc


def unframe(item: AttrMap, data: bytes, compression: Compression) -> Any:
    """The payload structure of an item from its stored bytes (inline or joined)."""
    return unpack(compression.decode(data, get_s(item, keys.CODEC)))
