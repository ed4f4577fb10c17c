"""Delivery as deployed: EventBridge -> SQS (redrive to a dead-letter queue after
``spec.QUEUE_MAX_RECEIVES`` receives) -> Lambda with partial batch responses.

The queue is moto's SQS server (it implements receive counts and the redrive policy);
:class:`EventSourceMapping` does what Lambda's SQS poller does: receive, invoke the handler
with the SQS event, delete the records not reported as failures. DynamoDB is DynamoDB
Local behind a fault proxy, so it can be down and come back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config

from examples.incident import handler
from examples.incident.infra import spec
from examples.incident.investigation import Investigator
from langgraph_dynamodb.local import free_port

from ..conftest import REGION
from ..reliability.faultproxy import FaultProxy
from .conftest import fresh
from .test_handler import Context

pytestmark = pytest.mark.integration

DOWN = {"http_503": 1.0}
"""Every DynamoDB request answered 503 ServiceUnavailable."""


@dataclass
class EventSourceMapping:
    """Lambda's SQS poller, in the test: one batch per :meth:`poll`."""

    sqs: Any
    queue_url: str
    batch_size: int = spec.QUEUE_BATCH_SIZE
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def poll(self) -> dict[str, Any] | None:
        """Receive a batch, invoke the handler, delete what succeeded; ``None`` if empty."""
        got = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            VisibilityTimeout=0,  # a failed record is visible again at once (no waiting here)
        ).get("Messages", [])
        if not got:
            return None
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:incidents",
                    "awsRegion": REGION,
                }
                for m in got
            ]
        }
        answer = handler.handler(event, Context())
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        for m in got:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.invocations.append({"received": [m["MessageId"] for m in got], "failed": failed})
        return answer


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def queues(sqs_endpoint: str) -> tuple[Any, str, str]:
    """The incident queue and its dead-letter queue, as the templates make them."""
    sqs = boto3.client(
        "sqs",
        endpoint_url=sqs_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"incidents-{free_port()}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.QUEUE_MAX_RECEIVES)}
    url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(redrive)})[
        "QueueUrl"
    ]
    return sqs, url, dlq_url


@pytest.fixture
def proxy(ddb_endpoint: str) -> Iterator[FaultProxy]:
    with FaultProxy(ddb_endpoint, rate=0.0, weights=DOWN) as p:
        yield p


@pytest.fixture
def runtime(proxy: FaultProxy, incident_table: str) -> Iterator[handler.Runtime]:
    """The handler's runtime on DynamoDB Local through the proxy, with few client retries."""
    settings = handler.Settings(
        table=incident_table, region=REGION, endpoint_url=proxy.endpoint_url
    )
    client = boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=proxy.endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2),
    )
    rt = handler.build_runtime(settings, client=client)
    handler.set_runtime(rt)
    yield rt
    handler.set_runtime(None)


def _send(sqs: Any, url: str, body: str) -> str:
    return str(sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"])


def _count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_dynamodb_down_retries_and_a_bad_event_does_not(
    queues: tuple[Any, str, str],
    proxy: FaultProxy,
    runtime: handler.Runtime,
    event: dict[str, Any],
) -> None:
    sqs, url, dlq_url = queues
    good = _send(sqs, url, json.dumps(event))
    bad = _send(sqs, url, json.dumps({"id": "not-an-incident", "detail": {}}))
    mapping = EventSourceMapping(sqs, url, batch_size=10)

    proxy.rate = 1.0  # DynamoDB down
    answer = mapping.poll()
    assert answer == {"batchItemFailures": [{"itemIdentifier": good}]}  # the bad one is done
    assert mapping.invocations[0]["received"] == [good, bad]
    assert _count(sqs, url) == 1 and _count(sqs, dlq_url) == 0

    proxy.rate = 0.0  # DynamoDB back
    assert mapping.poll() == {"batchItemFailures": []}
    assert mapping.poll() is None  # nothing left: the record completed once
    assert _count(sqs, url) == 0 and _count(sqs, dlq_url) == 0
    # exactly once: one finished investigation, and a redelivery runs nothing
    execution = runtime.investigator.graph.get_state(
        Investigator.config(handler.parse_incident(event)["execution_id"])
    )
    assert execution.values["result"]["status"] == "SUCCESS" and not execution.next
    again = handler.handler(event, Context())
    assert again["statusCode"] == 200 and again["redelivered"] is True


def test_a_failure_that_lasts_ends_in_the_dead_letter_queue(
    queues: tuple[Any, str, str], proxy: FaultProxy, runtime: handler.Runtime, event: dict[str, Any]
) -> None:
    sqs, url, dlq_url = queues
    message = _send(sqs, url, json.dumps(event))
    mapping = EventSourceMapping(sqs, url)
    proxy.rate = 1.0
    for _ in range(spec.QUEUE_MAX_RECEIVES):
        assert mapping.poll() == {"batchItemFailures": [{"itemIdentifier": message}]}
    assert mapping.poll() is None  # the next receive moved it to the dead-letter queue
    parked = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["id"] for m in parked] == [event["id"]]  # nothing lost

    # an operator redrives it once DynamoDB is back: it completes
    proxy.rate = 0.0
    sqs.send_message(QueueUrl=url, MessageBody=parked[0]["Body"])
    sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=parked[0]["ReceiptHandle"])
    assert mapping.poll() == {"batchItemFailures": []}


def test_a_throttled_model_is_retried_by_the_queue_and_resumes_one_agent(
    queues: tuple[Any, str, str], runtime: handler.Runtime, event: dict[str, Any]
) -> None:
    sqs, url, _ = queues
    investigator = runtime.investigator
    investigator.faults = f"throttle:metrics:{investigator.max_attempts}"  # every attempt
    message = _send(sqs, url, json.dumps(fresh(event)))
    mapping = EventSourceMapping(sqs, url)
    assert mapping.poll() == {"batchItemFailures": [{"itemIdentifier": message}]}
    investigator.faults = ""  # the model answers again
    assert mapping.poll() == {"batchItemFailures": []}
    assert mapping.poll() is None


def test_garbage_in_the_queue_is_not_retried(
    queues: tuple[Any, str, str], runtime: handler.Runtime
) -> None:
    sqs, url, dlq_url = queues
    _send(sqs, url, "not json")
    mapping = EventSourceMapping(sqs, url)
    assert mapping.poll() == {"batchItemFailures": []}
    assert _count(sqs, url) == 0 and _count(sqs, dlq_url) == 0


def test_a_handler_crash_reports_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(event: Any, context: Any) -> dict[str, Any]:
        raise RuntimeError("metrics could not be flushed")

    monkeypatch.setattr(handler, "_instrumented", boom)
    records = [{"messageId": f"m{i}", "eventSource": "aws:sqs", "body": "{}"} for i in range(2)]
    answer = handler.handler({"Records": records}, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
