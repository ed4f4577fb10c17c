"""The export format, spelled once: JSON Lines, one checkpoint a line, lossless. Pure.

An export is a header line, one line per checkpoint, and a footer line::

    {"format": "langgraph-dynamodb-export", "version": 1, "source": {...}}
    {"thread_id": ..., "checkpoint_ns": ..., "checkpoint_id": ..., "parent_checkpoint_id": ...,
     "checkpoint": TYPED,          the checkpoint without its channel values
     "metadata": TYPED,
     "values": {channel: TYPED},   values that are not the parent's (all, without a parent)
     "appended": {channel: [n, TYPED]},  lists that grew: the parent's first n items, then these
     "dropped": [channel, ...],    the parent's values this one does not have (same version)
     "writes": [[task_id, task_path, channel, TYPED], ...]}   pending writes, in order
    {"end": true, "threads": N, "checkpoints": M}

``TYPED`` is ``[type, base64 of the bytes]``, what the serializer's ``dumps_typed`` gives:
values are written exactly as the saver reads them, nothing is pickled, and a custom
serializer round-trips through the same ``--serde``. A thread's checkpoints are contiguous,
oldest first in each namespace, so a line needs only the lines before it of its thread:
files stream in constant memory per thread, and a footer tells a whole file from a cut one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

FORMAT = "langgraph-dynamodb-export"
VERSION = 1

# --- fields -------------------------------------------------------------------------------
F_FORMAT, F_VERSION, F_SOURCE = "format", "version", "source"
F_END, F_THREADS, F_CHECKPOINTS = "end", "threads", "checkpoints"
F_THREAD, F_NS, F_ID, F_PARENT = (
    "thread_id",
    "checkpoint_ns",
    "checkpoint_id",
    "parent_checkpoint_id",
)
F_CHECKPOINT, F_METADATA, F_VALUES, F_DROPPED, F_WRITES = (
    "checkpoint",
    "metadata",
    "values",
    "dropped",
    "writes",
)
F_APPENDED = "appended"


class ExportFormatError(ValueError):
    """A line of an export file is not what this format says (names the line)."""


Write = tuple[str, str | None, str, Any]
"""A pending write: task id, task path (``None`` when unknown), channel, value."""


def header(source: Mapping[str, Any]) -> dict[str, Any]:
    """The first line of an export."""
    return {F_FORMAT: FORMAT, F_VERSION: VERSION, F_SOURCE: dict(source)}


def footer(threads: int, checkpoints: int) -> dict[str, Any]:
    """The last line of an export: what a whole file holds."""
    return {F_END: True, F_THREADS: threads, F_CHECKPOINTS: checkpoints}


def dumps(record: Mapping[str, Any]) -> str:
    """One line of the file (compact, keys in a fixed order, no trailing newline)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _typed(serde: SerializerProtocol, value: Any) -> list[str]:
    type_, data = serde.dumps_typed(value)
    return [type_, base64.b64encode(data).decode("ascii")]


def _untyped(serde: SerializerProtocol, typed: Any, what: str) -> Any:
    if not (isinstance(typed, list) and len(typed) == 2 and all(isinstance(p, str) for p in typed)):
        raise ExportFormatError(f"{what} is not [type, base64]")
    try:
        data = base64.b64decode(typed[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ExportFormatError(f"{what} is not valid base64") from exc
    return serde.loads_typed((typed[0], data))


def _same(a: Any, b: Any) -> bool:
    return a is not None and a == b


def _grew(before: Any, after: Any) -> bool:
    """Whether ``after`` is the list ``before`` with items appended (what a chat's
    messages do each turn: the export then holds only the new ones)."""
    return (
        type(before) is list
        and type(after) is list
        and 0 < len(before) < len(after)
        and after[: len(before)] == before
    )


# --- encoding -------------------------------------------------------------------------------
def encode_thread(
    serde: SerializerProtocol,
    tuples: Iterable[CheckpointTuple],
    task_paths: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of one thread's checkpoints, given oldest first per namespace.

    Args:
        serde: The serializer whose ``dumps_typed`` writes the values.
        tuples: The thread's checkpoints (any interleaving of namespaces, each oldest first).
        task_paths: Per checkpoint id, task id -> task path (``""`` where unknown).
    """
    seen: dict[tuple[str, str], tuple[ChannelVersions, Mapping[str, Any]]] = {}
    for t in tuples:
        conf = t.config["configurable"]
        ns, cp_id = str(conf.get("checkpoint_ns", "")), str(conf["checkpoint_id"])
        parent_id = (
            t.parent_config["configurable"].get("checkpoint_id") if t.parent_config else None
        )
        versions = dict(t.checkpoint.get("channel_versions", {}))
        values = dict(t.checkpoint.get("channel_values", {}))
        base = seen.get((ns, parent_id)) if parent_id else None
        p_versions, p_values = base if base is not None else ({}, {})
        changed = {
            ch: v
            for ch, v in values.items()
            if not (ch in p_values and _same(versions.get(ch), p_versions.get(ch)))
        }
        dropped = [
            ch
            for ch in p_values
            if ch not in values and _same(versions.get(ch), p_versions.get(ch))
        ]
        appended = {
            ch: (len(p_values[ch]), v[len(p_values[ch]) :])
            for ch, v in changed.items()
            if _grew(p_values.get(ch), v)
        }
        skeleton = {k: v for k, v in t.checkpoint.items() if k != "channel_values"}
        paths = (task_paths or {}).get(cp_id, {})
        record: dict[str, Any] = {
            F_THREAD: str(conf["thread_id"]),
            F_NS: ns,
            F_ID: cp_id,
            F_PARENT: parent_id,
            F_CHECKPOINT: _typed(serde, skeleton),
            F_METADATA: _typed(serde, t.metadata),
            F_VALUES: {ch: _typed(serde, v) for ch, v in changed.items() if ch not in appended},
            F_WRITES: [
                [task, paths.get(task, ""), ch, _typed(serde, v)]
                for task, ch, v in (t.pending_writes or [])
            ],
        }
        if appended:
            record[F_APPENDED] = {
                ch: [n, _typed(serde, tail)] for ch, (n, tail) in appended.items()
            }
        if dropped:
            record[F_DROPPED] = dropped
        seen[(ns, cp_id)] = (versions, values)
        yield record


# --- decoding -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    """One checkpoint read back from an export: what ``put`` and ``put_writes`` take."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    new_versions: ChannelVersions
    writes: list[Write] = field(default_factory=list)

    def parent_config(self) -> RunnableConfig:
        """The config ``put`` takes: the thread, namespace and parent checkpoint."""
        conf: dict[str, Any] = {"thread_id": self.thread_id, "checkpoint_ns": self.checkpoint_ns}
        if self.parent_id:
            conf["checkpoint_id"] = self.parent_id
        return {"configurable": conf}

    def config(self) -> RunnableConfig:
        """The config of this checkpoint (where ``put_writes`` writes)."""
        return {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.checkpoint_ns,
                "checkpoint_id": self.checkpoint_id,
            }
        }


def new_versions_of(
    versions: Mapping[str, Any], parent_versions: Mapping[str, Any] | None
) -> ChannelVersions:
    """The channels a checkpoint changed from its parent (all, without a parent): what
    LangGraph passes to ``put`` as ``new_versions``."""
    if parent_versions is None:
        return dict(versions)
    return {ch: v for ch, v in versions.items() if parent_versions.get(ch) != v}


def restore(tuple_: CheckpointTuple, parent_versions: Mapping[str, Any] | None) -> Restored:
    """A checkpoint of another saver as ours writes it (a tuple has no task paths: its
    writes are put so that they read back in the tuple's order)."""
    conf = tuple_.config["configurable"]
    parent_id = (
        tuple_.parent_config["configurable"].get("checkpoint_id") if tuple_.parent_config else None
    )
    versions = tuple_.checkpoint.get("channel_versions", {})
    return Restored(
        thread_id=str(conf["thread_id"]),
        checkpoint_ns=str(conf.get("checkpoint_ns", "")),
        checkpoint_id=str(conf["checkpoint_id"]),
        parent_id=parent_id,
        checkpoint=tuple_.checkpoint,
        metadata=tuple_.metadata,
        new_versions=new_versions_of(versions, parent_versions),
        writes=[(task, None, ch, v) for task, ch, v in (tuple_.pending_writes or [])],
    )


class ThreadDecoder:
    """Reads the records of one thread back, in file order (keeps what later lines of the
    thread refer to: per checkpoint, its versions and values)."""

    def __init__(self, serde: SerializerProtocol) -> None:
        self.serde = serde
        self.thread_id: str | None = None
        self._seen: dict[tuple[str, str], tuple[ChannelVersions, dict[str, Any]]] = {}

    def decode(self, record: Mapping[str, Any], line: int) -> Restored:
        """The checkpoint of one record (line ``line`` of the file, for errors)."""
        where = f"line {line}"
        try:
            thread_id, ns, cp_id = record[F_THREAD], record[F_NS], record[F_ID]
            parent_id = record.get(F_PARENT)
            encoded_values = record[F_VALUES]
            encoded_writes = record[F_WRITES]
        except (KeyError, TypeError) as exc:
            raise ExportFormatError(f"{where}: missing field {exc}") from exc
        if not all(isinstance(x, str) for x in (thread_id, ns, cp_id)):
            raise ExportFormatError(
                f"{where}: thread_id, checkpoint_ns, checkpoint_id must be strings"
            )
        if thread_id != self.thread_id:
            self.thread_id, self._seen = thread_id, {}
        skeleton = _untyped(self.serde, record.get(F_CHECKPOINT), f"{where}: checkpoint")
        metadata = _untyped(self.serde, record.get(F_METADATA), f"{where}: metadata")
        if not isinstance(skeleton, dict) or not isinstance(metadata, dict):
            raise ExportFormatError(f"{where}: checkpoint and metadata must decode to dicts")
        versions: ChannelVersions = dict(skeleton.get("channel_versions", {}))
        base = self._seen.get((ns, parent_id)) if parent_id else None
        values: dict[str, Any] = {}
        if base is not None:
            p_versions, p_values = base
            dropped = set(record.get(F_DROPPED, []))
            for ch, v in p_values.items():
                if ch not in dropped and _same(versions.get(ch), p_versions.get(ch)):
                    values[ch] = v
        if not isinstance(encoded_values, dict):
            raise ExportFormatError(f"{where}: values must be an object")
        for ch, typed in encoded_values.items():
            values[ch] = _untyped(self.serde, typed, f"{where}: value of channel {ch!r}")
        for ch, grown in (record.get(F_APPENDED) or {}).items():
            base_value = base[1].get(ch) if base is not None else None
            if not (isinstance(grown, list) and len(grown) == 2 and isinstance(base_value, list)):
                raise ExportFormatError(f"{where}: channel {ch!r} appends to no list of the parent")
            n, tail = grown
            if n != len(base_value):
                raise ExportFormatError(
                    f"{where}: channel {ch!r} appends to {n} items, "
                    f"the parent has {len(base_value)}"
                )
            values[ch] = base_value + _untyped(self.serde, tail, f"{where}: tail of {ch!r}")
        writes: list[Write] = []
        for i, w in enumerate(encoded_writes if isinstance(encoded_writes, list) else [None]):
            if not (isinstance(w, list) and len(w) == 4):
                raise ExportFormatError(
                    f"{where}: write {i} is not [task_id, task_path, channel, value]"
                )
            writes.append(
                (str(w[0]), str(w[1]), str(w[2]), _untyped(self.serde, w[3], f"{where}: write {i}"))
            )
        self._seen[(ns, cp_id)] = (versions, values)
        checkpoint = cast(Checkpoint, {**skeleton, "channel_values": values})
        return Restored(
            thread_id=thread_id,
            checkpoint_ns=ns,
            checkpoint_id=cp_id,
            parent_id=parent_id,
            checkpoint=checkpoint,
            metadata=cast(CheckpointMetadata, metadata),
            new_versions=new_versions_of(versions, base[0] if base is not None else None),
            writes=writes,
        )


def parse_line(text: str, line: int) -> dict[str, Any]:
    """One line of an export as a dict (errors name the line)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportFormatError(f"line {line} is not JSON ({exc.msg}); is this an export?") from exc
    if not isinstance(record, dict):
        raise ExportFormatError(f"line {line} is not a JSON object")
    return record


def check_header(record: Mapping[str, Any]) -> None:
    """Refuse a file that is not an export of a version this build reads."""
    if record.get(F_FORMAT) != FORMAT:
        raise ExportFormatError(
            "line 1 is not an export header: make the file with 'langgraph-dynamodb export'"
        )
    if record.get(F_VERSION) != VERSION:
        raise ExportFormatError(
            f"the export is of format version {record.get(F_VERSION)!r}; this build reads "
            f"version {VERSION}: upgrade langgraph-dynamodb"
        )


def is_footer(record: Mapping[str, Any]) -> bool:
    """Whether a record is the footer line."""
    return record.get(F_END) is True


def task_groups(writes: Sequence[Write]) -> list[tuple[str, str, list[tuple[str, Any]]]]:
    """Pending writes as ``put_writes`` calls that read back in the same order: per task,
    its regular writes in one call (at the task's first write), and each special write
    (error, interrupt, resume) in a call of its own, where it was, so each keeps its
    index. A write whose task path is unknown (``None``: from another saver's tuple) gets
    one that sorts in the source's order (``!000001``, before LangGraph's ``~...``)."""
    calls: list[tuple[str, str | None, list[tuple[str, Any]]]] = []
    regular: dict[str, list[tuple[str, Any]]] = {}
    for task, path, ch, value in writes:
        if ch in WRITES_IDX_MAP:
            calls.append((task, path, [(ch, value)]))
        elif task in regular:
            regular[task].append((ch, value))
        else:
            regular[task] = [(ch, value)]
            calls.append((task, path, regular[task]))
    return [
        (task, path if path is not None else f"!{rank:06d}", group)
        for rank, (task, path, group) in enumerate(calls)
    ]
