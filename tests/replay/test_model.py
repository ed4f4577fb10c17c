"""The replay read model on DynamoDB Local, over what real compiled LangGraph graphs wrote:
an interrupt answered, a subgraph, a fork by ``update_state``, a node that raised."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from langgraph.graph import START, StateGraph
from langgraph.types import Send

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBStore, limits, schema
from langgraph_dynamodb.cli.app import main
from langgraph_dynamodb.errors import InvalidInputError, NotFoundError
from langgraph_dynamodb.replay import REDACTED, ReplayModel
from langgraph_dynamodb.replay.model import READ_UNIT_BYTES, TRUNCATED, parse_path
from tests.conftest import REGION
from tests.replay.recorded import State, cache, config, long_thread, one_node, saver, store

__all__ = ["cache", "saver", "store"]  # fixtures

pytestmark = pytest.mark.integration


@pytest.fixture()
def model(saver: DynamoDBSaver) -> ReplayModel:
    return ReplayModel(saver, redact=[r"sk-live-\w+", "^password$"])


def test_threads_have_their_status_newest_first(model: ReplayModel) -> None:
    page = model.threads()
    rows = {r["thread_id"]: r for r in page["threads"]}
    assert [r["thread_id"] for r in page["threads"]] == ["done", "failed", "answered", "waiting"]
    assert page["cursor"] is None and page["listing"] == "directory" and page["notice"] is None
    assert rows["waiting"]["status"] == "interrupted"
    assert rows["failed"]["status"] == "error"
    assert rows["done"]["status"] == "finished"
    assert rows["answered"]["status"] == "running"  # its latest is the fork: "ask" is next
    assert rows["answered"]["namespaces"] == 2  # the root graph and the subgraph's run
    assert rows["done"]["steps"] == 1 and rows["done"]["checkpoints"] == 3
    assert rows["waiting"]["metadata"]["user"] == "alice"
    for r in rows.values():
        assert r["bytes"] > 0 and r["bytes"] % READ_UNIT_BYTES == 0
        assert r["last_activity"].endswith("+00:00")


@pytest.mark.parametrize("scan", [False, True], ids=["directory", "scan"])
def test_threads_page_with_a_cursor(saver: DynamoDBSaver, scan: bool) -> None:
    model = ReplayModel(saver, scan=scan)
    seen, cursor = [], None
    for _ in range(4):
        page = model.threads(limit=1, cursor=cursor)
        seen += [r["thread_id"] for r in page["threads"]]
        cursor = page["cursor"]
    assert cursor is None
    if scan:  # exact: the newest checkpoint of each thread
        assert seen == ["done", "failed", "answered", "waiting"]
    else:  # by quarter hour, then, across pages, by thread id: each thread once
        assert sorted(seen) == ["answered", "done", "failed", "waiting"]


def test_threads_listing_is_kept_and_renewed_in_the_background(
    ddb_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"replay-listing-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    client.create_table(**schema.create_table_params(name))  # a template's: no directory mark
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        graph = one_node(s, lambda state: {"log": ["x"]})
        graph.invoke({"log": []}, config("first"))
        model = ReplayModel(s)
        model.warm()
        first = model.threads()
        assert first["total"] == 1 and first["listing"] == "scan"
        assert "index-threads" in first["notice"]
        graph.invoke({"log": []}, config("second"))
        assert model.threads()["total"] == 2  # a small table is listed for each first page
        monkeypatch.setattr(limits, "REPLAY_SCAN_INLINE_S", 0.0)  # as if it were big
        graph.invoke({"log": []}, config("third"))
        assert model.threads()["total"] == 2  # the listing kept
        monkeypatch.setattr(limits, "REPLAY_THREAD_LISTING_S", 0.0)
        assert model.threads()["total"] == 2  # served at once; a new listing is under way
        assert model._scanning is not None
        model._scanning.join()
        page = model.threads()
        assert [r["thread_id"] for r in page["threads"]] == ["third", "second", "first"]
        graph.invoke({"log": []}, config("fourth"))
        assert model.threads(refresh=True)["total"] == 4
        assert main(["--endpoint-url", ddb_endpoint, "--table", name, "index-threads"]) == 0
        page = model.threads(refresh=True)  # a refresh sees the directory complete now
        assert page["listing"] == "directory" and page["notice"] is None
        assert [r["thread_id"] for r in page["threads"]] == ["fourth", "third", "second", "first"]


def test_threads_search_by_id_and_metadata(model: ReplayModel) -> None:
    assert [r["thread_id"] for r in model.threads(query="wait")["threads"]] == ["waiting"]
    assert [r["thread_id"] for r in model.threads(query="carol")["threads"]] == ["failed"]
    assert model.threads(query="nobody")["threads"] == []


def test_threads_list_from_keys_then_read_only_the_page(saver: DynamoDBSaver) -> None:
    model = ReplayModel(saver, scan=True)
    before = saver.stats.snapshot()
    model.threads(limit=2)
    ops = saver.stats.since(before)
    scans = ops["request.scan"]
    assert scans.requests == limits.REPLAY_SCAN_SEGMENTS  # one keys-only page a segment
    assert ops["checkpoint.get_tuple"].calls == 2  # the page's threads only
    assert ops["request.query"].requests == 2  # their sizes, keys only


def test_threads_from_the_directory_read_no_more_than_the_page(saver: DynamoDBSaver) -> None:
    model = ReplayModel(saver)
    model.uses_directory()  # one GetItem, once
    before = saver.stats.snapshot()
    model.threads(limit=2)
    ops = saver.stats.since(before)
    assert "request.scan" not in ops
    page = ops["checkpoint.directory_page"]
    assert page.calls == 1 and page.requests == schema.DIRECTORY_SHARDS  # a Query a shard
    assert ops["checkpoint.get_tuple"].calls == 2  # the entries' threads: current or stale
    assert ops["request.query"].requests == 2  # the page's keys: sizes, checkpoints


def test_thread_shows_subgraphs_interrupts_forks(model: ReplayModel) -> None:
    rows = model.thread("answered")["checkpoints"]
    ids = [r["checkpoint_id"] for r in rows]
    assert ids == sorted(ids, reverse=True)
    root = [r for r in rows if r["checkpoint_ns"] == ""]
    sub = [r for r in rows if r["checkpoint_ns"]]
    assert {r["checkpoint_ns"].split(":")[0] for r in sub} == {"sub"}
    assert [r["nodes"] for r in sub if r["source"] == "loop"] == [["inner"], []]
    assert all(r["parents"][""] in ids for r in sub)
    fork = next(r for r in root if r["source"] == "update")
    assert fork["next"] == ["ask"]
    asked = next(r for r in root if r["interrupts"])
    assert asked["interrupts"][0]["value"] == {"question": "ship it?"}
    assert fork["parent_id"] == asked["checkpoint_id"]  # a branch beside the original run
    assert fork["step"] == 2 and sum(r["step"] == 2 for r in root) == 2
    last = next(r for r in root if r["step"] == 2 and r["source"] == "loop")
    assert last["nodes"] == ["ask"] and last["next"] == []


def test_thread_pages_cover_every_checkpoint_once(model: ReplayModel) -> None:
    whole = [r["checkpoint_id"] for r in model.thread("answered")["checkpoints"]]
    paged, cursor = [], None
    while True:
        page = model.thread("answered", limit=2, cursor=cursor)
        assert len([r for r in page["checkpoints"] if r["checkpoint_ns"] == ""]) <= 2
        paged += [r["checkpoint_id"] for r in page["checkpoints"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert paged == whole


def test_a_long_thread_opens_in_a_few_requests(ddb_endpoint: str) -> None:
    """A page of a 600-step thread reads its page, not the namespace (1,200 items): the
    checkpoints holding unchanged channels (the first ones) are fetched by key."""
    name = f"replay-long-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
        long_thread(s, "long", 600)
        model = ReplayModel(s)
        before = s.stats.snapshot()
        page = model.thread("long", limit=50)
        ops = s.stats.since(before)
        assert len(page["checkpoints"]) == 50 and page["cursor"] is not None
        assert ops["checkpoint.list"].requests == 2  # a Query of the page, the holders by key
        assert ops["request.query"].requests == 2  # the namespaces, found by key
        assert [r["nodes"] for r in page["checkpoints"][:2]] == [["tick"], ["tick"]]


def test_thread_errors(model: ReplayModel) -> None:
    rows = model.thread("failed")["checkpoints"]
    failed = next(r for r in rows if r["errors"])
    assert failed["errors"][0]["node"] == "node"
    assert "the tool failed" in failed["errors"][0]["error"]
    with pytest.raises(NotFoundError, match="no-such-thread"):
        model.thread("no-such-thread")


def _latest(model: ReplayModel, thread_id: str) -> str:
    return str(model.thread(thread_id)["checkpoints"][0]["checkpoint_id"])


def test_checkpoint_decoded_redacted_and_truncated(model: ReplayModel) -> None:
    cp = model.checkpoint("done", "", _latest(model, "done"), max_chars=100)
    assert cp["state"]["credentials"] == {"token": REDACTED}
    assert cp["state"]["notes"] == {"text": "x" * 100, TRUNCATED: True, "length": 5000}
    assert cp["metadata"]["user"] == "dave" and cp["next"] == []
    whole = model.value("done", "", _latest(model, "done"), "notes")
    assert whole == "x" * 5000
    assert model.value("done", "", _latest(model, "done"), "credentials") == {"token": REDACTED}
    with pytest.raises(NotFoundError, match="no value in channel 'nope'"):
        model.value("done", "", _latest(model, "done"), "nope")
    with pytest.raises(NotFoundError, match="no checkpoint"):
        model.checkpoint("done", "", "1f000000-0000-6000-8000-000000000000")


def test_redaction_by_key(saver: DynamoDBSaver) -> None:
    cp = ReplayModel(saver, redact=["^credentials$"]).checkpoint(
        "done", "", _latest(ReplayModel(saver), "done")
    )
    assert cp["state"]["credentials"] == REDACTED
    with pytest.raises(InvalidInputError, match="not a regular expression"):
        ReplayModel(saver, redact=["("])


def test_diff_against_the_parent_is_deep(model: ReplayModel) -> None:
    d = model.diff("done", "", _latest(model, "done"))
    by = {c["channel"]: c for c in d["channels"]}
    assert by["log"]["change"] == "changed"
    assert by["log"]["diff"] == [{"path": "log[1]", "kind": "added", "old": None, "new": "wrote"}]
    assert by["credentials"]["change"] == "added"
    assert by["credentials"]["diff"][0]["new"] == {"token": REDACTED}
    first = model.thread("done")["checkpoints"][-1]["checkpoint_id"]
    assert model.diff("done", "", first)["a"] is None


def test_find_the_first_checkpoint_where_a_condition_holds(model: ReplayModel) -> None:
    rows = [r for r in model.thread("answered")["checkpoints"] if r["checkpoint_ns"] == ""]
    found = model.find("answered", path="status", equals="answered")
    assert found is not None and found["step"] == 2 and found["value"] == "answered"
    found = model.find("answered", path="log[-1]", regex=r"^answer:")
    assert found is not None and found["value"] == "answer:yes"
    found = model.find("answered", path="log", predicate=lambda v: len(v) >= 2)
    assert found is not None and found["checkpoint_id"] == min(
        r["checkpoint_id"] for r in rows if r["step"] == 1
    )
    assert model.find("answered", path="status", equals="never") is None
    assert model.find("answered", path="missing.path", equals=1) is None
    sub_ns = next(
        r["checkpoint_ns"] for r in model.thread("answered")["checkpoints"] if r["checkpoint_ns"]
    )
    assert model.find("answered", path="log[-1]", equals="inner", checkpoint_ns=sub_ns) is not None
    with pytest.raises(InvalidInputError, match="exactly one"):
        model.find("answered", path="status", equals="x", regex="y")
    with pytest.raises(NotFoundError):
        model.find("nobody", path="status", equals="x")


def test_paths() -> None:
    assert parse_path("messages[-1].content") == ["messages", -1, "content"]
    assert parse_path("report.status") == ["report", "status"]
    with pytest.raises(InvalidInputError):
        parse_path("[0]")
    with pytest.raises(InvalidInputError):
        parse_path("a[x]")


def test_memories_namespaces_and_items(
    saver: DynamoDBSaver, store: DynamoDBStore, cache: DynamoDBCache[Any]
) -> None:
    model = ReplayModel(saver, store=store, cache=cache, redact=[r"sk-live-\w+"])
    assert model.namespaces() == [["docs"], ["users", "alice"], ["users", "bob"]]
    assert model.namespaces(["users"]) == [["users", "alice"], ["users", "bob"]]
    users = model.items(["users"], limit=10)
    assert users["semantic"] is False
    assert {i["key"] for i in users["items"]} == {"tea", "mode", "key", "coffee"}
    secret = next(i for i in users["items"] if i["key"] == "key")
    assert secret["value"]["secret"] == REDACTED and secret["namespace"] == ["users", "alice"]
    assert secret["created_at"] and secret["updated_at"] and secret["score"] is None
    tastes = model.items(["users"], filter={"kind": "taste"})
    assert {i["key"] for i in tastes["items"]} == {"tea", "coffee"}
    paged = model.items(["users"], limit=2, offset=2)["items"]
    assert len(paged) == 2
    ranked = model.items(["users", "alice"], query="green tea")
    assert ranked["semantic"] is True and ranked["items"][0]["key"] == "tea"
    assert ranked["items"][0]["score"] > ranked["items"][-1]["score"]
    entries = model.cache_entries()
    assert entries == [
        {"namespace": ["node", "agent"], "entries": 2, "expired": 0, "bytes": entries[0]["bytes"]}
    ]
    # threads() lists the threads only: memories and cache entries share the table
    assert len(model.threads()["threads"]) == 4
    assert ReplayModel(model.saver, scan=True).threads()["total"] == 4


def test_memories_need_a_store(model: ReplayModel) -> None:
    with pytest.raises(InvalidInputError, match="no store"):
        model.namespaces()
    assert model.cache_entries() == []


def test_errors_name_the_failed_node_among_parallel_ones(ddb_endpoint: str) -> None:
    """A fan-out: two nodes and three Sends run in parallel after START; a node and one
    Send fail. Each error names its own node, from the task path its write was stored
    with (LangGraph's ``StateSnapshot.tasks`` names the same), not from the next tasks."""

    def bad(state: State) -> dict[str, Any]:
        raise ValueError("bad failed")

    def work(arg: dict[str, int]) -> dict[str, Any]:
        if arg["n"] == 1:
            raise ValueError("the second send failed")
        return {"log": [f"work {arg['n']}"]}

    graph = StateGraph(State)
    graph.add_node("ok", lambda state: {"log": ["ok"]})
    graph.add_node("bad", bad)
    graph.add_node("work", work)
    graph.add_edge(START, "ok")
    graph.add_edge(START, "bad")
    graph.add_conditional_edges(START, lambda s: [Send("work", {"n": i}) for i in range(3)])
    name = f"replay-fanout-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
        compiled = graph.compile(checkpointer=s)
        with pytest.raises(ValueError):
            compiled.invoke({"log": []}, config("fan-out"))
        langgraph_names = {
            t.id: t.name for t in compiled.get_state(config("fan-out")).tasks if t.error
        }
        model = ReplayModel(s)
        failed = next(r for r in model.thread("fan-out")["checkpoints"] if r["errors"])
        assert failed["next"] == ["bad", "ok", "work"]  # several: the next tasks cannot tell
        named = {e["task"]: e["node"] for e in failed["errors"]}
        # the same names as LangGraph's; a task still running when "bad" raised may have
        # been cancelled with an error of its own (it depends on the threads' timing)
        assert named == langgraph_names and {"bad", "work"} <= set(named.values())
        shown = model.checkpoint("fan-out", "", failed["checkpoint_id"])["errors"]
        errors = {(e["node"], e["error"]) for e in shown}
        assert ("bad", "ValueError('bad failed')") in errors
        assert ("work", "ValueError('the second send failed')") in errors
        paths = s.task_paths({"configurable": {"thread_id": "fan-out", "checkpoint_ns": ""}})
        assert paths is not None
        failing = {e["task"] for e in shown if "failed" in e["error"]}
        assert sorted(paths[t] for t in failing) == [
            "~__pregel_pull, bad",
            "~__pregel_push, 0000000001, 0000000000",
        ]
        assert s.task_paths(config("no-such-thread")) is None
