"""The payload schema: every field of what a head or a writes item stores in its payload
attribute, spelled once, for the writer and the reader alike. Pure.

A payload is a msgpack map (packed, then compressed, by :mod:`.chunks`)::

    head    {"c": [type, bytes],          the checkpoint without its values and id
             "m": [type, bytes],          its metadata
             "s": {ch: [type, bytes] | None},   values stored whole (None: removed)
             "sv": {ch: version},         versions of the channels stored here
             "r": {ch: [holder, depth]},  unchanged channels: where they are
             "d": {ch: [base, base_len, floor, type, bytes]}}  appended tails
    writes  {"p": task_path, "w": [[idx, channel, type, bytes], ...],
             "t": task_id}                only when the sort key holds a digest of it

Format 1 is this layout; an item that says it is of another format (attribute ``v``) is
refused with advice to upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.storage.values import TypedValue

FORMAT_VERSION = 1
"""The payload format this build writes and reads (absent ``v`` attribute)."""

# --- head payload fields ----------------------------------------------------------------
SKELETON = "c"
METADATA = "m"
STORED = "s"
STORED_VERSIONS = "sv"
REFS = "r"
DELTAS = "d"

# --- writes payload fields --------------------------------------------------------------
TASK_PATH = "p"
ENTRIES = "w"
TASK_ID = "t"


@dataclass(frozen=True)
class Ref:
    """An unchanged channel, stored by reference.

    Attributes:
        holder: The older head that stores the value (whole or as a delta); ``None`` when
            the writer did not know it (the value is then found by version among older
            heads, as ``InMemorySaver`` finds blobs by version).
        depth: How many checkpoints back the holder is (0 when not known).
    """

    holder: str | None
    depth: int


@dataclass(frozen=True)
class Delta:
    """A list channel that only grew: the appended tail on top of an older head's value.

    Attributes:
        base: The head whose value for this channel the tail appends to.
        base_len: Length of the base list.
        floor: The oldest head of the chain (the keyframe, stored whole): a read down to it
            brings every head the value needs, in one Query.
        tail: The appended elements, serialized as one list.
    """

    base: str
    base_len: int
    floor: str
    tail: TypedValue


@dataclass(frozen=True)
class HeadPayload:
    """What a checkpoint head stores."""

    skeleton: TypedValue
    metadata: TypedValue
    stored: Mapping[str, TypedValue | None] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    refs: Mapping[str, Ref] = field(default_factory=dict)
    deltas: Mapping[str, Delta] = field(default_factory=dict)

    def stores(self, ch: str) -> bool:
        """Whether this head holds the channel's value itself (whole, removed or a delta)."""
        return ch in self.stored or ch in self.deltas


@dataclass(frozen=True)
class WriteEntry:
    """One pending write: its index (negative for special channels), channel and value."""

    idx: int
    channel: str
    value: TypedValue


@dataclass(frozen=True)
class WritesPayload:
    """What a writes item stores: one task's regular writes, or one special write."""

    task_path: str
    entries: tuple[WriteEntry, ...]
    task_id: str | None = None
    """Only when the sort key holds a digest of it (else the key says it)."""


def _typed(raw: Any) -> TypedValue:
    type_, data = raw
    if not isinstance(type_, str) or not isinstance(data, bytes):
        raise TypeError(f"not a typed value: {raw!r:.80}")
    return type_, data


def encode_head(payload: HeadPayload) -> dict[str, Any]:
    """The msgpack structure of a head payload."""
    out: dict[str, Any] = {
        SKELETON: list(payload.skeleton),
        METADATA: list(payload.metadata),
        STORED: {ch: None if v is None else list(v) for ch, v in payload.stored.items()},
        STORED_VERSIONS: dict(payload.versions),
        REFS: {ch: [r.holder, r.depth] for ch, r in payload.refs.items()},
    }
    if payload.deltas:
        out[DELTAS] = {
            ch: [d.base, d.base_len, d.floor, d.tail[0], d.tail[1]]
            for ch, d in payload.deltas.items()
        }
    return out


def decode_head(raw: Any, what: str) -> HeadPayload:
    """Invert :func:`encode_head`.

    Raises:
        CorruptItemError: The structure is not a format-1 head payload (names ``what``).
    """
    try:
        refs = {}
        for ch, (holder, depth) in raw[REFS].items():
            if holder is not None and not isinstance(holder, str):
                raise TypeError(f"holder {holder!r}")
            refs[str(ch)] = Ref(holder, int(depth))
        deltas = {}
        for ch, (base, base_len, floor, type_, data) in raw.get(DELTAS, {}).items():
            deltas[str(ch)] = Delta(str(base), int(base_len), str(floor), _typed((type_, data)))
        return HeadPayload(
            skeleton=_typed(raw[SKELETON]),
            metadata=_typed(raw[METADATA]),
            stored={str(ch): None if v is None else _typed(v) for ch, v in raw[STORED].items()},
            versions=dict(raw[STORED_VERSIONS]),
            refs=refs,
            deltas=deltas,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc


def encode_writes(payload: WritesPayload) -> dict[str, Any]:
    """The msgpack structure of a writes payload (entries in index order)."""
    out: dict[str, Any] = {
        TASK_PATH: payload.task_path,
        ENTRIES: [
            [e.idx, e.channel, e.value[0], e.value[1]]
            for e in sorted(payload.entries, key=lambda e: e.idx)
        ],
    }
    if payload.task_id is not None:
        out[TASK_ID] = payload.task_id
    return out


def decode_writes(raw: Any, what: str) -> WritesPayload:
    """Invert :func:`encode_writes`.

    Raises:
        CorruptItemError: The structure is not a format-1 writes payload.
    """
    try:
        task_id = raw.get(TASK_ID)
        if task_id is not None and not isinstance(task_id, str):
            raise TypeError(f"task id {task_id!r}")
        return WritesPayload(
            task_path=str(raw[TASK_PATH]),
            entries=tuple(
                WriteEntry(int(idx), str(ch), _typed((type_, data)))
                for idx, ch, type_, data in raw[ENTRIES]
            ),
            task_id=task_id,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc
