"""Channel values and writes through the serializer: serializing with errors that name
what to blame, deserializing, joining a value from its stored parts, and the msgpack
array framing that append-only deltas rely on. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import limits
from langgraph_dynamodb.errors import CorruptItemError, SerializationError

TypedValue = tuple[str, bytes]
"""A serialized value: the serializer's type name and its bytes."""

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
