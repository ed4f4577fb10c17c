"""OpenTelemetry metrics from a saver's or a store's :class:`~.stats.Stats`.

Spans need nothing but ``opentelemetry-api`` and the application's tracer provider (see
:mod:`.stats`); metrics are opt-in, per saver or store, because they cost a few
microseconds per call:

Example:
    ```python
    from langgraph_dynamodb.otel import OpenTelemetryMetrics

    metrics = OpenTelemetryMetrics()  # the global meter provider, or meter_provider=
    metrics.attach(saver)
    metrics.attach(store)
    ```

Instruments (meter ``langgraph_dynamodb``), each with the attributes
``langgraph_dynamodb.operation`` (``checkpoint.put``), ``db.system.name``,
``db.collection.name`` (the table) and, for failed calls, ``error.type``:

- ``db.client.operation.duration`` (histogram, s): one per call;
- ``langgraph_dynamodb.requests`` (counter): DynamoDB requests;
- ``langgraph_dynamodb.capacity_units`` (counter), with ``langgraph_dynamodb.capacity``
  ``read`` or ``write``;
- ``langgraph_dynamodb.retries``, ``langgraph_dynamodb.throttles`` (counters);
- ``langgraph_dynamodb.bytes`` (counter, By), with ``langgraph_dynamodb.direction``
  ``sent`` or ``received``;
- ``langgraph_dynamodb.chunks`` (counter), with ``langgraph_dynamodb.direction``
  ``written`` or ``read``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from langgraph_dynamodb.errors import ConfigurationError
from langgraph_dynamodb.stats import CallStats, Stats

__all__ = ["OpenTelemetryMetrics"]

METER_NAME = "langgraph_dynamodb"


class _Observed(Protocol):
    stats: Stats
    table_name: str


class OpenTelemetryMetrics:
    """Records every call of the savers and stores it is attached to.

    Args:
        meter_provider: An OpenTelemetry ``MeterProvider`` (default: the global one).

    Raises:
        ConfigurationError: ``opentelemetry-api`` is not installed.
    """

    def __init__(self, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics
        except ImportError as exc:
            raise ConfigurationError(
                "metrics need opentelemetry-api: pip install 'langgraph-dynamodb[otel]'"
            ) from exc
        from langgraph_dynamodb import __version__

        provider = meter_provider or metrics.get_meter_provider()
        meter = provider.get_meter(METER_NAME, __version__)
        self._duration = meter.create_histogram(
            "db.client.operation.duration", unit="s", description="Duration of saver calls"
        )
        self._requests = meter.create_counter(
            "langgraph_dynamodb.requests", unit="{request}", description="DynamoDB requests"
        )
        self._units = meter.create_counter(
            "langgraph_dynamodb.capacity_units",
            unit="{capacity_unit}",
            description="Consumed read and write capacity units",
        )
        self._retries = meter.create_counter(
            "langgraph_dynamodb.retries", unit="{retry}", description="Attempts after the first"
        )
        self._throttles = meter.create_counter(
            "langgraph_dynamodb.throttles", unit="{throttle}", description="Throttled attempts"
        )
        self._bytes = meter.create_counter(
            "langgraph_dynamodb.bytes", unit="By", description="HTTP body bytes"
        )
        self._chunks = meter.create_counter(
            "langgraph_dynamodb.chunks", unit="{item}", description="Chunk items of large state"
        )

    def attach(self, observed: _Observed) -> Callable[[], None]:
        """Record the calls of a :class:`~.DynamoDBSaver` or :class:`~.DynamoDBStore`;
        returns a function that stops recording them."""
        table = observed.table_name
        return observed.stats.subscribe(lambda call: self.record(call, table))

    def record(self, call: CallStats, table: str) -> None:
        """Record one finished call."""
        attrs: dict[str, Any] = {
            "langgraph_dynamodb.operation": call.operation,
            "db.system.name": "aws.dynamodb",
            "db.collection.name": table,
        }
        if call.error_type is not None:
            attrs["error.type"] = call.error_type
        self._duration.record(call.seconds, attrs)
        self._requests.add(call.total_requests, attrs)
        self._units.add(call.read_units, {**attrs, "langgraph_dynamodb.capacity": "read"})
        self._units.add(call.write_units, {**attrs, "langgraph_dynamodb.capacity": "write"})
        self._retries.add(call.retries, attrs)
        self._throttles.add(call.throttles, attrs)
        self._bytes.add(call.bytes_sent, {**attrs, "langgraph_dynamodb.direction": "sent"})
        self._bytes.add(call.bytes_received, {**attrs, "langgraph_dynamodb.direction": "received"})
        self._chunks.add(call.chunks_written, {**attrs, "langgraph_dynamodb.direction": "written"})
        self._chunks.add(call.chunks_read, {**attrs, "langgraph_dynamodb.direction": "read"})
