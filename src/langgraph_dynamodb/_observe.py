"""Observing one saver or store call: its :class:`~.stats.CallStats` (made current for
botocore's event handlers), its OpenTelemetry span, and adding it to the owner's
:class:`~.stats.Stats` when it ends.

Spans come from the tracer ``langgraph_dynamodb`` of the global tracer provider the
application configured, when ``opentelemetry-api`` is installed (``pip install
'langgraph-dynamodb[otel]'``); without it, or with a provider that does not record, a call
costs a contextvar and a clock read. Span attributes carry counts, never values; thread
ids and namespaces only with ``trace_ids=True`` (or ``LANGGRAPH_DYNAMODB_TRACE_IDS=1``).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from langgraph_dynamodb.calls import Where
from langgraph_dynamodb.stats import CallStats, Stats

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
