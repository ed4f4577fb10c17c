"""Store items: building an item (its chunks, its vector items) from a put, its directory
entries, and reading one back as LangGraph's ``Item``. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.store.base import Item, SearchItem

from langgraph_dynamodb import schema
from langgraph_dynamodb.codec import Compression, dumps, frame, loads
from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.schema import (
    AttrMap,
    chunk_ref_of,
    get_b,
    get_n,
    get_s,
    key,
    n,
    s,
    with_expiry,
)
from langgraph_dynamodb.storage.items import ChunkedItem
from langgraph_dynamodb.store import vectors
from langgraph_dynamodb.store.match import Candidate

Namespace = tuple[str, ...]


def micros(now: float) -> int:
    """A time as the store keeps it: microseconds since the epoch."""
    return int(now * 1_000_000)


def expiry_in_minutes(now: float, ttl_minutes: float | None) -> int | None:
    """The expiry (epoch seconds) of an item written or refreshed at ``now``."""
    if ttl_minutes is None:
        return None
    return int(math.ceil(now + ttl_minutes * 60))


def _what(namespace: Namespace, key_: str) -> str:
    return f"store item {key_!r} in {namespace!r}"


@dataclass(frozen=True)
class PreparedPut:
    """The items of one put: chunk items and vector items (written first) and the item."""

    item: AttrMap
    chunks: list[AttrMap] = field(default_factory=list)
    vectors: list[AttrMap] = field(default_factory=list)


def build_item(
    *,
    serde: SerializerProtocol,
    compression: Compression,
    namespace: Namespace,
    key_: str,
    value: Mapping[str, Any],
    now: float,
    ttl_minutes: float | None,
    embeddings: Mapping[str, Sequence[float]],
    dims: int | None,
    index_vectors: bool = False,
) -> PreparedPut:
    """Build the item of a put: its payload framed (chunked when large), its expiry, and
    with ``index_vectors`` one vector item per embedding, what the vector index reads
    (the payload keeps every embedding as float32, for exact scores and the client path,
    so that no read of the item itself parses a list of numbers)."""
    pk = schema.group_pk(schema.group_of(namespace))
    sk = schema.memory_sk(namespace, key_)
    stamp = micros(now)
    expires_at = expiry_in_minutes(now, ttl_minutes)
    payload = schema.MemoryPayload(
        namespace=namespace,
        key=key_,
        value=dumps(serde, dict(value), f"the value of {_what(namespace, key_)}"),
        created=stamp,
        updated=stamp,
        ttl_minutes=ttl_minutes,
        embeddings={path: vectors.encode(v, dims) for path, v in embeddings.items()},
    )
    framed = frame(
        schema.encode_memory(payload),
        compression,
        pk,
        expires_at,
        nonce_prefix=schema.memory_chunk_prefix(namespace, key_),
    )
    item: AttrMap = {
        **key(pk, sk),
        schema.KIND: s(schema.KIND_MEMORY),
        schema.NONCE: schema.new_nonce(),
        **framed.attrs,
    }
    vector_items: list[AttrMap] = []
    if index_vectors and embeddings:
        prefixes = schema.prefix_attributes(namespace)
        for slot, vector in enumerate(embeddings.values()):
            vector_item: AttrMap = {
                **key(pk, schema.vector_sk(sk, slot)),
                schema.KIND: s(schema.KIND_VECTOR),
                schema.VECTOR: vectors.to_attribute(vector, dims),
                **prefixes,
            }
            vector_items.append(with_expiry(vector_item, expires_at))
        item[schema.VECTOR_ITEMS] = n(len(vector_items))
    return PreparedPut(with_expiry(item, expires_at), framed.chunks, vector_items)


def item_key(namespace: Namespace, key_: str) -> AttrMap:
    """The primary key of a store item."""
    return key(schema.group_pk(schema.group_of(namespace)), schema.memory_sk(namespace, key_))


def directory_item(group: Namespace) -> AttrMap:
    """The directory entry that makes a group (a root label) findable from ``()``
    (append-only); a label its sort key holds as a digest is kept whole in ``ns``."""
    item: AttrMap = {
        **key(schema.ROOT_DIRECTORY_PK, schema.directory_sk(group)),
        schema.KIND: s(schema.KIND_DIRECTORY),
    }
    if schema.label_digested(group[0]):
        item[schema.NAMESPACE] = s(group[0])
    return item


@dataclass(eq=False)
class Memory(ChunkedItem):
    """A raw store item, its payload decoded lazily (its chunks loaded by the caller)."""

    _payload: schema.MemoryPayload | None = None

    @property
    def nonce(self) -> AttrMap:
        """The attribute that names this version of the item."""
        return dict(self.raw.get(schema.NONCE) or {})

    @property
    def expires_at(self) -> int | None:
        """Its expiry, if it has a TTL."""
        return get_n(self.raw, schema.TTL)

    def payload(self, compression: Compression) -> schema.MemoryPayload:
        """The decoded payload (its chunks must be loaded)."""
        if self._payload is None:
            what = f"store item {self.sk!r}"
            self._payload = schema.decode_memory(self._structure(compression, what), what)
        return self._payload

    def embeddings(self, compression: Compression) -> list[list[float]]:
        """Its embeddings, one per indexed field."""
        return [vectors.decode(v) for v in self.payload(compression).embeddings.values()]

    def vector_keys(self) -> list[AttrMap]:
        """Primary keys of its vector items (its further fields, when indexed natively)."""
        count = get_n(self.raw, schema.VECTOR_ITEMS) or 0
        return [key(self.pk, schema.vector_sk(self.sk, slot)) for slot in range(count)]

    def value(self, serde: SerializerProtocol, compression: Compression) -> dict[str, Any]:
        """The stored value."""
        payload = self.payload(compression)
        value = loads(serde, payload.value, _what(payload.namespace, payload.key))
        if not isinstance(value, dict):
            raise CorruptItemError(f"{_what(payload.namespace, payload.key)} is not a dict")
        return value


def decode_item(raw: AttrMap) -> Memory | None:
    """A raw store item; ``None`` for chunks, directory entries and foreign items."""
    if get_s(raw, schema.KIND) != schema.KIND_MEMORY:
        return None
    schema.check_format(raw, f"store item {get_s(raw, schema.SK)!r}")
    data = get_b(raw, schema.PAYLOAD)
    chunk_ref = chunk_ref_of(raw)
    if data is None and chunk_ref is None:
        raise CorruptItemError(f"store item {get_s(raw, schema.SK)!r} has no payload")
    return Memory(raw, chunk_ref, _data=data)


def _time(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)


def to_item(memory: Memory, serde: SerializerProtocol, compression: Compression) -> Item:
    """LangGraph's ``Item`` of a stored item."""
    payload = memory.payload(compression)
    return Item(
        value=memory.value(serde, compression),
        key=payload.key,
        namespace=payload.namespace,
        created_at=_time(payload.created),
        updated_at=_time(payload.updated),
    )


def to_candidate(
    memory: Memory, serde: SerializerProtocol, compression: Compression, *, with_vectors: bool
) -> Candidate:
    """What a search ranks: the item, with its embeddings when it ranks by a query."""
    payload = memory.payload(compression)
    found = tuple(memory.embeddings(compression)) if with_vectors else ()
    return Candidate(
        namespace=payload.namespace,
        key=payload.key,
        value=memory.value(serde, compression),
        created=payload.created,
        updated=payload.updated,
        vectors=found,
    )


def to_search_item(candidate: Candidate, score: float | None) -> SearchItem:
    """LangGraph's ``SearchItem`` of a ranked candidate."""
    return SearchItem(
        namespace=candidate.namespace,
        key=candidate.key,
        value=candidate.value,
        created_at=_time(candidate.created),
        updated_at=_time(candidate.updated),
        score=score,
    )
