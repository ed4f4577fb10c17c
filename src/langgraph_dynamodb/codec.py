"""Payload codecs: msgpack framing and pluggable compression. Pure, no I/O."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import ormsgpack

from langgraph_dynamodb import limits
from langgraph_dynamodb.errors import ConfigurationError, CorruptItemError


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


ZSTD = "zstd"
"""Codec name of plain zstd frames."""

ZSTD_D1 = "zstd+d1"
"""Codec name of zstd frames made with the built-in dictionary ``zstd_d1.bin``."""

_D1_FILE = "zstd_d1.bin"
_D1_SHA256 = "7123b8066f9aae2533fe0a412c7787b6cc7b4dd121ca5f74fe17af6ca008c894"
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

            data = resources.files("langgraph_dynamodb").joinpath(_D1_FILE).read_bytes()
            if hashlib.sha256(data).hexdigest() != _D1_SHA256:
                raise ConfigurationError(
                    f"the installed {_D1_FILE} is not the dictionary of codec {ZSTD_D1!r} "
                    "(digest differs); reinstall langgraph-dynamodb"
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
