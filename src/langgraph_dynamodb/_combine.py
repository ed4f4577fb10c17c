"""Writes of concurrent calls on one event loop, sent together: one BatchWriteItem
instead of one request each (``combine_writes=True``, the default).

Many runs on one async saver (LangGraph's Agent Server, any async service) each put a
checkpoint a few times a run, one request each. Every request costs the client (the AWS
SDK's pipeline, about half a millisecond of CPU) and DynamoDB alike; under load, several
are ready to go at the same moment. The async driver hands every *combinable* request (an
unconditional PutItem, or a BatchWriteItem of the library's own puts and deletes: writes
whose outcome does not depend on what the table holds) to its client's
:class:`WriteCombiner` instead of sending it. The combiner waits for the rest of the
loop's current turn (``call_soon``: no timer), then:

- a request alone in its turn goes back to its caller, who sends it as it was: one call
  at a time sends exactly what it always sent;
- requests that met in one turn are packed, in order, into BatchWriteItems of at most
  :data:`~.limits.BATCH_WRITE_MAX_ITEMS` items that never name a key twice (the very same
  item, written by two calls, is sent once), and each batch is sent for all of them.

A caller's call returns once its own items are stored, as before. When DynamoDB hands an
item back unprocessed, the request it came in goes back to its caller, to be sent alone
(a lone PutItem is retried by botocore, a flow's BatchWriteItem by its flow, with
backoff). A batch that failed as a whole raises the same translated error in every call
when the table could not be reached (throttling, 5xx and connections after botocore's
retries, no such table: sending each again would wait through the retries again), and
otherwise goes back to each caller to send alone, so each meets its own error.

Counting (:class:`~.stats.CallStats`): a shared request is one request, counted in the
call of the first request it carries; its capacity units and bytes are shared among the
calls in proportion to the size of their items, so the totals are DynamoDB's own.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb import stats as observe
from langgraph_dynamodb.errors import TableNotFoundError, UnavailableError
from langgraph_dynamodb.schema import AttrMap
from langgraph_dynamodb.stats import CallStats
from langgraph_dynamodb.steps import Request, Where, error_code, translate_exception

SEND_ALONE: Any = object()
"""What a caller's future is given when its request is to be sent as it was."""

COMBINABLE_OPS = frozenset({"put_item", "batch_write_item"})
"""The client methods a combinable request may be (reads never are)."""
_PUT_ITEM_PARAMS = frozenset({"TableName", "Item", "ReturnConsumedCapacity"})


def combinable_entries(step: Request, table: str) -> list[AttrMap] | None:
    """The write requests (``{"PutRequest": ...}`` / ``{"DeleteRequest": ...}``) of a request
    that may share a BatchWriteItem with others on ``table``, else ``None``: an
    unconditional PutItem with nothing asked back, or a BatchWriteItem on that table alone."""
    if step.expect:
        return None
    params = step.params
    if step.op == "put_item":
        if params.get("TableName") != table or not _PUT_ITEM_PARAMS.issuperset(params):
            return None
        return [{"PutRequest": {"Item": params["Item"]}}]
    if step.op == "batch_write_item":
        if set(params) - {"RequestItems", "ReturnConsumedCapacity"}:
            return None
        items = params.get("RequestItems") or {}
        if set(items) != {table}:
            return None
        entries: list[AttrMap] = items[table]
        if not 0 < len(entries) <= limits.BATCH_WRITE_MAX_ITEMS:
            return None
        return entries
    return None


def _entry_key(entry: AttrMap) -> tuple[str, str]:
    if "PutRequest" in entry:
        return schema.ident(entry["PutRequest"]["Item"])
    return schema.ident(entry["DeleteRequest"]["Key"])


def _entry_size(entry: AttrMap) -> int:
    """Write units an entry is billed at, about (a delete as one)."""
    if "PutRequest" in entry:
        return max(1, -(-schema.approx_size(entry["PutRequest"]["Item"]) // 1024))
    return 1


@dataclass
class Waiting:
    """One caller's request, waiting for the end of the loop's turn: its items and their
    keys, the call it is counted in, the future its caller awaits."""

    step: Request
    entries: list[AttrMap]
    call: CallStats
    done: asyncio.Future[Any]
    key_list: list[tuple[str, str]]

    @classmethod
    def of(
        cls, step: Request, entries: list[AttrMap], call: CallStats, done: asyncio.Future[Any]
    ) -> Waiting:
        """A request's waiting entry, its keys read from its items."""
        return cls(step, entries, call, done, [_entry_key(e) for e in entries])

    def any_of(self, keys: set[tuple[str, str]]) -> bool:
        """Whether it writes one of ``keys``."""
        return any(k in keys for k in self.key_list)


@dataclass
class Batch:
    """Requests sent as one BatchWriteItem: at most 25 items, no key twice. Two calls
    writing the very same item (a thread's directory entry, a store group's) share it:
    it is sent once."""

    waiting: list[Waiting] = field(default_factory=list)
    items: dict[tuple[str, str], AttrMap] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Items the batch sends."""
        return len(self.items)

    def entries(self) -> list[AttrMap]:
        """The write requests of the BatchWriteItem, in order."""
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
        return self.count + new <= limits.BATCH_WRITE_MAX_ITEMS

    def add(self, w: Waiting) -> None:
        """Put ``w`` in (after :meth:`takes`)."""
        self.waiting.append(w)
        for k, e in zip(w.key_list, w.entries, strict=True):
            self.items.setdefault(k, e)


def pack(waiting: Sequence[Waiting]) -> list[Batch]:
    """Requests into batches, first fit in arrival order: at most 25 items a batch, no key
    twice in one."""
    batches: list[Batch] = []
    for w in waiting:
        for batch in batches:
            if batch.takes(w):
                batch.add(w)
                break
        else:
            batch = Batch()
            batch.add(w)
            batches.append(batch)
    return batches


class WriteCombiner:
    """The combinable writes of one client on one event loop (see the module)."""

    def __init__(self, client: Any, where: Where, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self._where = where
        self.loop = loop
        self._waiting: list[Waiting] = []
        self._flushing: asyncio.Handle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def send(self, step: Request, entries: list[AttrMap], call: CallStats) -> Any:
        """Wait for the end of the loop's turn; returns the response of the request, or
        :data:`SEND_ALONE` when the caller is to send it itself."""
        done: asyncio.Future[Any] = self.loop.create_future()
        self._waiting.append(Waiting.of(step, entries, call, done))
        if self._flushing is None:
            self._flushing = self.loop.call_soon(self._flush, context=contextvars.Context())
        return await done

    def _flush(self) -> None:
        self._flushing = None
        waiting = [w for w in self._waiting if not w.done.done()]  # not those cancelled
        self._waiting = []
        for batch in pack(waiting):
            if len(batch.waiting) == 1:
                _settle(batch.waiting[0].done, SEND_ALONE)
                continue
            task = self.loop.create_task(self._send_batch(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send_batch(self, batch: Batch) -> None:
        table = self._where.table
        entries = batch.entries()
        sent = Request(
            "batch_write_item",
            {"RequestItems": {table: entries}, "ReturnConsumedCapacity": "TOTAL"},
        )
        shared = CallStats(operation="combined")
        started = time.perf_counter()
        try:
            with observe.counting_into(shared):
                response = await self.client.batch_write_item(**sent.params)
        except Exception as exc:
            shared.record(sent.op, getattr(exc, "response", None), failed=True)
            _share(shared, batch.waiting)
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
            return
        except BaseException:  # cancelled: each caller decides for itself
            for w in batch.waiting:
                _settle(w.done, SEND_ALONE)
            raise
        shared.record(sent.op, response)
        back = (response.get("UnprocessedItems") or {}).get(table, [])
        handed_back = {_entry_key(e) for e in back}
        _share(shared, batch.waiting, handed_back)
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
        for w in batch.waiting:
            if w.any_of(handed_back):
                _settle(w.done, SEND_ALONE)
            else:  # what its own request would have answered, less what is counted already
                _settle(w.done, {} if w.step.op == "put_item" else {"UnprocessedItems": {}})


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


def _share(
    shared: CallStats,
    waiting: Sequence[Waiting],
    handed_back: set[tuple[str, str]] | None = None,
) -> None:
    """Count a shared request in the calls it carried: the request (its retries,
    throttles, error) in the first one's; capacity units and bytes among those whose
    items were all stored, by the size of their items, and the chunks they stored
    (``handed_back=None``: the request failed, nothing was stored; its bytes are shared
    by all)."""
    stored = [not (handed_back and w.any_of(handed_back)) for w in waiting]
    paying = stored if any(stored) else [i == 0 for i in range(len(waiting))]
    sizes = [
        sum(_entry_size(e) for e in w.entries) if pays else 0
        for w, pays in zip(waiting, paying, strict=True)
    ]
    total = sum(sizes)
    for i, (w, size, ok) in enumerate(zip(waiting, sizes, stored, strict=True)):
        w.call.take_share(
            shared,
            size / total,
            request=i == 0,
            chunks=observe.chunk_puts(w.entries) if ok and handed_back is not None else 0,
        )
