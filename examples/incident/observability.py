"""Metric names and how a run is turned into metrics.

Metrics are written as CloudWatch Embedded Metric Format by aws-lambda-powertools: no
``PutMetricData`` call, no extra IAM. Namespace ``IncidentInvestigator`` (override with
``POWERTOOLS_METRICS_NAMESPACE``, the templates' ``MetricNamespace`` parameter), dimension
``service`` (``POWERTOOLS_SERVICE_NAME``, the templates' ``ServiceName``), plus
``AgentId`` on per-agent metrics. The templates' alarms and dashboard use the same names.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from langgraph_dynamodb import OperationStats

from .graph import RunLog
from .model import AGENTS

NAMESPACE = "IncidentInvestigator"
SERVICE = "incident-investigator"
AGENT_DIMENSION = "AgentId"

EXECUTION_COUNT = "Execution/Count"
"""Investigations handled (valid events), Count."""
EXECUTION_DURATION = "Execution/DurationMs"
"""Handler duration, Milliseconds."""
EXECUTION_RETRIES = "Execution/Retries"
"""Throttling retries of the agents run by this invocation, Count."""
EXECUTION_FAILURES = "Execution/Failures"
"""Invocations without a recommendation (fail-closed consensus or an internal error), Count."""
EXECUTION_REJECTED = "Execution/Rejected"
"""Invalid events (400), Count."""
AGENT_DURATION = "Agent/DurationMs"
"""Duration of one agent (dimension ``AgentId``), Milliseconds."""
AGENT_FAILURE_RATE = "Agent/FailureRate"
"""Percent of agents that timed out or failed: per agent (``AgentId``) and per execution."""
COST_TOTAL = "Cost/TotalUSD"
"""Model and tool spend of this invocation in USD (unit None)."""
REPLAY_COUNT = "Replay/Count"
"""Invocations served from checkpoints: a stored result or a resume after a crash, Count."""
CHECKPOINT_SAVES = "Checkpoint/Saves"
"""Checkpoints and pending writes saved by this invocation (``put`` + ``put_writes``), Count."""
CHECKPOINT_SAVE_DURATION = "Checkpoint/SaveDurationMs"
"""Time spent saving them, summed (parallel agents save at the same time), Milliseconds."""
CHECKPOINT_BYTES = "Checkpoint/BytesWritten"
"""Request bytes the saver sent to DynamoDB in this invocation, Bytes."""
CHECKPOINT_REQUESTS = "Checkpoint/Requests"
"""DynamoDB requests of the saver in this invocation, Count."""
CHECKPOINT_WRITE_UNITS = "Checkpoint/WriteUnits"
"""Write capacity units they consumed (DynamoDB's figure), Count."""
CHECKPOINT_READ_UNITS = "Checkpoint/ReadUnits"
"""Read capacity units they consumed, Count."""
CHECKPOINT_THROTTLES = "Checkpoint/Throttles"
"""Attempts DynamoDB throttled (botocore retried them), Count."""

ALL = (
    EXECUTION_COUNT,
    EXECUTION_DURATION,
    EXECUTION_RETRIES,
    EXECUTION_FAILURES,
    EXECUTION_REJECTED,
    AGENT_DURATION,
    AGENT_FAILURE_RATE,
    COST_TOTAL,
    REPLAY_COUNT,
    CHECKPOINT_SAVES,
    CHECKPOINT_SAVE_DURATION,
    CHECKPOINT_BYTES,
    CHECKPOINT_REQUESTS,
    CHECKPOINT_WRITE_UNITS,
    CHECKPOINT_READ_UNITS,
    CHECKPOINT_THROTTLES,
)

_DEGRADED = ("TIMEOUT", "FAILURE")


def _dimensions(metric: Any, metrics: Metrics, agent: str) -> None:
    if metrics.service and "service" not in metrics.default_dimensions:
        metric.add_dimension(name="service", value=metrics.service)
    metric.add_dimension(name=AGENT_DIMENSION, value=agent)


def emit_agent_metrics(metrics: Metrics, log: RunLog) -> dict[str, Any]:
    """Per-agent metrics of the agents this invocation ran (each its own EMF record).

    Returns:
        What the execution-level metrics need: ``cost_usd``, ``retries``,
        ``failure_rate`` (percent of the agents run that timed out or failed).
    """
    runs = sorted(log.runs, key=lambda r: AGENTS.index(r.agent))
    for run in runs:
        with single_metric(
            name=AGENT_DURATION,
            unit=MetricUnit.Milliseconds,
            value=round(run.duration_ms, 3),
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            _dimensions(metric, metrics, run.agent)
        with single_metric(
            name=AGENT_FAILURE_RATE,
            unit=MetricUnit.Percent,
            value=100.0 if run.status in _DEGRADED else 0.0,
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            _dimensions(metric, metrics, run.agent)
    failed = sum(1 for r in runs if r.status in _DEGRADED)
    return {
        "cost_usd": round(sum(r.cost_usd for r in runs), 6),
        "retries": sum(r.retries for r in runs),
        "failure_rate": 100.0 * failed / len(runs) if runs else 0.0,
        "agents_run": len(runs),
    }


def emit_checkpoint_metrics(metrics: Metrics, cost: dict[str, OperationStats]) -> None:
    """What checkpointing cost this invocation: ``saver.stats.since(before)``."""
    saves = [cost[name] for name in ("checkpoint.put", "checkpoint.put_writes") if name in cost]
    total = sum(cost.values(), OperationStats())
    ms = 1000 * sum(s.seconds for s in saves)
    metrics.add_metric(
        name=CHECKPOINT_SAVES, unit=MetricUnit.Count, value=sum(s.calls for s in saves)
    )
    metrics.add_metric(
        name=CHECKPOINT_SAVE_DURATION, unit=MetricUnit.Milliseconds, value=round(ms, 3)
    )
    metrics.add_metric(name=CHECKPOINT_BYTES, unit=MetricUnit.Bytes, value=total.bytes_sent)
    metrics.add_metric(name=CHECKPOINT_REQUESTS, unit=MetricUnit.Count, value=total.requests)
    metrics.add_metric(name=CHECKPOINT_WRITE_UNITS, unit=MetricUnit.Count, value=total.write_units)
    metrics.add_metric(name=CHECKPOINT_READ_UNITS, unit=MetricUnit.Count, value=total.read_units)
    metrics.add_metric(name=CHECKPOINT_THROTTLES, unit=MetricUnit.Count, value=total.throttles)
