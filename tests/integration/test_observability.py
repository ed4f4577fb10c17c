"""Spans, metrics, stats and logs of saver and store calls, on DynamoDB Local, through
the OpenTelemetry SDK as an application sets it up (a global tracer provider), with
botocore's own instrumentation nested under ours."""

from __future__ import annotations

import asyncio
import logging
import operator
import os
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from opentelemetry.util._once import Once
from typing_extensions import TypedDict

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore, TableNotFoundError, stats
from langgraph_dynamodb.otel import OpenTelemetryMetrics

from ..conftest import REGION
from ..reliability.faultproxy import FaultProxy

pytestmark = pytest.mark.integration

SECRET = "value-that-must-never-be-traced"
PREFIX = "langgraph_dynamodb."


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def _graph(saver: DynamoDBSaver) -> Any:
    def reply(state: State) -> dict[str, list[str]]:
        return {"messages": [f"echo {len(state['messages'])}"]}

    builder = StateGraph(State)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def _reset_tracing() -> None:
    """Forget the global provider (as OpenTelemetry's own test utilities do)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    stats._Otel.loaded = False
    stats._Otel.tracer = None


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _reset_tracing()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    _reset_tracing()


@pytest.fixture
def saver(ddb_endpoint: str, table_name: str) -> Iterator[DynamoDBSaver]:
    with DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        yield s


def _ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        s for s in exporter.get_finished_spans() if s.name.startswith(("checkpoint.", "store."))
    ]


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_a_graph_turn_makes_one_span_per_saver_call(
    spans: InMemorySpanExporter, saver: DynamoDBSaver, table_name: str
) -> None:
    graph = _graph(saver)
    thread = f"t-{uuid.uuid4().hex[:8]}"
    graph.invoke({"messages": [SECRET]}, {"configurable": {"thread_id": thread}})
    ours = _ours(spans)
    names = [s.name for s in ours]
    assert names[0] == "checkpoint.get_tuple"
    assert names.count("checkpoint.put") == 3  # input, loop, the node's step
    assert "checkpoint.put_writes" in names
    assert len(ours) == saver.stats.total().calls
    for span in ours:
        attrs = _attrs(span)
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.name == "langgraph_dynamodb"
        assert attrs["db.system.name"] == "aws.dynamodb"
        assert attrs["db.system"] == "dynamodb"
        assert attrs["db.collection.name"] == table_name
        assert attrs["db.operation.name"] == span.name.split(".", 1)[1]
        assert attrs[PREFIX + "requests"] == 1  # one request per saver call
        assert span.status.status_code is StatusCode.UNSET
        # no thread id unless asked, and values never
        assert "langgraph.thread_id" not in attrs
        assert not any(thread in str(v) or SECRET in str(v) for v in attrs.values())
    put = next(s for s in ours if s.name == "checkpoint.put")
    assert _attrs(put)[PREFIX + "write_capacity_units"] > 0
    assert _attrs(put)[PREFIX + "bytes_sent"] > 0
    saver.get_tuple({"configurable": {"thread_id": thread}})
    get = _ours(spans)[-1]
    assert get.name == "checkpoint.get_tuple"
    assert _attrs(get)[PREFIX + "read_capacity_units"] > 0
    assert _attrs(get)[PREFIX + "bytes_received"] > 0


def test_thread_ids_only_when_asked(
    spans: InMemorySpanExporter, ddb_endpoint: str, table_name: str
) -> None:
    with DynamoDBSaver(
        table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION, trace_ids=True
    ) as saver:
        thread = f"t-{uuid.uuid4().hex[:8]}"
        _graph(saver).invoke({"messages": ["hi"]}, {"configurable": {"thread_id": thread}})
        list(saver.list({"configurable": {"thread_id": thread}}))
    ours = _ours(spans)
    assert ours and all(_attrs(s)["langgraph.thread_id"] == thread for s in ours)
    assert any(s.name == "checkpoint.list" for s in ours)


def test_a_failed_call_has_an_error_span(spans: InMemorySpanExporter, ddb_endpoint: str) -> None:
    with DynamoDBSaver(
        table_name="no-such-table", endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        with pytest.raises(TableNotFoundError):
            saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert saver.stats.operations["checkpoint.get_tuple"].failed == 1
    (span,) = _ours(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert _attrs(span)["error.type"] == "TableNotFoundError"
    assert _attrs(span)[PREFIX + "request_errors"] == 1


def test_botocore_spans_nest_under_ours(spans: InMemorySpanExporter, saver: DynamoDBSaver) -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument()
    try:
        thread = f"t-{uuid.uuid4().hex[:8]}"
        _graph(saver).invoke({"messages": ["hi"]}, {"configurable": {"thread_id": thread}})
        list(saver.list({"configurable": {"thread_id": thread}}))
    finally:
        instrumentor.uninstrument()
    finished = spans.get_finished_spans()
    ours = {s.context.span_id: s for s in _ours(spans)}
    botocore_spans = [s for s in finished if s.name.startswith("DynamoDB.")]
    assert len(botocore_spans) == len(ours)  # one request per call
    for span in botocore_spans:
        assert span.parent is not None and span.parent.span_id in ours, span.name
        parent = ours[span.parent.span_id]
        assert span.context.trace_id == parent.context.trace_id
    kinds = {(ours[s.parent.span_id].name, s.name) for s in botocore_spans if s.parent}
    assert ("checkpoint.put", "DynamoDB.PutItem") in kinds
    assert ("checkpoint.list", "DynamoDB.Query") in kinds


def test_async_calls_have_the_same_spans(spans: InMemorySpanExporter, saver: DynamoDBSaver) -> None:
    thread = f"t-{uuid.uuid4().hex[:8]}"

    async def turn() -> None:
        graph = _graph(saver)
        await graph.ainvoke({"messages": ["hi"]}, {"configurable": {"thread_id": thread}})
        async for _ in saver.alist({"configurable": {"thread_id": thread}}):
            pass
        await saver.aclose()

    asyncio.run(turn())
    names = [s.name for s in _ours(spans)]
    assert names[0] == "checkpoint.get_tuple"
    assert {"checkpoint.put", "checkpoint.put_writes", "checkpoint.list"} <= set(names)
    assert all(_attrs(s)[PREFIX + "requests"] >= 1 for s in _ours(spans))


def test_large_state_counts_its_chunks(spans: InMemorySpanExporter, saver: DynamoDBSaver) -> None:
    graph = _graph(saver)
    thread = f"t-{uuid.uuid4().hex[:8]}"
    big = os.urandom(700_000).hex()  # 1.4 MB that hardly compresses: several chunks
    config = {"configurable": {"thread_id": thread}}
    graph.invoke({"messages": [big]}, config)
    saver.get_tuple(config)
    puts = [s for s in _ours(spans) if s.name == "checkpoint.put"]
    assert max(_attrs(s)[PREFIX + "chunks_written"] for s in puts) >= 2
    last = [s for s in _ours(spans) if s.name == "checkpoint.get_tuple"][-1]
    assert _attrs(last)[PREFIX + "chunks_read"] >= 2
    assert saver.stats.total().chunks_written >= 2


def test_throttles_and_retries_are_counted(ddb_endpoint: str, table_name: str) -> None:
    weights = {"throttle_throttling": 1.0}
    with FaultProxy(ddb_endpoint, rate=0.5, seed=3, weights=weights) as proxy:
        with DynamoDBSaver(
            table_name=table_name, endpoint_url=proxy.endpoint_url, region_name=REGION
        ) as saver:
            graph = _graph(saver)
            for turn in range(4):
                graph.invoke({"messages": [str(turn)]}, {"configurable": {"thread_id": "thr"}})
        injected = proxy.total_injected
    total = saver.stats.total()
    assert injected > 0
    assert total.throttles == injected
    assert total.retries == injected  # each throttled attempt was retried by botocore


def test_store_spans_name_the_operation(
    spans: InMemorySpanExporter, ddb_endpoint: str, table_name: str
) -> None:
    with DynamoDBStore(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        ns = ("users", uuid.uuid4().hex[:8])
        s.put(ns, "k", {"text": SECRET})
        s.get(ns, "k")
        s.search(ns)
        s.delete(ns, "k")
        s.list_namespaces(prefix=("users",))
    names = [sp.name for sp in _ours(spans)]
    assert names == [
        "store.put",
        "store.get",
        "store.search",
        "store.delete",
        "store.list_namespaces",
    ]
    for span in _ours(spans):
        assert not any(SECRET in str(v) or ns[1] in str(v) for v in _attrs(span).values())


def test_stats_api_and_metrics_adapter(saver: DynamoDBSaver, table_name: str) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics = OpenTelemetryMetrics(meter_provider=provider)
    stop = metrics.attach(saver)
    before = saver.stats.snapshot()
    graph = _graph(saver)
    thread = f"t-{uuid.uuid4().hex[:8]}"
    graph.invoke({"messages": ["hi"]}, {"configurable": {"thread_id": thread}})
    turn = saver.stats.since(before)
    assert turn["checkpoint.put"].calls == 3
    assert turn["checkpoint.get_tuple"].calls == 1
    assert all(op.requests == op.calls for op in turn.values())
    assert turn["checkpoint.put"].write_units > 0
    assert turn["checkpoint.put"].mean_seconds > 0
    total = saver.stats.total(before)
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, float] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    if value is None:
                        value = point.count  # a histogram: one per call
                    points[metric.name] = points.get(metric.name, 0) + value
                    assert point.attributes["db.collection.name"] == table_name
    assert points["langgraph_dynamodb.requests"] == total.requests
    assert points["db.client.operation.duration"] == total.calls
    assert points["langgraph_dynamodb.capacity_units"] == pytest.approx(
        total.read_units + total.write_units
    )
    stop()
    graph.invoke({"messages": ["again"]}, {"configurable": {"thread_id": thread}})
    after = reader.get_metrics_data()
    assert after is not None
    provider.shutdown()


def test_one_debug_line_per_request_without_values(
    saver: DynamoDBSaver, caplog: pytest.LogCaptureFixture
) -> None:
    thread = f"t-{uuid.uuid4().hex[:8]}"
    saver.stats.reset()
    with caplog.at_level(logging.DEBUG, logger="langgraph_dynamodb.requests"):
        _graph(saver).invoke({"messages": [SECRET]}, {"configurable": {"thread_id": thread}})
    lines = [r for r in caplog.records if r.name == "langgraph_dynamodb.requests"]
    assert len(lines) == saver.stats.total_requests
    for record in lines:
        assert SECRET not in record.getMessage() and thread not in record.getMessage()
        assert record.ddb_request in {"query", "put_item", "batch_write_item", "get_item"}  # type: ignore[attr-defined]
        assert record.ddb_call.startswith("checkpoint.")  # type: ignore[attr-defined]
        assert record.ddb_ms > 0  # type: ignore[attr-defined]
