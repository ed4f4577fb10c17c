"""Item codecs: LangGraph checkpoints and writes to DynamoDB items and back. Pure, no I/O.

A checkpoint head item stores the checkpoint skeleton, its metadata, the values of the
channels it changed (``new_versions``) and, for each channel it did not change, a
reference to the older head that stores that value (with the distance, bounded by
:data:`~langgraph_dynamodb.limits.MAX_REFERENCE_DEPTH`). Pending writes are one item per
task for regular writes (first write wins per index) and one item per task and special
channel (last write wins).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import keys, limits
from langgraph_dynamodb.codec import Compression, pack, unpack
from langgraph_dynamodb.errors import CorruptItemError, SerializationError

TypedValue = tuple[str, bytes]
AttrMap = dict[str, Any]

START = "__start__"
"""LangGraph's channel of the graph input (``langgraph.constants.START``)."""

UNKNOWN_SIZE = 1 << 62
"""Size recorded for a value whose size is not known (so it is never treated as small)."""


# --- low-level attribute helpers ----------------------------------------------------------
def s_attr(value: str) -> dict[str, str]:
    """A DynamoDB string attribute."""
    return {"S": value}


def n_attr(value: int) -> dict[str, str]:
    """A DynamoDB number attribute."""
    return {"N": str(value)}


def _get_s(item: AttrMap, name: str) -> str | None:
    attr = item.get(name)
    return attr.get("S") if isinstance(attr, dict) else None


def _get_n(item: AttrMap, name: str) -> int | None:
    attr = item.get(name)
    if isinstance(attr, dict) and "N" in attr:
        try:
            return int(float(attr["N"]))
        except ValueError:
            return None
    return None


def _get_b(item: AttrMap, name: str) -> bytes | None:
    attr = item.get(name)
    if isinstance(attr, dict) and "B" in attr:
        value = attr["B"]
        return bytes(value)
    return None


def key_of(item: AttrMap) -> AttrMap:
    """The primary key of a raw item."""
    return {keys.PK: item[keys.PK], keys.SK: item[keys.SK]}


def is_expired(item: AttrMap, now: float) -> bool:
    """Whether an item's TTL has passed (DynamoDB deletes expired items lazily)."""
    expires = _get_n(item, keys.TTL)
    return expires is not None and expires <= now


# --- serialization helpers ----------------------------------------------------------------
def _parts_of(value: Any) -> list[tuple[str, Any]]:
    """The named parts of a container value, for finding what does not serialize."""
    if isinstance(value, Mapping):
        return [(f"[{k!r}]", v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", v) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f".{f.name}", getattr(value, f.name, None)) for f in dataclasses.fields(value)]
    fields = getattr(type(value), "model_fields", None)  # pydantic v2
    if isinstance(fields, Mapping):
        return [(f".{name}", getattr(value, name, None)) for name in fields]
    return []


def culprit(serde: SerializerProtocol, value: Any) -> tuple[str, Any] | None:
    """The path to the innermost part of ``value`` that does not serialize on its own
    (``['user']['profile']``) and that part, or ``None`` if no single part is to blame."""
    path = ""
    for _ in range(limits.CULPRIT_MAX_DEPTH):
        for name, part in _parts_of(value)[: limits.CULPRIT_MAX_PARTS]:
            try:
                serde.dumps_typed(part)
            except Exception:
                path, value = path + name, part
                break
        else:
            break
    return (path, value) if path else None


def channel_label(ch: str) -> str:
    """How errors name a channel (the graph input's says so)."""
    return f"channel {ch!r}" + (" (the graph input)" if ch == START else "")


def dumps(serde: SerializerProtocol, value: Any, what: str) -> TypedValue:
    """Serialize one value, naming what it was (and the part of it to blame) on failure."""
    try:
        type_, data = serde.dumps_typed(value)
    except Exception as exc:
        found = culprit(serde, value)
        where = ""
        if found is not None:
            where = f": its part {found[0]} (a {type(found[1]).__name__}) cannot be serialized"
        raise SerializationError(
            f"could not serialize {what} (a {type(value).__name__}) with "
            f"{type(serde).__name__}{where}: {exc}. Store a serializable value (plain data, "
            "a dataclass or a pydantic model of such), or pass a serde that handles this type."
        ) from exc
    return type_, bytes(data)


def loads(serde: SerializerProtocol, typed: Sequence[Any], what: str) -> Any:
    """Deserialize one stored value."""
    try:
        return serde.loads_typed((typed[0], typed[1]))
    except Exception as exc:
        raise SerializationError(
            f"could not deserialize {what} (stored as {typed[0]!r}) with "
            f"{type(serde).__name__}: {exc}"
        ) from exc


# --- payload framing (compression + chunking) ---------------------------------------------
@dataclass(frozen=True)
class Framed:
    """A payload ready to store: inline attributes plus chunk items if it is large."""

    attrs: AttrMap
    chunks: list[AttrMap]


def frame_payload(
    structure: Any, compression: Compression, pk: str, expires_at: int | None
) -> Framed:
    """Pack, compress and (if over the item limit) chunk a payload structure."""
    data, codec = compression.encode(pack(structure))
    attrs: AttrMap = {}  # FORMAT absent: format 1 (later formats will write it)
    if codec is not None:
        attrs[keys.CODEC] = s_attr(codec)
    if len(data) <= limits.MAX_INLINE_PAYLOAD_BYTES:
        attrs[keys.PAYLOAD] = {"B": data}
        return Framed(attrs, [])
    nonce = secrets.token_hex(12)
    digest = hashlib.sha256(data).hexdigest()[:32]
    chunks: list[AttrMap] = []
    for seq, start in enumerate(range(0, len(data), limits.CHUNK_BYTES)):
        chunk: AttrMap = {
            keys.PK: s_attr(pk),
            keys.SK: s_attr(keys.chunk_sk(nonce, seq)),
            keys.KIND: s_attr(keys.KIND_CHUNK),
            keys.PAYLOAD: {"B": data[start : start + limits.CHUNK_BYTES]},
        }
        if expires_at is not None:
            chunk[keys.TTL] = n_attr(expires_at)
        chunks.append(chunk)
    attrs[keys.CHUNKS] = {
        "L": [s_attr(nonce), n_attr(len(chunks)), n_attr(len(data)), s_attr(digest)]
    }
    return Framed(attrs, chunks)


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunked payload lives."""

    nonce: str
    count: int
    total: int
    digest: str

    def keys(self, pk: str) -> list[AttrMap]:
        """Primary keys of the chunk items."""
        return [
            {keys.PK: s_attr(pk), keys.SK: s_attr(keys.chunk_sk(self.nonce, i))}
            for i in range(self.count)
        ]


def _chunk_ref(item: AttrMap) -> ChunkRef | None:
    attr = item.get(keys.CHUNKS)
    if not isinstance(attr, dict) or "L" not in attr:
        return None
    try:
        nonce, count, total, digest = attr["L"]
        return ChunkRef(nonce["S"], int(count["N"]), int(total["N"]), digest["S"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptItemError(f"item {item.get(keys.SK)} has a malformed chunk list") from exc


def assemble_chunks(ref: ChunkRef, pk: str, found: Mapping[str, AttrMap]) -> bytes | None:
    """Join chunk items found by sort key; ``None`` if any is missing or corrupt."""
    parts: list[bytes] = []
    for i in range(ref.count):
        chunk = found.get(keys.chunk_sk(ref.nonce, i))
        data = _get_b(chunk, keys.PAYLOAD) if chunk is not None else None
        if data is None:
            return None
        parts.append(data)
    joined = b"".join(parts)
    if len(joined) != ref.total or hashlib.sha256(joined).hexdigest()[:32] != ref.digest:
        return None
    return joined


# --- decoded items --------------------------------------------------------------------------
class Delta(NamedTuple):
    """An append-only delta as stored in a head.

    Attributes:
        base: The head holding the list this delta appends to (None: the whole list is
            the parent's writes).
        base_len: Length of the base list.
        floor: The oldest head the chain of deltas reaches (its keyframe, or the oldest
            checkpoint whose writes it refers to): a read down to it brings every head
            and writes item the value needs, in one Query.
        tail: The appended elements, or a reference to the parent's writes
            (:data:`WRITES_TAIL`).
    """

    base: str | None
    base_len: int
    floor: str | None
    tail: TypedValue


@dataclass
class HeadBody:
    """The decoded payload of a checkpoint head."""

    skeleton: TypedValue
    metadata: TypedValue
    stored: dict[str, TypedValue | None]
    stored_versions: dict[str, Any]
    refs: dict[str, tuple[str | None, int, int]]
    deltas: dict[str, Delta] = field(default_factory=dict)


def _floor(stored: Any) -> str | None:
    """A delta's floor; deltas written before 0.1.0 listed every id of their chain."""
    if stored is None:
        return None
    if isinstance(stored, list):
        return min((str(x) for x in stored), default=None)
    return str(stored)


@dataclass
class Head:
    """A checkpoint head item, decoded lazily."""

    raw: AttrMap
    ns_component: str
    checkpoint_id: str
    parent_id: str | None
    expires_at: int | None
    chunk_ref: ChunkRef | None
    _data: bytes | None = None
    _body: HeadBody | None = None
    _metadata: Any = None
    _skeleton: Any = None

    @property
    def pk(self) -> str:
        """Partition key."""
        return str(self.raw[keys.PK]["S"])

    @property
    def sk(self) -> str:
        """Sort key."""
        return str(self.raw[keys.SK]["S"])

    @property
    def plain_ns(self) -> str | None:
        """The namespace, decoded from the key or from its attribute when digested."""
        value = keys.decode_component(self.ns_component)
        return value if value is not None else _get_s(self.raw, keys.NAMESPACE)

    def needs_chunks(self) -> bool:
        """Whether the payload still has to be fetched from chunk items."""
        return self._data is None and self.chunk_ref is not None

    def set_chunk_data(self, data: bytes) -> None:
        """Provide the assembled chunked payload."""
        self._data = data

    def body(self, compression: Compression) -> HeadBody:
        """Decode (once) and return the payload."""
        if self._body is None:
            if self._data is None:
                raise CorruptItemError(f"checkpoint {self.checkpoint_id!r} has no payload")
            raw = unpack(compression.decode(self._data, _get_s(self.raw, keys.CODEC)))
            try:
                self._body = HeadBody(
                    skeleton=(raw["c"][0], raw["c"][1]),
                    metadata=(raw["m"][0], raw["m"][1]),
                    stored={
                        ch: (None if v is None else (v[0], v[1])) for ch, v in raw["s"].items()
                    },
                    stored_versions=dict(raw.get("sv", {})),
                    refs={
                        ch: (r[0], int(r[1]), int(r[2]) if len(r) > 2 else UNKNOWN_SIZE)
                        for ch, r in raw["r"].items()
                    },
                    deltas={
                        ch: Delta(
                            None if d[0] is None else str(d[0]),
                            int(d[1]),
                            _floor(d[2]),
                            (d[3], d[4]),
                        )
                        for ch, d in raw.get("d", {}).items()
                    },
                )
            except (KeyError, TypeError, IndexError, ValueError) as exc:
                raise CorruptItemError(
                    f"checkpoint {self.checkpoint_id!r} (sk {self.sk!r}) has a malformed "
                    f"payload: {exc!r}"
                ) from exc
        return self._body

    def skeleton(self, serde: SerializerProtocol, compression: Compression) -> Any:
        """Deserialize (once) the checkpoint without its channel values."""
        if self._skeleton is None:
            skeleton = loads(
                serde, self.body(compression).skeleton, f"checkpoint {self.checkpoint_id!r}"
            )
            if isinstance(skeleton, dict) and "id" not in skeleton:  # stored without it
                skeleton = {"id": self.checkpoint_id, **skeleton}
            self._skeleton = skeleton
        return self._skeleton

    def metadata(self, serde: SerializerProtocol, compression: Compression) -> Any:
        """Deserialize (once) the checkpoint metadata."""
        if self._metadata is None:
            self._metadata = loads(
                serde, self.body(compression).metadata, f"metadata of {self.checkpoint_id!r}"
            )
        return self._metadata


@dataclass
class WritesItem:
    """A pending-writes item (one task, regular writes or one special channel)."""

    raw: AttrMap
    ns_component: str
    checkpoint_id: str
    tag: str
    task_component: str = ""
    task_id: str = ""
    task_path: str = ""
    entries: list[tuple[int, str, TypedValue]] = field(default_factory=list)
    chunk_ref: ChunkRef | None = None
    _data: bytes | None = None
    _decoded: bool = False

    @property
    def sk(self) -> str:
        """Sort key."""
        return str(self.raw[keys.SK]["S"])

    def needs_chunks(self) -> bool:
        """Whether the payload still has to be fetched from chunk items."""
        return self._data is None and self.chunk_ref is not None

    def set_chunk_data(self, data: bytes) -> None:
        """Provide the assembled chunked payload."""
        self._data = data

    def decode(self, compression: Compression) -> WritesItem:
        """Decode (once) the payload into task id, task path and entries."""
        if not self._decoded:
            if self._data is None:
                raise CorruptItemError(f"writes item {self.sk!r} has no payload")
            raw = unpack(compression.decode(self._data, _get_s(self.raw, keys.CODEC)))
            try:
                task_id = raw["t"] if "t" in raw else keys.decode_component(self.task_component)
                if task_id is None:
                    raise KeyError("t")
                self.task_id = str(task_id)
                self.task_path = str(raw["p"])
                self.entries = [(int(e[0]), str(e[1]), (e[2], e[3])) for e in raw["w"]]
            except (KeyError, TypeError, IndexError, ValueError) as exc:
                raise CorruptItemError(
                    f"writes item {self.sk!r} has a malformed payload: {exc!r}"
                ) from exc
            self._decoded = True
        return self


Decoded = Head | WritesItem


def decode_item(item: AttrMap) -> Decoded | None:
    """Decode a raw checkpoint-region item; ``None`` for chunks and foreign items."""
    sk = _get_s(item, keys.SK)
    if sk is None:
        return None
    parsed = keys.parse_sk(sk)
    if parsed is None:
        return None
    data = _get_b(item, keys.PAYLOAD)
    chunk_ref = _chunk_ref(item)
    if data is None and chunk_ref is None:
        return None
    if keys.FORMAT in item and _get_n(item, keys.FORMAT) != keys.FORMAT_VERSION:
        raise CorruptItemError(
            f"item {sk!r} has payload format {item[keys.FORMAT]!r}, which this version of "
            f"langgraph-dynamodb does not read (it reads format {keys.FORMAT_VERSION}); "
            "upgrade langgraph-dynamodb"
        )
    if parsed.kind == keys.KIND_CHECKPOINT:
        return Head(
            raw=item,
            ns_component=parsed.ns_component,
            checkpoint_id=parsed.checkpoint_id,
            parent_id=keys.id_from_attr(item.get(keys.PARENT)),
            expires_at=_get_n(item, keys.TTL),
            chunk_ref=chunk_ref,
            _data=data,
        )
    assert parsed.tag is not None
    return WritesItem(
        raw=item,
        ns_component=parsed.ns_component,
        checkpoint_id=parsed.checkpoint_id,
        tag=parsed.tag,
        task_component=parsed.task_component or "",
        chunk_ref=chunk_ref,
        _data=data,
    )


# --- channel references -----------------------------------------------------------------
class ChannelRef(NamedTuple):
    """Where the value of one channel of a checkpoint is stored, and what it is like.

    Attributes:
        version: The channel version.
        holder: The head that stores the value (whole, or as an append-only delta).
        depth: How many checkpoints back the holder is (0: this head).
        holder_expires: Earliest expiry of the heads needed to read the value.
        size: Serialized size of the whole value (an estimate for deltas).
        list_len: Length of the value when it is a list.
        list_digest: Digest of the serializations of its elements, when a list.
        chain: Heads below the holder that the holder's delta builds on (its bases and
            the checkpoints whose writes it refers to).
        chain_bytes: Bytes of the deltas in the holder and its chain.
        list_bytes: Length of the plaintext encoding of the list's elements.
        inline: The stored bytes, kept for small values so that a later head can store
            the value again without serializing a live object.
        hops: How many bases the holder's delta sits on (heads a read walks through).
    """

    version: Any
    holder: str
    depth: int
    holder_expires: int | None
    size: int
    list_len: int | None = None
    list_digest: bytes | None = None
    chain: tuple[str, ...] = ()
    chain_bytes: int = 0
    list_bytes: int | None = None
    inline: TypedValue | None = None
    hops: int = 0


ChannelIndex = dict[str, ChannelRef]


_UNKNOWN_PARENT = "\x00unknown"

WRITES_TAIL = "@writes"
"""Type of a delta tail that is not stored but refers to the parent checkpoint's pending
writes: ``msgpack([parent_id, [[task_id, idx], ...]])``."""

WriteValue = tuple[str, str, int, str, TypedValue]
"""(task_path, task_id, idx, channel, plaintext msgpack value) of a stored write."""


class ChannelIndexCache:
    """Bounded LRU of what a saver knows about heads it recently wrote or read.

    The writer of a child checkpoint uses its parent's channel index to store unchanged
    channels by reference; readers use the known writes count to size their first Query.
    A miss only costs bytes or a request, never correctness.
    """

    def __init__(self, size: int = limits.CHANNEL_INDEX_CACHE_SIZE) -> None:
        self._size = size
        self._data: OrderedDict[tuple[str, str, str], ChannelIndex] = OrderedDict()
        self._heads: OrderedDict[tuple[str, str, str], tuple[str | None, set[str]]] = OrderedDict()
        self._values: OrderedDict[tuple[str, str, str], dict[str, list[WriteValue]]] = OrderedDict()
        self._in_flight: dict[tuple[str, str, str], int] = {}
        self._latest: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> ChannelIndex | None:
        """The index of a head, if remembered."""
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], index: ChannelIndex) -> None:
        """Remember the index of a head."""
        with self._lock:
            self._data[key] = index
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def note_head(
        self, key: tuple[str, str, str], parent: str | None, writes: Iterable[str] | None = None
    ) -> None:
        """Remember a head this saver wrote (``writes`` None: keep the writes items already
        noted, LangGraph may store a step's writes before its checkpoint) or read (the
        writes items read replace what was known)."""
        with self._lock:
            known = self._heads.get(key)
            kept = known[1] if known is not None and writes is None else set(writes or ())
            self._heads[key] = (parent, kept)
            self._heads.move_to_end(key)
            while len(self._heads) > self._size:
                self._heads.popitem(last=False)
            ns_key = (key[0], key[1])
            if key[2] >= self._latest.get(ns_key, ""):
                self._latest[ns_key] = key[2]
                while len(self._latest) > self._size:
                    del self._latest[next(iter(self._latest))]

    def note_writes(self, key: tuple[str, str, str], sks: Iterable[str]) -> None:
        """Remember writes items this saver stored for a head."""
        with self._lock:
            known = self._heads.get(key)
            if known is None:  # the head's put has not finished yet
                known = self._heads[key] = (_UNKNOWN_PARENT, set())
            known[1].update(sks)

    def note_write_values(
        self, key: tuple[str, str, str], task_id: str, values: list[WriteValue]
    ) -> None:
        """Remember the plaintext regular writes this saver stored for a task of a head."""
        with self._lock:
            per_task = self._values.setdefault(key, {})
            per_task[task_id] = values
            self._values.move_to_end(key)
            while len(self._values) > limits.WRITE_VALUES_CACHE_SIZE:
                self._values.popitem(last=False)

    def writes_started(self, key: tuple[str, str, str]) -> None:
        """Note a ``put_writes`` to a head that has begun."""
        with self._lock:
            self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def writes_ended(self, key: tuple[str, str, str]) -> None:
        """Note a ``put_writes`` to a head that has ended (stored or failed)."""
        with self._lock:
            left = self._in_flight.get(key, 0) - 1
            if left > 0:
                self._in_flight[key] = left
            else:
                self._in_flight.pop(key, None)

    def writes_in_flight(self, key: tuple[str, str, str]) -> bool:
        """Whether a ``put_writes`` to a head is under way in this saver."""
        with self._lock:
            return key in self._in_flight

    def write_values(self, key: tuple[str, str, str]) -> list[WriteValue]:
        """The remembered writes of a head, in ``writes_sort_key`` order."""
        with self._lock:
            per_task = self._values.get(key, {})
            rows = [v for values in per_task.values() for v in values]
        return sorted(rows, key=lambda v: writes_sort_key(v[0], v[1], v[2]))

    def expected_items(
        self, thread_id: str, checkpoint_ns: str, checkpoint_id: str | None
    ) -> int | None:
        """How many items a read of this head (latest if no id) should ask for, if known.

        That is the head and its writes, then every older head (with its writes) down to
        the last one the head's references and delta chains need, plus one item that
        shows the writes are complete; so the read is one Query.
        """
        with self._lock:
            cp = checkpoint_id or self._latest.get((thread_id, checkpoint_ns))
            if cp is None:
                return None
            index = self._data.get((thread_id, checkpoint_ns, cp), {})
            needed = {r.holder for r in index.values()}
            needed.update(c for r in index.values() for c in r.chain)
            count = 0
            cursor: str | None = cp
            for _ in range(limits.MAX_HINT_WALK):
                if cursor is None:
                    return count + 1
                known = self._heads.get((thread_id, checkpoint_ns, cursor))
                if known is None or known[0] == _UNKNOWN_PARENT:
                    return None
                count += 1 + len(known[1])
                needed.discard(cursor)
                if not needed:
                    return count + 1
                cursor = known[0]
            return None

    def discard_thread(self, thread_id: str) -> None:
        """Forget every head of a thread (after it was deleted or pruned)."""
        with self._lock:
            for key in [k for k in self._data if k[0] == thread_id]:
                del self._data[key]
            for key in [k for k in self._heads if k[0] == thread_id]:
                del self._heads[key]
            for ns_key in [k for k in self._latest if k[0] == thread_id]:
                del self._latest[ns_key]
            for key in [k for k in self._values if k[0] == thread_id]:
                del self._values[key]


@dataclass(frozen=True)
class ChannelPlan:
    """Which channels a new head stores and which it references.

    ``bases`` are the parent's entries of stored channels: a list that only grew since
    is stored as the appended tail on top of its base (an append-only delta).
    """

    stored: list[str]
    refs: dict[str, tuple[str | None, int, int]]
    index: ChannelIndex
    bases: ChannelIndex = field(default_factory=dict)
    inline: dict[str, TypedValue] = field(default_factory=dict)
    touch: set[str] = field(default_factory=set)
    parent_id: str | None = None
    parent_writes: list[WriteValue] = field(default_factory=list)


def plan_channels(
    checkpoint: Checkpoint,
    new_versions: ChannelVersions,
    parent_index: ChannelIndex | None,
    *,
    expires_at: int | None,
    now: float,
    ttl_seconds: float | None,
) -> ChannelPlan:
    """Decide, per channel, whether the new head stores its value or refers to a holder.

    Only channels in ``new_versions`` are serialized from the checkpoint (as removed if
    absent from its values), as LangGraph's own savers do: LangGraph may still be
    changing the objects of the other channels while a background ``put`` runs. An
    unchanged channel is stored again only from bytes the saver already holds (small
    values, when the reference would be deeper than
    :data:`~langgraph_dynamodb.limits.MAX_REFERENCE_DEPTH` or the value is at most
    :data:`~langgraph_dynamodb.limits.SMALL_VALUE_INLINE_BYTES`); otherwise it refers to
    the head that holds it (found by version when the parent's index is unknown). With a
    TTL, holders with less than half their lifetime left are listed in ``touch``: the
    writer extends their expiry, so a checkpoint never outlives a value it needs.
    """
    cp_id = checkpoint["id"]
    stored: list[str] = list(new_versions)
    refs: dict[str, tuple[str | None, int, int]] = {}
    inline: dict[str, TypedValue] = {}
    touch: set[str] = set()
    index: ChannelIndex = {}
    for ch, ver in checkpoint["channel_versions"].items():
        if ch in new_versions:
            index[ch] = ChannelRef(ver, cp_id, 0, expires_at, UNKNOWN_SIZE)
            continue
        parent = parent_index.get(ch) if parent_index else None
        if parent is None or parent.version != ver:
            refs[ch] = (None, 0, UNKNOWN_SIZE)
            continue
        if parent.inline is not None and (
            parent.size <= limits.SMALL_VALUE_INLINE_BYTES
            or parent.depth + 1 > limits.MAX_REFERENCE_DEPTH
            or _ageing(parent, now, ttl_seconds)
        ):
            inline[ch] = parent.inline
            index[ch] = parent._replace(
                holder=cp_id, depth=0, holder_expires=expires_at, chain=(), chain_bytes=0, hops=0
            )
            continue
        refs[ch] = (parent.holder, parent.depth + 1, parent.size)
        index[ch] = parent._replace(depth=parent.depth + 1)
        if _ageing(parent, now, ttl_seconds):
            touch.update((parent.holder, *parent.chain))
            index[ch] = index[ch]._replace(holder_expires=expires_at)
    bases = {ch: parent_index[ch] for ch in stored if parent_index and ch in parent_index}
    return ChannelPlan(stored, refs, index, bases, inline, touch)


def _ageing(ref: ChannelRef, now: float, ttl_seconds: float | None) -> bool:
    """Whether (with a TTL) a holder has less than half its lifetime left."""
    return (
        ttl_seconds is not None
        and ref.holder_expires is not None
        and ref.holder_expires - now < ttl_seconds / 2
    )


def _plain_serde(serde: SerializerProtocol) -> SerializerProtocol:
    """The serializer under an ``EncryptedSerializer`` (digests need plaintext)."""
    inner = getattr(serde, "serde", None)
    return inner if inner is not None and hasattr(serde, "cipher") else serde


def _msgpack_array(data: bytes) -> tuple[int, int] | None:
    """(element count, header length) of a msgpack array, or None."""
    if not data:
        return None
    first = data[0]
    if 0x90 <= first <= 0x9F:
        return first & 0x0F, 1
    if first == 0xDC and len(data) >= 3:
        return int.from_bytes(data[1:3], "big"), 3
    if first == 0xDD and len(data) >= 5:
        return int.from_bytes(data[1:5], "big"), 5
    return None


def _array_header(count: int) -> bytes:
    if count < 16:
        return bytes([0x90 | count])
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


def _digest(data: bytes | memoryview) -> bytes:
    return hashlib.sha256(data).digest()[:16]


def _prefix_and_full_digest(body: memoryview, prefix_len: int) -> tuple[bytes, bytes]:
    """Digests of ``body[:prefix_len]`` and of ``body``, in one pass."""
    h = hashlib.sha256(body[:prefix_len])
    prefix = h.digest()[:16]
    h.update(body[prefix_len:])
    return prefix, h.digest()[:16]


@dataclass(frozen=True)
class PlainList:
    """A list serialized as one msgpack array: the elements' encodings back to back.

    msgpack is context free, so a list that only grew serializes to the old body plus
    the new elements' encodings: comparing a digest of the old body's bytes detects an
    append safely (an element edited in place changes the bytes)."""

    data: bytes
    header: int

    @property
    def body(self) -> memoryview:
        """The elements' encodings."""
        return memoryview(self.data)[self.header :]


def plain_list(serde: SerializerProtocol, value: list[Any], ch: str) -> PlainList | None:
    """Serialize a list with the plaintext serializer, if it is a msgpack array."""
    type_, data = dumps(_plain_serde(serde), value, channel_label(ch))
    parsed = _msgpack_array(data) if type_ == "msgpack" else None
    if parsed is None or parsed[0] != len(value):
        return None
    return PlainList(data, parsed[1])


def _usable_base(base: ChannelRef | None, now: float, ttl_seconds: float | None) -> bool:
    return (
        base is not None
        and base.list_len is not None
        and base.list_digest is not None
        and base.list_bytes is not None
        and base.hops < limits.MAX_DELTA_CHAIN
        and (
            ttl_seconds is None
            or base.holder_expires is None
            or base.holder_expires - now >= ttl_seconds / 2
        )
    )


def _within_budget(chain_bytes: int, hops: int, base_size: int) -> bool:
    """Whether a delta chain may grow by one more delta.

    A read of the value brings the keyframe and everything above it: the chain's deltas
    and, per base, a head (with its writes). While that extra stays within
    :data:`~langgraph_dynamodb.limits.DELTA_READ_FACTOR` times the value, the chain goes
    on; so keyframes come at geometrically spaced sizes and the bytes written per append
    stay flat however long the list grows, while a read stays within a constant factor
    of the value's size.
    """
    extra = chain_bytes + hops * limits.DELTA_HOP_BYTES
    return extra <= limits.DELTA_READ_FACTOR * max(base_size, limits.DELTA_MIN_BUDGET_BYTES)


def encode_stored(
    serde: SerializerProtocol,
    ch: str,
    value: Any,
    version: Any,
    base: ChannelRef | None,
    *,
    checkpoint_id: str,
    expires_at: int | None,
    now: float,
    ttl_seconds: float | None,
    parent_id: str | None = None,
    parent_writes: Sequence[WriteValue] = (),
) -> tuple[TypedValue | None, list[Any] | None, ChannelRef]:
    """Encode one changed channel: whole (``TypedValue``) or as a delta entry.

    A delta whose appended elements are exactly the parent's pending writes to the
    channel (byte for byte, in ``writes_sort_key`` order) refers to those writes instead
    of storing the elements twice.

    Returns:
        The whole value (or None), the delta entry (or None), and its index entry.
    """
    plain = plain_list(serde, value, ch) if type(value) is list else None
    if plain is None:
        typed = dumps(serde, value, channel_label(ch))
        ref = ChannelRef(version, checkpoint_id, 0, expires_at, len(typed[1]))
        return typed, None, ref._replace(inline=_small(typed))
    body = plain.body
    encrypted = _plain_serde(serde) is not serde
    candidate = (
        _usable_base(base, now, ttl_seconds)
        and base is not None
        and base.list_len is not None
        and base.list_bytes is not None
        and base.list_len <= len(value)
        and base.list_bytes <= len(body)
    )
    prefix, digest = _prefix_and_full_digest(
        body, base.list_bytes if candidate and base and base.list_bytes else 0
    )
    if candidate and base is not None and base.list_len is not None and prefix == base.list_digest:
        n = base.list_len
        assert base.list_bytes is not None
        tail_body = body[base.list_bytes :]
        from_writes = (
            None if encrypted else _tail_from_writes(ch, tail_body, parent_id, parent_writes)
        )
        if from_writes is not None:
            tail = from_writes
        elif encrypted:
            tail = dumps(serde, value[n:], channel_label(ch))
        else:
            tail = ("msgpack", _array_header(len(value) - n) + bytes(tail_body))
        # What a read joins: the tail's bytes, wherever they are stored.
        added = len(tail_body) if from_writes else len(tail[1])
        chain_bytes = base.chain_bytes + added
        if _within_budget(chain_bytes, base.hops + 1, base.size):
            known = [x for x in (expires_at, base.holder_expires) if x is not None]
            chain = (base.holder, *base.chain)
            if from_writes is not None and parent_id is not None and parent_id not in chain:
                chain = (*chain, parent_id)
            entry = [base.holder, n, min(chain), tail[0], tail[1]]
            ref = ChannelRef(
                version,
                checkpoint_id,
                0,
                min(known) if known else None,
                base.size + added,
                len(value),
                digest,
                chain,
                chain_bytes,
                len(body),
                hops=base.hops + 1,
            )
            return None, entry, ref
    from_writes = None if encrypted else _tail_from_writes(ch, body, parent_id, parent_writes)
    if from_writes is not None and parent_id is not None:
        # A list that is exactly what the step's tasks wrote (a channel's first value):
        # refer to the writes, with no base.
        entry = [None, 0, parent_id, from_writes[0], from_writes[1]]
        size = len(plain.data)
        ref = ChannelRef(
            version,
            checkpoint_id,
            0,
            expires_at,
            size,
            len(value),
            digest,
            (parent_id,),
            0,
            len(body),
        )
        return None, entry, ref
    typed = dumps(serde, value, channel_label(ch)) if encrypted else ("msgpack", plain.data)
    ref = ChannelRef(
        version,
        checkpoint_id,
        0,
        expires_at,
        len(typed[1]),
        len(value),
        digest,
        (),
        0,
        len(body),
        _small(typed),
    )
    return typed, None, ref


def _tail_from_writes(
    ch: str, tail_body: memoryview, parent_id: str | None, writes: Sequence[WriteValue]
) -> TypedValue | None:
    """A reference to the parent's writes whose list values, concatenated, are exactly
    ``tail_body``; None if they are not."""
    if parent_id is None or not tail_body:
        return None
    refs: list[list[Any]] = []
    bodies: list[bytes] = []
    for _path, task_id, idx, channel, typed in writes:
        if channel != ch:
            continue
        parsed = _msgpack_array(typed[1]) if typed[0] == "msgpack" else None
        if parsed is None:
            return None
        refs.append([task_id, idx])
        bodies.append(typed[1][parsed[1] :])
    if not refs or b"".join(bodies) != tail_body:
        return None
    return WRITES_TAIL, pack([parent_id, refs])


def _small(typed: TypedValue) -> TypedValue | None:
    return typed if len(typed[1]) <= limits.SMALL_VALUE_INLINE_BYTES else None


# --- building items ---------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedPut:
    """Items of one ``put``: chunk items (written first) and the head."""

    head: AttrMap
    chunks: list[AttrMap]
    index: ChannelIndex


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
    now: float = 0.0,
    ttl_seconds: float | None = None,
) -> PreparedPut:
    """Build the head item (and chunks) of a checkpoint."""
    pk = keys.thread_pk(thread_id)
    sk = keys.head_sk(checkpoint_ns, checkpoint["id"])
    values = checkpoint["channel_values"]
    # The id is the sort key's: the skeleton leaves it out, Head.skeleton puts it back.
    skeleton = {k: v for k, v in checkpoint.items() if k not in ("channel_values", "id")}
    stored: dict[str, TypedValue | None] = {}
    deltas: dict[str, list[Any]] = {}
    stored_versions: dict[str, Any] = {}
    versions = checkpoint["channel_versions"]
    index = dict(plan.index)
    for ch in plan.stored:
        version = versions.get(ch)
        if ch in versions:
            stored_versions[ch] = version
        if ch not in values:
            stored[ch] = None
            if ch in index:
                index[ch] = index[ch]._replace(size=0)
            continue
        whole, delta, ref = encode_stored(
            serde,
            ch,
            values[ch],
            version,
            plan.bases.get(ch),
            checkpoint_id=checkpoint["id"],
            expires_at=expires_at,
            now=now,
            ttl_seconds=ttl_seconds,
            parent_id=plan.parent_id,
            parent_writes=plan.parent_writes,
        )
        if delta is not None:
            deltas[ch] = delta
        else:
            stored[ch] = whole
        if ch in versions:
            index[ch] = ref
    structure = {
        "c": list(dumps(serde, skeleton, "the checkpoint's versions")),
        "m": list(dumps(serde, metadata, "the checkpoint metadata")),
        "s": {ch: (None if v is None else list(v)) for ch, v in stored.items()},
        "sv": stored_versions,
        "r": {ch: list(r) for ch, r in plan.refs.items()},
    }
    for ch, typed in plan.inline.items():
        stored[ch] = typed
        stored_versions[ch] = versions.get(ch)
    structure["s"] = {ch: (None if v is None else list(v)) for ch, v in stored.items()}
    if deltas:
        structure["d"] = deltas
    framed = frame_payload(structure, compression, pk, expires_at)
    head: AttrMap = {
        keys.PK: s_attr(pk),
        keys.SK: s_attr(sk),
        keys.KIND: s_attr(keys.KIND_CHECKPOINT),
        **framed.attrs,
    }
    if parent_id is not None:
        head[keys.PARENT] = keys.id_attr(parent_id)
    run_id = metadata.get("run_id")
    if isinstance(run_id, str) and run_id:
        head[keys.RUN_ID] = s_attr(run_id)
    _add_plain_ids(head, pk, sk, thread_id, checkpoint_ns)
    if expires_at is not None:
        head[keys.TTL] = n_attr(expires_at)
    return PreparedPut(head, framed.chunks, index)


def _add_plain_ids(item: AttrMap, pk: str, sk: str, thread_id: str, checkpoint_ns: str) -> None:
    if keys.decode_thread_pk(pk) is None:
        item[keys.THREAD] = s_attr(thread_id)
    if keys.is_digest(keys.ns_prefix(checkpoint_ns)[len(keys.CHECKPOINT_PREFIX) : -1]):
        item[keys.NAMESPACE] = s_attr(checkpoint_ns)


@dataclass(frozen=True)
class PreparedWrites:
    """Items of one ``put_writes``."""

    regular: AttrMap | None
    regular_entries: dict[int, list[Any]]
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
    entries: Iterable[list[Any]],
    expires_at: int | None,
) -> tuple[AttrMap, list[AttrMap]]:
    """Build one writes item (and its chunks, if large)."""
    pk = keys.thread_pk(thread_id)
    sk = keys.writes_sk(checkpoint_ns, checkpoint_id, task_id, tag)
    structure: dict[str, Any] = {"p": task_path, "w": sorted(entries, key=lambda e: e[0])}
    parsed = keys.parse_sk(sk)
    if parsed is None or keys.decode_component(parsed.task_component or "") != task_id:
        structure["t"] = task_id  # the key holds a digest of it
    framed = frame_payload(structure, compression, pk, expires_at)
    item: AttrMap = {
        keys.PK: s_attr(pk),
        keys.SK: s_attr(sk),
        keys.KIND: s_attr(keys.KIND_WRITES),
        keys.NONCE: s_attr(secrets.token_hex(8)),
        **framed.attrs,
    }
    _add_plain_ids(item, pk, sk, thread_id, checkpoint_ns)
    if expires_at is not None:
        item[keys.TTL] = n_attr(expires_at)
    return item, framed.chunks


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
    """Build the items of one ``put_writes`` call.

    Regular writes (index >= 0) of a task share one item, written only if absent (first
    write wins per index); each special channel (ERROR, INTERRUPT, ...) has its own item,
    overwritten (last write wins), as ``InMemorySaver`` does.
    """
    regular: dict[int, list[Any]] = {}
    special: dict[int, list[Any]] = {}
    for idx, (channel, value) in enumerate(writes):
        w_idx = WRITES_IDX_MAP.get(channel, idx)
        typed = dumps(serde, value, f"the write to {channel_label(channel)} of task {task_id!r}")
        entry = [w_idx, channel, typed[0], typed[1]]
        if w_idx >= 0:
            regular.setdefault(w_idx, entry)
        else:
            special[w_idx] = entry

    def one(tag: str, entries: Iterable[list[Any]]) -> tuple[AttrMap, list[AttrMap]]:
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


# --- reading --------------------------------------------------------------------------------
class Unresolved(Exception):
    """A head cannot be assembled yet: it needs more items."""

    def __init__(
        self, holders: set[str], searches: set[str], writes: set[str] | None = None
    ) -> None:
        super().__init__(f"needs holders {sorted(holders)} and searches {sorted(searches)}")
        self.holders = holders
        self.searches = searches
        self.writes = writes or set()


class Broken(Exception):
    """A head can never be assembled: a part it depends on is gone or expired."""


Parts = list[tuple[TypedValue, int]]
"""A channel value as stored: a whole value, then appended tails, each with the length
the list had before it (-1 for the whole value)."""


class _Need(Exception):
    def __init__(self, ids: set[str], writes: set[str] | None = None) -> None:
        super().__init__(sorted(ids))
        self.ids = ids
        self.writes = writes or set()


def _entry_parts(
    head: Head,
    ch: str,
    compression: Compression,
    find_head: Callable[[str], Head | None],
    find_writes: Callable[[str], list[WritesItem] | None],
) -> Parts | None:
    """The parts of the value ``head`` stores for ``ch``; None if stored as removed."""
    body = head.body(compression)
    if ch in body.stored:
        value = body.stored[ch]
        return None if value is None else [(value, -1)]
    if ch in body.deltas:
        base_id, base_len, floor, tail = body.deltas[ch]
        referred = unpack(tail[1]) if tail[0] == WRITES_TAIL else None
        writes_of = str(referred[0]) if referred is not None else None
        writes = find_writes(writes_of) if writes_of is not None else []
        base_head = find_head(base_id) if base_id is not None else None
        base_missing = base_id is not None and (base_head is None or base_head.needs_chunks())
        if base_missing or writes is None:
            # Ask for the whole chain: one read down to its floor brings its heads and
            # every writes item it refers to.
            down_to = {x for x in (floor, writes_of) if x is not None}
            raise _Need({base_id} if base_missing and base_id else set(), down_to)
        if base_head is None:  # the whole list is the parent's writes
            base_parts: Parts | None = []
        else:
            base_parts = _entry_parts(base_head, ch, compression, find_head, find_writes)
        if base_parts is None:
            raise Broken(f"the delta base {base_id!r} of channel {ch!r} stores no value")
        if referred is None:
            return [*base_parts, (tail, base_len)]
        refs = referred[1]
        stored = {
            (w.task_id, idx): (channel, typed)
            for w in writes
            for idx, channel, typed in w.decode(compression).entries
        }
        parts: Parts = list(base_parts)
        for n, (task_id, idx) in enumerate(refs):
            found = stored.get((str(task_id), int(idx)))
            if found is None or found[0] != ch:
                raise Broken(f"write {task_id!r}/{idx} that channel {ch!r} refers to is gone")
            parts.append((found[1], base_len if n == 0 else -2))
        return parts
    raise Broken(f"head {head.checkpoint_id!r} does not store channel {ch!r}")


def delta_chain(
    head: Head, ch: str, compression: Compression, find_head: Callable[[str], Head | None]
) -> tuple[tuple[str, ...], int]:
    """The heads the value ``head`` stores for ``ch`` builds on, walking its delta bases
    among the heads read (their bases, and the checkpoints whose writes they refer to),
    and how many bases that is. Stops where a base was not read."""
    chain: list[str] = []
    hops = 0
    cursor: Head | None = head
    for _ in range(limits.MAX_DELTA_CHAIN + 2):
        if cursor is None or cursor.needs_chunks():
            break
        delta = cursor.body(compression).deltas.get(ch)
        if delta is None:
            break
        if delta.tail[0] == WRITES_TAIL:
            writes_of = str(unpack(delta.tail[1])[0])
            if writes_of not in chain:
                chain.append(writes_of)
        if delta.base is None:
            break
        if delta.base not in chain:
            chain.append(delta.base)
        hops += 1
        cursor = find_head(delta.base)
    return tuple(chain), hops


def _stores(body: HeadBody, ch: str) -> bool:
    return ch in body.stored or ch in body.deltas


def resolve_values(
    head: Head,
    compression: Compression,
    versions: Mapping[str, Any],
    find_head: Callable[[str], Head | None],
    older_heads: Callable[[], Iterable[Head]],
    *,
    final: bool,
    find_writes: Callable[[str], list[WritesItem] | None] = lambda _: None,
) -> dict[str, Parts]:
    """Collect the stored parts of every channel of a head, following references and
    delta chains.

    Args:
        head: The head to resolve.
        compression: To decode holder payloads.
        versions: The head's channel versions.
        find_head: Looks up a head by checkpoint id among items read so far.
        older_heads: Heads older than ``head`` read so far, newest first (for references
            written without a known holder).
        final: No more items can be read; what is missing is missing.

    Raises:
        Unresolved: More items are needed (only when not ``final``).
        Broken: A head it depends on is missing and ``final``, or inconsistent.
    """
    body = head.body(compression)
    out: dict[str, Parts] = {}
    need_holders: set[str] = set()
    need_search: set[str] = set()
    need_writes: set[str] = set()
    for ch, ver in versions.items():
        try:
            if _stores(body, ch):
                parts = _entry_parts(head, ch, compression, find_head, find_writes)
            elif ch not in body.refs:
                continue
            elif (holder_id := body.refs[ch][0]) is not None:
                holder = find_head(holder_id)
                if holder is None or holder.needs_chunks():
                    need_holders.add(holder_id)
                    continue
                hbody = holder.body(compression)
                if not _stores(hbody, ch) or hbody.stored_versions.get(ch, ver) != ver:
                    raise Broken(f"holder {holder_id!r} does not store channel {ch!r} at {ver!r}")
                parts = _entry_parts(holder, ch, compression, find_head, find_writes)
            else:
                found = None
                for older in older_heads():
                    if older.needs_chunks():
                        continue
                    obody = older.body(compression)
                    if _stores(obody, ch) and obody.stored_versions.get(ch) == ver:
                        found = older
                        break
                if found is None:
                    need_search.add(ch)
                    continue
                parts = _entry_parts(found, ch, compression, find_head, find_writes)
        except _Need as need:
            need_holders |= need.ids
            need_writes |= need.writes
            continue
        if parts is not None:
            out[ch] = parts
    if need_writes:
        raise Unresolved(need_holders, need_search, need_writes)
    if need_holders or need_search:
        # Heads that were read but keep their payload in chunks are not missing: the
        # caller loads their chunks and asks again.
        unloaded = any(h is not None for h in map(find_head, need_holders)) or (
            bool(need_search) and any(h.needs_chunks() for h in older_heads())
        )
        if final and not unloaded:
            if not need_holders:
                # A value stored nowhere at that version: absent, as in InMemorySaver.
                return out
            raise Broken(f"heads {sorted(need_holders)} are missing")
        raise Unresolved(need_holders, need_search)
    return out


def join_parts(serde: SerializerProtocol, parts: Parts, what: str) -> Any:
    """Deserialize a stored value: the whole value, then each appended tail."""
    value = loads(serde, parts[0][0], what)
    for typed, base_len in parts[1:]:
        if not isinstance(value, list) or (base_len >= 0 and len(value) != base_len):
            raise CorruptItemError(
                f"{what}: a delta expects a list of {base_len} items under it, found "
                f"{len(value) if isinstance(value, list) else type(value).__name__}"
            )
        value = value + loads(serde, typed, what)
    return value


def pending_writes(
    serde: SerializerProtocol, compression: Compression, items: Iterable[WritesItem]
) -> list[PendingWrite]:
    """Pending writes of one checkpoint, in ``writes_sort_key`` order."""
    rows: list[tuple[tuple[str, str, int], PendingWrite]] = []
    for item in items:
        item.decode(compression)
        for idx, channel, typed in item.entries:
            value = loads(serde, typed, f"the write to {channel!r} of task {item.task_id!r}")
            rows.append(
                (writes_sort_key(item.task_path, item.task_id, idx), (item.task_id, channel, value))
            )
    rows.sort(key=lambda r: r[0])
    return [r[1] for r in rows]


def make_config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    """The config that addresses one checkpoint."""
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def assemble(
    *,
    serde: SerializerProtocol,
    compression: Compression,
    head: Head,
    values: Mapping[str, Parts],
    writes: Iterable[WritesItem],
    thread_id: str,
    checkpoint_ns: str,
    config: RunnableConfig | None = None,
) -> CheckpointTuple:
    """Build the ``CheckpointTuple`` of a resolved head."""
    skeleton = dict(head.skeleton(serde, compression))
    channel_values = {ch: join_parts(serde, p, f"channel {ch!r}") for ch, p in values.items()}
    checkpoint = cast(Checkpoint, {**skeleton, "channel_values": channel_values})
    return CheckpointTuple(
        config=config or make_config(thread_id, checkpoint_ns, head.checkpoint_id),
        checkpoint=checkpoint,
        metadata=head.metadata(serde, compression),
        parent_config=(
            make_config(thread_id, checkpoint_ns, head.parent_id) if head.parent_id else None
        ),
        pending_writes=pending_writes(serde, compression, writes),
    )


def _stored_list_digest(parts: Parts, count: int) -> tuple[bytes, int] | None:
    """Digest and length of a list value's elements' encodings, taken from the bytes it is
    stored as (its whole value and each appended tail, each one msgpack array), so a read
    does not serialize the list again to learn them.

    ``None`` unless every part is a plain msgpack array and they hold ``count`` elements
    in all. A value whose encoding would differ if serialized again (a changed library
    version, say) just gets a digest the next append does not match, and is then stored
    whole: a match always means the same bytes.
    """
    h = hashlib.sha256()
    elements = size = 0
    for (type_, data), _ in parts:
        parsed = _msgpack_array(data) if type_ == "msgpack" else None
        if parsed is None:
            return None
        elements += parsed[0]
        body = memoryview(data)[parsed[1] :]
        h.update(body)
        size += len(body)
    if elements != count:
        return None
    return h.digest()[:16], size


def index_of(
    head: Head,
    compression: Compression,
    versions: Mapping[str, Any],
    find_head: Callable[[str], Head | None],
    parts: Mapping[str, Parts],
    channel_values: Mapping[str, Any],
    serde: SerializerProtocol | None = None,
) -> ChannelIndex:
    """The channel index of a read head, to remember for writing its children.

    With ``serde``, list values also get their element digest, so a child that appends
    to them can be stored as a delta.
    """
    body = head.body(compression)
    index: ChannelIndex = {}
    for ch, ver in versions.items():
        if ch not in parts:
            if ch in body.stored:  # stored as removed
                index[ch] = ChannelRef(ver, head.checkpoint_id, 0, head.expires_at, 0)
            continue
        if _stores(body, ch):
            holder, depth = head, 0
        elif ch in body.refs and body.refs[ch][0] is not None:
            found = find_head(str(body.refs[ch][0]))
            if found is None:
                continue
            holder, depth = found, body.refs[ch][1]
        else:
            continue
        chain, hops = delta_chain(holder, ch, compression, find_head)
        expiries = [
            e
            for e in (
                holder.expires_at,
                *(getattr(find_head(c), "expires_at", None) for c in chain),
            )
            if e is not None
        ]
        ch_parts = parts[ch]
        value = channel_values.get(ch)
        digest = list_bytes = None
        if serde is not None and type(value) is list:
            stored = _stored_list_digest(ch_parts, len(value))
            if stored is not None:
                digest, list_bytes = stored
            elif (plain := plain_list(serde, value, ch)) is not None:
                digest, list_bytes = _digest(plain.body), len(plain.body)
        index[ch] = ChannelRef(
            ver,
            holder.checkpoint_id,
            depth,
            min(expiries) if expiries else None,
            sum(len(p[0][1]) for p in ch_parts),
            len(value) if type(value) is list else None,
            digest,
            chain,
            sum(len(p[0][1]) for p in ch_parts[1:]),
            list_bytes,
            _small(ch_parts[0][0]) if len(ch_parts) == 1 else None,
            hops,
        )
    return index


def versions_of(serde: SerializerProtocol, head: Head, compression: Compression) -> Any:
    """Channel versions of a head."""
    return head.skeleton(serde, compression).get("channel_versions", {})


def rebuild_head(
    head: Head,
    compression: Compression,
    serde: SerializerProtocol,
    values: Mapping[str, Parts],
    versions: Mapping[str, Any],
    expires_at: int | None,
) -> PreparedPut:
    """The same checkpoint with every channel value whole and inline (no references,
    no deltas)."""
    body = head.body(compression)
    whole: dict[str, TypedValue] = {}
    for ch, parts in values.items():
        if len(parts) == 1:
            whole[ch] = parts[0][0]
        else:
            whole[ch] = dumps(serde, join_parts(serde, parts, f"channel {ch!r}"), f"channel {ch!r}")
    structure = {
        "c": list(body.skeleton),
        "m": list(body.metadata),
        "s": {ch: (list(whole[ch]) if ch in whole else None) for ch in versions},
        "sv": dict(versions),
        "r": {},
    }
    framed = frame_payload(structure, compression, head.pk, expires_at)
    item = {
        k: v
        for k, v in head.raw.items()
        if k not in (keys.PAYLOAD, keys.CODEC, keys.CHUNKS, keys.FORMAT, keys.TTL)
    }
    item.update(framed.attrs)
    if expires_at is not None:
        item[keys.TTL] = n_attr(expires_at)
    index = {
        ch: ChannelRef(
            ver, head.checkpoint_id, 0, expires_at, len(whole[ch][1]) if ch in whole else 0
        )
        for ch, ver in versions.items()
    }
    return PreparedPut(item, framed.chunks, index)


def with_expiry(raw: AttrMap, expires_at: int | None) -> AttrMap:
    """A copy of an item with its TTL set (or removed)."""
    item = dict(raw)
    item.pop(keys.TTL, None)
    if expires_at is not None:
        item[keys.TTL] = n_attr(expires_at)
    return item


def metadata_matches(metadata: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Exact top-level equality on every filter key, as ``InMemorySaver``."""
    if not filter:
        return True
    return all(metadata.get(k) == v for k, v in filter.items())
