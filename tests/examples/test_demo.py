"""``python -m examples.incident`` runs end to end (on the session's DynamoDB Local, and on
moto's server when Java is missing)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest

import examples
from examples.incident import demo
from examples.incident.investigation import Investigator
from examples.incident.telemetry import load_scenarios
from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION

pytestmark = pytest.mark.integration


def test_demo(ddb_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    table = f"incident-demo-{uuid.uuid4().hex[:6]}"
    assert demo.main(["--endpoint-url", ddb_endpoint, "--table", table]) == 0
    out = capsys.readouterr().out
    assert "RECOMMENDATION [SUCCESS] (human approval required):" in out
    assert "roll back checkout-api from v2.14.0 to v2.13.4" in out
    assert "mode=stored, agents run: none, identical result: True" in out
    assert "7 checkpoints holding 11 node runs; DynamoDB items: 7 checkpoints, 11 writes" in out
    assert "SIGKILL -> exit status -9" in out
    assert "agents re-run: ['runbooks']" in out
    assert "result identical to the uncrashed run: yes" in out
    assert "answers reused for the same evidence (DynamoDBCache, same table): 6 of 6" in out
    assert "redelivery: 200 SUCCESS redelivered=True" in out
    assert "bad event:  400 InvalidEvent" in out
    assert "Execution/Count" in out and "Replay/Count" in out


def test_demo_other_scenario_without_crash(
    ddb_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = f"incident-demo-{uuid.uuid4().hex[:6]}"
    args = [
        "--endpoint-url",
        ddb_endpoint,
        "--table",
        table,
        "--scenario",
        "orders-throttling",
        "--no-crash",
    ]
    assert demo.main(args) == 0
    out = capsys.readouterr().out
    assert "raise DynamoDB capacity or smooth the load" in out
    assert "dissent, dependencies" in out
    assert "Crash and resume" not in out


def test_moto_when_java_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo.shutil, "which", lambda name: None)
    event = load_scenarios()["checkout-latency"]["event"]
    with ExitStack() as stack:
        endpoint = demo.start_dynamodb(stack)
        assert demo.is_loopback(endpoint)
        with DynamoDBSaver.from_table(
            "incident-moto", endpoint_url=endpoint, region_name=REGION
        ) as saver:
            saver.setup()
            outcome = Investigator(saver).investigate(event)
            assert outcome.result["status"] == "SUCCESS"
            assert len(Investigator(saver).trail(outcome.thread_id)) == 7


def test_module_entry_point(ddb_endpoint: str) -> None:
    env = dict(os.environ)
    root = str(Path(examples.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    table = f"incident-demo-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.incident",
            "--endpoint-url",
            ddb_endpoint,
            "--table",
            table,
            "--no-crash",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "RECOMMENDATION [SUCCESS]" in done.stdout


def test_is_loopback() -> None:
    assert demo.is_loopback("http://127.0.0.1:8000")
    assert demo.is_loopback("http://localhost:8000")
    assert not demo.is_loopback("https://dynamodb.eu-west-1.amazonaws.com")
