"""Decoded items: a raw head or writes item as the reader works with it, its payload
decoded lazily (and once), its chunks loaded by the caller when it keeps them; and a
checkpoint's regular writes as stored (:class:`StoredWrite`), which a child's list tail
may refer to. Pure.
Chunk items themselves are read by key only (their layout:
:class:`~langgraph_dynamodb.schema.ChunkRef`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import schema
from langgraph_dynamodb.codec import Compression, loads, unframe
from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.schema import AttrMap, ChunkRef, chunk_ref_of, get_b, get_n, get_s


@dataclass(eq=False)
class ChunkedItem:
    """A raw item whose payload may live in chunk items (the checkpoint table's heads and
    writes, the store's memories): its keys, and the payload once the caller has joined
    its chunks."""

    raw: AttrMap
    chunk_ref: ChunkRef | None
    _data: bytes | None = field(default=None, kw_only=True)

    @property
    def pk(self) -> str:
        """Partition key."""
        return str(self.raw[schema.PK]["S"])

    @property
    def sk(self) -> str:
        """Sort key."""
        return str(self.raw[schema.SK]["S"])

    def needs_chunks(self) -> bool:
        """Whether the payload still has to be joined from chunk items."""
        return self._data is None

    def set_chunk_data(self, data: bytes) -> None:
        """Provide the joined chunked payload."""
        self._data = data

    def chunk_keys(self) -> list[AttrMap]:
        """Primary keys of its chunk items (none when the payload is inline)."""
        return self.chunk_ref.keys(self.pk) if self.chunk_ref is not None else []

    def _structure(self, compression: Compression, what: str) -> Any:
        if self._data is None:
            raise CorruptItemError(f"{what} has no payload loaded")
        return unframe(self.raw, self._data, compression)


@dataclass(eq=False)
class _Loadable(ChunkedItem):
    """A head or writes item: a chunked item of one checkpoint of one namespace."""

    ns_component: str = field(kw_only=True)
    checkpoint_id: str = field(kw_only=True)


@dataclass(eq=False)
class Head(_Loadable):
    """A checkpoint head item."""

    parent_id: str | None = None
    expires_at: int | None = None
    _payload: schema.HeadPayload | None = field(default=None, repr=False)
    _skeleton: Any = field(default=None, repr=False)
    _metadata: Any = field(default=None, repr=False)

    @property
    def run_id(self) -> str | None:
        """The run that wrote it (metadata ``run_id``), if recorded."""
        return get_s(self.raw, schema.RUN_ID)

    @property
    def lineage(self) -> str:
        """The root checkpoint id its parent chain starts from (its own id when it has
        none recorded)."""
        return schema.id_from_attr(self.raw.get(schema.LINEAGE)) or self.checkpoint_id

    def payload(self, compression: Compression) -> schema.HeadPayload:
        """The decoded payload (its chunks must be loaded)."""
        if self._payload is None:
            what = f"checkpoint {self.checkpoint_id!r} (sk {self.sk!r})"
            self._payload = schema.decode_head(self._structure(compression, what), what)
        return self._payload

    def skeleton(self, serde: SerializerProtocol, compression: Compression) -> dict[str, Any]:
        """The checkpoint without its channel values (its id put back from the key)."""
        if self._skeleton is None:
            what = f"checkpoint {self.checkpoint_id!r}"
            skeleton = loads(serde, self.payload(compression).skeleton, what)
            if not isinstance(skeleton, dict):
                raise CorruptItemError(f"{what} has a skeleton that is not a checkpoint")
            self._skeleton = {**skeleton, "id": self.checkpoint_id}
        return dict(self._skeleton)

    def versions(self, serde: SerializerProtocol, compression: Compression) -> dict[str, Any]:
        """The checkpoint's channel versions."""
        return dict(self.skeleton(serde, compression).get("channel_versions", {}))

    def metadata(self, serde: SerializerProtocol, compression: Compression) -> Any:
        """The checkpoint metadata."""
        if self._metadata is None:
            what = f"metadata of {self.checkpoint_id!r}"
            self._metadata = loads(serde, self.payload(compression).metadata, what)
        return self._metadata


@dataclass(eq=False)
class Writes(_Loadable):
    """A pending-writes item: one task's regular writes, or one of its special writes."""

    tag: str = schema.REGULAR_TAG
    task_component: str = ""
    _payload: schema.WritesPayload | None = field(default=None, repr=False)

    def payload(self, compression: Compression) -> schema.WritesPayload:
        """The decoded payload, its task id filled in from the key where the key holds it."""
        if self._payload is None:
            what = f"writes item {self.sk!r}"
            decoded = schema.decode_writes(self._structure(compression, what), what)
            from_key = schema.decode_component(self.task_component)
            if (decoded.task_id is None) == (from_key is None):
                raise CorruptItemError(
                    f"{what} has its task id in {'neither' if from_key is None else 'both'} "
                    "of the key and the payload"
                )
            task_id = decoded.task_id if decoded.task_id is not None else from_key
            self._payload = schema.WritesPayload(decoded.task_path, decoded.entries, task_id)
        return self._payload

    def task_id(self, compression: Compression) -> str:
        """The task that wrote it."""
        return str(self.payload(compression).task_id)


Decoded = Head | Writes


@dataclass(frozen=True)
class StoredWrite:
    """A regular pending write as it is stored: what a child's tail may refer to."""

    task_path: str
    task_id: str
    entry: schema.WriteEntry


def stored_writes(items: Iterable[Writes], compression: Compression) -> list[StoredWrite]:
    """The regular writes among a checkpoint's writes items, as stored."""
    out: list[StoredWrite] = []
    for item in items:
        if item.tag != schema.REGULAR_TAG:
            continue
        payload = item.payload(compression)
        out.extend(StoredWrite(payload.task_path, str(payload.task_id), e) for e in payload.entries)
    return out


def decode_item(item: AttrMap) -> Decoded | None:
    """Decode a raw checkpoint-region item; ``None`` for chunks and foreign keys.

    Raises:
        CorruptItemError: An item of this library's layout that is of another format or
            has neither a payload nor a chunk list.
    """
    sk = get_s(item, schema.SK)
    parsed = schema.parse_sk(sk) if sk is not None else None
    if parsed is None:
        return None
    schema.check_format(item, f"item {sk!r}")
    data = get_b(item, schema.PAYLOAD)
    chunk_ref = chunk_ref_of(item)
    if data is None and chunk_ref is None:
        raise CorruptItemError(f"item {sk!r} has neither a payload nor a chunk list")
    if parsed.kind == schema.KIND_CHECKPOINT:
        return Head(
            raw=item,
            ns_component=parsed.ns_component,
            checkpoint_id=parsed.checkpoint_id,
            chunk_ref=chunk_ref,
            _data=data,
            parent_id=schema.id_from_attr(item.get(schema.PARENT)),
            expires_at=get_n(item, schema.TTL),
        )
    return Writes(
        raw=item,
        ns_component=parsed.ns_component,
        checkpoint_id=parsed.checkpoint_id,
        chunk_ref=chunk_ref,
        _data=data,
        tag=parsed.tag or schema.REGULAR_TAG,
        task_component=parsed.task_component or "",
    )
