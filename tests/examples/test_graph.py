"""The investigation graph on DynamoDB Local: results, checkpoints, the failure matrix."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from langgraph.checkpoint.memory import InMemorySaver

from examples.incident.analysts import Throttled
from examples.incident.consensus import ESCALATE
from examples.incident.events import parse_incident
from examples.incident.investigation import Investigator
from examples.incident.model import AGENTS, Result
from langgraph_dynamodb import DynamoDBSaver, schema

from ..conftest import REGION
from .conftest import fresh

pytestmark = pytest.mark.integration


def by_agent(result: Result) -> dict[str, Any]:
    return {h["agent"]: h for h in result["hypotheses"]}


@pytest.mark.parametrize(
    ("name", "category", "action"),
    [
        ("checkout-latency", "deployment", "roll back checkout-api from v2.14.0 to v2.13.4"),
        ("orders-throttling", "capacity", "raise DynamoDB capacity or smooth the load"),
    ],
)
def test_recommendation(
    saver: DynamoDBSaver, scenarios: dict[str, Any], name: str, category: str, action: str
) -> None:
    outcome = Investigator(saver).investigate(fresh(scenarios[name]["event"]))
    result = outcome.result
    assert outcome.mode == "fresh"
    assert outcome.agents_run == sorted(AGENTS)
    assert result["status"] == "SUCCESS"
    assert result["recommendation"]["category"] == category
    assert result["recommendation"]["action"] == action
    assert result["recommendation"]["requires_approval"] is True
    assert [h["agent"] for h in result["hypotheses"]] == list(AGENTS)
    # parallel writes are applied in task order (by node name), whatever finishes first
    assert [t["node"] for t in result["trace"]] == [
        "entry",
        *sorted(AGENTS),
        "consensus",
        "cost_guardian",
        "recommend",
    ]
    assert result["cost"] is not None and 0 < result["cost"]["total_usd"] < 0.1


def test_checkpoints_per_execution(
    saver: DynamoDBSaver, event: dict[str, Any], ddb_endpoint: str, incident_table: str
) -> None:
    investigator = Investigator(saver)
    saver.stats.reset()
    outcome = investigator.investigate(event)
    rows = investigator.trail(outcome.thread_id)
    # input, start, entry, agents (one parallel superstep), consensus, cost guardian, recommend
    assert [r.step for r in rows] == [-1, 0, 1, 2, 3, 4, 5]
    assert rows[2].next == tuple(AGENTS)
    assert rows[-1].next == ()
    assert sum(len(r.done) for r in rows) == 11  # one saved node run per node, as in the seed
    # one PutItem per checkpoint / writes; the first checkpoint goes with the thread's
    # directory entry, in one BatchWriteItem
    assert saver.stats.requests.get("put_item") == 6 + 11
    assert saver.stats.requests.get("batch_write_item") == 1
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=ddb_endpoint, region_name=REGION
    )
    items = client.query(
        TableName=incident_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": schema.thread_pk(outcome.thread_id)}},
        ProjectionExpression="k",
    )["Items"]
    kinds = sorted(i["k"]["S"] for i in items)
    assert kinds.count(schema.KIND_CHECKPOINT) == 7
    assert kinds.count(schema.KIND_WRITES) == 11


def test_redelivery_returns_the_stored_result(saver: DynamoDBSaver, event: dict[str, Any]) -> None:
    investigator = Investigator(saver)
    first = investigator.investigate(event)
    again = investigator.investigate(event)
    assert (again.mode, again.agents_run) == ("stored", [])
    assert again.result == first.result
    assert again.thread_id == first.thread_id == first.result["execution_id"]


async def test_sync_and_async_agree(saver: DynamoDBSaver, event: dict[str, Any]) -> None:
    investigator = Investigator(saver)
    sync = investigator.investigate(event, thread_id=f"{event['id']}-sync")
    async_ = await investigator.ainvestigate(event, thread_id=f"{event['id']}-async")
    assert async_.result == sync.result
    stored = await investigator.ainvestigate(event, thread_id=f"{event['id']}-sync")
    assert stored.mode == "stored"
    await saver.aclose()


# --- the failure matrix (in memory: it is about the graph, not the storage) ------------------
def run(event: dict[str, Any], **options: Any) -> Result:
    investigator = Investigator(InMemorySaver(), backoff_base_s=0.001, **options)
    return investigator.investigate(event).result


def test_agent_timeout_gives_a_zero_confidence_hypothesis(event: dict[str, Any]) -> None:
    result = run(event, faults="timeout:logs", agent_timeout_s=1.5)
    logs = by_agent(result)["logs"]
    assert (logs["status"], logs["confidence"], logs["category"]) == ("TIMEOUT", 0.0, "none")
    assert result["status"] == "PARTIAL"
    assert result["recommendation"]["action"] == "roll back checkout-api from v2.14.0 to v2.13.4"


@pytest.mark.parametrize(
    ("fault", "agent", "tool_status"),
    [
        ("tool_error:xray_traces", "traces", "ERROR"),
        ("tool_slow:service_graph", "dependencies", "TIMEOUT"),
        ("tool_big:cloudwatch_logs", "logs", "PARTIAL"),
    ],
)
def test_tool_failure_gives_a_partial_hypothesis(
    event: dict[str, Any], fault: str, agent: str, tool_status: str
) -> None:
    clean = by_agent(run(event))[agent]
    result = run(event, faults=fault, tool_timeout_s=1.0)
    hypothesis = by_agent(result)[agent]
    assert hypothesis["status"] == "PARTIAL"
    assert hypothesis["tools"][0]["status"] == tool_status
    assert hypothesis["confidence"] < clean["confidence"]
    assert result["status"] in ("PARTIAL", "FAILURE")
    assert result["recommendation"]["requires_approval"] is True


def test_throttling_is_retried_with_backoff(event: dict[str, Any]) -> None:
    result = run(event, faults="throttle:metrics:2")
    metrics = by_agent(result)["metrics"]
    assert (metrics["status"], metrics["retries"]) == ("SUCCESS", 2)
    assert result["status"] == "SUCCESS"
    assert by_agent(run(event))["metrics"]["confidence"] == metrics["confidence"]


def test_throttling_past_the_attempts_fails_the_run_and_a_retry_resumes_one_agent(
    event: dict[str, Any],
) -> None:
    investigator = Investigator(InMemorySaver(), backoff_base_s=0.001, faults="throttle:metrics:4")
    with pytest.raises(Throttled):  # 4 attempts, all throttled: the queue will deliver again
        investigator.investigate(event)
    thread = investigator.config(parse_incident(event)["execution_id"])
    assert investigator.graph.get_state(thread).next == ("metrics",)  # the others are saved
    investigator.faults = "throttle:metrics:1"  # the model answers at its second attempt
    again = investigator.investigate(event)
    assert (again.mode, again.agents_run) == ("resumed", ["metrics"])
    metrics = by_agent(again.result)["metrics"]
    assert (metrics["status"], metrics["retries"]) == ("SUCCESS", 1)
    assert again.result == run(event, faults="throttle:metrics:1")


def test_analyst_failure(event: dict[str, Any]) -> None:
    result = run(event, faults="fail:deployments")
    assert by_agent(result)["deployments"]["status"] == "FAILURE"
    assert result["status"] == "PARTIAL"


def test_budget_exceeded_is_a_signal(event: dict[str, Any]) -> None:
    result = run(event, budget_usd=0.001)
    assert result["cost"] is not None and result["cost"]["budget_exceeded"] is True
    assert result["status"] == "SUCCESS"
    assert {"node": "cost_guardian", "status": "BUDGET_EXCEEDED"}.items() <= next(
        t for t in result["trace"] if t["node"] == "cost_guardian"
    ).items()


def test_consensus_fails_closed_without_quorum(event: dict[str, Any]) -> None:
    result = run(
        event, faults="timeout:logs,timeout:traces,timeout:deployments", agent_timeout_s=1.5
    )
    assert result["consensus"] is not None and result["consensus"]["status"] == "NO_QUORUM"
    assert result["status"] == "FAILURE"
    assert result["recommendation"]["action"] == ESCALATE
    assert result["recommendation"]["rationale"][0].startswith("no consensus: only 3 of 6")


def test_unknown_service_fails_closed(event: dict[str, Any]) -> None:
    result = run(fresh(event, service="mystery-api"))
    assert all(h["status"] == "PARTIAL" for h in result["hypotheses"])
    assert result["status"] == "FAILURE"
    assert result["recommendation"]["action"] == ESCALATE


def test_an_invalid_event_still_gives_a_result() -> None:
    investigator = Investigator(InMemorySaver())
    out = investigator.graph.invoke(
        {"event": {"id": "x", "detail": {}}},
        {"configurable": {"thread_id": "bad"}},
        context=investigator.context(),
    )
    result = out["result"]
    assert result["status"] == "FAILURE"
    assert result["error"]["type"] == "InvalidEvent"
    assert [t["node"] for t in result["trace"]] == ["entry", "recommend"]
