"""A serializer that moves values without understanding them: what ``export``,
``import``, ``copy`` and ``prune`` read and write with. Pure.

LangGraph's serializer writes msgpack, with the application's types (pydantic models,
dataclasses, messages, enums, datetimes) as msgpack *extensions* that name a class. To
decode one, the class must be importable; where it is not (a command line run outside
the application), LangGraph falls back to a plain dict, and writing that back would
silently change the type. This serializer decodes msgpack's structure (maps, arrays,
strings, numbers: what the storage layer needs to walk checkpoints and join appended
lists) and keeps every extension as it is, as :class:`Ext`, so what is written back is
what was read, byte for byte. Other stored types go through the wrapped serializer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ormsgpack
from langgraph.checkpoint.serde.base import SerializerProtocol

MSGPACK = "msgpack"

_PACK = (
    ormsgpack.OPT_NON_STR_KEYS
    | ormsgpack.OPT_PASSTHROUGH_DATACLASS
    | ormsgpack.OPT_PASSTHROUGH_DATETIME
    | ormsgpack.OPT_PASSTHROUGH_ENUM
    | ormsgpack.OPT_PASSTHROUGH_UUID
    | ormsgpack.OPT_PASSTHROUGH_SUBCLASS
    | ormsgpack.OPT_PASSTHROUGH_TUPLE
    | ormsgpack.OPT_REPLACE_SURROGATES
)
"""Only plain structure packs here: every other object (a dataclass, a datetime, a
tuple...) is not what msgpack decoding gives, so it goes to the inner serializer."""


@dataclass(frozen=True)
class Ext:
    """A msgpack extension, kept undecoded: its type code and its bytes."""

    code: int
    data: bytes


def _pack_ext(obj: Any) -> Any:
    if isinstance(obj, Ext):
        return ormsgpack.Ext(obj.code, obj.data)
    raise TypeError(f"cannot keep a {type(obj).__name__} undecoded")


class PreservingSerializer:
    """``msgpack`` values decoded to structure with their extensions kept as :class:`Ext`;
    anything else through ``inner``.

    Args:
        inner: The serializer of the other types (and of values that are not made of
            msgpack structure and :class:`Ext`, such as a migrated saver's objects).
    """

    def __init__(self, inner: SerializerProtocol) -> None:
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """msgpack when ``obj`` is structure and :class:`Ext` (as it was read), else the
        inner serializer's."""
        if obj is not None and not isinstance(obj, (bytes, bytearray)):
            try:
                return MSGPACK, ormsgpack.packb(obj, default=_pack_ext, option=_PACK)
            except (TypeError, ormsgpack.MsgpackEncodeError):
                pass
        return self.inner.dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Structure with :class:`Ext` for msgpack, the inner serializer's value else."""
        type_, raw = data
        if type_ == MSGPACK:
            return ormsgpack.unpackb(raw, ext_hook=Ext, option=ormsgpack.OPT_NON_STR_KEYS)
        return self.inner.loads_typed(data)
