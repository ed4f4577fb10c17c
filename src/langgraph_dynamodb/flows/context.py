"""What every flow gets: the saver's settings and memory (:class:`Ctx`), and the ids a
config addresses (:func:`target_of`). No I/O."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import schema
from langgraph_dynamodb.caches import (
    HeadKey,
    IndexCache,
    ReadHints,
    RunMarks,
    StoredWrites,
    Watermarks,
)
from langgraph_dynamodb.codec import Compression
from langgraph_dynamodb.errors import InvalidInputError
from langgraph_dynamodb.schema import AttrMap
from langgraph_dynamodb.steps import OPERATIONS, Request
from langgraph_dynamodb.storage.build import expiry_in_seconds


def _ignore(reason: str) -> None:
    del reason


@dataclass(kw_only=True)
class TableCtx:
    """What every flow on the table needs: the table, how to read it, the clock."""

    table: str
    consistent_read: bool
    clock: Callable[[], float] = time.time

    def request(self, op: str, expect: tuple[str, ...] = (), **params: Any) -> Request:
        """A request on this table, asking DynamoDB for its consumed capacity."""
        known = OPERATIONS.get(op)
        if known is not None and known.reports_capacity:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        if op not in ("batch_write_item", "batch_get_item", "transact_write_items"):
            params.setdefault("TableName", self.table)
        return Request(op, params, expect)


@dataclass(kw_only=True)
class Ctx(TableCtx):
    """Everything a checkpoint flow needs from the saver, read at call time.

    Attributes:
        stored_writes: Regular pending writes known to be stored, that a child's list
            tails may refer to (the saver's; a fresh one for a flow on its own).
        on_skip: Called with a message when ``list`` leaves out a checkpoint that cannot
            be read (the saver logs a warning and counts it).
    """

    serde: SerializerProtocol
    compression: Compression
    ttl_seconds: float | None
    ttl_refresh_on_read: bool
    index: IndexCache
    hints: ReadHints
    runs: RunMarks
    watermarks: Watermarks
    stored_writes: StoredWrites = field(default_factory=StoredWrites)
    fencing: bool = False
    replication_wait: float = 0.0
    on_skip: Callable[[str], None] = _ignore

    def expires_at(self) -> int | None:
        """Expiry (epoch seconds) of items written now, if a TTL is configured."""
        if self.ttl_seconds is None:
            return None
        return expiry_in_seconds(self.clock(), self.ttl_seconds)

    def run_marker(self, run_id: Any, thread_id: str, expires_at: int | None) -> list[AttrMap]:
        """The marker of a run in a thread (:func:`schema.run_marker`) when this saver has
        not written it, or it would expire before a head that expires at ``expires_at``;
        else nothing. It expires a TTL after the head, so it outlives every head of the
        run written until its next rewrite. ``delete_for_runs`` finds a run's threads
        through it; the caller notes it (``runs.note``) once written."""
        if not isinstance(run_id, str) or not run_id:
            return []
        if not self.runs.needed(run_id, thread_id, expires_at):
            return []
        marker_expires = None
        if expires_at is not None and self.ttl_seconds is not None:
            marker_expires = expires_at + math.ceil(self.ttl_seconds)
        return [schema.run_marker(run_id, thread_id, marker_expires)]


@dataclass(frozen=True)
class Target:
    """Thread, namespace and (optional) checkpoint id a config addresses."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None

    @property
    def pk(self) -> str:
        """The thread's partition key."""
        return schema.thread_pk(self.thread_id)

    def cache_key(self, checkpoint_id: str | None = None) -> HeadKey:
        """The cache key of a head of this namespace (this target's own by default)."""
        cp = checkpoint_id if checkpoint_id is not None else self.checkpoint_id
        return (self.thread_id, self.checkpoint_ns, cp or "")


def target_of(config: RunnableConfig | None, *, need_checkpoint: bool = False) -> Target:
    """Read and validate the ids of a config."""
    if not isinstance(config, Mapping):
        raise InvalidInputError(
            f"config must be a dict like {{'configurable': {{'thread_id': ...}}}}, got {config!r}"
        )
    configurable = config.get("configurable")
    if not isinstance(configurable, Mapping) or "thread_id" not in configurable:
        raise InvalidInputError(
            "config has no thread_id: pass {'configurable': {'thread_id': '...'}} when you "
            "invoke a graph that has a checkpointer"
        )
    thread_id = schema.require_id(configurable["thread_id"], "thread_id")
    ns = schema.require_id(
        configurable.get("checkpoint_ns", "") or "", "checkpoint_ns", allow_empty=True
    )
    cp = configurable.get("checkpoint_id")
    if cp is not None:
        cp = schema.require_id(cp, "checkpoint_id")
    elif need_checkpoint:
        raise InvalidInputError(
            "config has no checkpoint_id: writes belong to a checkpoint; pass the config "
            "returned by put()"
        )
    return Target(thread_id, ns, cp or None)
