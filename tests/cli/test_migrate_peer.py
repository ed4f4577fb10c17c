"""``import --from langgraph_dynamodb.cli.sources:langgraph_checkpoint_aws``: a table of
langgraph-checkpoint-aws's DynamoDBSaver, on DynamoDB Local, migrated; LangGraph reads
every thread as from the source and the waiting ones resume alike. The peer runs in a
virtualenv of its own (made once under .venvs/, never in ours), with this package."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT
from tests.conftest import REGION

pytestmark = pytest.mark.integration

PEER = ["langgraph-checkpoint-aws==1.2.6", "langgraph>=1.2.13,<2"]


@pytest.fixture(scope="module")
def peer_python() -> Path:
    """A venv with the peer and this package (with its cli extra), made once."""
    venv = ROOT / ".venvs" / "cli-peer"
    want = hashlib.sha256(
        "\n".join([*PEER, (ROOT / "pyproject.toml").read_text(), sys.version]).encode()
    ).hexdigest()
    stamp = venv / "stamp"
    python = venv / "bin" / "python"
    if not (stamp.exists() and stamp.read_text() == want and python.exists()):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-e",
                f"{ROOT}[cli]",
                *PEER,
            ],
            check=True,
            timeout=900,
        )
        stamp.write_text(want)
    return python


def test_migrate_from_langgraph_checkpoint_aws(peer_python: Path, ddb_endpoint, new_table) -> None:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "PYTHONPATH": str(ROOT),
    }
    source = f"peer-{uuid.uuid4().hex[:8]}"

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=300
        )

    filled = run(str(peer_python), "-m", "tests.cli.peer", "fill", source)
    assert filled.returncode == 0, filled.stderr[-3000:]
    ours = new_table()
    cli = str(peer_python.parent / "langgraph-dynamodb")
    spec = "langgraph_dynamodb.cli.sources:langgraph_checkpoint_aws"
    got = run(cli, "--table", ours, "import", "--from", spec, LANGGRAPH_DYNAMODB_SOURCE=source)
    assert got.returncode == 0, got.stderr[-3000:]
    assert "of 5 threads" in got.stderr
    same = run(str(peer_python), "-m", "tests.cli.peer", "compare", source, ours)
    assert same.returncode == 0, same.stderr[-3000:]
    assert same.stdout.strip() == "same"
    again = run(cli, "--table", ours, "import", "--from", spec, LANGGRAPH_DYNAMODB_SOURCE=source)
    assert again.returncode == 0 and "were there already" in again.stderr
