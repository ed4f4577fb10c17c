"""``export`` and ``import``: LangGraph reads an imported thread exactly as the original
(history, values, metadata, pending writes, interrupts, subgraph namespaces), a waiting
thread resumes from the copy as from the original, a cut export or an interrupted import
loses nothing, and a re-run skips what is there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli import threads as th
from tests.cli.conftest import ROOT, script
from tests.conftest import ctrl_c_as_at_a_terminal

pytestmark = pytest.mark.integration


@pytest.fixture
def filled(new_table, saver_of):
    """A table with the representative threads, and its saver."""
    table = new_table()
    saver = saver_of(table)
    th.fill(saver)
    return table, saver


def _same_threads(a, b, names=th.THREADS) -> None:
    for name in names:
        assert th.tuples(b, name) == th.tuples(a, name), name
        assert th.state_history(b, name) == th.state_history(a, name), name


def test_export_import_is_lossless(cli, filled, new_table, saver_of, tmp_path: Path) -> None:
    table, saver = filled
    out = tmp_path / "all.jsonl"
    exported = cli("export", "-o", str(out), table=table)
    assert exported.rc == 0, exported.err
    lines = out.read_text().splitlines()
    head, foot = json.loads(lines[0]), json.loads(lines[-1])
    assert head["format"] == "langgraph-dynamodb-export" and head["version"] == 1
    assert foot == {"end": True, "threads": len(th.THREADS), "checkpoints": len(lines) - 2}
    assert not (tmp_path / "all.jsonl.partial").exists()

    copy = new_table()
    imported = cli("import", str(out), table=copy)
    assert imported.rc == 0, imported.err
    assert f"imported {len(lines) - 2:,} checkpoints" in imported.err
    target = saver_of(copy)
    _same_threads(saver, target)

    # a waiting thread resumes from the copy exactly as from the original
    for name in ("waiting", "nested"):
        assert th.resume(target, name) == th.resume(saver, name), name

    again = cli("import", str(out), table=copy)
    assert again.rc == 0 and "were there already" in again.err


def test_named_threads_and_stdout(cli, filled, new_table, saver_of) -> None:
    table, saver = filled
    exported = cli("export", "waiting", "nested", table=table)
    assert exported.rc == 0, exported.err
    records = [json.loads(line) for line in exported.out.splitlines()]
    assert {r["thread_id"] for r in records[1:-1]} == {"waiting", "nested"}
    assert any(r["checkpoint_ns"] for r in records[1:-1])  # subgraph namespaces
    copy = new_table()
    assert cli("import", table=copy, input=exported.out).rc == 0
    _same_threads(saver, saver_of(copy), ["waiting", "nested"])
    missing = cli("export", "no-such-thread", table=table)
    assert missing.rc == 1 and "no-such-thread" in missing.err


def test_cut_export_imports_what_it_holds_and_says_so(
    cli, filled, new_table, saver_of, tmp_path
) -> None:
    table, saver = filled
    full = cli("export", table=table)
    lines = full.out.splitlines()
    chat_end = max(
        i for i, line in enumerate(lines[1:-1], 1) if json.loads(line)["thread_id"] == "chat"
    )
    cut = "\n".join(lines[: chat_end + 1]) + "\n"
    copy = new_table()
    got = cli("import", table=copy, input=cut)
    assert got.rc == 1 and "cut short" in got.err
    rest = cli("import", table=copy, input=full.out)
    assert rest.rc == 0, rest.err
    _same_threads(saver, saver_of(copy))


def test_interrupted_import_resumes(cli, ddb_endpoint, new_table, saver_of, tmp_path) -> None:
    source = new_table()
    saver = saver_of(source)
    for i in range(6):
        th.fill(saver, prefix=f"t{i}-")
    out = tmp_path / "big.jsonl"
    assert cli("export", "-o", str(out), table=source).rc == 0
    total = len(out.read_text().splitlines()) - 2
    copy = new_table()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    proc = subprocess.Popen(
        [script(), "--table", copy, "import", str(out), "--parallel", "1"],  # slower
        preexec_fn=ctrl_c_as_at_a_terminal,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    target = saver_of(copy)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(target.list(None)):
        time.sleep(0.02)  # interrupted as soon as a checkpoint is in: well before the end
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the command again" in err
    done = len(list(target.list(None)))
    assert 0 < done < total
    again = cli("import", str(out), table=copy)
    assert again.rc == 0, again.err
    names = [f"t{i}-{n}" for i in range(6) for n in th.THREADS]
    for name in names:
        assert th.tuples(target, name) == th.tuples(saver, name), name


def test_export_and_import_are_parallel_and_whole(cli, new_table, saver_of) -> None:
    table = new_table()
    saver = saver_of(table)
    for i in range(3):
        th.fill(saver, prefix=f"p{i}-")
    one = cli("export", "--segments", "1", table=table)
    eight = cli("export", "--segments", "8", table=table)
    assert one.rc == eight.rc == 0

    def key(line):
        return (
            json.loads(line).get("thread_id", ""),
            json.loads(line).get("checkpoint_id", ""),
        )  # noqa: E731

    assert sorted(one.out.splitlines()[1:-1], key=key) == sorted(
        eight.out.splitlines()[1:-1], key=key
    )
    for parallel in ("1", "8"):
        copy = new_table()
        got = cli("import", "--parallel", parallel, table=copy, input=eight.out)
        assert got.rc == 0, got.err
        target = saver_of(copy)
        for name in [f"p{i}-{n}" for i in range(3) for n in th.THREADS]:
            assert th.tuples(target, name) == th.tuples(saver, name), (parallel, name)


def test_bad_files_get_one_clear_line(cli, new_table, tmp_path) -> None:
    copy = new_table()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    got = cli("import", str(bad), table=copy)
    assert got.rc == 1 and "not an export header" in got.err and "Traceback" not in got.err
    got = cli("import", str(tmp_path / "missing.jsonl"), table=copy)
    assert got.rc == 2 and "no such file" in got.err
