"""Reading one namespace of a thread, and the read operations built on it: ``get_tuple``
(the latest exactly, or by id; with a sliding TTL, rewritten whole with a later expiry)
and ``get_delta_channel_history``. No I/O: each function yields requests.

A :class:`Reader` holds the items read so far and runs the one loop that turns what a
resolution needs (:class:`~..storage.resolve.Need`) into reads; it lives for one saver
call. Within a namespace, ascending sort-key order is ``[writes of A][head of A]
[writes of B][head of B] ...``, so a descending Query from a head returns the head, its
pending writes, then older heads: a checkpoint and its writes come back in one request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple, DeltaChannelHistory, PendingWrite

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.codec import channel_label, join
from langgraph_dynamodb.errors import CorruptItemError, ReplicationLagError
from langgraph_dynamodb.flows.bulk import batch_get, batch_write, query_all
from langgraph_dynamodb.flows.context import Ctx, Target, target_of
from langgraph_dynamodb.schema import AttrMap, is_expired, key, sk_of, with_expiry
from langgraph_dynamodb.steps import Flow, Sleep, backoff
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.storage.build import rebuild_head
from langgraph_dynamodb.storage.items import Head, Writes, decode_item, stored_writes
from langgraph_dynamodb.storage.resolve import (
    Assembled,
    Missing,
    Need,
    Resolved,
    assemble,
    pending_writes,
    resolve,
)


@dataclass
class Reader:
    """Reads the sort-key range ``[lo, hi]`` of one namespace newest first.

    It is what :func:`~..storage.resolve.resolve` knows (:class:`~..storage.resolve.Known`):
    heads by id, which are gone, and whether every older head has been read.
    """

    ctx: Ctx
    target: Target
    lo: str
    hi: str
    page_limit: int
    heads: list[Head] = field(default_factory=list)
    by_id: dict[str, Head] = field(default_factory=dict)
    writes: dict[str, list[Writes]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    broken: set[Writes] = field(default_factory=set)
    """Writes items whose chunks are missing or corrupt."""
    start: AttrMap | None = None
    exhausted: bool = False
    last_sk: str | None = None
    floor: str | None = None
    """Everything in the range at or above this sort key has been read."""
    watermark: str | None = None
    """The namespace's tombstone watermark: heads of lineages up to it are deleted."""
    dead: set[str] = field(default_factory=set)
    """Heads left out as deleted (under the tombstone), whose writes are left out too."""
    dead_lineages: set[str] = field(default_factory=set)
    """Lineages that are deleted whatever the watermark: a subgraph's, when it is the id
    of a deleted checkpoint of the root graph it ran under."""

    def __post_init__(self) -> None:
        self.watermark = self.ctx.watermarks.get(self.target.thread_id, self.target.checkpoint_ns)

    @classmethod
    def of(cls, ctx: Ctx, target: Target, page_limit: int) -> Reader:
        """A reader of the target's namespace, from its checkpoint (or the latest) down."""
        prefix = schema.checkpoint_ns_prefix(target.checkpoint_ns)
        hi = (
            schema.head_sk(target.checkpoint_ns, target.checkpoint_id)
            if target.checkpoint_id
            else schema.range_end(prefix)
        )
        return cls(ctx, target, prefix, hi, page_limit)

    # --- what resolution knows ------------------------------------------------------------
    def head(self, checkpoint_id: str) -> Head | None:
        """A head read, by checkpoint id (not one found broken)."""
        return self.by_id.get(checkpoint_id)

    def absent(self, checkpoint_id: str) -> bool:
        """Whether a head is gone: fetched by key and not found, broken, or not among the
        items of a part of the range read completely."""
        if checkpoint_id in self.by_id:
            return False
        return checkpoint_id in self.missing or self.read_past(checkpoint_id)

    def older_than(self, head: Head) -> list[Head]:
        """Heads read that are older than ``head``, newest first."""
        return [
            h
            for h in self.heads
            if h.checkpoint_id < head.checkpoint_id and h.checkpoint_id not in self.missing
        ]

    def writes_of(self, checkpoint_id: str) -> list[Writes] | None:
        """The pending-writes items of a checkpoint, once all of them have been read."""
        if not self.read_past(checkpoint_id):
            return None
        return [w for w in self.writes.get(checkpoint_id, []) if w not in self.broken]

    # --- reading ----------------------------------------------------------------------------
    def feed(self, raw_items: Iterable[AttrMap]) -> None:
        """Take items read newest first (expired ones are absent)."""
        now = self.ctx.clock()
        for raw in raw_items:
            self.last_sk = sk_of(raw)
            if is_expired(raw, now):
                continue
            if schema.is_tombstone_sk(self.last_sk):
                self._tombstone(raw)
                continue
            decoded = decode_item(raw)
            if isinstance(decoded, Head):
                lineage = decoded.lineage
                if (
                    self.watermark is not None and lineage <= self.watermark
                ) or lineage in self.dead_lineages:
                    self.dead.add(decoded.checkpoint_id)  # a deleted lineage's late write
                    self.missing.add(decoded.checkpoint_id)
                    continue
                self.heads.append(decoded)
                self.by_id.setdefault(decoded.checkpoint_id, decoded)
            elif isinstance(decoded, Writes) and decoded.checkpoint_id not in self.dead:
                self.writes.setdefault(decoded.checkpoint_id, []).append(decoded)

    def _tombstone(self, raw: AttrMap) -> None:
        """Take the namespace's tombstone (read first: it has the highest sort key)."""
        mark = schema.watermark_of(raw)
        if mark is None:
            return
        self.ctx.watermarks.note(self.target.thread_id, self.target.checkpoint_ns, mark)
        self.watermark = max(mark, self.watermark or mark)

    def _query_from(self, lo: str, limit: int | None) -> Flow[None]:
        """One Query of the range from ``lo`` up, newest first, after what was read."""
        params = requests.query(
            self.target.pk,
            between=(lo, self.hi),
            descending=True,
            limit=limit,
            start=self.start,
            consistent=self.ctx.consistent_read,
        )
        resp = yield self.ctx.request("query", **params)
        self.feed(resp.get("Items", []))
        if resp.get("LastEvaluatedKey"):
            self.start = resp["LastEvaluatedKey"]
            self.floor = self.last_sk
        elif lo == self.lo:
            self.start, self.exhausted, self.floor = None, True, self.lo
        else:  # a shorter range is done: the whole range goes on below its last item
            if self.last_sk is not None:
                self.start = key(self.target.pk, self.last_sk)
            self.floor = lo

    def next_page(self) -> Flow[None]:
        """Read the next page of the range."""
        yield from self._query_from(self.lo, self.page_limit)

    def read_past(self, checkpoint_id: str) -> bool:
        """Whether every item of a checkpoint (its head and writes) has been read."""
        if self.exhausted:
            return True
        prefix = schema.checkpoint_prefix(self.target.checkpoint_ns, checkpoint_id)
        return self.floor is not None and self.floor <= prefix

    def read_down_to(self, checkpoint_id: str) -> Flow[None]:
        """Read from where the last page ended down to (and including) the items of
        ``checkpoint_id``, in as few Queries as DynamoDB allows (no Limit)."""
        lo = max(self.lo, schema.checkpoint_prefix(self.target.checkpoint_ns, checkpoint_id))
        while not self.read_past(checkpoint_id):
            yield from self._query_from(lo, None)

    def load_chunks(self, objs: Sequence[Head | Writes]) -> Flow[list[Head | Writes]]:
        """Join chunked payloads; returns the items whose chunks are missing or corrupt
        (heads among them are then gone)."""
        todo = [o for o in objs if o.needs_chunks()]
        if not todo:
            return []
        found = yield from batch_get(self.ctx, [k for o in todo for k in o.chunk_keys()])
        now = self.ctx.clock()
        by_sk = {sk_of(c): c for c in found if not is_expired(c, now)}
        failed: list[Head | Writes] = []
        for o in todo:
            assert o.chunk_ref is not None
            data = o.chunk_ref.join(by_sk)
            if data is None:
                failed.append(o)
                if isinstance(o, Head):
                    self.by_id.pop(o.checkpoint_id, None)
                    self.missing.add(o.checkpoint_id)
                else:
                    self.broken.add(o)
            else:
                o.set_chunk_data(data)
        return failed

    def fetch_heads(self, ids: Iterable[str]) -> Flow[None]:
        """Fetch heads by key (holders outside what was read); those not found are gone."""
        wanted = sorted(i for i in ids if i not in self.by_id and i not in self.missing)
        if not wanted:
            return
        raw = yield from batch_get(
            self.ctx,
            [key(self.target.pk, schema.head_sk(self.target.checkpoint_ns, i)) for i in wanted],
        )
        now = self.ctx.clock()
        for r in raw:
            decoded = decode_item(r)
            if isinstance(decoded, Head) and not is_expired(r, now):
                self.by_id[decoded.checkpoint_id] = decoded
        self.missing.update(i for i in wanted if i not in self.by_id)

    # --- the one loop ---------------------------------------------------------------------
    def satisfy(self, need: Need, *, prefer_paging: bool) -> Flow[bool]:
        """Read what ``need`` asks for; False if nothing could be read."""
        if need.chunks:
            yield from self.load_chunks(need.chunks)
            return True
        if need.down_to is not None and not self.read_past(need.down_to):
            yield from self.read_down_to(need.down_to)
            return True
        page_instead = prefer_paging and not self.exhausted
        if need.heads - set(self.by_id) - self.missing and not page_instead:
            yield from self.fetch_heads(need.heads)
            return True
        if (need.heads or need.older) and not self.exhausted:
            yield from self.next_page()
            return True
        return False

    def values_of(
        self, head: Head, versions: Mapping[str, Any], *, prefer_paging: bool
    ) -> Flow[Resolved | Missing]:
        """Where the given channels of ``head`` are stored, reading until resolution needs
        nothing more; or what is gone."""
        for _ in range(limits.MAX_RESOLVE_ROUNDS):
            outcome = resolve(head, versions, self, self.ctx.compression)
            if not isinstance(outcome, Need):
                return outcome
            if not (yield from self.satisfy(outcome, prefer_paging=prefer_paging)):
                break
        raise CorruptItemError(
            f"checkpoint {head.checkpoint_id!r} of thread {self.target.thread_id!r} could not "
            "be resolved: what it refers to forms no chain"
        )

    def complete(self, head: Head) -> Flow[list[Writes] | Missing]:
        """Read until every writes item of ``head`` is in, and join chunked payloads."""
        while not self.read_past(head.checkpoint_id):
            yield from self.next_page()
        writes = self.writes.get(head.checkpoint_id, [])
        failed = yield from self.load_chunks([head, *writes])
        if head in failed:
            return Missing("a chunk of its payload is missing")
        if failed:
            return Missing(f"a chunk of its pending writes {failed[0].sk!r} is missing")
        return writes

    def checkpoint(
        self, head: Head, *, prefer_paging: bool, config: RunnableConfig | None = None
    ) -> Flow[Assembled | Missing]:
        """The checkpoint tuple of ``head`` (and its channel index), or what is gone."""
        ctx = self.ctx
        writes = yield from self.complete(head)
        if isinstance(writes, Missing):
            return writes
        versions = head.versions(ctx.serde, ctx.compression)
        resolved = yield from self.values_of(head, versions, prefer_paging=prefer_paging)
        if isinstance(resolved, Missing):
            return resolved
        assembled = assemble(
            serde=ctx.serde,
            compression=ctx.compression,
            head=head,
            resolved=resolved,
            writes=writes,
            thread_id=self.target.thread_id,
            checkpoint_ns=self.target.checkpoint_ns,
            config=config,
        )
        key_ = self.target.cache_key(head.checkpoint_id)
        ctx.hints.note_head(key_, head.parent_id, (w.sk for w in writes))
        return assembled


def unreadable(target: Target, checkpoint_id: str, missing: Missing) -> CorruptItemError:
    """The error for a checkpoint that must be read whole and cannot be."""
    return CorruptItemError(
        f"checkpoint {checkpoint_id!r} of thread {target.thread_id!r} (namespace "
        f"{target.checkpoint_ns!r}) cannot be read: {missing.reason}. An item it depends on "
        "was deleted or damaged outside this library; restore it (point-in-time recovery), "
        "or drop the thread's history with delete_thread() or prune()"
    )


def _root_watermark(by_ns: Mapping[str, Sequence[AttrMap]]) -> str | None:
    """The watermark of the root namespace's tombstone among a thread's items."""
    marks = (schema.watermark_of(i) for i in by_ns.get(schema.ns_component(""), ()))
    return max((m for m in marks if m is not None), default=None)


def readers_of_thread(ctx: Ctx, thread_id: str, raw: Iterable[AttrMap]) -> dict[str, Reader]:
    """Readers (fed and complete) for every namespace found among a thread's items."""
    by_ns: dict[str, list[AttrMap]] = {}
    plain: dict[str, str] = {}
    for item in raw:
        sk = sk_of(item)
        if schema.is_tombstone_sk(sk):  # its namespace's reader takes it first
            component = schema.tombstone_ns_component(sk)
            by_ns.setdefault(component, []).append(item)
            continue
        parsed = schema.parse_sk(sk)
        if parsed is None:
            continue
        by_ns.setdefault(parsed.ns_component, []).append(item)
        name = schema.decode_component(parsed.ns_component)
        if name is None:
            name = item.get(schema.NAMESPACE, {}).get("S")
            if name is None:
                continue
        plain[parsed.ns_component] = name
    readers: dict[str, Reader] = {}
    root_mark = _root_watermark(by_ns)
    root = schema.ns_component("")
    dead_roots: set[str] = set()
    for component, items in sorted(by_ns.items(), key=lambda kv: kv[0] != root):
        if component not in plain:
            continue
        target = Target(thread_id, plain[component], None)
        reader = Reader.of(ctx, target, 1)
        if root_mark is not None and component != root:
            # the root graph's deletion covers the subgraphs its runs went into
            reader.watermark = max(root_mark, reader.watermark or root_mark)
            reader.dead_lineages = dead_roots
        reader.feed(sorted(items, key=sk_of, reverse=True))
        if component == root:
            dead_roots = reader.dead
        reader.exhausted = True
        readers[target.checkpoint_ns] = reader
    return readers


# --- rewriting a head whole -----------------------------------------------------------------
def rewrite_whole(
    ctx: Ctx, reader: Reader, head: Head, found: Assembled | None = None
) -> Flow[bool]:
    """Rewrite a head with every channel value in it (no references, no deltas) and a
    fresh expiry, and its writes with that expiry; False (nothing written) if the head
    cannot be read."""
    if found is None:
        read = yield from reader.checkpoint(head, prefer_paging=False)
        if isinstance(read, Missing):
            return False
        found = read
    expires_at = ctx.expires_at() if ctx.ttl_seconds is not None else head.expires_at
    rebuilt = rebuild_head(
        head,
        ctx.compression,
        ctx.serde,
        found.parts,
        found.tuple.checkpoint["channel_values"],
        thread_id=reader.target.thread_id,
        checkpoint_ns=reader.target.checkpoint_ns,
        expires_at=expires_at,
    )
    writes = reader.writes.get(head.checkpoint_id, [])
    refreshed = [with_expiry(w.raw, expires_at) for w in writes]
    thread_id = reader.target.thread_id
    marker = ctx.run_marker(head.run_id, thread_id, expires_at)  # it lasts as its heads do
    if rebuilt.chunks or refreshed or marker:
        yield from batch_write(ctx, puts=[*rebuilt.chunks, *refreshed, *marker])
    if marker:
        ctx.runs.note(str(head.run_id), thread_id, schema.get_n(marker[0], schema.TTL))
    yield ctx.request("put_item", Item=rebuilt.head)
    head_key = reader.target.cache_key(head.checkpoint_id)
    ctx.index.put(head_key, rebuilt.index, head.lineage)
    ctx.hints.note_head(head_key, head.parent_id, (w.sk for w in writes))
    return True


# --- operations -------------------------------------------------------------------------
def thread_items(ctx: Ctx, thread_id: str, *, keys_only: bool) -> Flow[list[AttrMap]]:
    """A thread's checkpoint-region items (chunks left out), ascending; the watermarks of
    its tombstones are remembered (a root written next starts a lineage above them)."""
    also = (schema.N_WATERMARK,) if keys_only else ()
    items = yield from query_all(
        ctx, schema.thread_pk(thread_id), schema.CHECKPOINT_PREFIX, keys_only=keys_only, also=also
    )
    for item in items:
        mark = schema.watermark_of(item)
        if mark is not None:
            name = schema.decode_component(schema.tombstone_ns_component(sk_of(item)))
            if name is not None:
                ctx.watermarks.note(thread_id, name, mark)
    return items


def read_checkpoint(
    ctx: Ctx, target: Target, config: RunnableConfig | None = None
) -> Flow[tuple[Reader, Assembled] | None]:
    """The newest checkpoint of the target's namespace, or its ``checkpoint_id``'s, read
    whole (usually one Query) and remembered for writers of its children (its channel
    index, and its pending writes that a child may refer to); ``None`` when there is none.

    Raises:
        CorruptItemError: The checkpoint exists but a part of it is gone: never an older
            checkpoint in its place.
    """
    expected = ctx.hints.expected_items(
        target.thread_id, target.checkpoint_ns, target.checkpoint_id, ctx.index.get
    )
    latest = target.checkpoint_id is None
    if expected and latest and ctx.watermarks.get(target.thread_id, target.checkpoint_ns):
        expected += 1  # the namespace's tombstone comes first
    started = ctx.clock()
    attempt = 0
    while True:
        attempt += 1
        reader = Reader.of(ctx, target, expected or limits.GET_TUPLE_QUERY_LIMIT)
        while not reader.heads and not reader.exhausted:
            yield from reader.next_page()
        if not reader.heads:
            return None
        head = reader.heads[0]
        if target.checkpoint_id is not None and head.checkpoint_id != target.checkpoint_id:
            return None
        found = yield from reader.checkpoint(head, prefer_paging=False, config=config)
        if not isinstance(found, Missing):
            head_key = target.cache_key(head.checkpoint_id)
            ctx.index.put(head_key, found.index, head.lineage)
            writes = reader.writes.get(head.checkpoint_id, [])
            if all(schema.TTL not in w.raw for w in writes):  # a child may refer to them
                stored = stored_writes(writes, ctx.compression)
                ctx.stored_writes.add(head_key, stored, replace=True)
            return reader, found
        waited = ctx.clock() - started
        if not ctx.replication_wait:
            raise unreadable(target, head.checkpoint_id, found)
        if waited >= ctx.replication_wait:
            raise ReplicationLagError(
                f"checkpoint {head.checkpoint_id!r} of thread {target.thread_id!r} (namespace "
                f"{target.checkpoint_ns!r}) reached this region before what it is made of "
                f"({found.reason}), still after {waited:.1f} s (replication_wait="
                f"{ctx.replication_wait:g}); retry, or read where it was written"
            )
        pause = max(backoff(attempt), limits.REPLICATION_MIN_PAUSE_SECONDS)
        yield Sleep(min(pause, ctx.replication_wait - waited))


def get_tuple(ctx: Ctx, config: RunnableConfig) -> Flow[CheckpointTuple | None]:
    """The latest checkpoint of a namespace, or the one with the config's id, with its
    pending writes; with a sliding TTL, rewritten with a later expiry when items written
    now would expire later than it (once per expiry window)."""
    target = target_of(config)
    read = yield from read_checkpoint(
        ctx, target, config if target.checkpoint_id is not None else None
    )
    if read is None:
        return None
    reader, found = read
    head = reader.heads[0]
    fresh = ctx.expires_at()
    if (
        target.checkpoint_id is None
        and ctx.ttl_refresh_on_read
        and fresh is not None
        and head.expires_at is not None
        and head.expires_at < fresh
    ):
        yield from rewrite_whole(ctx, reader, head, found)
    return found.tuple


def task_paths(ctx: Ctx, config: RunnableConfig) -> Flow[dict[str, str] | None]:
    """The task path of each task with pending writes at a checkpoint (``{task_id:
    task_path}``, as LangGraph gave ``put_writes``), read with the checkpoint (the latest of
    the namespace without a ``checkpoint_id``); ``None`` when there is no such checkpoint."""
    read = yield from read_checkpoint(ctx, target_of(config), config)
    return None if read is None else dict(read[1].task_paths)


def delta_channel_history(
    ctx: Ctx, config: RunnableConfig, channels: Sequence[str]
) -> Flow[dict[str, DeltaChannelHistory]]:
    """``get_delta_channel_history`` in one or two Queries instead of one ``get_tuple``
    per ancestor: read the namespace down from the target once, walk the parent chain in
    memory, collect each ancestor's writes to the channels and stop at the nearest
    ancestor that stores a value (the seed). The walk ends at an ancestor that is not in
    the table (as LangGraph's own default does); an ancestor that is there but cannot be
    read raises :class:`~langgraph_dynamodb.errors.CorruptItemError`."""
    if not channels:
        return {}
    target = target_of(config)
    reader = Reader.of(ctx, target, limits.LIST_QUERY_LIMIT)
    collected: dict[str, list[PendingWrite]] = {ch: [] for ch in channels}
    seeds: dict[str, Any] = {}
    remaining = set(channels)
    while not reader.heads and not reader.exhausted:
        yield from reader.next_page()
    head = reader.heads[0] if reader.heads else None
    if head is not None and target.checkpoint_id not in (None, head.checkpoint_id):
        head = None
    cursor = head.parent_id if head is not None else None
    while cursor is not None and remaining:
        while cursor not in reader.by_id and not reader.exhausted:
            yield from reader.next_page()
        ancestor = reader.head(cursor)
        if ancestor is None:
            break
        writes = yield from reader.complete(ancestor)
        if isinstance(writes, Missing):
            raise unreadable(target, ancestor.checkpoint_id, writes)
        for write in reversed(pending_writes(ctx.serde, ctx.compression, writes)):
            if write[1] in remaining:
                collected[write[1]].append(write)
        versions = ancestor.versions(ctx.serde, ctx.compression)
        wanted = {ch: versions[ch] for ch in remaining if ch in versions}
        resolved = yield from reader.values_of(ancestor, wanted, prefer_paging=True)
        if isinstance(resolved, Missing):
            raise unreadable(target, ancestor.checkpoint_id, resolved)
        for ch, loc in resolved.items():
            if loc.parts is not None:
                seeds[ch] = join(ctx.serde, loc.parts, channel_label(ch))
                remaining.discard(ch)
        cursor = ancestor.parent_id
    result: dict[str, DeltaChannelHistory] = {}
    for ch in channels:
        entry: DeltaChannelHistory = {"writes": list(reversed(collected[ch]))}
        if ch in seeds:
            entry["seed"] = seeds[ch]
        result[ch] = entry
    return result
