"""Reading one namespace of a thread, newest first: the items read so far, and the one loop
that turns what a resolution needs (:class:`~..storage.resolve.Need`) into reads. No I/O:
each method yields requests. A reader lives for one saver call.

Within a namespace, ascending sort-key order is ``[writes of A][head of A][writes of B]
[head of B] ...``, so a descending Query from a head returns the head, its pending writes,
then older heads: a checkpoint and its writes come back in one request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig

from langgraph_dynamodb import keys, limits
from langgraph_dynamodb.calls import Flow
from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.flows.batch import batch_get
from langgraph_dynamodb.flows.context import Ctx, Target
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.storage.attrs import AttrMap, is_expired, key, sk_of
from langgraph_dynamodb.storage.items import Head, Writes, decode_item
from langgraph_dynamodb.storage.resolve import (
    Assembled,
    Missing,
    Need,
    Resolved,
    assemble,
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
    start: AttrMap | None = None
    exhausted: bool = False
    last_sk: str | None = None
    floor: str | None = None
    """Everything in the range at or above this sort key has been read."""

    @classmethod
    def of(cls, ctx: Ctx, target: Target, page_limit: int) -> Reader:
        """A reader of the target's namespace, from its checkpoint (or the latest) down."""
        prefix = keys.ns_prefix(target.checkpoint_ns)
        hi = (
            keys.head_sk(target.checkpoint_ns, target.checkpoint_id)
            if target.checkpoint_id
            else keys.range_end(prefix)
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

    # --- reading ----------------------------------------------------------------------------
    def feed(self, raw_items: Iterable[AttrMap]) -> None:
        """Take items read newest first (expired ones are absent)."""
        now = self.ctx.clock()
        for raw in raw_items:
            self.last_sk = sk_of(raw)
            if is_expired(raw, now):
                continue
            decoded = decode_item(raw)
            if isinstance(decoded, Head):
                self.heads.append(decoded)
                self.by_id.setdefault(decoded.checkpoint_id, decoded)
            elif isinstance(decoded, Writes):
                self.writes.setdefault(decoded.checkpoint_id, []).append(decoded)

    def _read(self, lo: str, limit: int | None) -> Flow[None]:
        """One Query of the range from ``lo`` up, newest first, after what was read."""
        params = requests.query(
            self.target.pk,
            between=(lo, self.hi),
            descending=True,
            limit=limit,
            start=self.start,
            consistent=self.ctx.consistent_read,
        )
        resp = yield self.ctx.call("query", **params)
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
        yield from self._read(self.lo, self.page_limit)

    def read_past(self, checkpoint_id: str) -> bool:
        """Whether every item of a checkpoint (its head and writes) has been read."""
        if self.exhausted:
            return True
        prefix = keys.checkpoint_prefix(self.target.checkpoint_ns, checkpoint_id)
        return self.floor is not None and self.floor <= prefix

    def read_down_to(self, checkpoint_id: str) -> Flow[None]:
        """Read from where the last page ended down to (and including) the items of
        ``checkpoint_id``, in as few Queries as DynamoDB allows (no Limit)."""
        lo = max(self.lo, keys.checkpoint_prefix(self.target.checkpoint_ns, checkpoint_id))
        while not self.read_past(checkpoint_id):
            yield from self._read(lo, None)

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
                o.set_chunk_data(data)
        return failed

    def fetch_heads(self, ids: Iterable[str]) -> Flow[None]:
        """Fetch heads by key (holders outside what was read); those not found are gone."""
        wanted = sorted(i for i in ids if i not in self.by_id and i not in self.missing)
        if not wanted:
            return
        raw = yield from batch_get(
            self.ctx,
            [key(self.target.pk, keys.head_sk(self.target.checkpoint_ns, i)) for i in wanted],
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

    def read(
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
        key_ = self.target.key(head.checkpoint_id)
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


def readers_of_thread(ctx: Ctx, thread_id: str, raw: Iterable[AttrMap]) -> dict[str, Reader]:
    """Readers (fed and complete) for every namespace found among a thread's items."""
    by_ns: dict[str, list[AttrMap]] = {}
    plain: dict[str, str] = {}
    for item in raw:
        parsed = keys.parse_sk(sk_of(item))
        if parsed is None:
            continue
        by_ns.setdefault(parsed.ns_component, []).append(item)
        name = keys.decode_component(parsed.ns_component)
        if name is None:
            name = item.get(keys.NAMESPACE, {}).get("S")
            if name is None:
                continue
        plain[parsed.ns_component] = name
    readers: dict[str, Reader] = {}
    for component, items in by_ns.items():
        if component not in plain:
            continue
        target = Target(thread_id, plain[component], None)
        reader = Reader.of(ctx, target, 1)
        reader.feed(sorted(items, key=sk_of, reverse=True))
        reader.exhausted = True
        readers[target.checkpoint_ns] = reader
    return readers
