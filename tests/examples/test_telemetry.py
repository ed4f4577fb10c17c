"""Action groups: 2 s / 10 KB bounds, partial data instead of exceptions, both providers."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from examples.incident.analysts import RULES
from examples.incident.events import parse_incident
from examples.incident.faults import Faults
from examples.incident.telemetry import (
    TOOL_MAX_BYTES,
    TOOL_TIMEOUT_S,
    Boto3Provider,
    FixtureProvider,
    Toolbox,
    bounded,
    fit,
    json_size,
)

from ..conftest import REGION


def test_the_seed_bounds() -> None:
    assert TOOL_TIMEOUT_S == 2.0
    assert TOOL_MAX_BYTES == 10 * 1024


def test_bounded_ok() -> None:
    result = bounded("t", lambda: {"items": [1, 2, 3]})
    assert result["status"] == "OK"
    assert result["data"] == {"items": [1, 2, 3]}
    assert result["bytes"] == json_size({"items": [1, 2, 3]})


def test_bounded_timeout_returns_in_time() -> None:
    started = time.monotonic()
    result = bounded("t", lambda: time.sleep(5) or {}, timeout_s=0.2)
    assert time.monotonic() - started < 1.5
    assert result["status"] == "TIMEOUT"
    assert result["data"] == {}


def test_bounded_error_is_reported_not_raised() -> None:
    def boom() -> dict[str, Any]:
        raise ConnectionError("socket closed")

    result = bounded("t", boom)
    assert result["status"] == "ERROR"
    assert "ConnectionError: socket closed" in (result["error"] or "")


def test_bounded_cuts_big_answers() -> None:
    data = {"events": [{"message": "x" * 200, "n": i} for i in range(500)], "kept": "yes"}
    result = bounded("t", lambda: data, max_bytes=4096)
    assert result["status"] == "PARTIAL"
    assert result["truncated"] is True
    assert result["bytes"] <= 4096
    assert json_size(result["data"]) <= 4096
    assert result["data"]["kept"] == "yes"
    assert 0 < len(result["data"]["events"]) < 500
    assert result["data"]["events"][0] == data["events"][0]  # the head is kept


def test_fit_nested_and_hopeless() -> None:
    nested = {"series": {"a": list(range(3000)), "b": list(range(10))}}
    out, cut = fit(nested, 2048)
    assert cut and json_size(out) <= 2048 and out["series"]["b"] == list(range(10))
    hopeless, cut = fit({"blob": "x" * 5000}, 1000)
    assert cut and "note" in hopeless and json_size(hopeless) <= 1000


def test_bounded_partial_flag() -> None:
    result = bounded("t", lambda: {"items": [], "partial": True, "note": "page 2 failed"})
    assert result["status"] == "PARTIAL"
    assert result["error"] == "page 2 failed"


def test_fixture_provider_unknown_service_is_partial(event: dict[str, Any]) -> None:
    incident = parse_incident({**event, "detail": {**event["detail"], "service": "mystery-api"}})
    toolbox = Toolbox(FixtureProvider())
    for tool, collection in [
        ("cloudwatch_metrics", ""),
        ("cloudwatch_logs", ""),
        ("xray_traces", ""),
        ("dynamodb_lookup", "changes"),
        ("service_graph", ""),
    ]:
        result = toolbox.run(tool, incident, collection)
        assert result["status"] == "PARTIAL", tool
        assert "no recorded telemetry" in (result["error"] or "")


def test_fixture_answers_fit_the_bounds(scenarios: dict[str, dict[str, Any]]) -> None:
    toolbox = Toolbox(FixtureProvider())
    for scenario in scenarios.values():
        incident = parse_incident(scenario["event"])
        for tool, collection in [
            ("cloudwatch_metrics", ""),
            ("cloudwatch_logs", ""),
            ("xray_traces", ""),
            ("dynamodb_lookup", "changes"),
            ("dynamodb_lookup", "runbooks"),
            ("service_graph", ""),
        ]:
            result = toolbox.run(tool, incident, collection)
            assert result["status"] == "OK", (scenario["name"], tool, result["error"])
            assert 0 < result["bytes"] <= TOOL_MAX_BYTES


@pytest.mark.parametrize(
    ("fault", "status"),
    [("tool_error", "ERROR"), ("tool_slow", "TIMEOUT"), ("tool_big", "PARTIAL")],
)
def test_toolbox_faults(event: dict[str, Any], fault: str, status: str) -> None:
    toolbox = Toolbox(
        FixtureProvider(), timeout_s=1.0, faults=Faults.parse(f"{fault}:cloudwatch_logs")
    )
    incident = parse_incident(event)
    result = toolbox.run("cloudwatch_logs", incident)
    assert result["status"] == status
    assert result["bytes"] <= TOOL_MAX_BYTES
    assert toolbox.run("xray_traces", incident)["status"] == "OK"


def test_unknown_tool(event: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown tool"):
        Toolbox(FixtureProvider()).run("ec2_terminate", parse_incident(event))


# --- the boto3 provider, against botocore's Stubber (request shapes checked by the model) ----
T0 = datetime(2026, 1, 30, 11, 3, tzinfo=timezone.utc)
T1 = datetime(2026, 1, 30, 12, 14, tzinfo=timezone.utc)


def _clients() -> dict[str, Any]:
    return {
        name: boto3.session.Session().client(name, region_name=REGION)
        for name in ("cloudwatch", "logs", "xray", "dynamodb")
    }


def test_boto3_metrics(event: dict[str, Any]) -> None:
    clients = _clients()
    incident = parse_incident(event)
    with Stubber(clients["cloudwatch"]) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "m0",
                        "Timestamps": [T0, T1],
                        "Values": [200.0, 1300.0],
                        "StatusCode": "PartialData",
                    }
                ]
            },
            {
                "MetricDataQueries": [
                    {
                        "Id": "m0",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "AWS/ApiGateway",
                                "MetricName": "Latency",
                                "Dimensions": [{"Name": "ApiName", "Value": "checkout-api"}],
                            },
                            "Period": 60,
                            "Stat": "p99",
                        },
                        "ReturnData": True,
                    }
                ],
                "StartTime": T0,
                "EndTime": T1,
                "ScanBy": "TimestampAscending",
            },
        )
        out = Boto3Provider(clients=clients).cloudwatch_metrics(incident, T0, T1)
    assert out["series"][0]["points"] == [
        ["2026-01-30T11:03:00Z", 200.0],
        ["2026-01-30T12:14:00Z", 1300.0],
    ]
    assert out["partial"] is True


def test_boto3_logs_pages_and_partial_on_a_failed_page(event: dict[str, Any]) -> None:
    clients = _clients()
    incident = parse_incident(event)
    base = {
        "logGroupName": "/ecs/checkout-api",
        "startTime": int(T0.timestamp() * 1000),
        "endTime": int(T1.timestamp() * 1000),
        "filterPattern": "?ERROR ?Error ?Exception ?Timeout ?throttl",
        "limit": 200,
    }
    with Stubber(clients["logs"]) as stub:
        stub.add_response(
            "filter_log_events",
            {
                "events": [{"timestamp": int(T1.timestamp() * 1000), "message": "ERROR x"}],
                "nextToken": "n1",
            },
            base,
        )
        stub.add_client_error("filter_log_events", "ThrottlingException", "slow down")
        out = Boto3Provider(clients=clients).cloudwatch_logs(incident, T0, T1)
    assert out["events"] == [{"t": "2026-01-30T12:14:00Z", "message": "ERROR x"}]
    assert out["partial"] is True and "page 2 failed" in out["note"]


def test_boto3_traces_feed_the_traces_rule(event: dict[str, Any]) -> None:
    clients = _clients()
    incident = parse_incident(event)
    summary = {
        "Id": "1-abc-def",
        "StartTime": T1,
        "ResponseTime": 2.1,
        "HasFault": True,
        "HasError": False,
        "HasThrottle": False,
        "FaultRootCauses": [
            {
                "Services": [
                    {
                        "Name": "payments-api",
                        "Inferred": True,
                        "EntityPath": [{"Name": "POST /authorize", "Remote": True}],
                    }
                ]
            }
        ],
    }
    with Stubber(clients["xray"]) as stub:
        stub.add_response(
            "get_trace_summaries",
            {"TraceSummaries": [summary] * 3},
            {
                "StartTime": T0,
                "EndTime": T1,
                "Sampling": False,
                "FilterExpression": 'service("checkout-api") AND (fault OR error OR throttle)',
            },
        )
        out = Boto3Provider(clients=clients).xray_traces(incident, T0, T1)
    trace = out["traces"][0]
    assert trace["root_cause"] == {
        "service": "payments-api",
        "entity": "POST /authorize",
        "remote": True,
    }
    evidence = [bounded("xray_traces", lambda: out)]
    verdict = RULES["traces"](incident, evidence)
    assert (verdict["category"], verdict["suspect"]) == ("dependency", "payments-api")


def test_boto3_service_graph(event: dict[str, Any]) -> None:
    clients = _clients()
    incident = parse_incident(event)
    graph = {
        "Services": [
            {
                "ReferenceId": 1,
                "Name": "checkout-api",
                "Edges": [
                    {
                        "ReferenceId": 2,
                        "SummaryStatistics": {
                            "TotalCount": 1000,
                            "ErrorStatistics": {"ThrottleCount": 0, "OtherCount": 5},
                            "FaultStatistics": {"TotalCount": 95},
                        },
                    }
                ],
            },
            {"ReferenceId": 2, "Name": "payments-api", "Edges": []},
        ]
    }
    with Stubber(clients["xray"]) as stub:
        stub.add_response("get_service_graph", graph, {"StartTime": T0, "EndTime": T1})
        out = Boto3Provider(clients=clients).service_graph(incident, T0, T1)
    assert out["edges"] == [
        {
            "to": "payments-api",
            "requests": 1000,
            "errors": 5,
            "throttles": 0,
            "faults": 95,
            "p99_ms": None,
        }
    ]
    verdict = RULES["dependencies"](incident, [bounded("service_graph", lambda: out)])
    assert (verdict["category"], verdict["suspect"]) == ("dependency", "payments-api")


def test_boto3_dynamodb_lookup(event: dict[str, Any]) -> None:
    clients = _clients()
    incident = parse_incident(event)
    item = {
        "service": {"S": "checkout-api"},
        "t": {"S": "2026-01-30T11:58:00Z"},
        "version": {"S": "v2.14.0"},
        "previous": {"S": "v2.13.4"},
        "minutes": {"N": "5"},
    }
    with Stubber(clients["dynamodb"]) as stub:
        stub.add_response(
            "query",
            {"Items": [item]},
            {
                "TableName": "changes",
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "service"},
                "ExpressionAttributeValues": {":s": {"S": "checkout-api"}},
                "ScanIndexForward": False,
                "Limit": 50,
            },
        )
        provider = Boto3Provider(clients=clients, changes_table="changes")
        out = provider.dynamodb_lookup("changes", incident)
    assert out["items"] == [
        {
            "service": "checkout-api",
            "t": "2026-01-30T11:58:00Z",
            "version": "v2.14.0",
            "previous": "v2.13.4",
            "minutes": 5,
        }
    ]
    verdict = RULES["deployments"](incident, [bounded("dynamodb_lookup", lambda: out)])
    assert verdict["category"] == "deployment"
    assert verdict["action"] == "roll back checkout-api from v2.14.0 to v2.13.4"
    missing = provider.dynamodb_lookup("runbooks", incident)
    assert missing["partial"] is True and missing["items"] == []


def test_boto3_errors_become_error_results(event: dict[str, Any]) -> None:
    clients = _clients()
    with Stubber(clients["xray"]) as stub:
        stub.add_client_error("get_service_graph", "AccessDeniedException", "no")
        toolbox = Toolbox(Boto3Provider(clients=clients))
        result = toolbox.run("service_graph", parse_incident(event))
    assert result["status"] == "ERROR"
    assert "AccessDeniedException" in (result["error"] or "")
