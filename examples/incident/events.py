"""The incident event: EventBridge envelope validation and the idempotent execution id.

Events are validated with aws-lambda-powertools' parser: its ``EventBridgeModel`` checks the
envelope (``id``, ``source``, ``detail-type``, ``time``...), :class:`IncidentDetail` the
detail. An example event::

    {
      "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
      "source": "incident.detector", "detail-type": "Incident Detected",
      "account": "123456789012", "time": "2026-01-30T12:04:00Z", "region": "us-east-1",
      "resources": [],
      "detail": {
        "service": "checkout-api", "severity": "SEV2",
        "alarm": {"name": "checkout-api-p99-latency", "reason": "p99 > 1000 ms"},
        "metric": {"namespace": "AWS/ApiGateway", "name": "Latency", "stat": "p99",
                   "dimensions": {"ApiName": "checkout-api"}},
        "startedAt": "2026-01-30T12:03:00Z", "detectedAt": "2026-01-30T12:04:00Z"
      }
    }
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .model import Incident

EVENT_SOURCE = "incident.detector"
"""``source`` of the incident events (the EventBridge rule matches it)."""

DETAIL_TYPE = "Incident Detected"
"""``detail-type`` of the incident events (the EventBridge rule matches it)."""

EXECUTION_NAMESPACE = uuid.UUID("5b0f3a4e-8f1c-4d3a-9c59-7e1f0b6f2a10")
"""Namespace of the name-based (UUID 5) execution ids: same event id, same execution id."""


class InvalidEventError(ValueError):
    """The event is not a valid incident event.

    Attributes:
        errors: One entry per problem: ``{"field": "detail.service", "message": "..."}``.
    """

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class AlarmRef(BaseModel):
    """The CloudWatch alarm that fired."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    reason: str = Field(default="", max_length=2048)


class MetricRef(BaseModel):
    """The metric the alarm watches."""

    model_config = ConfigDict(extra="ignore")

    namespace: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    stat: str = "Average"
    dimensions: dict[str, str] = Field(default_factory=dict)


class IncidentDetail(BaseModel):
    """The ``detail`` of an incident event."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    service: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] = "SEV3"
    alarm: AlarmRef
    metric: MetricRef
    log_group: str | None = Field(default=None, alias="logGroup", max_length=512)
    started_at: datetime = Field(alias="startedAt")
    detected_at: datetime = Field(alias="detectedAt")

    @model_validator(mode="after")
    def _ordered(self) -> IncidentDetail:
        if self.started_at.tzinfo is None or self.detected_at.tzinfo is None:
            raise ValueError("startedAt and detectedAt need a time zone (e.g. a trailing Z)")
        if self.detected_at < self.started_at:
            raise ValueError("detectedAt is before startedAt")
        return self


class IncidentEvent(EventBridgeModel):
    """An EventBridge event carrying an :class:`IncidentDetail`."""

    detail: IncidentDetail


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with a ``Z``, to the second."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 time, ``Z`` included (Python 3.10's ``fromisoformat`` lacks it)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def execution_id(event_id: str) -> str:
    """The execution id of an event: a UUID 5 of the event id.

    EventBridge keeps an event's ``id`` when it redelivers it, so a redelivery maps to the
    same execution, hence the same checkpoint thread.
    """
    return f"exec-{uuid.uuid5(EXECUTION_NAMESPACE, event_id)}"


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in err.get("loc", ())) or "(event)"
        out.append({"field": field, "message": str(err.get("msg", "invalid"))})
    return out


def parse_incident(event: Any) -> Incident:
    """Validate an EventBridge incident event.

    Args:
        event: The event as Lambda receives it.

    Returns:
        The normalized incident.

    Raises:
        InvalidEventError: The envelope or the detail is invalid, or the source or
            detail-type is not the incident one; ``errors`` lists every problem.
    """
    if not isinstance(event, dict):
        raise InvalidEventError(
            f"expected an EventBridge event (a JSON object), got {type(event).__name__}",
            [{"field": "(event)", "message": "not an object"}],
        )
    try:
        parsed = parse(event=event, model=IncidentEvent)
    except ValidationError as exc:
        errors = _errors(exc)
        raise InvalidEventError(
            f"invalid incident event: {len(errors)} problem(s), first: "
            f"{errors[0]['field']}: {errors[0]['message']}",
            errors,
        ) from exc
    problems = []
    if parsed.source != EVENT_SOURCE:
        problems.append({"field": "source", "message": f"expected {EVENT_SOURCE!r}"})
    if parsed.detail_type != DETAIL_TYPE:
        problems.append({"field": "detail-type", "message": f"expected {DETAIL_TYPE!r}"})
    if not parsed.id.strip():
        problems.append({"field": "id", "message": "empty event id"})
    if problems:
        raise InvalidEventError(
            f"not an incident event: {problems[0]['field']}: {problems[0]['message']}", problems
        )
    detail = parsed.detail
    return Incident(
        event_id=parsed.id,
        execution_id=execution_id(parsed.id),
        source=parsed.source,
        detail_type=parsed.detail_type,
        account=parsed.account,
        region=parsed.region,
        time=iso(parsed.time),
        service=detail.service,
        severity=detail.severity,
        alarm=detail.alarm.name,
        alarm_reason=detail.alarm.reason,
        metric=detail.metric.model_dump(),
        log_group=detail.log_group or f"/aws/lambda/{detail.service}",
        started_at=iso(detail.started_at),
        detected_at=iso(detail.detected_at),
    )
