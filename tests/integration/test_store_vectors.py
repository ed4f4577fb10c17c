"""DynamoDBStore's semantic search through the table's vector index, on DynamoDB Local
behind the vector-index emulator (``langgraph_dynamodb.vector_emulator``): the same
answers as ``InMemoryStore`` in native mode, one SearchVectors per search whatever the
prefix, never a stale answer while the index lags, and ``"auto"`` ranking on the client
wherever the index cannot serve."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from langgraph_dynamodb import ConfigurationError, DynamoDBStore, limits, schema
from langgraph_dynamodb.vector_emulator import VectorSearchEmulator

from ..conftest import REGION, needs_search_vectors
from .test_store import INDEX, WORDS, run_machine

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), needs_search_vectors]


def wait_active(store: DynamoDBStore, timeout: float = 30.0) -> None:
    """Until DescribeTable shows the store's vector index ACTIVE and filled."""
    client = store._clients.sync()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = client.describe_table(TableName=store.table_name)["Table"]
        for index in table.get("VectorIndexes") or []:
            if index["IndexStatus"] == "ACTIVE" and not index["Backfilling"]:
                return
        time.sleep(0.05)
    raise AssertionError("the vector index did not become ACTIVE")


def new_store(endpoint: str, table: str | None = None, **options: Any) -> DynamoDBStore:
    """A store (on a new table unless ``table``) with the test embedder."""
    options.setdefault("index", INDEX)
    return DynamoDBStore(
        table_name=table or f"vec-{uuid.uuid4().hex[:8]}",
        endpoint_url=endpoint,
        region_name=REGION,
        **options,
    )


@pytest.fixture
def native(vector_emulator: VectorSearchEmulator) -> Iterator[DynamoDBStore]:
    """A store in native mode on a new table, its index ACTIVE."""
    with new_store(vector_emulator.endpoint_url, vector_search="native") as store:
        store.setup()
        wait_active(store)
        yield store


def fill(store: DynamoDBStore, oracle: InMemoryStore, users: int, per_user: int) -> None:
    for u in range(users):
        for i in range(per_user):
            value = {"text": WORDS[(u + i) % len(WORDS)], "i": i, "u": u}
            store.put(("memories", f"user-{u}"), f"m{i}", value)
            oracle.put(("memories", f"user-{u}"), f"m{i}", value)


def scores(items: Any) -> list[float | None]:
    return [None if i.score is None else round(i.score, 5) for i in items]


# --- the oracle -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_native_search_behaves_like_in_memory_store(
    mode: str, vector_emulator: VectorSearchEmulator
) -> None:
    with new_store(vector_emulator.endpoint_url, vector_search="native") as store:
        store.setup()
        wait_active(store)
        table = store.table_name
    before = vector_emulator.searches
    run_machine(vector_emulator.endpoint_url, table, mode, vector_search="native")
    assert vector_emulator.searches > before  # the index answered, not only the client


def test_native_answers_equal_the_oracle_under_every_prefix(native: DynamoDBStore) -> None:
    oracle = InMemoryStore(index=INDEX)
    fill(native, oracle, users=6, per_user=16)
    native.search((), query="tea")  # the store looks at the index once (DescribeTable)
    for prefix in [(), ("memories",), ("memories", "user-3")]:
        for query in WORDS:
            for limit, offset in [(5, 0), (10, 3), (1, 0)]:
                native.stats.reset()
                got = native.search(prefix, query=query, limit=limit, offset=offset)
                want = oracle.search(prefix, query=query, limit=limit, offset=offset)
                assert scores(got) == scores(want), (prefix, query, limit, offset)
                assert native.stats.requests == {"search_vectors": 1, "batch_get_item": 1}, (
                    prefix,
                    native.stats.requests,
                )


def test_max_pooling_over_several_fields(vector_emulator: VectorSearchEmulator) -> None:
    index = {**INDEX, "fields": ["text", "title"]}
    with new_store(vector_emulator.endpoint_url, vector_search="native", index=index) as store:
        store.setup()
        wait_active(store)
        oracle = InMemoryStore(index=index)
        for i in range(20):
            value = {"text": WORDS[i % 7], "title": f"{WORDS[(i * 3 + 1) % 7]} notes"}
            store.put(("docs", "d"), f"k{i}", value)
            oracle.put(("docs", "d"), f"k{i}", value)
        store.put(("docs", "d"), "plain", {"text": "green tea"}, index=False)
        oracle.put(("docs", "d"), "plain", {"text": "green tea"}, index=False)
        for query in WORDS:
            got = store.search(("docs",), query=query, limit=8)
            assert scores(got) == scores(oracle.search(("docs",), query=query, limit=8))
        # the whole prefix: the scored items, then the unscored one (the client path)
        got = store.search(("docs",), query="coffee", limit=50)
        want = oracle.search(("docs",), query="coffee", limit=50)
        assert scores(got) == scores(want) and got[-1].key == "plain" and got[-1].score is None
        # one item, two entries in the index: two vector items beside it
        raw = store._clients.sync().query(
            TableName=store.table_name,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={
                ":p": {"S": schema.group_pk(schema.group_of(("docs", "d")))}
            },
        )["Items"]
        kinds = sorted(i[schema.KIND]["S"] for i in raw if schema.VECTOR in i)
        assert kinds == [schema.KIND_VECTOR] * 40
        store.delete(("docs", "d"), "k0")  # takes its vector items with it
        raw = store._clients.sync().query(
            TableName=store.table_name,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={
                ":p": {"S": schema.group_pk(schema.group_of(("docs", "d")))}
            },
        )["Items"]
        assert sum(i[schema.KIND]["S"] == schema.KIND_VECTOR for i in raw) == 38


def test_filters_and_pages_past_the_index_fall_back_to_the_exact_answer(
    native: DynamoDBStore,
) -> None:
    oracle = InMemoryStore(index=INDEX)
    fill(native, oracle, users=4, per_user=40)
    native.stats.reset()
    got = native.search(("memories",), query="coffee", filter={"i": 7}, limit=3)
    want = oracle.search(("memories",), query="coffee", filter={"i": 7}, limit=3)
    assert scores(got) == scores(want)
    assert [g.value["i"] for g in got] == [7, 7, 7]
    # a filter that keeps too few of the index's 100 results: ranked on the client
    got = native.search(("memories",), query="coffee", filter={"i": 7}, limit=10)
    want = oracle.search(("memories",), query="coffee", filter={"i": 7}, limit=10)
    assert scores(got) == scores(want) and len(got) == 4
    native.stats.reset()
    got = native.search(("memories",), query="tea", offset=95, limit=10)
    assert scores(got) == scores(oracle.search(("memories",), query="tea", offset=95, limit=10))
    assert "search_vectors" not in native.stats.requests  # past the index's 100: exact


# --- never stale -----------------------------------------------------------------------------
def test_a_lagging_index_never_brings_back_what_changed(
    native: DynamoDBStore, vector_emulator: VectorSearchEmulator
) -> None:
    oracle = InMemoryStore(index=INDEX)
    fill(native, oracle, users=2, per_user=30)
    vector_emulator.pause_feed()
    try:
        for i in range(0, 30, 3):  # deleted: the index still has them
            native.delete(("memories", "user-0"), f"m{i}")
            oracle.delete(("memories", "user-0"), f"m{i}")
        for i in range(1, 30, 3):  # replaced with other text: the index has the old vectors
            value = {"text": "python", "i": 100 + i, "u": 0}
            native.put(("memories", "user-0"), f"m{i}", value)
            oracle.put(("memories", "user-0"), f"m{i}", value)
        native.put(("memories", "user-0"), "brief", {"text": "x"}, ttl=1)
        for query in WORDS:
            got = native.search(("memories", "user-0"), query=query, limit=5)
            keys_ = {g.key for g in got}
            assert not keys_ & {f"m{i}" for i in range(0, 30, 3)}
            for item in got:  # every value the latest, every score from it
                want = oracle.get(("memories", "user-0"), item.key)
                assert want is not None and item.value == want.value
            oracle_scores = {
                i.key: round(i.score or 0, 5)
                for i in oracle.search(("memories", "user-0"), query=query, limit=100)
            }
            assert all(round(g.score or 0, 5) == oracle_scores[g.key] for g in got)
    finally:
        vector_emulator.resume_feed()
        vector_emulator.feed()


def test_expired_memories_are_never_returned(
    native: DynamoDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(12):
        native.put(("memories", "u"), f"m{i}", {"text": "green tea"}, ttl=1 if i % 2 else None)
    later = time.time() + 120
    monkeypatch.setattr(native, "_ctx", _clock_at(native._ctx, later))
    got = native.search(("memories", "u"), query="green tea", limit=5)
    assert len(got) == 5 and all(int(g.key[1:]) % 2 == 0 for g in got)


def _clock_at(make_ctx: Any, at: float) -> Any:
    def ctx() -> Any:
        found = make_ctx()
        found.clock = lambda: at
        return found

    return ctx


# --- auto, native, client -------------------------------------------------------------------
def test_auto_on_dynamodb_local_ranks_on_the_client_with_one_log_line(
    ddb_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="langgraph_dynamodb.store")
    oracle = InMemoryStore(index=INDEX)
    with new_store(ddb_endpoint) as store:  # no emulator: DynamoDB Local drops the index
        store.setup()
        fill(store, oracle, users=2, per_user=5)
        for query in WORDS[:3]:
            got = store.search(("memories",), query=query, limit=3)
            assert scores(got) == scores(oracle.search(("memories",), query=query, limit=3))
        assert "search_vectors" not in store.stats.requests
    lines = [r.getMessage() for r in caplog.records if r.name == "langgraph_dynamodb.store"]
    assert len(lines) == 1 and "ranks on the client" in lines[0], lines
    assert "vector index" in lines[0]


def test_native_without_an_index_says_why(ddb_endpoint: str) -> None:
    with new_store(ddb_endpoint, vector_search="native") as store:
        with pytest.raises(ConfigurationError, match="vector index could not be added"):
            store.setup()
        with pytest.raises(ConfigurationError, match="vector_search='native' cannot search"):
            store.search(("memories",), query="tea")
    with pytest.raises(ConfigurationError, match="needs index="):
        DynamoDBStore(table_name="t-native", vector_search="native")
    with pytest.raises(ConfigurationError, match="vector_search must be one of"):
        DynamoDBStore(table_name="t-native", index=INDEX, vector_search="fast")  # type: ignore[arg-type]


def test_auto_waits_for_a_backfilling_index_then_uses_it(
    vector_emulator: VectorSearchEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "STORE_VECTOR_RECHECK_UNUSABLE_S", 0.0)
    oracle = InMemoryStore(index=INDEX)
    with new_store(vector_emulator.endpoint_url, vector_search="client") as plain:
        plain.setup()  # a table from before: no index, items without vec
        table = plain.table_name
    with new_store(vector_emulator.endpoint_url, table) as store:
        fill(store, oracle, users=3, per_user=10)  # written by "auto": they carry vec
        assert not vector_emulator.indexes(table)
        monkeypatch.setattr(vector_emulator, "activation_seconds", 3600.0)
        store.setup()  # adds the index to the existing table; does not wait
        assert vector_emulator.indexes(table)[schema.VECTOR_INDEX_NAME].status == "CREATING"
        store.stats.reset()
        got = store.search(("memories",), query="coffee", limit=4)
        assert "search_vectors" not in store.stats.requests  # backfilling: the client ranks
        assert scores(got) == scores(oracle.search(("memories",), query="coffee", limit=4))
        vector_emulator.set_status(table, schema.VECTOR_INDEX_NAME, "ACTIVE")
        store.stats.reset()
        got = store.search(("memories",), query="coffee", limit=4)
        assert store.stats.requests.get("search_vectors") == 1  # backfilled: the index
        assert scores(got) == scores(oracle.search(("memories",), query="coffee", limit=4))


def test_client_mode_writes_no_vectors_and_never_searches_the_index(
    vector_emulator: VectorSearchEmulator,
) -> None:
    with new_store(vector_emulator.endpoint_url, vector_search="client") as store:
        store.setup()
        assert not vector_emulator.indexes(store.table_name)
        store.put(("memories", "u"), "m", {"text": "tea"})
        raw = store._clients.sync().scan(TableName=store.table_name)["Items"]
        assert raw and not any(schema.VECTOR in i for i in raw)
        assert store.search(("memories",), query="tea")[0].key == "m"
        assert "search_vectors" not in store.stats.requests


def test_search_vectors_denied_in_auto_falls_back(
    native: DynamoDBStore, vector_emulator: VectorSearchEmulator
) -> None:
    with new_store(vector_emulator.endpoint_url, native.table_name) as store:
        store.put(("memories", "u"), "m", {"text": "tea"})
        assert store.search(("memories",), query="tea")[0].key == "m"
        assert store.stats.requests.get("search_vectors") == 1
        vector_emulator.set_status(native.table_name, schema.VECTOR_INDEX_NAME, "UPDATING")
        state = store._vector_state
        assert state is not None and state.usable  # still believed usable: no DescribeTable
        store.stats.reset()
        assert store.search(("memories",), query="tea")[0].key == "m"
        assert store.stats.requests.get("search_vectors") == 1  # refused: ValidationException
        assert not state.usable and "UPDATING" in state.reason
        vector_emulator.set_status(native.table_name, schema.VECTOR_INDEX_NAME, "ACTIVE")


STORE_ACTIONS = {
    "setup": {"DescribeTable", "CreateTable", "DescribeTimeToLive", "UpdateTimeToLive"},
    "setup_existing": {"DescribeTable", "DescribeTimeToLive", "UpdateTimeToLive", "UpdateTable"},
    "runtime": {"BatchGetItem", "BatchWriteItem", "Query", "UpdateItem"},
    "vector_search": {"DescribeTable", "SearchVectors"},
}
"""What docs/security.md lists for the store, per feature."""


def test_requests_stay_within_the_documented_iam_actions(
    vector_emulator: VectorSearchEmulator,
) -> None:
    from tests.reliability.faultproxy import FaultProxy

    seen: dict[str, set[str]] = {}
    with FaultProxy(vector_emulator.endpoint_url) as proxy:
        with proxy.journal() as ops:
            with new_store(proxy.endpoint_url, vector_search="client") as plain:
                plain.setup()
                seen["setup"] = set(ops)
            ops.clear()
            with new_store(proxy.endpoint_url, plain.table_name) as store:
                store.setup()  # the index added to a table that has none
                seen["setup_existing"] = set(ops)
                wait_active(store)
                assert store.vector_index_status().usable  # "auto" sees it at once
                ops.clear()
                store.put(("memories", "u"), "m", {"text": "tea"}, ttl=60)
                store.get(("memories", "u"), "m")
                store.search(("memories",), filter={"text": "tea"})
                store.list_namespaces()
                store.delete(("memories", "u"), "m")
                seen["runtime"] = set(ops)
                ops.clear()
                store.put(("memories", "u"), "m", {"text": "tea"})
                ops.clear()
                store.search(("memories",), query="tea", limit=1)
                seen["vector_search"] = set(ops) - STORE_ACTIONS["runtime"]
    for feature, actions in seen.items():
        assert actions <= STORE_ACTIONS[feature], (feature, actions - STORE_ACTIONS[feature])
    assert "SearchVectors" in seen["vector_search"] and "UpdateTable" in seen["setup_existing"]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    for action in set().union(*STORE_ACTIONS.values()):
        assert f"dynamodb:{action}" in doc, action
    assert "index/langgraph-store-vectors" in doc
