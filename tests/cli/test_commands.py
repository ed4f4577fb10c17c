"""Every command through the installed console script, against DynamoDB Local: what it
prints (tables, ``--json``), its exit codes (0 ok, 1 problems, 2 usage), one line per error."""

from __future__ import annotations

import base64
import json
import os

import pytest

from tests.cli import threads as th
from tests.conftest import REGION

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def table(ddb_endpoint):
    """One table with the representative threads for the read-only commands."""
    import uuid

    from langgraph_dynamodb import DynamoDBSaver

    name = f"cli-read-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as saver:
        saver.setup(prepare_async=False)
        th.fill(saver)
    return name


def test_setup_creates_then_checks(cli) -> None:
    name = "cli-setup-" + os.urandom(4).hex()
    made = cli("--table", name, "setup", "--ttl")
    assert made.rc == 0 and "is ready" in made.out, made.err
    again = cli("setup", "--table", name)  # global options after the command too
    assert again.rc == 0
    doctor = cli("--table", name, "doctor")
    assert doctor.rc == 0, doctor.out
    assert "no problems" in doctor.out and "TTL" in doctor.out


def test_doctor_names_problems_and_fixes(cli, new_table) -> None:
    missing = cli("--table", "cli-no-such-table", "doctor")
    assert missing.rc == 1 and "does not exist" in missing.out and "setup" in missing.out
    plain = cli("--table", new_table(), "doctor")  # TTL disabled: a warning, not a problem
    assert plain.rc == 0 and "warn" in plain.out and "update-time-to-live" in plain.out
    found = {c["name"]: c for c in cli("--table", "cli-no-such-table", "doctor", "--json").json()}
    assert found["table"]["status"] == "problem" and "setup" in found["table"]["fix"]


def test_threads(cli, table, saver_of) -> None:
    got = cli("threads", "--json", table=table)
    assert got.rc == 0, got.err
    rows = got.json()
    assert {r["thread_id"] for r in rows} == set(th.THREADS)
    by = {r["thread_id"]: r for r in rows}
    saver = saver_of(table)
    for name in th.THREADS:
        assert by[name]["checkpoints"] == len(list(saver.list(th.cfg(name)))), name
    assert by["nested"]["namespaces"] >= 3
    assert [r["latest_checkpoint_id"] for r in rows] == sorted(
        (r["latest_checkpoint_id"] for r in rows), reverse=True
    )
    assert len(cli("threads", "--json", "--limit", "2", table=table).json()) == 2
    text = cli("threads", table=table)
    assert text.rc == 0 and "chat" in text.out and "5 of 5 threads" in text.out


def test_no_aws_setup_needed_for_dynamodb_local(cli, table, tmp_path) -> None:
    """No keys, no profile: DynamoDB Local accepts any, the command gives placeholders."""
    nowhere = str(tmp_path / "none")
    env = {"AWS_SHARED_CREDENTIALS_FILE": nowhere, "AWS_CONFIG_FILE": nowhere}
    got = cli("threads", table=table, env=env, unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    assert got.rc == 0, got.err


def test_history_and_show(cli, table, saver_of) -> None:
    got = cli("history", "waiting", "--json", table=table)
    assert got.rc == 0, got.err
    rows = got.json()
    saver = saver_of(table)
    expected = [t.config["configurable"]["checkpoint_id"] for t in saver.list(th.cfg("waiting"))]
    assert [r["checkpoint_id"] for r in rows] == expected
    assert rows[0]["interrupts"] == 2 and rows[0]["next"] == ["left", "right"]
    assert len(cli("history", "waiting", "--limit", "2", "--json", table=table).json()) == 2
    shown = cli("show", "waiting", "--json", table=table)
    assert shown.rc == 0
    d = shown.json()
    assert d["checkpoint_id"] == expected[0]
    assert d["values"]["log"] == ["start", "name=alice"]
    assert sorted(i["value"]["q"] for i in d["interrupts"]) == ["left?", "right?"]
    assert {w["channel"] for w in d["pending_writes"]} == {"__interrupt__"}
    old = cli("show", "waiting", expected[-1], "--json", table=table).json()
    assert old["checkpoint_id"] == expected[-1] and old["parent_checkpoint_id"] is None
    typed = cli("show", "typed", "--json", table=table).json()
    assert typed["values"]["profile"]["address"]["city"] == "Paris"
    assert typed["values"]["point"] == {"x": 6, "y": 4.0, "label": "q>"}
    text = cli("show", "waiting", table=table)
    assert text.rc == 0 and "interrupt" in text.out and "left, right" in text.out
    deep = cli("history", "nested", "--json", table=table).json()
    assert any(r["checkpoint_ns"] for r in deep)


def test_diff(cli, table, saver_of) -> None:
    got = cli("diff", "chat", "parent", "latest", "--json", table=table)
    assert got.rc == 0, got.err
    d = got.json()
    assert d["channels"]["summary"]["status"] == "changed"
    assert any("+" in line for line in d["channels"]["summary"]["diff"])
    text = cli("diff", "chat", "parent", "latest", table=table)
    assert text.rc == 0 and "summary" in text.out and "changed" in text.out


def test_not_found_and_usage(cli, table) -> None:
    got = cli("history", "nobody", table=table)
    assert got.rc == 1 and "no checkpoints" in got.err and "Traceback" not in got.err
    got = cli("show", "chat", "1ef00000-0000-6000-8000-000000000000", table=table)
    assert got.rc == 1 and "history chat" in got.err
    assert cli("threads").rc == 2  # no table
    assert "LANGGRAPH_DYNAMODB_TABLE" in cli("threads").err
    assert cli("frobnicate", table=table).rc == 2
    assert cli("prune", "chat", table=table).rc == 2  # --keep-latest or --delete
    broken = cli("--table", "cli-no-such-table", "threads")
    assert broken.rc == 1 and broken.err.count("\n") == 1 and "Traceback" not in broken.err
    debug = cli("--table", "cli-no-such-table", "--debug", "threads")
    assert debug.rc == 1 and "Traceback" in debug.err


def test_delete_prune_copy(cli, new_table, saver_of) -> None:
    table = new_table()
    saver = saver_of(table)
    th.fill(saver)
    refused = cli("delete", "chat", table=table)  # stdin is not a terminal, no --yes
    assert refused.rc == 2 and "--yes" in refused.err
    n = len(list(saver.list(th.cfg("chat"))))
    copied = cli("copy", "chat", "chat-copy", table=table)
    assert copied.rc == 0, copied.err
    assert len(th.tuples(saver, "chat-copy")) == n
    assert cli("copy", "chat", "chat-copy", table=table).rc == 1  # refuses to write over
    assert cli("delete", "chat", "--yes", table=table).rc == 0
    assert list(saver.list(th.cfg("chat"))) == []
    pruned = cli("prune", "forked", "--keep-latest", "--yes", table=table)
    assert pruned.rc == 0, pruned.err
    assert len(list(saver.list(th.cfg("forked")))) == 1
    assert cli("prune", "waiting", "--delete", "--yes", table=table).rc == 0
    assert list(saver.list(th.cfg("waiting"))) == []
    assert cli("delete", "nobody", "--yes", table=table).rc == 1


def test_stats(cli, table) -> None:
    got = cli("stats", "--json", table=table)
    assert got.rc == 0, got.err
    s = got.json()
    assert s["threads"] == 5 and s["checkpoints"] > 20
    assert s["by_kind"]["checkpoint"]["items"] == s["checkpoints"]
    assert s["cost_usd"]["storage_per_month"] >= 0 and s["average_checkpoint_bytes"] > 0
    text = cli("stats", table=table)
    assert text.rc == 0 and "average checkpoint" in text.out


def test_encrypted_table_with_a_key_from_the_environment(cli, ddb_endpoint, new_table) -> None:
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    from langgraph_dynamodb import DynamoDBSaver
    from langgraph_dynamodb.crypto import AesGcmCipher

    key = os.urandom(32)
    table = new_table()
    serde = EncryptedSerializer(AesGcmCipher({"k1": key}, active="k1"))
    with DynamoDBSaver(
        table_name=table, endpoint_url=ddb_endpoint, region_name=REGION, serde=serde
    ) as s:
        th.fill(s)
    env = {"CHECKPOINT_KEYS": "k1:" + base64.b64encode(key).decode()}
    shown = cli("show", "typed", "--json", "--key-env", "CHECKPOINT_KEYS", table=table, env=env)
    assert shown.rc == 0, shown.err
    assert shown.json()["values"]["profile"]["name"] == "ada"
    without = cli("show", "typed", "--json", table=table)
    assert without.rc == 1 and "Traceback" not in without.err
    exported = cli("export", "typed", "--key-env", "CHECKPOINT_KEYS", table=table, env=env)
    assert exported.rc == 0 and "aesgcm" not in exported.out  # the export holds plain values
    copy = new_table()
    got = cli("import", "--key-env", "CHECKPOINT_KEYS", table=copy, env=env, input=exported.out)
    assert got.rc == 0, got.err
    again = cli("show", "typed", "--json", "--key-env", "CHECKPOINT_KEYS", table=copy, env=env)
    assert again.json()["values"] == shown.json()["values"]
    assert cli("show", "typed", "--key-env", "NOT_SET", table=table).rc == 2


def test_missing_extra_is_named(tmp_path) -> None:
    """Without rich, the command says which extra to install (exit 2)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['rich'] = None; "
        "from langgraph_dynamodb.cli import main; sys.exit(main(['threads']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2 and "langgraph-dynamodb[cli]" in done.stderr
    assert json  # the module uses json through Result.json


def test_cache_by_node_and_clearing(cli, ddb_endpoint, new_table) -> None:
    from typing import TypedDict

    from langgraph.graph import START, StateGraph
    from langgraph.types import CachePolicy

    from langgraph_dynamodb import DynamoDBCache

    class State(TypedDict):
        text: str

    def summarize(state: State) -> State:
        return {"text": state["text"][:3]}

    def shout(state: State) -> State:
        return {"text": state["text"].upper()}

    table = new_table()
    builder = StateGraph(State)
    builder.add_node("summarize", summarize, cache_policy=CachePolicy())
    builder.add_node("shout", shout, cache_policy=CachePolicy(ttl=0))  # expired at once
    builder.add_edge(START, "summarize")
    builder.add_edge("summarize", "shout")
    with DynamoDBCache(table_name=table, endpoint_url=ddb_endpoint, region_name=REGION) as c:
        graph = builder.compile(cache=c)
        for text in ("alpha", "beta", "gamma"):
            graph.invoke({"text": text})
        big = base64.b64encode(os.urandom(300_000)).decode()  # chunked, not a node's
        c.set({(("notes", "a#b"), "k"): (big, None)})

        listed = cli("cache", "--json", table=table)
        assert listed.rc == 0, listed.err
        rows = {r["node"]: r for r in listed.json()}
        assert set(rows) == {"summarize", "shout", "notes/a#b"}
        assert rows["summarize"]["entries"] == 3 and rows["summarize"]["expired"] == 0
        assert rows["summarize"]["function"].endswith("summarize")
        assert rows["shout"]["entries"] == 3 and rows["shout"]["expired"] == 3
        assert rows["notes/a#b"]["namespace"] == ["notes", "a#b"]
        assert rows["notes/a#b"]["bytes"] > 300_000 > rows["summarize"]["bytes"] > 0

        text = cli("cache", table=table)
        assert text.rc == 0 and "summarize" in text.out and "100%" in text.out

        refused = cli("cache", "--clear", "summarize", table=table)
        assert refused.rc == 2 and "--yes" in refused.err
        some = cli("cache", "--clear", "summarize", "nobody", "--yes", table=table)
        assert some.rc == 1 and "'nobody'" in some.err and "cleared 3 entries" in some.out
        after = {r["node"]: r["entries"] for r in cli("cache", "--json", table=table).json()}
        assert after == {"shout": 3, "notes/a#b": 1}  # a cleared namespace is not listed
        assert graph.invoke({"text": "alpha"}) == {"text": "ALP"}  # runs again, caches again

        assert cli("cache", "--clear", "nobody", "--yes", table=table).rc == 1
        assert cli("cache", "--clear-all", "--yes", table=table).rc == 0
        assert c.get([(("notes", "a#b"), "k")]) == {}
        assert cli("cache", "--json", table=table).json() == []
    empty = cli("cache", table=new_table())
    assert empty.rc == 0 and "no node cache entries" in empty.out
