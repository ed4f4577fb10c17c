"""Validation of the EventBridge envelope and the idempotent execution id."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from examples.incident.events import InvalidEventError, execution_id, parse_incident


def test_parses_the_recorded_events(scenarios: dict[str, dict[str, Any]]) -> None:
    for scenario in scenarios.values():
        incident = parse_incident(scenario["event"])
        detail = scenario["event"]["detail"]
        assert incident["service"] == detail["service"]
        assert incident["alarm"] == detail["alarm"]["name"]
        assert incident["started_at"] == detail["startedAt"]
        assert incident["execution_id"] == execution_id(scenario["event"]["id"])


def test_execution_id_is_derived_from_the_event_id_only(event: dict[str, Any]) -> None:
    again = copy.deepcopy(event)
    again["time"] = "2026-01-30T13:00:00Z"  # a redelivery keeps the id
    assert parse_incident(again)["execution_id"] == parse_incident(event)["execution_id"]
    assert execution_id("a") != execution_id("b")
    assert execution_id("a") == execution_id("a")
    assert uuid.UUID(execution_id("a").removeprefix("exec-")).version == 5


def _broken(event: dict[str, Any], path: str, value: Any = None, delete: bool = False) -> dict:
    out = copy.deepcopy(event)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    if delete:
        del node[last]
    else:
        node[last] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "delete", "field"),
    [
        ("detail.service", None, True, "detail.service"),
        ("detail.service", "bad service name!", False, "detail.service"),
        ("detail.alarm", None, True, "detail.alarm"),
        ("detail.metric", {"namespace": "AWS/X"}, False, "detail.metric.name"),
        ("detail.startedAt", "yesterday", False, "detail.startedAt"),
        ("detail.detectedAt", "2026-01-30T11:00:00Z", False, "detail"),
        ("detail.detectedAt", "2026-01-30T12:04:00", False, "detail"),
        ("detail.severity", "SEV9", False, "detail.severity"),
        ("detail-type", None, True, "detail-type"),
        ("source", "somebody.else", False, "source"),
        ("detail-type", "Something Else", False, "detail-type"),
        ("id", "  ", False, "id"),
        ("time", "not a time", False, "time"),
    ],
)
def test_rejects_invalid_events(
    event: dict[str, Any], path: str, value: Any, delete: bool, field: str
) -> None:
    with pytest.raises(InvalidEventError) as info:
        parse_incident(_broken(event, path, value, delete))
    assert any(e["field"] == field for e in info.value.errors), info.value.errors


@pytest.mark.parametrize("bad", [None, "event", 42, ["list"]])
def test_rejects_non_objects(bad: Any) -> None:
    with pytest.raises(InvalidEventError, match="JSON object"):
        parse_incident(bad)
