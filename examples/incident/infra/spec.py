"""What the templates deploy, declared once (the CDK app builds from it, tests check SAM).

Pure data, no AWS SDK or CDK import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph_dynamodb import schema
from langgraph_dynamodb.schema import vector_index_definition

from .. import observability as obs
from ..events import DETAIL_TYPE, EVENT_SOURCE
from ..memory import EMBEDDING_DIMS

CODE_DIR = Path(__file__).resolve().parents[2]
"""The function's code folder, ``examples/``: the ``incident`` package and
``requirements.txt`` (the SAM template's ``CodeUri``, the CDK app's asset)."""
HANDLER = "incident.handler.handler"
"""In the code folder the package is ``incident`` (its imports are relative, so it is
also ``examples.incident`` in this repository)."""
RUNTIME = "python3.12"
TIMEOUT_S = 120
MEMORY_MB = 1024
LOG_RETENTION_DAYS = 30

TTL_ATTRIBUTE = schema.TTL
"""The table's TTL attribute (the saver writes it when given ``ttl=``)."""

CHECKPOINT_TTL_DAYS = 30
"""Checkpoints expire 30 days after they are written (how long an investigation can be replayed)."""

EVENT_PATTERN: dict[str, list[str]] = {"source": [EVENT_SOURCE], "detail-type": [DETAIL_TYPE]}
"""The EventBridge rule's pattern."""

RULE_RETRY_ATTEMPTS = 4
RULE_MAX_EVENT_AGE_S = 7200
"""EventBridge's retries of a delivery to the queue (then the dead-letter queue)."""

QUEUE_MAX_RECEIVES = 3
"""Deliveries of an event to the function before the queue moves it to the dead-letter
queue (a failed investigation is retried twice)."""
QUEUE_VISIBILITY_S = 6 * TIMEOUT_S
"""How long a received event stays hidden: six times the function's timeout, as AWS
advises, so that a retry never overlaps a run still going."""
QUEUE_RETENTION_S = 4 * 24 * 3600
DEAD_LETTER_RETENTION_S = 14 * 24 * 3600
"""Events that failed every delivery are kept 14 days (SQS's maximum) for a redrive."""
QUEUE_BATCH_SIZE = 1
"""One investigation per invocation: each gets the whole function timeout. The handler
reports partial batch failures, so a larger batch is safe too."""
MAX_CONCURRENCY = 10
"""At most this many investigations at once (the event source mapping's limit), to
spare the model's and DynamoDB's quotas during an incident storm."""

CHECKPOINT_TABLE_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
)
"""Everything the function may do, on the checkpoint table only.

The saver needs GetItem, PutItem, Query, BatchGetItem, BatchWriteItem, and UpdateItem with
its ``ttl=`` (it extends the expiry of older checkpoints a new one needs); ``setup()`` in
the init phase (the Lambda story of the README) needs DescribeTable and, with ``ttl=``,
DescribeTimeToLive, both read-only; the incident memory (``DynamoDBStore``, same table)
needs Query, BatchGetItem and BatchWriteItem, and DescribeTable to see that its vector
index is ready; powertools' idempotency records (same table) need UpdateItem and
DeleteItem. No Scan (the handler never lists across threads), no CreateTable,
UpdateTimeToLive or UpdateTable (the table, its TTL and its vector index come from the
template).
"""

MEMORY_VECTOR_INDEX: dict[str, Any] = vector_index_definition(EMBEDDING_DIMS)
"""The incident memory's vector index on the checkpoint table: the store's own definition
(what ``DynamoDBStore.setup()`` would declare), so its semantic search is one
SearchVectors."""

MEMORY_SEARCH_ACTIONS: tuple[str, ...] = ("dynamodb:SearchVectors",)
"""On the memory's vector index only."""

TELEMETRY_ACTIONS: tuple[str, ...] = (
    "cloudwatch:GetMetricData",
    "xray:GetTraceSummaries",
    "xray:BatchGetTraces",
    "xray:GetServiceGraph",
)
"""Read-only telemetry; these actions support no resource-level scoping (``*``)."""

LOGS_ACTIONS: tuple[str, ...] = ("logs:FilterLogEvents",)
"""Read-only, on the account's log groups."""

QUEUE_ACTIONS: tuple[str, ...] = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
)
"""What Lambda's event source mapping needs, on the incident queue only."""

LOOKUP_ACTIONS: tuple[str, ...] = ("dynamodb:GetItem", "dynamodb:Query")
"""Read-only, on the change-records and runbooks tables only."""

DENIED_WRITE_ACTIONS: tuple[str, ...] = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
)
"""Explicitly denied on every resource but the checkpoint table (``NotResource``)."""

DENIED_ANYWHERE: tuple[str, ...] = ("ec2:*", "lambda:UpdateFunctionCode")
"""Explicitly denied everywhere (the investigator recommends, it never changes infrastructure)."""

ALARMS: dict[str, dict[str, Any]] = {
    "FailureRate": {
        "metric": obs.AGENT_FAILURE_RATE,
        "statistic": "Average",
        "period_s": 300,
        "threshold": 10,
        "description": "More than 10 % of agents timed out or failed over 5 minutes",
    },
    "Retries": {
        "metric": obs.EXECUTION_RETRIES,
        "statistic": "Maximum",
        "period_s": 300,
        "threshold": 5,
        "description": "An execution needed more than 5 throttling retries",
    },
    "Cost": {
        "metric": obs.COST_TOTAL,
        "statistic": "Sum",
        "period_s": 3600,
        "threshold": 10,
        "description": "More than 10 USD of model and tool spend in an hour",
    },
    "Duration": {
        "metric": obs.EXECUTION_DURATION,
        "statistic": "Maximum",
        "period_s": 300,
        "threshold": 60000,
        "description": "An execution took longer than 60 seconds",
    },
}
"""The alarms: metric, statistic, period, threshold (all ``GreaterThanThreshold``)."""

DASHBOARD_METRICS: tuple[str, ...] = (
    obs.EXECUTION_COUNT,
    obs.AGENT_DURATION,
    obs.COST_TOTAL,
    obs.AGENT_FAILURE_RATE,
)
"""The dashboard's widgets: executions, agent performance, cost, failure rate."""


def environment(
    table_ref: Any, service: Any = obs.SERVICE, namespace: Any = obs.NAMESPACE
) -> dict[str, Any]:
    """The function's environment, given how the template refers to the table name, the
    service name and the metric namespace."""
    return {
        "CHECKPOINT_TABLE": table_ref,
        "CHECKPOINT_TTL_DAYS": str(CHECKPOINT_TTL_DAYS),
        "INCIDENT_MEMORY": "on",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": namespace,
    }
