"""The Lambda artifact, built as it is deployed, runs an investigation from a clean Python.

The CDK app's bundling (:func:`examples.incident.infra.bundling.install`, which is what
``sam build`` does with the SAM template's ``CodeUri`` too: the code folder plus
``requirements.txt`` installed next to it) builds the folder for Lambda's platform, with
this repository's wheel standing in for the package index. A virtualenv of the Lambda
runtime's Python with nothing installed then imports the handler from that folder only
(as Lambda does from ``/var/task``) and investigates an event from an SQS batch on
DynamoDB Local.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from examples.incident.infra import bundling, spec

from ..conftest import REGION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_LIMIT_MB = 250
"""Lambda's limit on a function's unzipped code."""

RUN = """
import json, os, sys
from incident import handler
from incident.telemetry import load_scenarios
from langgraph_dynamodb import DynamoDBSaver

saver = DynamoDBSaver(table_name=os.environ["CHECKPOINT_TABLE"],
                      endpoint_url=os.environ["DYNAMODB_ENDPOINT"])
saver.setup(prepare_async=False)
event = load_scenarios()["checkout-latency"]["event"]
event["id"] = os.environ["EVENT_ID"]
batch = {"Records": [{"messageId": "m-1", "receiptHandle": "r", "body": json.dumps(event),
                      "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
                      "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:::q",
                      "awsRegion": os.environ["AWS_REGION"]}]}
answer = handler.handler(batch, None)
again = handler.handler(event, None)
import langgraph_dynamodb
print(json.dumps({"answer": answer, "status": again["status"], "redelivered": again["redelivered"],
                  "action": again["recommendation"]["action"],
                  "library": langgraph_dynamodb.__file__, "sys_path": sys.path}))
"""


def _python(version: str) -> str | None:
    """That Python from PATH or pyenv, the first that runs (as scripts/compat.sh finds it)."""
    candidates = [shutil.which(f"python{version}")]
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
        candidates += [
            str(p) for p in sorted(Path(root, "versions").glob(f"{version}*/bin/python{version}"))
        ]
    except (OSError, subprocess.CalledProcessError):
        pass
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "-c", "import sys"], capture_output=True).returncode == 0
        ):
            return candidate
    return None


def _size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def test_the_built_artifact_investigates_from_a_clean_python(
    tmp_path: Path, ddb_endpoint: str
) -> None:
    python = _python(bundling.PYTHON_VERSION)
    if python is None:
        pytest.skip(f"Python {bundling.PYTHON_VERSION} (the Lambda runtime's) is not here")
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
    )
    artifact = tmp_path / "artifact"
    os.environ["PIP_FIND_LINKS"] = str(dist)  # the index, until the package is published
    try:
        bundling.install(spec.CODE_DIR, artifact)
    finally:
        del os.environ["PIP_FIND_LINKS"]
    size = _size_mb(artifact)
    print(f"artifact: {size:.1f} MB unzipped")
    assert size < LAMBDA_LIMIT_MB
    assert (artifact / "incident" / "handler.py").is_file()
    assert (artifact / "requirements.txt").is_file()
    assert not (artifact / "quickstart.py").exists()
    assert not list((artifact / "incident").rglob("__pycache__"))  # no stale bytecode of ours

    clean = tmp_path / "clean"
    subprocess.run([python, "-m", "venv", "--without-pip", str(clean)], check=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(artifact),  # Lambda's /var/task
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "CHECKPOINT_TABLE": f"artifact-{uuid.uuid4().hex[:8]}",
        "DYNAMODB_ENDPOINT": ddb_endpoint,
        "EVENT_ID": str(uuid.uuid4()),
        "POWERTOOLS_METRICS_NAMESPACE": "IncidentInvestigator",
    }
    done = subprocess.run(
        [str(clean / "bin" / "python"), "-c", RUN],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["answer"] == {"batchItemFailures": []}
    assert (out["status"], out["redelivered"]) == ("SUCCESS", True)
    assert out["action"].startswith("roll back checkout-api")
    assert out["library"].startswith(str(artifact))  # the wheel in the artifact, not src/
    assert not any(str(ROOT) in p for p in out["sys_path"])
