"""The command line's tests: they run the installed console script, ``langgraph-dynamodb``,
as a user would, against the session's DynamoDB Local."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    """What a run of the command printed and returned."""

    rc: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def script() -> str:
    """The installed console script (next to this interpreter)."""
    found = shutil.which("langgraph-dynamodb", path=os.path.dirname(sys.executable))
    assert found, "langgraph-dynamodb is not installed: pip install -e '.[cli]'"
    return found


CLI = Callable[..., Result]


@pytest.fixture(scope="session")
def cli(ddb_endpoint: str) -> CLI:
    """``cli("threads", "--json", table=T)``: the console script with the endpoint and
    region in the environment (as a user's shell would have them)."""
    exe = script()

    def run(
        *args: str,
        table: str | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
        unset: tuple[str, ...] = (),
        timeout: float = 240,
    ) -> Result:
        full = {
            **os.environ,
            "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "COLUMNS": "200",
            **(env or {}),
        }
        full.pop("LANGGRAPH_DYNAMODB_TABLE", None)
        for name in unset:
            full.pop(name, None)
        if table is not None:
            full["LANGGRAPH_DYNAMODB_TABLE"] = table
        done = subprocess.run(
            [exe, *args],
            input=input,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=full,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def new_table(ddb_endpoint: str) -> Callable[[], str]:
    """Make a fresh table (with the saver's setup) and return its name."""

    def make() -> str:
        name = f"cli-{uuid.uuid4().hex[:10]}"
        with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
            s.setup(prepare_async=False)
        return name

    return make


@pytest.fixture
def saver_of(ddb_endpoint: str) -> Callable[[str], DynamoDBSaver]:
    """A saver of a table (closed at the end of the test)."""
    made: list[DynamoDBSaver] = []

    def make(table: str) -> DynamoDBSaver:
        s = DynamoDBSaver(table_name=table, endpoint_url=ddb_endpoint, region_name=REGION)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
