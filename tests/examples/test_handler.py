"""The Lambda handler: structured responses, never raises, idempotent, EMF metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from examples.incident import handler
from examples.incident import observability as obs

from ..conftest import REGION
from .conftest import fresh

pytestmark = pytest.mark.integration


@dataclass
class Context:
    """A Lambda context as powertools reads it."""

    function_name: str = "incident-investigator"
    function_version: str = "$LATEST"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:incident-investigator"
    )
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "req-1"
    log_group_name: str = "/aws/lambda/incident-investigator"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


@pytest.fixture
def runtime(ddb_endpoint: str, incident_table: str) -> Iterator[handler.Runtime]:
    """The handler's per-container runtime, on the session table."""
    settings = handler.Settings(table=incident_table, region=REGION, endpoint_url=ddb_endpoint)
    rt = handler.build_runtime(settings)
    handler.set_runtime(rt)
    yield rt
    handler.set_runtime(None)


def emf(out: str) -> list[dict[str, Any]]:
    """The EMF records powertools printed."""
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def metric_names(records: list[dict[str, Any]]) -> set[str]:
    return {
        m["Name"] for r in records for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]
    }


def test_investigates_an_event(
    runtime: handler.Runtime, event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    response = handler.handler(event, Context())
    assert response["statusCode"] == 200
    assert (response["mode"], response["redelivered"]) == ("fresh", False)
    assert response["status"] == "SUCCESS"
    assert response["executionId"] == response["result"]["execution_id"]
    assert response["recommendation"]["action"].startswith("roll back checkout-api")
    json.dumps(response)  # plain JSON
    records = emf(capsys.readouterr().out)
    assert {r["_aws"]["CloudWatchMetrics"][0]["Namespace"] for r in records} == {obs.NAMESPACE}
    names = metric_names(records)
    assert {
        obs.EXECUTION_COUNT,
        obs.EXECUTION_DURATION,
        obs.AGENT_DURATION,
        obs.AGENT_FAILURE_RATE,
        obs.COST_TOTAL,
        obs.EXECUTION_RETRIES,
        obs.CHECKPOINT_SAVES,
        obs.CHECKPOINT_SAVE_DURATION,
        obs.CHECKPOINT_BYTES,
        obs.CHECKPOINT_WRITE_UNITS,
    } <= names
    (record,) = [r for r in records if obs.CHECKPOINT_SAVES in r]
    (saves,), (sent,) = record[obs.CHECKPOINT_SAVES], record[obs.CHECKPOINT_BYTES]
    assert saves >= 3 and sent > 0
    assert record[obs.CHECKPOINT_REQUESTS] >= record[obs.CHECKPOINT_SAVES]
    assert obs.REPLAY_COUNT not in names and obs.EXECUTION_FAILURES not in names
    per_agent = [r for r in records if "AgentId" in r and obs.AGENT_DURATION in r]
    assert sorted(r["AgentId"] for r in per_agent) == sorted(
        h["agent"] for h in response["result"]["hypotheses"]
    )
    assert all(r["service"] == obs.SERVICE for r in records)  # the alarms' dimension


def test_redelivery_returns_the_stored_response(
    runtime: handler.Runtime, event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    first = handler.handler(event, Context())
    capsys.readouterr()
    again = handler.handler(event, Context(aws_request_id="req-2"))
    assert again["redelivered"] is True
    assert again["result"] == first["result"]
    names = metric_names(emf(capsys.readouterr().out))
    assert obs.REPLAY_COUNT in names
    assert obs.AGENT_DURATION not in names  # nothing ran


def test_checkpointer_idempotency_without_powertools(
    ddb_endpoint: str, incident_table: str, event: dict[str, Any]
) -> None:
    settings = handler.Settings(
        table=incident_table, region=REGION, endpoint_url=ddb_endpoint, idempotency=False
    )
    handler.set_runtime(handler.build_runtime(settings))
    try:
        first = handler.handler(event, Context())
        again = handler.handler(event, Context())
    finally:
        handler.set_runtime(None)
    assert (first["mode"], again["mode"]) == ("fresh", "stored")
    assert again["redelivered"] is False  # no powertools record: the checkpoints answered
    assert again["result"] == first["result"]


def test_concurrent_duplicate_gets_409(runtime: handler.Runtime, event: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []
    investigate = runtime.investigator.investigate

    def while_running(evt: dict[str, Any], **kwargs: Any) -> Any:
        seen.append(handler._handle(evt, Context(aws_request_id="dup")))
        return investigate(evt, **kwargs)

    runtime.investigator.investigate = while_running  # type: ignore[method-assign]
    response = handler.handler(event, Context())
    assert response["statusCode"] == 200
    assert seen[0]["statusCode"] == 409 and seen[0]["error"]["type"] == "InProgress"


def test_same_id_different_detail_is_refused(
    runtime: handler.Runtime, event: dict[str, Any]
) -> None:
    assert handler.handler(event, Context())["statusCode"] == 200
    tampered = {**event, "detail": {**event["detail"], "severity": "SEV1"}}
    response = handler.handler(tampered, Context())
    assert response["statusCode"] == 409
    assert response["error"]["type"] == "EventIdReused"


@pytest.mark.parametrize(
    "bad",
    [None, "text", {}, {"id": "x"}, {"id": "x", "source": "incident.detector", "detail": {}}],
)
def test_bad_events_get_400(
    runtime: handler.Runtime, bad: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    response = handler.handler(bad, Context())
    assert response["statusCode"] == 400
    assert response["error"]["type"] == "InvalidEvent"
    assert isinstance(response["error"]["errors"], list) and response["error"]["errors"]
    assert obs.EXECUTION_REJECTED in metric_names(emf(capsys.readouterr().out))
    assert not handler.is_retryable(response)  # from a queue, it would not come back


def test_never_raises(runtime: handler.Runtime, event: dict[str, Any]) -> None:
    def boom(evt: dict[str, Any], **kwargs: Any) -> Any:
        raise RuntimeError("kaput")

    runtime.investigator.investigate = boom  # type: ignore[method-assign]
    response = handler.handler(event, Context())
    assert response == {
        "statusCode": 500,
        "error": {"type": "InternalError", "message": "RuntimeError: kaput"},
    }
    # powertools deleted its in-progress record: a retry may run again
    runtime.investigator.investigate = handler.Investigator.investigate.__get__(  # type: ignore[method-assign]
        runtime.investigator
    )
    assert handler.handler(event, Context())["statusCode"] == 200


def test_unreachable_dynamodb_gives_503(
    incident_table: str, event: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from langgraph_dynamodb.local import free_port

    settings = handler.Settings(table=incident_table, region=REGION, idempotency=False)
    client = boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    handler.set_runtime(handler.build_runtime(settings, client=client))
    try:
        response = handler.handler(event, Context())
    finally:
        handler.set_runtime(None)
    assert response["statusCode"] == 503
    assert response["error"]["type"] == "Unavailable"
    assert handler.is_retryable(response)
    assert obs.EXECUTION_FAILURES in metric_names(emf(capsys.readouterr().out))


def test_missing_configuration_is_a_500_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]
) -> None:
    monkeypatch.delenv("CHECKPOINT_TABLE", raising=False)
    handler.set_runtime(None)
    response = handler.handler(fresh(event), None)
    assert response["statusCode"] == 500
    assert "CHECKPOINT_TABLE" in response["error"]["message"]


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "CHECKPOINT_TABLE": "t1",
        "AWS_REGION": "eu-west-1",
        "TELEMETRY_PROVIDER": "aws",
        "CHANGES_TABLE": "chg",
        "IDEMPOTENCY": "off",
        "INCIDENT_BUDGET_USD": "0.5",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
    }
    settings = handler.Settings.from_env(env)
    assert (settings.table, settings.region, settings.telemetry) == ("t1", "eu-west-1", "aws")
    assert (settings.changes_table, settings.idempotency, settings.budget_usd) == (
        "chg",
        False,
        0.5,
    )
    assert settings.ttl_days == 30 and settings.function_name == "fn"
    with pytest.raises(ValueError, match="CHECKPOINT_TABLE"):
        handler.Settings.from_env({})


def test_runtime_is_created_once_per_container(
    monkeypatch: pytest.MonkeyPatch, ddb_endpoint: str, incident_table: str
) -> None:
    monkeypatch.setenv("CHECKPOINT_TABLE", incident_table)
    monkeypatch.setenv("DYNAMODB_ENDPOINT", ddb_endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    handler.set_runtime(None)
    try:
        first = handler.get_runtime()
        assert handler.get_runtime() is first
        assert first.saver.table_name == incident_table
        assert first.settings.ttl_days == 30
    finally:
        handler.set_runtime(None)


def test_idempotency_records_share_the_table_safely(
    runtime: handler.Runtime, event: dict[str, Any], ddb_endpoint: str, incident_table: str
) -> None:
    handler.handler(event, Context())
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=ddb_endpoint, region_name=REGION
    )
    records = client.query(
        TableName=incident_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "idempotency#local"}},
    )["Items"]
    assert records and all("ttl" in r for r in records)  # expire with the table's TTL
    # the saver's table-wide listing skips the foreign partition
    threads = {t.config["configurable"]["thread_id"] for t in runtime.saver.list(None)}
    assert not any(t.startswith("idempotency") for t in threads)
