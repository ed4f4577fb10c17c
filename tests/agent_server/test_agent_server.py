"""docs/agent-server.md, run: ``langgraph dev`` serves the page's project (its
checkpointer.py, store.py, agent.py, langgraph.json and .env, as the page's blocks are) on
DynamoDB Local, and every server feature the page lists works through the SDK. Each test
also reads the table itself, with a saver (or a store) of our own: what the server wrote
is there, so the server used ``DynamoDBSaver`` and ``DynamoDBStore``, not its own.

The server runs in .venvs/agent-server (made on first use, about a minute and a half);
the module takes well under a minute afterwards.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import signal
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from langgraph.checkpoint.base import CheckpointTuple
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore
from tests.conftest import REGION

from .conftest import AgentServer, page_blocks

pytestmark = [
    pytest.mark.integration,
    # the first test also makes the virtualenv when it is missing (pip, about 75 s here)
    pytest.mark.timeout(900),
]


def client(server: AgentServer) -> SyncLangGraphClient:
    return get_sync_client(url=server.url)


def in_table(saver: DynamoDBSaver, thread_id: str) -> list[CheckpointTuple]:
    """The thread's checkpoints as the table has them, newest first."""
    return list(saver.list({"configurable": {"thread_id": thread_id}}))


def ids(tuples: list[CheckpointTuple]) -> list[str]:
    return [t.config["configurable"]["checkpoint_id"] for t in tuples]


def history(c: SyncLangGraphClient, thread_id: str) -> list[dict[str, Any]]:
    return list(c.threads.get_history(thread_id, limit=100))


def history_ids(c: SyncLangGraphClient, thread_id: str) -> list[str]:
    return [s["checkpoint"]["checkpoint_id"] for s in history(c, thread_id)]


def interrupted(c: SyncLangGraphClient) -> str:
    """A new thread, stopped at the page's graph's interrupt."""
    thread_id = c.threads.create()["thread_id"]
    out = c.runs.wait(thread_id, "agent", input={"log": []})
    assert out["__interrupt__"][0]["value"] == "who approves?", out
    return thread_id


# --- the server took our classes -----------------------------------------------------------


def test_the_server_uses_our_saver_and_our_store(
    server: AgentServer, table: str, ddb_endpoint: str
) -> None:
    """What the page says the server logs at start-up, and the table it made."""
    log = server.log()
    assert "Using custom checkpointer: DynamoDBSaver" in log, server.tail()
    assert "Custom checkpointer missing" not in log, server.tail()  # all four overridden
    assert "Using custom store:" in log and "DynamoDBStore" in log, server.tail()
    assert "Using custom store. Skipping store TTL sweeper." in log, server.tail()
    info = json.load(urllib.request.urlopen(f"{server.url}/info", timeout=5))
    assert info["version"], info
    # the page's factories ran asetup(): the table exists, named by the .env (not the shell)
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    names = ddb.list_tables()["TableNames"]
    assert table in names and "decoy-never-made" not in names, names


def test_the_project_is_the_pages(server: AgentServer) -> None:
    """The files the server runs are the page's blocks; langgraph.json only adds held.py."""
    blocks = page_blocks()
    for name in ("checkpointer.py", "store.py", "agent.py"):
        assert (server.project / name).read_text() == blocks[name], name
    ours = json.loads((server.project / "langgraph.json").read_text())
    page = json.loads(blocks["langgraph.json"])
    assert ours["graphs"].pop("held") == "./held.py:graph"
    assert ours == page
    env_keys = [line.split("=")[0] for line in (server.project / ".env").read_text().split()]
    assert env_keys == [line.split("=")[0] for line in blocks[".env"].split()]


def test_the_pages_sdk_example_runs(server: AgentServer, saver: DynamoDBSaver) -> None:
    """The page's SDK block, against this server: it prints what its comments say, and the
    history it prints is the table's."""
    code = page_blocks()["sdk.py"].replace("http://127.0.0.1:2024", server.url)
    assert server.url in code
    out = io.StringIO()
    scope: dict[str, Any] = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/agent-server.md (SDK block)", "exec"), scope)
    lines = out.getvalue().splitlines()
    assert lines[0] == "['approve']", lines
    printed = [line.split()[0] for line in lines[1:]]
    assert printed == ids(in_table(saver, scope["thread_id"])), lines


# --- interrupts, history, forks --------------------------------------------------------------


def test_interrupt_and_resume(server: AgentServer, saver: DynamoDBSaver) -> None:
    c = client(server)
    thread_id = interrupted(c)
    state = c.threads.get_state(thread_id)
    assert state["next"] == ["approve"]
    assert state["tasks"][0]["interrupts"][0]["value"] == "who approves?"
    assert c.threads.get(thread_id)["status"] == "interrupted"

    table = in_table(saver, thread_id)
    assert ids(table) == history_ids(c, thread_id)
    latest = table[0]
    assert latest.config["configurable"]["checkpoint_id"] == state["checkpoint"]["checkpoint_id"]
    assert latest.checkpoint["channel_values"]["log"] == ["proposed"]
    # the interrupt is a pending write of the latest checkpoint, in the table (aput_writes)
    assert any(channel == "__interrupt__" for _, channel, _ in latest.pending_writes)
    # the server's wrapper put its run's ids in the metadata
    assert latest.metadata["run_id"] and latest.metadata["graph_id"] == "agent"

    out = c.runs.wait(thread_id, "agent", command={"resume": "alice"})
    assert out == {"log": ["proposed", "approved by alice"]}
    table = in_table(saver, thread_id)
    assert table[0].checkpoint["channel_values"]["log"] == ["proposed", "approved by alice"]
    assert ids(table) == history_ids(c, thread_id)
    assert c.threads.get(thread_id)["status"] == "idle"


def test_history_and_forks(server: AgentServer, saver: DynamoDBSaver) -> None:
    """``update_state`` at an earlier checkpoint, and a run from a ``checkpoint_id``: each
    a new checkpoint whose parent, in the table, is that checkpoint."""
    c = client(server)
    thread_id = interrupted(c)
    c.runs.wait(thread_id, "agent", command={"resume": "alice"})
    states = history(c, thread_id)
    assert [s["next"] for s in states] == [[], ["approve"], ["propose"], ["__start__"]]
    at_approve = states[1]["checkpoint"]["checkpoint_id"]

    def parent_in_table(checkpoint_id: str) -> str:
        found = saver.get_tuple(
            {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": "",
                    "checkpoint_id": checkpoint_id,
                }
            }
        )
        assert found is not None and found.parent_config is not None
        return str(found.parent_config["configurable"]["checkpoint_id"])

    # a run from the checkpoint before the approval: LangGraph replays from it, in a new
    # checkpoint whose parent it is, and stops at the interrupt again (a resume sent with
    # that checkpoint_id would reuse alice's answer, stored with it: InMemorySaver does too)
    out = c.runs.wait(thread_id, "agent", input=None, checkpoint_id=at_approve)
    assert out["__interrupt__"][0]["value"] == "who approves?", out
    forked = c.threads.get_state(thread_id)
    assert forked["next"] == ["approve"] and forked["values"] == {"log": ["proposed"]}
    fork_id = forked["checkpoint"]["checkpoint_id"]
    assert fork_id != at_approve and parent_in_table(fork_id) == at_approve
    out = c.runs.wait(thread_id, "agent", command={"resume": "dave"})
    assert out == {"log": ["proposed", "approved by dave"]}
    assert parent_in_table(c.threads.get_state(thread_id)["checkpoint"]["checkpoint_id"]) == fork_id

    # update_state at that checkpoint: a new branch from it, then resumed
    updated = c.threads.update_state(thread_id, {"log": ["edited"]}, checkpoint_id=at_approve)
    edit_id = updated["checkpoint"]["checkpoint_id"]
    assert parent_in_table(edit_id) == at_approve
    state = c.threads.get_state(thread_id)
    assert state["checkpoint"]["checkpoint_id"] == edit_id
    assert state["values"] == {"log": ["proposed", "edited"]} and state["next"] == ["approve"]
    out = c.runs.wait(thread_id, "agent", command={"resume": "carol"})
    assert out == {"log": ["proposed", "edited", "approved by carol"]}

    # every branch is in the table, as the server's history lists them
    table = in_table(saver, thread_id)
    assert ids(table) == history_ids(c, thread_id)
    finals = {tuple(t.checkpoint["channel_values"].get("log", [])) for t in table}
    assert {
        ("proposed", "approved by alice"),
        ("proposed", "approved by dave"),
        ("proposed", "edited", "approved by carol"),
    } <= finals


def test_streaming(server: AgentServer, saver: DynamoDBSaver) -> None:
    """``runs.stream`` (``values``): each state as it is saved, the last the table's latest."""
    c = client(server)
    thread_id = c.threads.create()["thread_id"]
    chunks = list(c.runs.stream(thread_id, "agent", input={"log": []}, stream_mode="values"))
    values = [chunk.data for chunk in chunks if chunk.event == "values"]
    assert {"log": ["proposed"]} in values, chunks
    latest = in_table(saver, thread_id)[0]
    assert latest.checkpoint["channel_values"]["log"] == ["proposed"]
    assert c.threads.get_state(thread_id)["next"] == ["approve"]


# --- thread and run operations ------------------------------------------------------------


def test_copy_thread(server: AgentServer, saver: DynamoDBSaver) -> None:
    """``threads.copy`` (acopy_thread): the copy's checkpoints are in the table, and the copy
    resumes on its own."""
    c = client(server)
    source = interrupted(c)
    copy = c.threads.copy(source)
    assert copy is not None
    copy_id = copy["thread_id"]
    assert copy_id != source
    original, copied = in_table(saver, source), in_table(saver, copy_id)
    assert len(copied) == len(original) > 0
    assert [t.checkpoint["channel_values"] for t in copied] == [
        t.checkpoint["channel_values"] for t in original
    ]
    assert any(ch == "__interrupt__" for _, ch, _ in copied[0].pending_writes)
    assert c.threads.get_state(copy_id)["next"] == ["approve"]

    out = c.runs.wait(copy_id, "agent", command={"resume": "erin"})
    assert out == {"log": ["proposed", "approved by erin"]}
    assert c.threads.get_state(source)["next"] == ["approve"]  # the source still waits
    assert len(in_table(saver, source)) == len(original)


def test_rollback_deletes_the_rolled_back_runs_checkpoints(
    server: AgentServer, saver: DynamoDBSaver
) -> None:
    """A second run with ``multitask_strategy="rollback"`` while the first is in flight: the
    first is deleted with its checkpoints (adelete_for_runs), in the table too."""
    c = client(server)
    thread_id = c.threads.create()["thread_id"]
    first = c.runs.create(thread_id, "held", input={"log": [], "hold": True})["run_id"]
    deadline = time.monotonic() + 30
    while c.threads.get_state(thread_id)["next"] != ["held"]:
        assert time.monotonic() < deadline, server.tail()
        time.sleep(0.05)
    assert c.runs.get(thread_id, first)["status"] == "running"
    before = in_table(saver, thread_id)
    assert before and {t.metadata["run_id"] for t in before} == {first}

    second = c.runs.create(
        thread_id, "held", input={"log": [], "hold": False}, multitask_strategy="rollback"
    )["run_id"]
    assert c.runs.join(thread_id, second) == {"log": ["first", "released"], "hold": False}
    with pytest.raises(NotFoundError):
        c.runs.get(thread_id, first)
    after = in_table(saver, thread_id)
    assert after and {t.metadata["run_id"] for t in after} == {second}
    assert not set(ids(before)) & set(ids(after))
    assert ids(after) == history_ids(c, thread_id)
    # the worker's rollback branch ran (it logs one or the other, as the race goes)
    log = server.log()
    assert "Background run rolled back" in log or "Ignoring rollback error for missing run" in log


def test_deleting_a_run_deletes_its_checkpoints(server: AgentServer, saver: DynamoDBSaver) -> None:
    """``runs.delete`` (adelete_for_runs): the resume's checkpoints go, the first run's stay.

    The writes the resume made against the first run's last checkpoint stay with it, so
    the state shows ``approve`` done (``next == []``) at that checkpoint: the server's own
    checkpointer does the same (it deletes by ``run_id`` the checkpoints only; tried with
    the page's graph and no ``"checkpointer"`` key, langgraph-api 0.16.7)."""
    c = client(server)
    thread_id = interrupted(c)
    first_run = in_table(saver, thread_id)
    first = {t.metadata["run_id"] for t in first_run}
    resume: dict[str, Any] = {}
    c.runs.wait(
        thread_id,
        "agent",
        command={"resume": "frank"},
        on_run_created=lambda meta: resume.update(meta),
    )
    resume_id = str(resume["run_id"])
    assert {t.metadata["run_id"] for t in in_table(saver, thread_id)} == first | {resume_id}
    c.runs.delete(thread_id, resume_id)
    assert ids(in_table(saver, thread_id)) == ids(first_run) == history_ids(c, thread_id)
    state = c.threads.get_state(thread_id)
    assert state["checkpoint"]["checkpoint_id"] == ids(first_run)[0]
    assert state["next"] == [] and state["values"] == {"log": ["proposed", "approved by frank"]}


def test_thread_storage_answers_501(server: AgentServer) -> None:
    """As the page says: the storage endpoint is not there with a custom checkpointer."""
    thread_id = interrupted(client(server))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{server.url}/threads/{thread_id}/storage", timeout=5)
    assert err.value.code == 501


def test_store_through_the_sdk(server: AgentServer, store: DynamoDBStore) -> None:
    """The server's store endpoints are DynamoDBStore: what the SDK puts, the table has."""
    c = client(server)
    namespace = ["users", "u-store"]
    c.store.put_item(namespace, "prefs", {"theme": "dark"})
    assert c.store.get_item(namespace, "prefs")["value"] == {"theme": "dark"}
    item = store.get(tuple(namespace), "prefs")
    assert item is not None and item.value == {"theme": "dark"}
    store.put(tuple(namespace), "written-by-us", {"n": 1})
    found = c.store.search_items(["users"], filter={"n": 1})["items"]
    assert [i["key"] for i in found] == ["written-by-us"]
    assert ["users", "u-store"] in c.store.list_namespaces(prefix=["users"])["namespaces"]
    c.store.delete_item(namespace, "prefs")
    assert store.get(tuple(namespace), "prefs") is None


def test_delete_thread(server: AgentServer, saver: DynamoDBSaver, store: DynamoDBStore) -> None:
    """``threads.delete`` (adelete_thread): the thread's checkpoints leave the table; another
    thread's, and the store's items in the same table, stay."""
    c = client(server)
    doomed, kept = interrupted(c), interrupted(c)
    store.put(("users", "u-delete"), "k", {"kept": True})
    assert in_table(saver, doomed)
    c.threads.delete(doomed)
    assert in_table(saver, doomed) == []
    with pytest.raises(NotFoundError):
        c.threads.get(doomed)
    assert c.threads.get_state(kept)["next"] == ["approve"]
    item = store.get(("users", "u-delete"), "k")
    assert item is not None and item.value == {"kept": True}


def test_prune_threads(server: AgentServer, saver: DynamoDBSaver) -> None:
    """``threads.prune`` with ``"delete"`` (adelete_thread per thread); ``"keep_latest"`` is
    refused by ``langgraph dev``'s runtime, whatever the checkpointer (422)."""
    c = client(server)
    pruned, kept = [interrupted(c), interrupted(c)], interrupted(c)
    with pytest.raises(UnprocessableEntityError):
        c.threads.prune(pruned, strategy="keep_latest")
    assert all(in_table(saver, t) for t in pruned)
    c.threads.prune(pruned, strategy="delete")
    assert [in_table(saver, t) for t in pruned] == [[], []]
    for thread_id in pruned:
        with pytest.raises(NotFoundError):
            c.threads.get(thread_id)
    assert in_table(saver, kept)


# --- a restart ---------------------------------------------------------------------------


def test_state_survives_a_restart(server: AgentServer, saver: DynamoDBSaver) -> None:
    """Stop the server (SIGTERM, by PID) and start it again on the same table and folder:
    the interrupted thread is there, and resumes; the store's item too."""
    c = client(server)
    thread_id = interrupted(c)
    before = c.threads.get_state(thread_id)
    c.store.put_item(["users", "u-restart"], "prefs", {"theme": "light"})
    in_table_before = ids(in_table(saver, thread_id))

    code = server.restart()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: -15 (or 0)
    assert code in (0, -signal.SIGTERM), server.tail()
    assert "Shutting down background workers" in server.log()
    assert server.starts == 2

    c = client(server)
    assert c.threads.get(thread_id)["status"] == "interrupted"
    after = c.threads.get_state(thread_id)
    assert after["checkpoint"] == before["checkpoint"]
    assert after["values"] == before["values"] and after["next"] == ["approve"]
    assert history_ids(c, thread_id) == in_table_before
    out = c.runs.wait(thread_id, "agent", command={"resume": "bob"})
    assert out == {"log": ["proposed", "approved by bob"]}
    assert c.store.get_item(["users", "u-restart"], "prefs")["value"] == {"theme": "light"}
    log = server.log()
    assert log.count("Using custom checkpointer: DynamoDBSaver") >= 2, server.tail()


def test_the_server_logged_no_errors(server: AgentServer) -> None:
    """Last: nothing in the whole log (both starts) is an error, a traceback, a blocking
    call in the event loop or a capability the server found missing."""
    bad = [
        line
        for line in server.log().splitlines()
        if re.search(r"\[(error|critical|exception)\s*\]", line)
        or "Traceback" in line
        or "Blocking" in line
        or "Unclosed" in line  # a client the factories' exit did not close
        or "checkpointer missing" in line.lower()
    ]
    bad = [line for line in bad if "status=501" not in line]  # the /storage test's answer
    assert not bad, "\n".join(bad[:40])
