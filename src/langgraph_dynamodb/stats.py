"""What the saver and the store observe of each call: what it cost, counted per call
(:class:`CallStats`) and per operation since the last reset (:class:`Stats` of
:class:`OperationStats`), and its OpenTelemetry span. Every figure is DynamoDB's or
botocore's own: consumed capacity from ``ReturnConsumedCapacity``, retries from
botocore's ``RetryAttempts`` (and the library's re-sends of unprocessed batch items),
throttles and wire bytes from botocore's events.

A call's :class:`CallStats` is made current for botocore's event handlers while it runs,
and added to its owner's :class:`Stats` when it ends.

Spans come from the tracer ``langgraph_dynamodb`` of the global tracer provider the
application configured, when ``opentelemetry-api`` is installed (``pip install
'langgraph-dynamodb[otel]'``); without it, or with a provider that does not record, a call
costs a contextvar and a clock read. Span attributes carry counts, never values; thread
ids and namespaces only with ``trace_ids=True`` (or ``LANGGRAPH_DYNAMODB_TRACE_IDS=1``).

Example:
    ```python
    before = saver.stats.snapshot()
    graph.invoke(inputs, config)
    for operation, cost in saver.stats.since(before).items():
        print(operation, cost.calls, cost.requests, cost.write_units, cost.mean_seconds)
    ```
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any

from langgraph_dynamodb import schema
from langgraph_dynamodb.steps import OPERATIONS, Where

__all__ = ["CallStats", "OperationStats", "Stats", "StatsListener"]


def capacity_units(response: Mapping[str, Any]) -> float:
    """The capacity units a response says its request consumed."""
    consumed = response.get("ConsumedCapacity")
    if consumed is None:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return sum(float(e.get("CapacityUnits", 0.0)) for e in entries)


def retry_attempts(response: Mapping[str, Any]) -> int:
    """botocore's retries of a request, from its response metadata."""
    return int((response.get("ResponseMetadata") or {}).get("RetryAttempts", 0) or 0)


def _is_chunk(item: Mapping[str, Any] | None) -> bool:
    sk = (item or {}).get(schema.SK, {}).get("S", "")
    return isinstance(sk, str) and sk.startswith(schema.CHUNK_PREFIX)


def chunks_among(items: Iterable[Mapping[str, Any] | None]) -> int:
    """Chunk items among raw items (``None``: an item not found)."""
    return sum(1 for i in items if _is_chunk(i))


def chunk_puts(entries: Iterable[Mapping[str, Any]]) -> int:
    """Chunk items among a BatchWriteItem's write requests."""
    return sum(1 for e in entries if _is_chunk(e.get("PutRequest", {}).get("Item")))


def _chunks_written(params: Mapping[str, Any], response: Mapping[str, Any]) -> int:
    """Chunk items a BatchWriteItem stored: those sent, less those handed back."""

    def count(requests: Mapping[str, Any]) -> int:
        return sum(chunk_puts(batch) for batch in requests.values())

    sent = count(params.get("RequestItems") or {})
    return sent - count(response.get("UnprocessedItems") or {}) if sent else 0


def _chunks_read(response: Mapping[str, Any]) -> int:
    return chunks_among(i for items in (response.get("Responses") or {}).values() for i in items)


@dataclass
class CallStats:
    """What one saver or store call cost (``checkpoint.put``, ``store.search``, ...).

    Attributes:
        operation: The call, as its span is named.
        requests: DynamoDB requests per client method (``{"query": 1}``); botocore's own
            retries of a request are not extra requests, they are ``retries``.
        read_units: Read capacity units DynamoDB says the requests consumed.
        write_units: Write capacity units consumed.
        retries: Attempts after the first: botocore's (throttling, 5xx, connections) and
            the library's re-sends of unprocessed batch items.
        throttles: Attempts DynamoDB throttled (error answers and batches it handed back).
        bytes_sent: HTTP request bodies, every attempt.
        bytes_received: HTTP response bodies, every attempt.
        chunks_written: Chunk items of large payloads written.
        chunks_read: Chunk items read.
        errors: Requests that failed (including ones the call expected and handled).
        seconds: Wall time of the call (for ``list``, time spent inside the library).
        error_type: The exception type the call raised, else ``None``.
    """

    operation: str = ""
    requests: dict[str, int] = field(default_factory=dict)
    read_units: float = 0.0
    write_units: float = 0.0
    retries: int = 0
    throttles: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    chunks_written: int = 0
    chunks_read: int = 0
    errors: int = 0
    seconds: float = 0.0
    error_type: str | None = None
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def total_requests(self) -> int:
        """All requests."""
        return sum(self.requests.values())

    def record(
        self,
        op: str,
        response: Any,
        params: Mapping[str, Any] | None = None,
        *,
        failed: bool = False,
    ) -> None:
        """Count one request (its response, or the error response of a failed one);
        thread-safe: a fork's sub-flows record from several threads."""
        response = response if isinstance(response, Mapping) else {}
        units = capacity_units(response)
        retries = retry_attempts(response)
        handed_back = bool(response.get("UnprocessedItems") or response.get("UnprocessedKeys"))
        chunks_w = _chunks_written(params or {}, response) if op == "batch_write_item" else 0
        chunks_r = _chunks_read(response) if op == "batch_get_item" else 0
        with self._lock:
            self.requests[op] = self.requests.get(op, 0) + 1
            known = OPERATIONS.get(op)
            if known is not None and known.units == "read":
                self.read_units += units
            elif known is not None and known.units == "write":
                self.write_units += units
            self.retries += retries + handed_back
            self.throttles += handed_back
            self.chunks_written += chunks_w
            self.chunks_read += chunks_r
            self.errors += failed

    def take_share(
        self,
        shared: CallStats,
        part: float,
        *,
        request: bool,
        bytes_sent: int,
        bytes_received: int,
        chunks_written: int = 0,
        chunks_read: int = 0,
    ) -> None:
        """Count this call's share of a request it sent together with other calls
        (:mod:`._combine`): with ``request``, the request itself and its retries,
        throttles and error (one call of those it carried counts them); ``part`` of its
        capacity units; its bytes as shared out (whole bytes, so the sharer sums them to
        the request's); the chunk items of this call's it stored or read."""
        with self._lock:
            if request:
                for op, n in shared.requests.items():
                    self.requests[op] = self.requests.get(op, 0) + n
                self.retries += shared.retries
                self.throttles += shared.throttles
                self.errors += shared.errors
            self.read_units += shared.read_units * part
            self.write_units += shared.write_units * part
            self.bytes_sent += bytes_sent
            self.bytes_received += bytes_received
            self.chunks_written += chunks_written
            self.chunks_read += chunks_read

    def count_sent(self, size: int) -> None:
        """An HTTP request body was sent (every attempt)."""
        with self._lock:
            self.bytes_sent += size

    def count_received(self, size: int) -> None:
        """An HTTP response body was received (every attempt)."""
        with self._lock:
            self.bytes_received += size

    def count_throttle(self) -> None:
        """DynamoDB throttled an attempt."""
        with self._lock:
            self.throttles += 1


@dataclass(frozen=True)
class OperationStats:
    """Totals of one operation (``checkpoint.put``, ...) over many calls.

    Every count is summed over the calls (see :class:`CallStats`).

    Attributes:
        calls: Calls made.
        failed: Calls that raised.
        requests: DynamoDB requests.
        read_units: Read capacity units consumed.
        write_units: Write capacity units consumed.
        retries: Attempts after the first.
        throttles: Attempts DynamoDB throttled.
        bytes_sent: HTTP request body bytes.
        bytes_received: HTTP response body bytes.
        chunks_written: Chunk items written.
        chunks_read: Chunk items read.
        seconds: Total wall time.
        max_seconds: The slowest call.
    """

    calls: int = 0
    failed: int = 0
    requests: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    retries: int = 0
    throttles: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    chunks_written: int = 0
    chunks_read: int = 0
    seconds: float = 0.0
    max_seconds: float = 0.0

    @property
    def mean_seconds(self) -> float:
        """Mean wall time per call."""
        return self.seconds / self.calls if self.calls else 0.0

    def plus(self, call: CallStats) -> OperationStats:
        """These totals with one more call."""
        return OperationStats(
            calls=self.calls + 1,
            failed=self.failed + (call.error_type is not None),
            requests=self.requests + call.total_requests,
            read_units=self.read_units + call.read_units,
            write_units=self.write_units + call.write_units,
            retries=self.retries + call.retries,
            throttles=self.throttles + call.throttles,
            bytes_sent=self.bytes_sent + call.bytes_sent,
            bytes_received=self.bytes_received + call.bytes_received,
            chunks_written=self.chunks_written + call.chunks_written,
            chunks_read=self.chunks_read + call.chunks_read,
            seconds=self.seconds + call.seconds,
            max_seconds=max(self.max_seconds, call.seconds),
        )

    def __add__(self, other: OperationStats) -> OperationStats:
        values = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        values["max_seconds"] = max(self.max_seconds, other.max_seconds)
        return OperationStats(**values)

    def __sub__(self, earlier: OperationStats) -> OperationStats:
        """What happened since ``earlier`` (``max_seconds`` is this one's: a maximum
        does not subtract)."""
        values = {f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)}
        values["max_seconds"] = self.max_seconds
        return OperationStats(**values)


StatsListener = Callable[[CallStats], None]
"""Called with every finished call (in the calling thread): the metrics adapter is one."""


@dataclass
class Stats:
    """Requests, consumed capacity and calls of one saver or store since the last reset.

    ``requests``, ``read_units`` and ``write_units`` count DynamoDB requests whatever
    the call; :attr:`operations` has the same per call, with latency, retries, throttles
    and bytes. Thread-safe.
    """

    requests: dict[str, int] = field(default_factory=dict)
    read_units: float = 0.0
    write_units: float = 0.0
    skipped_checkpoints: int = 0
    """Checkpoints ``list`` left out because they cannot be read (each also logged)."""
    _operations: dict[str, OperationStats] = field(default_factory=dict, repr=False)
    _listeners: list[StatsListener] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def total_requests(self) -> int:
        """All requests."""
        return sum(self.requests.values())

    @property
    def operations(self) -> dict[str, OperationStats]:
        """Totals per operation (``{"checkpoint.put": OperationStats(...), ...}``), a copy."""
        with self._lock:
            return dict(self._operations)

    def snapshot(self) -> dict[str, OperationStats]:
        """The totals now, to subtract later with :meth:`since`."""
        return self.operations

    def since(self, snapshot: Mapping[str, OperationStats]) -> dict[str, OperationStats]:
        """What each operation did since ``snapshot`` (operations without calls left out)."""
        out = {}
        for name, now in self.operations.items():
            delta = now - snapshot.get(name, OperationStats())
            if delta.calls:
                out[name] = delta
        return out

    def total(self, snapshot: Mapping[str, OperationStats] | None = None) -> OperationStats:
        """Every operation together (since ``snapshot``, if given)."""
        parts = self.since(snapshot) if snapshot is not None else self.operations
        return sum(parts.values(), OperationStats())

    def subscribe(self, listener: StatsListener) -> Callable[[], None]:
        """Call ``listener`` with every finished call's :class:`CallStats`; returns a
        function that unsubscribes it. A listener that raises is not called again."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self.drop_listener(listener)

    def reset(self) -> None:
        """Start counting again (listeners stay)."""
        with self._lock:
            self.requests.clear()
            self.read_units = 0.0
            self.write_units = 0.0
            self.skipped_checkpoints = 0
            self._operations.clear()

    def add_call(self, call: CallStats) -> list[StatsListener]:
        """Add a finished call; returns the listeners to tell (outside the lock)."""
        with self._lock:
            for op, n in call.requests.items():
                self.requests[op] = self.requests.get(op, 0) + n
            self.read_units += call.read_units
            self.write_units += call.write_units
            if call.operation:
                before = self._operations.get(call.operation, OperationStats())
                self._operations[call.operation] = before.plus(call)
            return list(self._listeners)

    def drop_listener(self, listener: StatsListener) -> None:
        """Unsubscribe a listener (one that failed, or on request)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


# --- observing a call ------------------------------------------------------------------
logger = logging.getLogger("langgraph_dynamodb")

TRACER_NAME = "langgraph_dynamodb"
TRACE_IDS_ENV = "LANGGRAPH_DYNAMODB_TRACE_IDS"
ATTRIBUTE_PREFIX = "langgraph_dynamodb."

_current: contextvars.ContextVar[CallStats | None] = contextvars.ContextVar(
    "langgraph_dynamodb_call", default=None
)


current = _current.get
"""The :class:`~.stats.CallStats` of the call being made in this context (botocore's
handlers count into it), else ``None``."""


request_log = logging.getLogger("langgraph_dynamodb.requests")
"""One ``DEBUG`` line per DynamoDB request (:func:`log_request`)."""


def log_request(
    op: str,
    call: CallStats,
    where: Where,
    started: float,
    response: Any,
    code: str | None,
    *,
    combined_calls: int | None = None,
) -> None:
    """One debug line for a request, with structured ``extra`` fields (no keys, no
    values); ``combined_calls``: how many calls a shared request carried."""
    ms = (time.perf_counter() - started) * 1000
    response = response if isinstance(response, dict) else {}
    units = capacity_units(response)
    retries = retry_attempts(response)
    extra = {
        "ddb_call": call.operation,
        "ddb_request": op,
        "ddb_table": where.table,
        "ddb_ms": round(ms, 3),
        "ddb_capacity_units": units,
        "ddb_retries": retries,
        "ddb_error": code,
    }
    if combined_calls is not None:
        extra["ddb_combined_calls"] = combined_calls
    request_log.debug(
        "%s %s on %r: %.1f ms, %.1f capacity units, %d retries%s%s",
        call.operation or "call",
        op,
        where.table,
        ms,
        units,
        retries,
        f", for {combined_calls} calls" if combined_calls is not None else "",
        f", error {code}" if code else "",
        extra=extra,
    )


@contextlib.contextmanager
def counting_into(call: CallStats) -> Iterator[CallStats]:
    """Make ``call`` the one botocore's handlers count into in this context, for a request
    sent on behalf of several calls (:mod:`._combine`), whose costs are shared out after."""
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)


def trace_ids_default(value: bool | None) -> bool:
    """``trace_ids=`` as given, else ``LANGGRAPH_DYNAMODB_TRACE_IDS``."""
    if value is not None:
        return bool(value)
    return os.environ.get(TRACE_IDS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class _Otel:
    """The OpenTelemetry API, imported once per process (``None`` when not installed)."""

    loaded = False
    trace: Any = None
    context: Any = None
    tracer: Any = None

    @classmethod
    def get(cls) -> Any:
        if not cls.loaded:
            cls.loaded = True
            try:
                from opentelemetry import context, trace
            except ImportError:
                return None
            from langgraph_dynamodb import __version__

            cls.trace, cls.context = trace, context
            # A ProxyTracer until the application sets a provider: it follows the global
            # provider whenever that is set.
            cls.tracer = trace.get_tracer(TRACER_NAME, __version__)
        return cls.tracer


def _start_span(operation: str, where: Where, ids: Mapping[str, Any] | None) -> Any:
    tracer = _Otel.get()
    if tracer is None:
        return None
    method = operation.partition(".")[2]
    attributes: dict[str, Any] = {
        "db.system.name": "aws.dynamodb",
        "db.system": "dynamodb",
        "db.operation.name": method,
        "db.collection.name": where.table,
        "aws.dynamodb.table_names": (where.table,),
    }
    if where.region:
        attributes["cloud.region"] = where.region
    if ids:
        attributes.update(ids)
    span = tracer.start_span(operation, kind=_Otel.trace.SpanKind.INTERNAL, attributes=attributes)
    return span if span.is_recording() else None


def _span_attributes(call: CallStats) -> dict[str, Any]:
    p = ATTRIBUTE_PREFIX
    return {
        p + "requests": call.total_requests,
        p + "read_capacity_units": call.read_units,
        p + "write_capacity_units": call.write_units,
        p + "retries": call.retries,
        p + "throttles": call.throttles,
        p + "bytes_sent": call.bytes_sent,
        p + "bytes_received": call.bytes_received,
        p + "chunks_written": call.chunks_written,
        p + "chunks_read": call.chunks_read,
        p + "request_errors": call.errors,
    }


class Observation:
    """One call: entered (``with``) around each stretch of its work, finished once."""

    __slots__ = ("_ctx_token", "_otel_token", "_started", "call", "span", "stats")

    def __init__(self, stats: Stats, call: CallStats, span: Any) -> None:
        self.stats = stats
        self.call = call
        self.span = span
        self._started = 0.0
        self._ctx_token: Any = None
        self._otel_token: Any = None

    def __enter__(self) -> CallStats:
        self._ctx_token = _current.set(self.call)
        if self.span is not None:
            otel = _Otel
            self._otel_token = otel.context.attach(otel.trace.set_span_in_context(self.span))
        self._started = time.perf_counter()
        return self.call

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.call.seconds += time.perf_counter() - self._started
        if self._otel_token is not None:
            _Otel.context.detach(self._otel_token)
            self._otel_token = None
        _current.reset(self._ctx_token)

    def finish(self, error: BaseException | None) -> None:
        """Add the call to the owner's stats, tell the listeners, end the span."""
        call = self.call
        if error is not None and not isinstance(error, GeneratorExit):
            call.error_type = type(error).__qualname__
        for listener in self.stats.add_call(call):
            try:
                listener(call)
            except Exception:
                logger.warning("a stats listener failed; it is not called again", exc_info=True)
                self.stats.drop_listener(listener)
        span = self.span
        if span is not None:
            span.set_attributes(_span_attributes(call))
            if call.error_type is not None:
                span.set_attribute("error.type", call.error_type)
                span.set_status(_Otel.trace.Status(_Otel.trace.StatusCode.ERROR, call.error_type))
            span.end()


def begin(
    stats: Stats, operation: str, where: Where, ids: Mapping[str, Any] | None = None
) -> Observation:
    """Start observing a call named ``operation`` (``checkpoint.put``)."""
    return Observation(stats, CallStats(operation), _start_span(operation, where, ids))


@contextlib.contextmanager
def observed(
    stats: Stats, operation: str, where: Where, ids: Mapping[str, Any] | None = None
) -> Iterator[CallStats]:
    """A call observed in one stretch: finished with the exception that ends it, if any."""
    obs = begin(stats, operation, where, ids)
    try:
        with obs as call:
            yield call
    except BaseException as exc:
        obs.finish(exc)
        raise
    obs.finish(None)
