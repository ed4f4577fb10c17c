"""Writing and reading heads through the pure storage layer, as the flows do, for the unit
tests (no DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import Checkpoint, CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_dynamodb import schema
from langgraph_dynamodb.codec import Compression, ZstdCompressor
from langgraph_dynamodb.storage import items as it
from langgraph_dynamodb.storage import resolve as rs
from langgraph_dynamodb.storage.build import (
    ChannelPlan,
    PreparedHead,
    PreparedWrites,
    build_head,
    build_writes,
    plan_channels,
)
from langgraph_dynamodb.storage.index import ChannelIndex
from langgraph_dynamodb.storage.items import StoredWrite

SERDE = JsonPlusSerializer()
COMP = Compression(ZstdCompressor())
THREAD = "thread-1"


def make_checkpoint(
    cp_id: str, values: Mapping[str, Any], versions: Mapping[str, Any]
) -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = cp_id
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = dict(versions)
    return cp


def write_head(
    checkpoint: Checkpoint,
    new_versions: Mapping[str, Any],
    *,
    parent_id: str | None = None,
    parent_index: ChannelIndex | None = None,
    thread_id: str = THREAD,
    ns: str = "",
    metadata: dict[str, Any] | None = None,
    expires_at: int | None = None,
    compression: Compression = COMP,
    serde: Any = SERDE,
    parent_writes: Sequence[StoredWrite] = (),
) -> tuple[PreparedHead, ChannelPlan]:
    """Plan and build a head, as ``put`` does."""
    plan = plan_channels(checkpoint, dict(new_versions), parent_index, expires_at=expires_at)
    prepared = build_head(
        serde=serde,
        compression=compression,
        thread_id=thread_id,
        checkpoint_ns=ns,
        checkpoint=checkpoint,
        metadata=metadata if metadata is not None else {"source": "loop", "step": 1},  # type: ignore[arg-type]
        parent_id=parent_id,
        lineage=parent_id or checkpoint["id"],
        plan=plan,
        expires_at=expires_at,
        parent_writes=parent_writes,
    )
    return prepared, plan


def decode_head(item: dict[str, Any]) -> it.Head:
    decoded = it.decode_item(item)
    assert isinstance(decoded, it.Head)
    return decoded


def body_of(item: dict[str, Any], compression: Compression = COMP) -> schema.HeadPayload:
    return decode_head(item).payload(compression)


@dataclass
class Table:
    """What a reader has read, as resolution sees it (:class:`~rs.Known`)."""

    heads: dict[str, it.Head] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    exhausted: bool = True
    writes: dict[str, list[it.Writes]] = field(default_factory=dict)

    def head(self, checkpoint_id: str) -> it.Head | None:
        return self.heads.get(checkpoint_id)

    def absent(self, checkpoint_id: str) -> bool:
        return checkpoint_id not in self.heads and (self.exhausted or checkpoint_id in self.gone)

    def older_than(self, head: it.Head) -> list[it.Head]:
        return sorted(
            (h for h in self.heads.values() if h.checkpoint_id < head.checkpoint_id),
            key=lambda h: h.checkpoint_id,
            reverse=True,
        )

    def writes_of(self, checkpoint_id: str) -> list[it.Writes] | None:
        if checkpoint_id in self.writes or self.exhausted:
            return self.writes.get(checkpoint_id, [])
        return None


def table_of(items: Iterable[dict[str, Any]], *, exhausted: bool = True) -> Table:
    """What a reader knows after reading ``items`` (heads, and writes items)."""
    table = Table(exhausted=exhausted)
    for item in items:
        decoded = it.decode_item(item)
        if isinstance(decoded, it.Head):
            table.heads[decoded.checkpoint_id] = decoded
        elif isinstance(decoded, it.Writes):
            table.writes.setdefault(decoded.checkpoint_id, []).append(decoded)
    return table


def resolved(
    head_item: dict[str, Any],
    others: Sequence[dict[str, Any]] = (),
    *,
    compression: Compression = COMP,
    serde: Any = SERDE,
) -> rs.Resolved:
    head = decode_head(head_item)
    outcome = rs.resolve(head, head.versions(serde, compression), table_of(others), compression)
    assert isinstance(outcome, dict), outcome
    return outcome


def assembled(
    head_item: dict[str, Any],
    others: Sequence[dict[str, Any]] = (),
    writes: Sequence[dict[str, Any]] = (),
    *,
    thread_id: str = THREAD,
    ns: str = "",
    compression: Compression = COMP,
    serde: Any = SERDE,
) -> rs.Assembled:
    """Resolve and assemble a head from raw items, as the reader does."""
    head = decode_head(head_item)
    table = table_of(others)
    table.heads.setdefault(head.checkpoint_id, head)
    outcome = rs.resolve(head, head.versions(serde, compression), table, compression)
    assert isinstance(outcome, dict), outcome
    writes_items = [it.decode_item(w) for w in writes]
    assert all(isinstance(w, it.Writes) for w in writes_items)
    return rs.assemble(
        serde=serde,
        compression=compression,
        head=head,
        resolved=outcome,
        writes=writes_items,  # type: ignore[arg-type]
        thread_id=thread_id,
        checkpoint_ns=ns,
    )


def read(
    head_item: dict[str, Any],
    others: Sequence[dict[str, Any]] = (),
    writes: Sequence[dict[str, Any]] = (),
    **kw: Any,
) -> CheckpointTuple:
    return assembled(head_item, others, writes, **kw).tuple


def writes_of(
    writes: list[tuple[str, Any]], task_id: str = "task-1", task_path: str = "", **kw: Any
) -> PreparedWrites:
    return build_writes(
        serde=SERDE,
        compression=kw.pop("compression", COMP),
        thread_id=kw.pop("thread_id", THREAD),
        checkpoint_ns=kw.pop("ns", ""),
        checkpoint_id=kw.pop("checkpoint_id", "cp-1"),
        writes=writes,
        task_id=task_id,
        task_path=task_path,
        expires_at=kw.pop("expires_at", None),
    )


def all_writes_items(prepared: PreparedWrites) -> list[dict[str, Any]]:
    return ([prepared.regular] if prepared.regular else []) + prepared.special
