"""``import --from MODULE:FACTORY``: threads of another saver, read with its ``list`` and
``get_tuple``, written with ours, resumable; LangGraph reads them as from the source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_dynamodb.cli import main
from tests.cli import sources
from tests.cli import threads as th
from tests.conftest import REGION

pytestmark = pytest.mark.integration


def test_from_in_memory_saver_in_process(ddb_endpoint, new_table, saver_of, capsys) -> None:
    """The source stays in this process (an InMemorySaver), so the comparison is exact."""
    sources.MEMORY = InMemorySaver()
    th.fill(sources.MEMORY)
    table = new_table()
    argv = ["--table", table, "--endpoint-url", ddb_endpoint, "--region", REGION]
    assert main([*argv, "import", "--from", "tests.cli.sources:memory_saver"]) == 0
    target = saver_of(table)
    for name in th.THREADS:
        assert th.tuples(target, name) == th.tuples(sources.MEMORY, name), name
        assert th.state_history(target, name) == th.state_history(sources.MEMORY, name), name
    for name in ("waiting", "nested"):
        assert th.resume(target, name) == th.resume(sources.MEMORY, name), name
    assert main([*argv, "import", "--from", "tests.cli.sources:memory_saver"]) == 0
    assert "were there already" in capsys.readouterr().err


def test_from_sqlite_saver_with_the_console_script(
    cli, new_table, saver_of, tmp_path: Path
) -> None:
    from langgraph.checkpoint.sqlite import SqliteSaver

    db = tmp_path / "checkpoints.sqlite"
    with SqliteSaver.from_conn_string(str(db)) as source:
        th.fill(source)
    table = new_table()
    env = {"LANGGRAPH_DYNAMODB_SOURCE": str(db)}
    got = cli("import", "--from", "langgraph_dynamodb.cli.sources:sqlite", table=table, env=env)
    assert got.rc == 0, got.err
    target = saver_of(table)
    with SqliteSaver.from_conn_string(str(db)) as source:
        for name in th.THREADS:
            assert th.tuples(target, name) == th.tuples(source, name), name
            assert th.state_history(target, name) == th.state_history(source, name), name
        for name in ("waiting", "nested"):
            assert th.resume(target, name) == th.resume(source, name), name


def test_only_named_threads(cli, new_table, saver_of) -> None:
    table = new_table()
    got = cli(
        "import",
        "--from",
        "tests.cli.sources:filled_memory_saver",
        "--thread",
        "chat",
        "--thread",
        "nested",
        table=table,
    )
    assert got.rc == 0, got.err
    listed = {t.config["configurable"]["thread_id"] for t in saver_of(table).list(None)}
    assert listed == {"chat", "nested"}


def test_factory_mistakes_get_one_line(cli, new_table) -> None:
    table = new_table()
    got = cli("import", "--from", "tests.cli.sources:not_a_saver", table=table)
    assert got.rc == 2 and "not a BaseCheckpointSaver" in got.err and "Traceback" not in got.err
    got = cli("import", "--from", "tests.cli.nowhere:saver", table=table)
    assert got.rc == 2 and "cannot import" in got.err
    got = cli("import", "--from", "no-colon", table=table)
    assert got.rc == 2 and "MODULE:NAME" in got.err
    assert os.environ.get("LANGGRAPH_DYNAMODB_TABLE") is None
