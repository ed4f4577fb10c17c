"""Requests of concurrent calls on one event loop, sent together: one BatchWriteItem for
their plain writes (``combine_writes=True``, the default) and one BatchGetItem for their
reads by key (``combine_reads=True``, the default), instead of one request each.

Many runs on one async saver or store (LangGraph's Agent Server, any async service) each
put a checkpoint a few times a run, or read a memory by key, one request each. Every
request costs the client (the AWS SDK's pipeline, about half a millisecond of CPU) and
DynamoDB alike; under load, several are ready to go at the same moment. The async driver
offers every request to its client's :class:`Combiners`. A *combinable* request is

- a write whose outcome does not depend on what the table holds: an unconditional
  PutItem, or a BatchWriteItem of the library's own puts and deletes
  (:func:`combinable_entries`), for the :class:`WriteCombiner`;
- a BatchGetItem of keys of the table and nothing else (no projection), for the
  :class:`ReadCombiner` (:func:`combinable_keys`).

Anything else is sent by its caller as before. A combiner waits for the rest of the loop's
current turn (``call_soon``: no timer), then:

- a request alone in its turn goes back to its caller, who sends it as it was: one call
  at a time sends exactly what it always sent;
- requests that met in one turn are packed, in order, into BatchWriteItems of at most
  :data:`~.limits.BATCH_WRITE_MAX_ITEMS` items that never name a key twice (the very same
  item, written by two calls, is sent once), or into BatchGetItems of at most
  :data:`~.limits.BATCH_GET_MAX_KEYS` keys, strongly consistent reads apart from
  eventually consistent ones (a key two calls read is asked once), and each batch is sent
  for all of them.

A caller's call returns once its own items are stored, or with its own items read, as
before: a read sent together is sent after every call it carries asked, so it sees every
write that ended before any of them asked (a strongly consistent read stays one). When
DynamoDB hands an item or a key back unprocessed, the request it came in goes back to its
caller, to be sent alone (a lone PutItem is retried by botocore, a flow's batch by its
flow, with backoff). A batch that failed as a whole raises the same translated error in
every call when the table could not be reached (throttling, 5xx and connections after
botocore's retries, no such table: sending each again would wait through the retries
again), and otherwise goes back to each caller to send alone, so each meets its own error.

Counting (:class:`~.stats.CallStats`): a shared request is one request, counted in the
call of the first request it carries; its capacity units and bytes are shared among the
calls in proportion to the size of their items, so the totals are DynamoDB's own.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb import stats as observe
from langgraph_dynamodb.errors import TableNotFoundError, UnavailableError
from langgraph_dynamodb.schema import AttrMap
from langgraph_dynamodb.stats import CallStats
from langgraph_dynamodb.steps import Request, Where, error_code, translate_exception

SEND_ALONE: Any = object()
"""What a caller's future is given when its request is to be sent as it was."""

COMBINABLE_WRITES = frozenset({"put_item", "batch_write_item"})
"""The client methods a combinable write may be."""
COMBINABLE_READS = frozenset({"batch_get_item"})
"""The client methods a combinable read may be (a GetItem never is: a user's IAM policy
that allows GetItem need not allow BatchGetItem)."""
COMBINABLE_OPS = COMBINABLE_WRITES | COMBINABLE_READS
"""Every client method a combiner may take a request of."""
_PUT_ITEM_PARAMS = frozenset({"TableName", "Item", "ReturnConsumedCapacity"})
_BATCH_PARAMS = frozenset({"RequestItems", "ReturnConsumedCapacity"})
_READ_SPEC = frozenset({"Keys", "ConsistentRead"})
_KEY_NAMES = frozenset({schema.PK, schema.SK})
READ_UNIT_BYTES = 4096
"""DynamoDB bills a read by 4 KB of the item read."""


def combinable_entries(step: Request, table: str) -> list[AttrMap] | None:
    """The write requests (``{"PutRequest": ...}`` / ``{"DeleteRequest": ...}``) of a request
    that may share a BatchWriteItem with others on ``table``, else ``None``: an
    unconditional PutItem with nothing asked back, or a BatchWriteItem on that table alone
    that names no key twice."""
    if step.expect:
        return None
    params = step.params
    if step.op == "put_item":
        if params.get("TableName") != table or not _PUT_ITEM_PARAMS.issuperset(params):
            return None
        return [{"PutRequest": {"Item": params["Item"]}}]
    if step.op == "batch_write_item":
        if not _BATCH_PARAMS.issuperset(params):
            return None
        items = params.get("RequestItems") or {}
        if set(items) != {table}:
            return None
        entries: list[AttrMap] = items[table]
        if not 0 < len(entries) <= limits.BATCH_WRITE_MAX_ITEMS:
            return None
        try:
            if len({_entry_key(e) for e in entries}) != len(entries):
                return None  # DynamoDB refuses it; alone, its caller meets the error
        except (KeyError, TypeError):
            return None
        return entries
    return None


@dataclass(frozen=True)
class AskedKeys:
    """What a combinable BatchGetItem asks: its keys, and how consistently."""

    keys: list[AttrMap]
    consistent: bool


def combinable_keys(step: Request, table: str) -> AskedKeys | None:
    """The keys of a request that may share a BatchGetItem with others on ``table``, else
    ``None``: a BatchGetItem on that table alone, of whole items (no projection), that
    names no key twice (DynamoDB refuses that; alone, its caller meets the error)."""
    if step.op != "batch_get_item" or step.expect or not _BATCH_PARAMS.issuperset(step.params):
        return None
    items = step.params.get("RequestItems") or {}
    if set(items) != {table}:
        return None
    spec = items[table]
    if not isinstance(spec, dict) or not _READ_SPEC.issuperset(spec):
        return None
    keys: list[AttrMap] = spec.get("Keys") or []
    if not 0 < len(keys) <= limits.BATCH_GET_MAX_KEYS or not all(map(_is_key, keys)):
        return None
    if len({schema.ident(k) for k in keys}) != len(keys):
        return None
    return AskedKeys(keys, bool(spec.get("ConsistentRead", False)))


def _is_key(key: Any) -> bool:
    """Whether ``key`` is a key of the table as the library writes one: its two key
    attributes, strings, and nothing else (anything else may be refused by DynamoDB, and
    would then fail every call it was sent with)."""
    return (
        isinstance(key, dict)
        and key.keys() == _KEY_NAMES
        and all(isinstance(v, dict) and isinstance(v.get("S"), str) for v in key.values())
    )


def _entry_key(entry: AttrMap) -> tuple[str, str]:
    if "PutRequest" in entry:
        return schema.ident(entry["PutRequest"]["Item"])
    return schema.ident(entry["DeleteRequest"]["Key"])


def _entry_size(entry: AttrMap) -> int:
    """Write units an entry is billed at, about (a delete as one)."""
    if "PutRequest" in entry:
        return max(1, -(-schema.approx_size(entry["PutRequest"]["Item"]) // 1024))
    return 1


def _read_size(found: AttrMap | None) -> int:
    """Read units a key is billed at, about (a missing item as one)."""
    if found is None:
        return 1
    return max(1, -(-schema.approx_size(found) // READ_UNIT_BYTES))


@dataclass
class Waiting:
    """One caller's request, waiting for the end of the loop's turn: what it writes (an
    entry per item) or reads (a key per item) and their keys, the call it is counted in,
    the future its caller awaits."""

    step: Request
    entries: list[AttrMap]
    call: CallStats
    done: asyncio.Future[Any]
    key_list: list[tuple[str, str]]

    @classmethod
    def of(
        cls, step: Request, entries: list[AttrMap], call: CallStats, done: asyncio.Future[Any]
    ) -> Waiting:
        """A write's waiting entry, its keys read from its items."""
        return cls(step, entries, call, done, [_entry_key(e) for e in entries])

    @classmethod
    def reading(
        cls, step: Request, keys: list[AttrMap], call: CallStats, done: asyncio.Future[Any]
    ) -> Waiting:
        """A read's waiting entry."""
        return cls(step, keys, call, done, [schema.ident(k) for k in keys])

    def any_of(self, keys: set[tuple[str, str]]) -> bool:
        """Whether it writes or reads one of ``keys``."""
        return any(k in keys for k in self.key_list)


@dataclass
class Batch:
    """Requests sent as one batch: for writes at most 25 items, no key twice (two calls
    writing the very same item, a thread's directory entry, a store group's, share it: it
    is sent once); for reads at most 100 keys, each asked once."""

    limit: int = limits.BATCH_WRITE_MAX_ITEMS
    waiting: list[Waiting] = field(default_factory=list)
    items: dict[tuple[str, str], AttrMap] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Items (or keys) the batch sends."""
        return len(self.items)

    def entries(self) -> list[AttrMap]:
        """The write requests of the BatchWriteItem (or the keys of the BatchGetItem), in
        order."""
        return list(self.items.values())

    def takes(self, w: Waiting) -> bool:
        """Whether ``w`` fits: no key of it already here with another write, room for
        the items that are new."""
        new = 0
        for k, e in zip(w.key_list, w.entries, strict=True):
            have = self.items.get(k)
            if have is None:
                new += 1
            elif have != e:
                return False
        return self.count + new <= self.limit

    def add(self, w: Waiting) -> None:
        """Put ``w`` in (after :meth:`takes`)."""
        self.waiting.append(w)
        for k, e in zip(w.key_list, w.entries, strict=True):
            self.items.setdefault(k, e)


def pack(waiting: Sequence[Waiting], limit: int = limits.BATCH_WRITE_MAX_ITEMS) -> list[Batch]:
    """Requests into batches of at most ``limit`` items (or keys), first fit in arrival
    order, no key twice in one."""
    batches: list[Batch] = []
    for w in waiting:
        for batch in batches:
            if batch.takes(w):
                batch.add(w)
                break
        else:
            batch = Batch(limit)
            batch.add(w)
            batches.append(batch)
    return batches


K = TypeVar("K")


class _TurnCombiner(Generic[K]):
    """What both combiners share: the requests waiting for the end of the loop's turn, the
    flush that packs them, and sending a batch for all its callers."""

    _limit = limits.BATCH_WRITE_MAX_ITEMS
    """Items (or keys) a batch takes at most."""

    def __init__(self, client: Any, where: Where, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self._where = where
        self.loop = loop
        self._waiting: list[tuple[K, Waiting]] = []
        self._flushing: asyncio.Handle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def _wait(self, group: K, make: Callable[[asyncio.Future[Any]], Waiting]) -> Any:
        done: asyncio.Future[Any] = self.loop.create_future()
        self._waiting.append((group, make(done)))
        if self._flushing is None:
            self._flushing = self.loop.call_soon(self._flush, context=contextvars.Context())
        return await done

    def _flush(self) -> None:
        self._flushing = None
        groups: dict[K, list[Waiting]] = {}
        for group, w in self._waiting:
            if not w.done.done():  # not those cancelled
                groups.setdefault(group, []).append(w)
        self._waiting = []
        for group, waiting in groups.items():
            for batch in pack(waiting, self._limit):
                if len(batch.waiting) == 1:
                    _settle(batch.waiting[0].done, SEND_ALONE)
                    continue
                task = self.loop.create_task(self._send_guarded(group, batch))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _send_guarded(self, group: K, batch: Batch) -> None:
        """Send a batch; however that ends (an answer that cannot be read, a bug), no
        caller is left waiting: those not answered yet get their request back, to send
        alone, and the error is raised on (asyncio logs it)."""
        try:
            await self._send_batch(group, batch)
        except BaseException:
            for w in batch.waiting:
                _settle(w.done, SEND_ALONE)
            raise

    async def _send_batch(self, group: K, batch: Batch) -> None:
        raise NotImplementedError

    async def _request(self, sent: Request, batch: Batch) -> tuple[CallStats, Any]:
        """Send ``sent`` for every caller in ``batch``: its counts and its response, or
        ``None`` for the response when it failed (each caller then has its error or its
        request back; the counts are still to be shared out)."""
        shared = CallStats(operation="combined")
        started = time.perf_counter()
        try:
            with observe.counting_into(shared):
                response = await getattr(self.client, sent.op)(**sent.params)
        except Exception as exc:
            shared.record(sent.op, getattr(exc, "response", None), failed=True)
            if observe.request_log.isEnabledFor(logging.DEBUG):
                code = error_code(exc) or type(exc).__name__
                observe.log_request(
                    sent.op,
                    shared,
                    self._where,
                    started,
                    getattr(exc, "response", None),
                    code,
                    combined_calls=len(batch.waiting),
                )
            for w in batch.waiting:
                _fail(w.done, sent, exc, self._where)
            return shared, None
        except BaseException:  # cancelled: each caller decides for itself
            for w in batch.waiting:
                _settle(w.done, SEND_ALONE)
            raise
        shared.record(sent.op, response, sent.params)
        if observe.request_log.isEnabledFor(logging.DEBUG):
            observe.log_request(
                sent.op,
                shared,
                self._where,
                started,
                response,
                None,
                combined_calls=len(batch.waiting),
            )
        return shared, response


class WriteCombiner(_TurnCombiner[None]):
    """The combinable writes of one client on one event loop (see the module)."""

    async def send(self, step: Request, entries: list[AttrMap], call: CallStats) -> Any:
        """Wait for the end of the loop's turn; returns the response of the request, or
        :data:`SEND_ALONE` when the caller is to send it itself."""
        return await self._wait(None, lambda done: Waiting.of(step, entries, call, done))

    async def _send_batch(self, group: None, batch: Batch) -> None:
        table = self._where.table
        sent = Request(
            "batch_write_item",
            {"RequestItems": {table: batch.entries()}, "ReturnConsumedCapacity": "TOTAL"},
        )
        shared, response = await self._request(sent, batch)
        if response is None:
            self._share(shared, batch.waiting, None)
            return
        back = (response.get("UnprocessedItems") or {}).get(table, [])
        handed_back = {_entry_key(e) for e in back}
        self._share(shared, batch.waiting, handed_back)
        for w in batch.waiting:
            if w.any_of(handed_back):
                _settle(w.done, SEND_ALONE)
            else:  # what its own request would have answered, less what is counted already
                _settle(w.done, {} if w.step.op == "put_item" else {"UnprocessedItems": {}})

    def _share(
        self,
        shared: CallStats,
        waiting: Sequence[Waiting],
        handed_back: set[tuple[str, str]] | None,
    ) -> None:
        """Count a shared request in the calls it carried: the request (its retries,
        throttles, error) in the first one's; capacity units and bytes among those whose
        items were all stored, by the size of their items, and the chunks they stored
        (``handed_back=None``: the request failed, nothing was stored; its bytes are
        shared by all)."""
        stored = [not (handed_back and w.any_of(handed_back)) for w in waiting]
        sizes = [[_entry_size(e) for e in w.entries] for w in waiting]
        _share_out(
            shared,
            waiting,
            stored,
            sizes,
            chunks_written=[
                observe.chunk_puts(w.entries) if ok and handed_back is not None else 0
                for w, ok in zip(waiting, stored, strict=True)
            ],
        )


class ReadCombiner(_TurnCombiner[bool]):
    """The combinable reads of one client on one event loop (see the module); strongly
    consistent reads are packed apart from eventually consistent ones."""

    _limit = limits.BATCH_GET_MAX_KEYS
    """Keys a BatchGetItem takes at most."""

    async def send(self, step: Request, asked: AskedKeys, call: CallStats) -> Any:
        """Wait for the end of the loop's turn; returns what the request would have
        answered (the caller's own items), or :data:`SEND_ALONE` when the caller is to send
        it itself."""
        return await self._wait(
            asked.consistent, lambda done: Waiting.reading(step, asked.keys, call, done)
        )

    async def _send_batch(self, consistent: bool, batch: Batch) -> None:
        table = self._where.table
        sent = Request(
            "batch_get_item",
            {
                "RequestItems": {table: {"Keys": batch.entries(), "ConsistentRead": consistent}},
                "ReturnConsumedCapacity": "TOTAL",
            },
        )
        shared, response = await self._request(sent, batch)
        if response is None:
            self._share(shared, batch.waiting, None)
            return
        found: dict[tuple[str, str], AttrMap] = {
            schema.ident(i): i for i in (response.get("Responses") or {}).get(table, [])
        }
        back = ((response.get("UnprocessedKeys") or {}).get(table) or {}).get("Keys", [])
        handed_back = {schema.ident(k) for k in back}
        self._share(shared, batch.waiting, (found, handed_back))
        given: set[tuple[str, str]] = set()
        for w in batch.waiting:
            if w.any_of(handed_back):
                _settle(w.done, SEND_ALONE)
                continue
            items = []
            for k in w.key_list:
                if k in found:  # an item two calls read: each has its own dict
                    items.append(dict(found[k]) if k in given else found[k])
                    given.add(k)
            _settle(w.done, {"Responses": {table: items}, "UnprocessedKeys": {}})

    def _share(
        self,
        shared: CallStats,
        waiting: Sequence[Waiting],
        response: tuple[dict[tuple[str, str], AttrMap], set[tuple[str, str]]] | None,
    ) -> None:
        """Count a shared read in the calls it carried: the request in the first one's;
        capacity units and bytes among those whose keys were all read, by the size of the
        items read (a key not found as one unit), and the chunks each read (``None``: the
        request failed; its bytes are shared by all)."""
        found, handed_back = response if response is not None else ({}, set())
        read = [not (handed_back and w.any_of(handed_back)) for w in waiting]
        sizes = [[_read_size(found.get(k)) for k in w.key_list] for w in waiting]
        _share_out(
            shared,
            waiting,
            read,
            sizes,
            chunks_read=[
                observe.chunks_among(found.get(k) for k in w.key_list) if ok else 0
                for w, ok in zip(waiting, read, strict=True)
            ],
        )


def _share_out(
    shared: CallStats,
    waiting: Sequence[Waiting],
    done: Sequence[bool],
    sizes: Sequence[Sequence[int]],
    *,
    chunks_written: Sequence[int] = (),
    chunks_read: Sequence[int] = (),
) -> None:
    """Share a request's counts among the calls it carried: the request itself in the
    first call still waiting (a call cancelled meanwhile has already been counted, so
    what it took would be lost); capacity units and bytes among the calls still waiting
    whose items it ``done``, by ``sizes`` (when none: that first call); the bytes to the
    byte, what rounding leaves over going to the first."""
    live = [not w.done.cancelled() for w in waiting]
    first = live.index(True) if any(live) else 0
    paying = [d and alive for d, alive in zip(done, live, strict=True)]
    if not any(paying):
        paying = [i == first for i in range(len(waiting))]
    weights = [sum(s) if pays else 0 for s, pays in zip(sizes, paying, strict=True)]
    total = sum(weights) or 1
    parts = [weight / total for weight in weights]
    sent = _whole_shares(shared.bytes_sent, parts, first)
    received = _whole_shares(shared.bytes_received, parts, first)
    for i, w in enumerate(waiting):
        w.call.take_share(
            shared,
            parts[i],
            request=i == first,
            bytes_sent=sent[i],
            bytes_received=received[i],
            chunks_written=chunks_written[i] if chunks_written else 0,
            chunks_read=chunks_read[i] if chunks_read else 0,
        )


def _whole_shares(total: int, parts: Sequence[float], first: int) -> list[int]:
    """``total`` in whole shares by ``parts``, summing to ``total``: what rounding leaves
    over goes to share ``first``."""
    shares = [round(total * part) for part in parts]
    shares[first] += total - sum(shares)
    return shares


class Combiners:
    """The write and read combiners of one client on one event loop (either may be off):
    what the async driver offers each request to."""

    def __init__(
        self,
        client: Any,
        where: Where,
        loop: asyncio.AbstractEventLoop,
        *,
        writes: bool = True,
        reads: bool = True,
    ) -> None:
        self.client = client
        self.loop = loop
        self.table = where.table
        self.writes = WriteCombiner(client, where, loop) if writes else None
        self.reads = ReadCombiner(client, where, loop) if reads else None

    async def send(self, step: Request, call: CallStats) -> Any:
        """The response of ``step`` sent together with other calls' requests, or
        :data:`SEND_ALONE` when its caller is to send it itself (it is not combinable,
        its kind of combining is off, or it was alone in its turn)."""
        if step.op in COMBINABLE_WRITES and self.writes is not None:
            entries = combinable_entries(step, self.table)
            if entries is not None:
                return await self.writes.send(step, entries, call)
        elif step.op in COMBINABLE_READS and self.reads is not None:
            asked = combinable_keys(step, self.table)
            if asked is not None:
                return await self.reads.send(step, asked, call)
        return SEND_ALONE


def _fail(done: asyncio.Future[Any], sent: Request, exc: Exception, where: Where) -> None:
    """A caller of a batch that failed: the same error when the table could not be
    reached (sending again alone would wait through botocore's retries again), else its
    request back, to be sent alone and meet its own error (a bad item, IAM allowing
    PutItem and not BatchWriteItem)."""
    translated = translate_exception(sent, exc, where)
    if isinstance(translated, (UnavailableError, TableNotFoundError)) and not done.done():
        translated.__cause__ = exc
        done.set_exception(translated)
    else:
        _settle(done, SEND_ALONE)


def _settle(done: asyncio.Future[Any], value: Any) -> None:
    if not done.done():  # its caller may have been cancelled meanwhile
        done.set_result(value)
