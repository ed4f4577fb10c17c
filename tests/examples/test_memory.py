"""The incident memory: remembering finished investigations, recalling similar ones.

On DynamoDB Local with ``DynamoDBStore`` in the checkpoint table, against the same graph on
``InMemoryStore``: the same precedents (scores within float tolerance), the same decision
as a run without memory.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from examples.incident import handler, memory
from examples.incident.investigation import Investigator
from examples.incident.model import Result
from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore

from ..conftest import REGION
from .conftest import fresh

pytestmark = pytest.mark.integration


def test_hashing_embed_is_deterministic_unit_and_discriminating() -> None:
    a, b, c, empty = memory.hashing_embed(
        [
            "checkout-api SEV2 p99 latency above 2 s",
            "checkout-api SEV2 p99 latency above 3 s",
            "orders table throttled writes",
            "!!",
        ]
    )
    assert memory.hashing_embed(["checkout-api SEV2 p99 latency above 2 s"])[0] == a
    assert len(a) == memory.EMBEDDING_DIMS
    assert math.isclose(sum(v * v for v in a), 1.0)
    assert empty == [0.0] * memory.EMBEDDING_DIMS

    def cos(x: list[float], y: list[float]) -> float:
        return sum(p * q for p, q in zip(x, y, strict=True))

    assert cos(a, b) > 0.7 > 0.2 > cos(a, c)


@pytest.fixture
def table(ddb_endpoint: str) -> str:
    """A checkpoint table of this test's own (so its memory holds only this test's runs)."""
    name = f"memory-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
    return name


@pytest.fixture
def saver(ddb_endpoint: str, table: str) -> Iterator[DynamoDBSaver]:
    """A saver on this test's table."""
    with DynamoDBSaver.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        yield s


@pytest.fixture
def store(ddb_endpoint: str, table: str) -> Iterator[DynamoDBStore]:
    """The incident memory, in the checkpoint table."""
    with DynamoDBStore(
        table_name=table,
        endpoint_url=ddb_endpoint,
        region_name=REGION,
        index=memory.index_config(),
    ) as s:
        s.setup()
        yield s


def _service_event(scenarios: dict[str, Any], name: str) -> tuple[dict[str, Any], str]:
    """A new delivery of a scenario, and its service."""
    event = fresh(scenarios[name]["event"])
    return event, event["detail"]["service"]


def _decision(result: Result) -> tuple[Any, ...]:
    rec = result["recommendation"]
    return result["status"], rec["action"], rec["category"], rec["suspect"], rec["confidence"]


def _scores(result: Result) -> list[tuple[str, float]]:
    return [(p["category"], p["score"]) for p in result["precedents"]]


def _run_twice(saver: Any, store: BaseStore, event: dict[str, Any]) -> tuple[Result, Result]:
    investigator = Investigator(saver, store)
    first = investigator.investigate(event).result
    second = investigator.investigate({**event, "id": str(uuid.uuid4())}).result
    return first, second


def test_second_alarm_recalls_the_first_as_in_memory_store(
    saver: DynamoDBSaver, store: DynamoDBStore, scenarios: dict[str, Any]
) -> None:
    event, service = _service_event(scenarios, "checkout-latency")
    first, second = _run_twice(saver, store, event)
    assert first["precedents"] == []
    assert [p["execution_id"] for p in second["precedents"]] == [first["execution_id"]]
    precedent = second["precedents"][0]
    assert precedent["category"] == "deployment" and precedent["status"] == "SUCCESS"
    assert precedent["score"] > 0.9
    assert second["recommendation"]["rationale"][-1].endswith("1 of 1 concluded deployment")
    stored = store.get(memory.namespace(service), first["execution_id"])
    assert stored is not None and stored.value["action"] == first["recommendation"]["action"]

    # the oracle: the same graph on langgraph's in-memory saver and store
    oracle_first, oracle_second = _run_twice(
        InMemorySaver(), InMemoryStore(index=memory.index_config()), event
    )
    assert _decision(oracle_second) == _decision(second)
    assert [c for c, _ in _scores(oracle_second)] == [c for c, _ in _scores(second)]
    for (_, ours), (_, theirs) in zip(_scores(second), _scores(oracle_second), strict=True):
        assert ours == pytest.approx(theirs, abs=1e-4)
    # memory informs, never decides: the same decision as without a store
    bare = Investigator(InMemorySaver()).investigate({**event, "id": str(uuid.uuid4())}).result
    assert bare["precedents"] == []
    assert _decision(bare) == _decision(second)


def test_other_services_and_bad_events_are_not_remembered(
    saver: DynamoDBSaver, store: DynamoDBStore, scenarios: dict[str, Any]
) -> None:
    checkout, checkout_service = _service_event(scenarios, "checkout-latency")
    orders, orders_service = _service_event(scenarios, "orders-throttling")
    investigator = Investigator(saver, store)
    investigator.investigate(checkout)
    orders_result = investigator.investigate(orders).result
    assert orders_result["precedents"] == []
    bad = investigator.graph.invoke(
        {"event": {"id": "bad", "detail": {}}}, Investigator.config(f"bad-{uuid.uuid4()}")
    )
    assert bad["result"]["status"] == "FAILURE" and bad["result"]["precedents"] == []
    assert [i.key for i in store.search(memory.namespace(orders_service))] == [
        orders_result["execution_id"]
    ]
    assert len(store.search(memory.namespace(checkout_service))) == 1
    assert store.list_namespaces(prefix=(memory.NAMESPACE_ROOT, "bad")) == []


def test_a_repeated_or_resumed_run_remembers_once(
    saver: DynamoDBSaver, store: DynamoDBStore, scenarios: dict[str, Any]
) -> None:
    event, service = _service_event(scenarios, "checkout-latency")
    investigator = Investigator(saver, store)
    first = investigator.investigate(event).result
    # another thread for the same execution (as the crash lab does): never its own precedent
    again = investigator.investigate(event, thread_id=f"{first['execution_id']}-again").result
    assert again["precedents"] == []
    assert again == first
    assert len(store.search(memory.namespace(service))) == 1


def test_async_investigation_uses_the_same_memory(
    saver: DynamoDBSaver, store: DynamoDBStore, scenarios: dict[str, Any]
) -> None:
    event, _ = _service_event(scenarios, "orders-throttling")
    investigator = Investigator(saver, store)
    first = investigator.investigate(event).result

    async def main() -> Result:
        return (await investigator.ainvestigate({**event, "id": str(uuid.uuid4())})).result

    second = asyncio.run(main())
    assert [p["execution_id"] for p in second["precedents"]] == [first["execution_id"]]
    assert second["recommendation"]["category"] == "capacity"


def test_handler_memory_in_the_checkpoint_table(
    ddb_endpoint: str, table: str, scenarios: dict[str, Any]
) -> None:
    settings = handler.Settings(
        table=table, region=REGION, endpoint_url=ddb_endpoint, idempotency=False
    )
    runtime = handler.build_runtime(settings)
    assert runtime.store is not None and runtime.store.table_name == table
    event, _ = _service_event(scenarios, "checkout-latency")
    first = runtime.investigate(event)
    second = runtime.investigate({**event, "id": str(uuid.uuid4())})
    assert [p["execution_id"] for p in second["result"]["precedents"]] == [first["executionId"]]
    off = handler.Settings.from_env(
        {
            "CHECKPOINT_TABLE": table,
            "AWS_REGION": REGION,
            "DYNAMODB_ENDPOINT": ddb_endpoint,
            "INCIDENT_MEMORY": "off",
        }
    )
    assert off.memory is False
    assert handler.build_runtime(off).store is None
