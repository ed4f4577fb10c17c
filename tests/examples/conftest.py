"""Fixtures of the incident example's tests: a checkpoint table, savers, events."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from examples.incident.telemetry import load_scenarios
from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION


@pytest.fixture(scope="session")
def scenarios() -> dict[str, dict[str, Any]]:
    """The recorded scenarios shipped with the example."""
    return load_scenarios()


@pytest.fixture(scope="session")
def incident_table(ddb_endpoint: str) -> str:
    """A checkpoint table for this test session, created by ``DynamoDBSaver.setup()``."""
    name = f"incident-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as saver:
        saver.setup()
    return name


@pytest.fixture
def saver(ddb_endpoint: str, incident_table: str) -> Iterator[DynamoDBSaver]:
    """A saver on the session's checkpoint table."""
    with DynamoDBSaver.from_table(
        incident_table, endpoint_url=ddb_endpoint, region_name=REGION
    ) as s:
        yield s


def fresh(event: dict[str, Any], **detail: Any) -> dict[str, Any]:
    """A copy of an event with a new id (a new delivery), detail fields overridden."""
    out = copy.deepcopy(event)
    out["id"] = str(uuid.uuid4())
    out["detail"].update(detail)
    return out


@pytest.fixture
def event(scenarios: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The checkout incident, as a new delivery."""
    return fresh(scenarios["checkout-latency"]["event"])


@pytest.fixture(scope="session")
def cdk_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The CDK app synthesized once per session, in-process (``aws_cdk.assertions.Template``).

    jsii runs the CDK in Node; Node 20 works but warns that it is end-of-life.
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import assertions

    from examples.incident.infra.cdk_app import build_app

    root = tmp_path_factory.mktemp("cdk")
    code = root / "code"  # a stand-in: the real asset is bundled (test_artifact.py builds it)
    (code / "incident").mkdir(parents=True)
    (code / "incident" / "handler.py").write_text("def handler(event, context): ...\n")
    app, stack = build_app(code_dir=code, outdir=str(root / "cdk.out"))
    app.synth()
    return assertions.Template.from_stack(stack)
