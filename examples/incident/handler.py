"""The Lambda handler: incident events from an SQS queue (or one event invoked directly),
investigated; nothing is lost and the handler never raises.

``examples.incident.handler.handler`` is the function to deploy (see
``examples/incident/infra/``). Delivery, as the templates wire it: the EventBridge rule
sends each incident event to an SQS queue; Lambda reads the queue (batch size 1,
``ReportBatchItemFailures``); the handler answers with the records to retry:

- an investigation that completed (or was completed before: a redelivery) is done;
- a bad event is logged, counted (``Execution/Rejected``) and **not** retried: it would
  fail the same way;
- a retryable failure (DynamoDB or the idempotency store unavailable or throttled after
  the client's retries, the model throttled after the agents' RetryPolicy, another
  invocation still running the same event, an internal error) is reported as a batch
  item failure. SQS delivers it again after the visibility timeout and, after
  ``maxReceiveCount`` deliveries, moves it to the dead-letter queue, whose alarm fires.
  A Lambda timeout or crash leaves the message in the queue: it is delivered again too.
  A retry resumes from the checkpoints, so finished agents are not run again.

Invoked directly with one EventBridge event (tests, the demo, a console test event), it
returns the structured response below instead.

Per container, created on first use and reused: one boto3 DynamoDB client, the
``DynamoDBSaver`` and the ``DynamoDBStore`` on it (the incident memory, in the same table:
past investigations, recalled for the consensus), the compiled graph, the telemetry
clients and the idempotency layer.

Idempotency works at two levels, both keyed by the EventBridge event ``id`` (kept by
EventBridge and by the queue when they redeliver):

1. aws-lambda-powertools' idempotency, persisted in the checkpoint table itself (partition
   ``idempotency#<function name>``, which cannot collide with the saver's ``t#...``
   partitions; expiry in the table's TTL attribute ``ttl``). A redelivery gets the stored
   response, and a concurrent duplicate gets a 409 instead of a second run.
2. The checkpointer: the thread id is the execution id derived from the event id. Once the
   idempotency record has expired, a redelivery still finds the finished run and returns
   its stored result (nothing runs); after a crash or a timeout, the retry resumes from the
   last checkpoint, re-running only the agents that had not finished.

Responses::

    200 {"statusCode": 200, "executionId", "status": "SUCCESS|PARTIAL|FAILURE",
         "mode": "fresh|resumed|stored", "redelivered": bool, "recommendation", "result"}
    400 {"statusCode": 400, "error": {"type": "InvalidEvent", "message", "errors": [...]}}
    409 {"statusCode": 409, "error": {"type": "InProgress" | "EventIdReused", ...}}
    503 {"statusCode": 503, "error": {"type": "Unavailable" | "ModelThrottled", ...}}
    500 {"statusCode": 500, "error": {"type": "InternalError", ...}}

Environment:

| variable | default | meaning |
|---|---|---|
| ``CHECKPOINT_TABLE`` | (required) | the checkpoint table |
| ``CHECKPOINT_TTL_DAYS`` | 30 | checkpoint expiry (the table's TTL attribute ``ttl``) |
| ``DYNAMODB_ENDPOINT`` | | another DynamoDB endpoint (DynamoDB Local) |
| ``TELEMETRY_PROVIDER`` | ``fixtures`` | ``fixtures`` (recorded) or ``aws`` (read-only boto3) |
| ``CHANGES_TABLE``, ``RUNBOOKS_TABLE`` | | tables the ``aws`` provider queries by ``service`` |
| ``ANALYST`` | ``deterministic`` | or ``bedrock`` (needs ``langchain-aws``) |
| ``BEDROCK_MODEL_ID`` | | the model of the ``bedrock`` analyst |
| ``INCIDENT_BUDGET_USD`` | 0.10 | cost budget of one investigation (a signal) |
| ``AGENT_TIMEOUT_S`` | 20 | time budget of one agent |
| ``IDEMPOTENCY`` | ``on`` | ``off`` keeps only the checkpointer's idempotency |
| ``IDEMPOTENCY_TTL_S`` | 86400 | how long powertools keeps a response |
| ``INCIDENT_MEMORY`` | ``on`` | ``off`` runs without the store (no precedents recalled) |
| ``ANSWER_CACHE`` | ``on`` | ``off``: ask the analyst every time (see :mod:`.answers`) |
| ``ANSWER_CACHE_TTL_S`` | 21600 | how long an analyst answer is reused |
| ``POWERTOOLS_SERVICE_NAME`` | ``incident-investigator`` | log and metric ``service`` |
| ``POWERTOOLS_METRICS_NAMESPACE`` | ``IncidentInvestigator`` | metric namespace |
"""

from __future__ import annotations

import contextvars
import json
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBSaverError, DynamoDBStore

from . import memory
from . import observability as obs
from .analysts import Analyst, DeterministicAnalyst, LLMAnalyst, Throttled
from .answers import ANSWERS_TTL_S
from .events import InvalidEventError, parse_incident
from .investigation import Investigator
from .telemetry import ActionGroups, Boto3Provider, FixtureProvider

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.hook import IdempotentHookFunction

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", obs.SERVICE))
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", obs.NAMESPACE),
    service=os.environ.get("POWERTOOLS_SERVICE_NAME", obs.SERVICE),
)


@dataclass(frozen=True)
class Settings:
    """The handler's configuration, from environment variables (see the module docs)."""

    table: str
    region: str | None = None
    endpoint_url: str | None = None
    ttl_days: float = 30.0
    telemetry: str = "fixtures"
    changes_table: str | None = None
    runbooks_table: str | None = None
    analyst: str = "deterministic"
    bedrock_model_id: str | None = None
    budget_usd: float = 0.10
    agent_timeout_s: float = 20.0
    idempotency: bool = True
    idempotency_ttl_s: int = 86400
    memory: bool = True
    answer_cache: bool = True
    answer_cache_ttl_s: int = ANSWERS_TTL_S
    function_name: str = "local"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings.

        Raises:
            ValueError: ``CHECKPOINT_TABLE`` is missing or a value is malformed.
        """
        env = os.environ if environ is None else environ
        table = env.get("CHECKPOINT_TABLE", "")
        if not table:
            raise ValueError("CHECKPOINT_TABLE is not set")
        return cls(
            table=table,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("DYNAMODB_ENDPOINT") or None,
            ttl_days=float(env.get("CHECKPOINT_TTL_DAYS", "30")),
            telemetry=env.get("TELEMETRY_PROVIDER", "fixtures"),
            changes_table=env.get("CHANGES_TABLE") or None,
            runbooks_table=env.get("RUNBOOKS_TABLE") or None,
            analyst=env.get("ANALYST", "deterministic"),
            bedrock_model_id=env.get("BEDROCK_MODEL_ID") or None,
            budget_usd=float(env.get("INCIDENT_BUDGET_USD", "0.10")),
            agent_timeout_s=float(env.get("AGENT_TIMEOUT_S", "20")),
            idempotency=env.get("IDEMPOTENCY", "on").lower() not in ("off", "false", "0"),
            idempotency_ttl_s=int(env.get("IDEMPOTENCY_TTL_S", "86400")),
            memory=env.get("INCIDENT_MEMORY", "on").lower() not in ("off", "false", "0"),
            answer_cache=env.get("ANSWER_CACHE", "on").lower() not in ("off", "false", "0"),
            answer_cache_ttl_s=int(env.get("ANSWER_CACHE_TTL_S", str(ANSWERS_TTL_S))),
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
        )


@dataclass
class Runtime:
    """Everything created once per container."""

    settings: Settings
    saver: DynamoDBSaver
    store: DynamoDBStore | None
    investigator: Investigator
    investigate: Callable[..., dict[str, Any]]
    idempotency: IdempotencyConfig | None


IDEMPOTENCY_PARTITION_PREFIX = "idempotency#"
"""Partition of powertools' idempotency records in the checkpoint table (+ function name).

The saver's partitions all start with ``t#``, so these never meet its items; its
table-wide scans (``list(None)``, ``delete_for_runs``) skip foreign items."""

_runtime: Runtime | None = None
_ran: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("ran", default=None)


def _mark_redelivered(response: Any, record: Any) -> Any:
    if isinstance(response, dict):
        response = {**response, "redelivered": True}
    return response


def build_runtime(settings: Settings, *, client: Any = None) -> Runtime:
    """Create the per-container objects.

    Args:
        settings: The configuration.
        client: A boto3 DynamoDB client to share (default: a new one).
    """
    if client is None:
        import boto3
        from botocore.config import Config

        client = boto3.session.Session().client(
            "dynamodb",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": 5},
                connect_timeout=2,
                read_timeout=10,
                tcp_keepalive=True,
            ),
        )
    saver = DynamoDBSaver(
        table_name=settings.table,
        client=client,
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        ttl=timedelta(days=settings.ttl_days),
    )
    store = (
        DynamoDBStore(
            table_name=settings.table,
            client=client,
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            index=memory.index_config(),
        )
        if settings.memory
        else None
    )
    provider: ActionGroups
    if settings.telemetry == "aws":
        provider = Boto3Provider(
            region_name=settings.region,
            changes_table=settings.changes_table,
            runbooks_table=settings.runbooks_table,
        )
    elif settings.telemetry == "fixtures":
        provider = FixtureProvider()
    else:
        raise ValueError(
            f"TELEMETRY_PROVIDER must be 'fixtures' or 'aws', not {settings.telemetry!r}"
        )
    analyst: Analyst
    if settings.analyst == "bedrock":
        if not settings.bedrock_model_id:
            raise ValueError("ANALYST=bedrock needs BEDROCK_MODEL_ID")
        analyst = LLMAnalyst.bedrock(settings.bedrock_model_id, region_name=settings.region)
    else:
        analyst = DeterministicAnalyst()
    answers = (
        DynamoDBCache(
            table_name=settings.table,
            client=client,
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
        )
        if settings.answer_cache
        else None
    )
    investigator = Investigator(
        saver,
        store,
        provider=provider,
        analyst=analyst,
        answers=answers,
        answers_ttl_s=settings.answer_cache_ttl_s,
        budget_usd=settings.budget_usd,
        agent_timeout_s=settings.agent_timeout_s,
    )

    def investigate(event: dict[str, Any]) -> dict[str, Any]:
        outcome = investigator.investigate(event)
        _ran.set({"mode": outcome.mode, **obs.emit_agent_metrics(metrics, outcome.log)})
        result = outcome.result
        return {
            "statusCode": 200,
            "executionId": result["execution_id"],
            "status": result["status"],
            "mode": outcome.mode,
            "redelivered": False,
            "recommendation": result["recommendation"],
            "result": result,
        }

    config: IdempotencyConfig | None = None
    run: Callable[..., dict[str, Any]] = investigate
    if settings.idempotency:
        config = IdempotencyConfig(
            event_key_jmespath="id",
            payload_validation_jmespath="detail",
            expires_after_seconds=settings.idempotency_ttl_s,
            use_local_cache=True,
            response_hook=cast("IdempotentHookFunction", _mark_redelivered),
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=settings.table,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=f"{IDEMPOTENCY_PARTITION_PREFIX}{settings.function_name}",
            expiry_attr="ttl",
            boto3_client=client,
        )
        run = idempotent_function(
            investigate,
            data_keyword_argument="event",
            persistence_store=persistence,
            config=config,
            key_prefix="investigation",
        )
    return Runtime(settings, saver, store, investigator, run, config)


def get_runtime() -> Runtime:
    """The container's runtime, created on first use from the environment."""
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(Settings.from_env())
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    """Install a runtime (tests, the demo); ``None`` makes the next call read the env."""
    global _runtime
    _runtime = runtime


def _error(status: int, kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"statusCode": status, "error": {"type": kind, "message": message, **extra}}


class _LocalContext:
    """Stands in for a missing Lambda context (local calls)."""

    function_name = "local"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:local"
    memory_limit_in_mb = 0
    log_group_name = "local"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _handle(event: Any, context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    _ran.set(None)
    try:
        incident = parse_incident(event)
    except InvalidEventError as exc:
        metrics.add_metric(name=obs.EXECUTION_REJECTED, unit=MetricUnit.Count, value=1)
        logger.warning("invalid event", extra={"errors": exc.errors})
        return _error(400, "InvalidEvent", str(exc), errors=exc.errors)
    logger.append_keys(
        event_id=incident["event_id"],
        execution_id=incident["execution_id"],
        incident_service=incident["service"],
    )
    metrics.add_metric(name=obs.EXECUTION_COUNT, unit=MetricUnit.Count, value=1)
    failed = True
    checkpoints: tuple[Any, dict[str, Any]] | None = None
    try:
        runtime = get_runtime()
        checkpoints = (runtime.saver, runtime.saver.stats.snapshot())
        if runtime.idempotency is not None:
            runtime.idempotency.register_lambda_context(context)
        response = runtime.investigate(event=event)
        failed = response.get("status") == "FAILURE"
        ran = _ran.get()
        if ran is None or ran["mode"] != "fresh":
            metrics.add_metric(name=obs.REPLAY_COUNT, unit=MetricUnit.Count, value=1)
        if ran is not None:
            metrics.add_metric(name=obs.COST_TOTAL, unit=MetricUnit.NoUnit, value=ran["cost_usd"])
            metrics.add_metric(
                name=obs.EXECUTION_RETRIES, unit=MetricUnit.Count, value=ran["retries"]
            )
            if ran["agents_run"]:
                metrics.add_metric(
                    name=obs.AGENT_FAILURE_RATE, unit=MetricUnit.Percent, value=ran["failure_rate"]
                )
        logger.info(
            "investigation done",
            extra={
                "status": response.get("status"),
                "mode": ran["mode"] if ran else "redelivered",
                "action": response.get("recommendation", {}).get("action"),
            },
        )
        return response
    except IdempotencyAlreadyInProgressError:
        failed = False
        logger.warning("duplicate delivery while the first one runs")
        return _error(409, "InProgress", "this event is being investigated by another invocation")
    except IdempotencyValidationError:
        return _error(409, "EventIdReused", "this event id was seen with a different detail")
    except (IdempotencyPersistenceLayerError, DynamoDBSaverError) as exc:
        logger.exception("checkpoint store unavailable")
        return _error(503, "Unavailable", f"{type(exc).__name__}: {exc}"[:500])
    except Throttled as exc:
        logger.warning("the model is throttled after every attempt: retry later")
        return _error(503, "ModelThrottled", f"{type(exc).__name__}: {exc}"[:500])
    except Exception as exc:
        logger.exception("investigation failed")
        return _error(500, "InternalError", f"{type(exc).__name__}: {exc}"[:500])
    finally:
        if failed:
            metrics.add_metric(name=obs.EXECUTION_FAILURES, unit=MetricUnit.Count, value=1)
        if checkpoints is not None:
            saver, before = checkpoints
            obs.emit_checkpoint_metrics(metrics, saver.stats.since(before))
        metrics.add_metric(
            name=obs.EXECUTION_DURATION,
            unit=MetricUnit.Milliseconds,
            value=round((time.perf_counter() - started) * 1000, 3),
        )


RETRYABLE: frozenset[tuple[int, str]] = frozenset(
    {(503, "Unavailable"), (503, "ModelThrottled"), (409, "InProgress"), (500, "InternalError")}
)
"""Responses whose event is delivered again (the others are final: done, or a bad event
or a reused event id, which would fail the same way)."""


class RetryLater(Exception):
    """A record to deliver again: reported to SQS as a batch item failure."""


def is_retryable(response: Mapping[str, Any]) -> bool:
    """Whether a structured response asks for the event to be delivered again."""
    error = response.get("error") or {}
    return (int(response.get("statusCode", 0)), str(error.get("type", ""))) in RETRYABLE


def _is_queue_batch(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records
    )


_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord, context: Any) -> dict[str, Any]:
    """One queue message: its EventBridge event investigated; raises to be retried."""
    logger.append_keys(message_id=record.message_id)
    try:
        event = json.loads(record.body)
    except ValueError as exc:
        metrics.add_metric(name=obs.EXECUTION_REJECTED, unit=MetricUnit.Count, value=1)
        logger.warning("a message that is not JSON", extra={"error": str(exc)[:200]})
        return _error(400, "InvalidEvent", f"the message body is not JSON: {exc}"[:500])
    response = _handle(event, context)
    if is_retryable(response):
        error = response["error"]
        raise RetryLater(f"{error['type']}: {error['message']}"[:500])
    return response


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def _instrumented(event: Any, context: Any) -> dict[str, Any]:
    if _is_queue_batch(event):
        answer = process_partial_response(
            event=event,
            record_handler=lambda record: _record(record, context),
            processor=_processor,
            context=context,
        )
        failures = answer.get("batchItemFailures", [])
        if failures:
            logger.warning(
                "records to deliver again",
                extra={"failures": [f["itemIdentifier"] for f in failures]},
            )
        return cast("dict[str, Any]", answer)
    return _handle(event, context)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: never raises.

    Args:
        event: An SQS batch of EventBridge incident events (as the templates deliver
            them), or one EventBridge event.
        context: The Lambda context (a stand-in is used when ``None``).

    Returns:
        For a batch, ``{"batchItemFailures": [{"itemIdentifier": message id}, ...]}``: the
        records to deliver again. For one event, a structured response; ``statusCode``
        200, 400, 409, 500 or 503.
    """
    try:
        response = _instrumented(event, context if context is not None else _LocalContext())
        return cast("dict[str, Any]", response)
    except Exception as exc:  # the decorators themselves failed (e.g. flushing metrics)
        logger.exception("handler failed")
        if _is_queue_batch(event):  # deliver every record again rather than lose one
            ids = [r.get("messageId", "") for r in event["Records"]]
            return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        return _error(500, "InternalError", f"{type(exc).__name__}: {exc}"[:500])
