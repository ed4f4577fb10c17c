"""Values to stored bytes and back: channel values and writes through the serializer
(errors name what to blame; the msgpack array framing that append-only deltas rely on),
and a payload structure to what an item stores (msgpack, then compressed and, over an
item's size, cut into chunk items) with pluggable compression.
No I/O but one: the built-in zstd dictionary is read from the package once, on first use,
and kept (checked against its digest in :mod:`.schema`)."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import ormsgpack
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import ConfigurationError, CorruptItemError, SerializationError
from langgraph_dynamodb.schema import AttrMap, TypedValue, get_s, s

# --- values through the serializer ---------------------------------------------------
Parts = list[tuple[TypedValue, int]]
"""A channel value as stored: a whole value, then appended tails, each with the length the
list had before it (-1 for the whole value)."""

START = "__start__"
"""LangGraph's channel of the graph input (``langgraph.constants.START``)."""


def channel_label(ch: str) -> str:
    """How errors name a channel (the graph input's says so)."""
    return f"channel {ch!r}" + (" (the graph input)" if ch == START else "")


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


def join(serde: SerializerProtocol, parts: Parts, what: str) -> Any:
    """Deserialize a stored value: the whole value, then each appended tail."""
    value = loads(serde, parts[0][0], what)
    for typed, base_len in parts[1:]:
        if not isinstance(value, list) or len(value) != base_len:
            raise CorruptItemError(
                f"{what}: a delta expects a list of {base_len} items under it, found "
                f"{len(value) if isinstance(value, list) else type(value).__name__}"
            )
        value = value + loads(serde, typed, what)
    return value


def plain_serde(serde: SerializerProtocol) -> SerializerProtocol:
    """The serializer under an ``EncryptedSerializer`` (list digests need plaintext)."""
    inner = getattr(serde, "serde", None)
    return inner if inner is not None and hasattr(serde, "cipher") else serde


def is_encrypted(serde: SerializerProtocol) -> bool:
    """Whether values are stored encrypted (each tail then encrypted on its own)."""
    return plain_serde(serde) is not serde


# --- msgpack arrays -----------------------------------------------------------------------
def array_info(data: bytes) -> tuple[int, int] | None:
    """(element count, header length) of a msgpack array, or ``None``.

    msgpack is context free: a list that only grew serializes to the old elements'
    encodings followed by the new ones', under a new header. That is what lets a delta
    store only the appended tail, and a digest of the old body detect an append safely
    (an element edited in place changes the bytes)."""
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


def array_header(count: int) -> bytes:
    """The msgpack header of an array of ``count`` elements."""
    if count < 16:
        return bytes([0x90 | count])
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big")
    return b"\xdd" + count.to_bytes(4, "big")


@dataclasses.dataclass(frozen=True)
class PlainList:
    """A list serialized (in plaintext) as one msgpack array."""

    data: bytes
    header: int

    @property
    def body(self) -> memoryview:
        """The elements' encodings, back to back."""
        return memoryview(self.data)[self.header :]


def plain_list(serde: SerializerProtocol, value: list[Any], ch: str) -> PlainList | None:
    """Serialize a list with the plaintext serializer, if that makes one msgpack array."""
    type_, data = dumps(plain_serde(serde), value, channel_label(ch))
    parsed = array_info(data) if type_ == "msgpack" else None
    if parsed is None or parsed[0] != len(value):
        return None
    return PlainList(data, parsed[1])


# --- compression --------------------------------------------------------------------------
@runtime_checkable
class Compressor(Protocol):
    """A compression codec. ``name`` is stored on every item it compressed."""

    name: str

    def compress(self, data: bytes) -> bytes:
        """Compress ``data``."""
        ...

    def decompress(self, data: bytes) -> bytes:
        """Invert :meth:`compress`."""
        ...


ZSTD = schema.CODEC_ZSTD
ZSTD_D1 = schema.CODEC_ZSTD_D1
_dictionaries: dict[str, Any] = {}
_dictionaries_lock = threading.Lock()


def _d1() -> Any:
    """The built-in dictionary (raw content: payloads of small generic LangGraph graphs,
    made by ``scripts/make_zstd_dict.py``), loaded once and checked against its digest:
    items compressed with it can only be read with exactly these bytes."""
    with _dictionaries_lock:
        found = _dictionaries.get(ZSTD_D1)
        if found is None:
            import zstandard

            data = resources.files("langgraph_dynamodb").joinpath(schema.ZSTD_D1_FILE).read_bytes()
            if hashlib.sha256(data).hexdigest() != schema.ZSTD_D1_SHA256:
                raise ConfigurationError(
                    f"the installed {schema.ZSTD_D1_FILE} is not the dictionary of codec "
                    f"{ZSTD_D1!r} (digest differs); reinstall langgraph-dynamodb"
                )
            found = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            _dictionaries[ZSTD_D1] = found
        return found


class ZstdCompressor:
    """zstandard compression (the default codec).

    By default frames are made with a small built-in dictionary of what LangGraph
    checkpoints repeat (field names, channel names, message structure), which shrinks
    the small items a checkpointer mostly writes by about a quarter; the codec is then
    stored as ``zstd+d1``. Items stored as plain ``zstd`` are read either way.

    Args:
        level: zstd level, 1 (fastest) to 22 (smallest).
        dictionary: Use the built-in dictionary (default True).
        small_level: Level for payloads up to
            :data:`~langgraph_dynamodb.limits.ZSTD_SMALL_PAYLOAD_BYTES` (at least
            ``level``): small payloads are cheap to compress harder.
    """

    def __init__(
        self,
        level: int = limits.DEFAULT_ZSTD_LEVEL,
        *,
        dictionary: bool = True,
        small_level: int = limits.DEFAULT_ZSTD_SMALL_LEVEL,
    ) -> None:
        for what, value in (("level", level), ("small_level", small_level)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 22:
                raise ConfigurationError(
                    f"zstd {what} must be an integer from 1 to 22, got {value!r}"
                )
        self.level = level
        self.small_level = max(level, small_level)
        self.name = ZSTD_D1 if dictionary else ZSTD
        self._local = threading.local()

    def _coders(self) -> tuple[Any, Any, Any]:
        """This thread's (compressor, compressor for small payloads, decompressor)."""
        coders = getattr(self._local, "coders", None)
        if coders is None:
            import zstandard

            extra = {"dict_data": _d1()} if self.name == ZSTD_D1 else {}
            coders = (
                zstandard.ZstdCompressor(level=self.level, **extra),
                zstandard.ZstdCompressor(level=self.small_level, **extra),
                zstandard.ZstdDecompressor(**extra),
            )
            self._local.coders = coders
        return coders

    def compress(self, data: bytes) -> bytes:
        """Compress ``data`` with zstd (the frame records the content size)."""
        coders = self._coders()
        small = len(data) <= limits.ZSTD_SMALL_PAYLOAD_BYTES
        return bytes(coders[1 if small else 0].compress(data))

    def decompress(self, data: bytes) -> bytes:
        """Decompress one zstd frame."""
        return bytes(self._coders()[2].decompress(data))


class Compression:
    """When and how payloads are compressed, and how any stored codec is read back.

    Args:
        codec: The codec for new payloads, or ``None`` to store them uncompressed.
        threshold: Payloads smaller than this many bytes are stored as they are.
        extra_codecs: Further codecs to read existing items with, by name.
    """

    def __init__(
        self,
        codec: Compressor | None,
        threshold: int = limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES,
        extra_codecs: Mapping[str, Compressor] | None = None,
    ) -> None:
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise ConfigurationError(
                f"compression_threshold must be a non-negative integer, got {threshold!r}"
            )
        if codec is not None and not isinstance(codec, Compressor):
            raise ConfigurationError(
                "compression must be None, False, 'zstd' or an object with name, "
                f"compress() and decompress(); got {codec!r}"
            )
        self.codec = codec
        self.threshold = threshold
        self._readers: dict[str, Compressor] = dict(extra_codecs or {})
        if codec is not None:
            self._readers[codec.name] = codec

    def encode(self, data: bytes) -> tuple[bytes, str | None]:
        """Compress ``data`` when worthwhile; returns the bytes and the codec name."""
        if self.codec is None or len(data) < self.threshold:
            return data, None
        packed = self.codec.compress(data)
        if len(packed) >= len(data):
            return data, None
        return packed, self.codec.name

    def decode(self, data: bytes, codec_name: str | None) -> bytes:
        """Decompress ``data`` stored with ``codec_name`` (``None``: stored raw)."""
        if codec_name is None:
            return data
        codec = self._readers.get(codec_name)
        if codec is None:
            if codec_name in (ZSTD, ZSTD_D1):
                codec = ZstdCompressor(dictionary=codec_name == ZSTD_D1)
                self._readers[codec_name] = codec
            else:
                raise CorruptItemError(
                    f"an item was compressed with codec {codec_name!r}, which this saver "
                    "does not know; pass it in DynamoDBSaver(extra_codecs={...})"
                )
        try:
            return codec.decompress(data)
        except Exception as exc:
            raise CorruptItemError(
                f"a payload compressed with {codec_name!r} could not be decompressed: {exc}"
            ) from exc


def pack(obj: Any) -> bytes:
    """Frame a payload structure (dicts, lists, str, int, bytes) as msgpack."""
    return ormsgpack.packb(obj)


def unpack(data: bytes) -> Any:
    """Invert :func:`pack`."""
    try:
        return ormsgpack.unpackb(data)
    except Exception as exc:
        raise CorruptItemError(f"a payload is not valid msgpack: {exc}") from exc


# --- payload bytes ----------------------------------------------------------------------
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
        attrs[schema.CODEC] = s(codec)
    if len(data) <= limits.MAX_INLINE_PAYLOAD_BYTES:
        attrs[schema.PAYLOAD] = {"B": data}
        return Framed(attrs, [])
    nonce = nonce_prefix + secrets.token_hex(12)
    chunks = [
        schema.chunk_item(pk, nonce, seq, data[start : start + limits.CHUNK_BYTES], expires_at)
        for seq, start in enumerate(range(0, len(data), limits.CHUNK_BYTES))
    ]
    attrs[schema.CHUNKS] = schema.chunk_list(nonce, len(chunks), data)
    return Framed(attrs, chunks)


def unframe(item: AttrMap, data: bytes, compression: Compression) -> Any:
    """The payload structure of an item from its stored bytes (inline or joined)."""
    return unpack(compression.decode(data, get_s(item, schema.CODEC)))
