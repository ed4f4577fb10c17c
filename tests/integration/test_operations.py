"""docs/operations.md's restore runbook on DynamoDB Local, with the library's own
``export`` and ``import`` standing in for what only AWS has (a backup, a restore into a
new table): restore into a new table and switch to it, or copy a lost thread back."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.cli import main

from ..conftest import REGION
from .test_iam import run_graph

pytestmark = pytest.mark.integration


def state(saver: DynamoDBSaver, thread: str) -> Any:
    config = {"configurable": {"thread_id": thread}}
    latest = saver.get_tuple(config)
    history = [t.checkpoint["id"] for t in saver.list(config)]
    if latest is None:
        return None
    return latest.checkpoint["channel_values"], history


def test_restore_into_a_new_table_then_switch_or_copy_back(
    ddb_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rich")  # the command line's extra
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    live, restored = (f"ops-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("live", "restored"))
    with DynamoDBSaver(table_name=live) as saver:
        saver.setup(prepare_async=False)
        for thread in ("thread-7", "thread-8"):
            run_graph(saver, thread)
        before = {t: state(saver, t) for t in ("thread-7", "thread-8")}
        backup = str(tmp_path / "backup.jsonl")
        assert main(["--table", live, "export", "-o", backup]) == 0  # stands in for a backup
        saver.delete_thread("thread-7")  # the mistake
        run_graph(saver, "thread-9")  # written after the backup
        assert state(saver, "thread-7") is None
    # the restore: a new table, as PITR or a backup restore makes
    assert main(["--table", restored, "setup", "--ttl"]) == 0
    assert main(["--table", restored, "import", backup]) == 0
    with DynamoDBSaver(table_name=restored) as switched:  # 1. switch: table_name
        assert {t: state(switched, t) for t in before} == before
        assert state(switched, "thread-9") is None  # written after the restore point
    # 2. copy back what was lost, keep what was written since
    lost = str(tmp_path / "lost.jsonl")
    assert main(["--table", restored, "export", "thread-7", "-o", lost]) == 0
    assert main(["--table", live, "import", lost]) == 0
    assert main(["--table", live, "import", lost]) == 0  # again: nothing twice
    with DynamoDBSaver(table_name=live) as saver:
        assert {t: state(saver, t) for t in before} == before
        assert state(saver, "thread-9") is not None
