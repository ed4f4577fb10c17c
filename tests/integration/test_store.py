"""DynamoDBStore on DynamoDB Local: a hypothesis state machine against LangGraph's
``InMemoryStore`` (put, delete, get, search with prefixes, filters, pages and semantic
queries, list_namespaces with prefixes, suffixes, wildcards, depth and pages; sync and
async), then request counts, large values, bad input."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from langgraph.store.base import InvalidNamespaceError
from langgraph.store.memory import InMemoryStore

from langgraph_dynamodb import DynamoDBStore, InvalidInputError, schema

from ..conftest import REGION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

EXAMPLES = int(os.environ.get("STORE_MODEL_EXAMPLES", "12"))
STEPS = 25
DIMS = 32


def embed(texts: Sequence[str]) -> list[list[float]]:
    """A deterministic offline embedder: words hashed into DIMS buckets."""
    out = []
    for text in texts:
        vector = [0.0] * DIMS
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.sha256(word.encode()).digest()
            vector[digest[0] % DIMS] += 1.0 + digest[1] / 255
        out.append(vector)
    return out


INDEX: Any = {"dims": DIMS, "embed": embed, "fields": ["text"]}

NAMESPACES = [
    ("users", "alice"),
    ("users", "alice", "prefs"),
    ("users", "bob"),
    ("docs",),
    ("docs", "x", "y"),
    ("odd$#|", "a b", "c"),
]
KEYS = ["k1", "k2", "k3"]
WORDS = ["green tea", "dark mode", "coffee", "python", "rollback", "deploy checkout", "tea"]
values = st.fixed_dictionaries(
    {
        "text": st.sampled_from(WORDS),
        "n": st.integers(0, 5),
        "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
        "meta": st.fixed_dictionaries({"k": st.integers(0, 2)}),
    }
)
filters = st.sampled_from(
    [
        None,
        {"n": 3},
        {"n": {"$gt": 2}},
        {"n": {"$gte": 1, "$lt": 4}},
        {"n": {"$ne": 1}},
        {"meta": {"k": 1}},
        {"tags": ["a"]},
        {"text": "coffee"},
        {"missing": None},
    ]
)
prefixes = st.sampled_from(
    [(), ("users",), ("users", "alice"), ("users", "alice", "prefs"), ("docs",), ("docs", "x")]
    + [("odd$#|",), ("nothing",)]
)
ns_paths = st.sampled_from(
    [None, ("users",), ("users", "*"), ("*", "alice"), ("docs", "x"), ("*",), ("odd$#|", "*", "c")]
)


def _plain(items: Any) -> list[tuple[tuple[str, ...], str, Any]]:
    return sorted((tuple(i.namespace), i.key, repr(i.value)) for i in items)


class StoreMachine(RuleBasedStateMachine):
    """DynamoDBStore and InMemoryStore side by side; every answer compared."""

    endpoint = ""
    table = ""
    mode = "sync"
    options: dict[str, Any] = {}  # set per subclass (run_machine)

    def __init__(self) -> None:
        super().__init__()
        self.store = DynamoDBStore(
            table_name=self.table,
            endpoint_url=self.endpoint,
            region_name=REGION,
            index=INDEX,
            **self.options,
        )
        self.oracle = InMemoryStore(index=INDEX)
        self.loop = asyncio.new_event_loop() if self.mode == "async" else None

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.loop is None:
            return getattr(self.store, name)(*args, **kwargs)
        return self.loop.run_until_complete(getattr(self.store, "a" + name)(*args, **kwargs))

    def teardown(self) -> None:
        try:
            for ns in NAMESPACES:
                for key in KEYS:
                    self.call("delete", ns, key)
        finally:
            if self.loop is not None:
                self.loop.run_until_complete(self.store.aclose())
                self.loop.close()
            self.store.close()

    def live_oracle(self) -> InMemoryStore:
        """The oracle's items in a store of their own: ``InMemoryStore`` also lists
        namespaces emptied by deletes; a listing here names those that hold items."""
        fresh = InMemoryStore()
        for ns, items in self.oracle._data.items():
            for key, item in items.items():
                fresh.put(ns, key, item.value, index=False)
        return fresh

    @rule(
        ns=st.sampled_from(NAMESPACES),
        key=st.sampled_from(KEYS),
        value=values,
        indexed=st.booleans(),
    )
    def put(self, ns: tuple[str, ...], key: str, value: dict[str, Any], indexed: bool) -> None:
        index = None if indexed else False
        self.call("put", ns, key, value, index=index)
        self.oracle.put(ns, key, value, index=index)

    @rule(ns=st.sampled_from(NAMESPACES), key=st.sampled_from(KEYS))
    def delete(self, ns: tuple[str, ...], key: str) -> None:
        self.call("delete", ns, key)
        self.oracle.delete(ns, key)

    @rule(ns=st.sampled_from(NAMESPACES), key=st.sampled_from(KEYS))
    def get(self, ns: tuple[str, ...], key: str) -> None:
        got, expected = self.call("get", ns, key), self.oracle.get(ns, key)
        assert (got is None) == (expected is None), (got, expected)
        if got is not None:
            assert (tuple(got.namespace), got.key, got.value) == (
                tuple(expected.namespace),
                expected.key,
                expected.value,
            )

    @rule(
        prefix=prefixes,
        filter=filters,
        limit=st.sampled_from([1, 3, 100]),
        offset=st.sampled_from([0, 1]),
    )
    def search(self, prefix: tuple[str, ...], filter: Any, limit: int, offset: int) -> None:
        got = self.call("search", prefix, filter=filter, limit=limit, offset=offset)
        every = self.oracle.search(prefix, filter=filter, limit=1000)
        # Order is (namespace, key) here, insertion order there: compare as sets.
        assert len(got) == max(0, min(limit, len(every) - offset)), (got, every)
        assert set(_plain(got)) <= set(_plain(every))
        if offset == 0 and limit >= len(every):
            assert _plain(got) == _plain(every)

    @rule(
        prefix=prefixes,
        filter=filters,
        query=st.sampled_from(WORDS),
        limit=st.sampled_from([2, 100]),
    )
    def semantic_search(self, prefix: tuple[str, ...], filter: Any, query: str, limit: int) -> None:
        got = self.call("search", prefix, filter=filter, query=query, limit=limit)
        expected = self.oracle.search(prefix, filter=filter, query=query, limit=limit)
        scores = [None if i.score is None else round(i.score, 5) for i in got]
        assert scores == [None if i.score is None else round(i.score, 5) for i in expected]
        scored = [i for i in got if i.score is not None]
        oracle_scored = [i for i in expected if i.score is not None]
        if limit == 100:
            assert _plain(got) == _plain(expected)
        else:  # ties may fall either way at the page's end; the scored ones agree
            full = {
                k for k in _plain(self.oracle.search(prefix, filter=filter, query=query, limit=100))
            }
            assert set(_plain(got)) <= full
        assert len(scored) == len(oracle_scored)

    @rule(
        prefix=ns_paths,
        suffix=st.sampled_from([None, ("prefs",), ("c",), ("*", "y")]),
        max_depth=st.sampled_from([None, 1, 2, 3]),
        limit=st.sampled_from([1, 2, 100]),
        offset=st.sampled_from([0, 1]),
    )
    def list_namespaces(
        self, prefix: Any, suffix: Any, max_depth: Any, limit: int, offset: int
    ) -> None:
        kwargs = {"prefix": prefix, "suffix": suffix, "max_depth": max_depth}
        got = self.call("list_namespaces", limit=limit, offset=offset, **kwargs)
        expected = self.live_oracle().list_namespaces(limit=limit, offset=offset, **kwargs)
        assert got == expected, kwargs


def run_machine(endpoint: str, table: str, mode: str, **options: Any) -> None:
    """Run the state machine on a store made with ``options``."""
    machine = type(
        f"StoreMachine_{mode}",
        (StoreMachine,),
        {"endpoint": endpoint, "table": table, "mode": mode, "options": options},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


@pytest.fixture(scope="module")
def store_table(ddb_endpoint: str) -> str:
    """A table of its own: a listing without a prefix spans the whole table."""
    name = f"store-{uuid.uuid4().hex[:8]}"
    with DynamoDBStore(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as store:
        store.setup()
    return name


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_store_behaves_like_in_memory_store(mode: str, ddb_endpoint: str, store_table: str) -> None:
    run_machine(ddb_endpoint, store_table, mode)


# --- requests that do not grow with the table ------------------------------------------------
def test_requests_are_batched_and_reads_are_queries(ddb_endpoint: str) -> None:
    table = f"store-{uuid.uuid4().hex[:8]}"
    with DynamoDBStore(
        table_name=table, endpoint_url=ddb_endpoint, region_name=REGION, index=INDEX
    ) as store:
        store.setup()
        from langgraph.store.base import GetOp, PutOp

        ops = [
            PutOp(("memories", f"user-{i % 50}"), f"m{i}", {"text": WORDS[i % len(WORDS)], "i": i})
            for i in range(1000)
        ]
        store.stats.reset()
        store.batch(ops)
        # 1,000 items and their 1,000 vector items (what a vector index reads), 25 per
        # request, after the directory entry of their root label (one request).
        assert store.stats.requests == {"batch_write_item": 80 + 1}, store.stats.requests
        store.stats.reset()
        got = store.batch([GetOp(op.namespace, op.key) for op in ops[:150]])
        assert all(g is not None for g in got)
        assert store.stats.requests == {"batch_get_item": 2}, store.stats.requests
        store.stats.reset()
        assert len(store.search(("memories", "user-7"), limit=100)) == 20
        assert store.stats.requests == {"query": 1}, store.stats.requests
        store.stats.reset()
        found = store.search(("memories",), filter={"i": {"$lt": 60}}, limit=100)
        assert sorted(i.value["i"] for i in found) == list(range(60))
        assert "scan" not in store.stats.requests
        # every user's items are one partition: a page of 400 (4x the limit, for the
        # filter), then the rest
        assert store.stats.requests == {"query": 2}, store.stats.requests
        store.stats.reset()
        hits = store.search(("memories",), query="green tea", limit=5)
        assert len(hits) == 5 and all(h.value["text"] == "green tea" for h in hits)
        assert "scan" not in store.stats.requests
        store.stats.reset()
        listed = store.list_namespaces(prefix=("memories",), limit=100)
        assert len(listed) == 50 and "scan" not in store.stats.requests
        # 25 items (two namespaces), then what 98 more namespaces hold at that density
        assert store.stats.requests == {"query": 2}, store.stats.requests
        store.stats.reset()
        assert store.list_namespaces(prefix=("memories",), limit=5) == sorted(listed)[:5]
        assert store.stats.requests == {"query": 2}, store.stats.requests  # 25, then 100


def test_a_root_label_too_long_for_a_key_is_still_found_from_the_top(ddb_endpoint: str) -> None:
    table = f"store-{uuid.uuid4().hex[:8]}"
    root = "r" * 300  # digested in the partition key and in its directory entry
    with DynamoDBStore.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as store:
        store.setup()
        store.put((root, "u"), "k", {"a": 1})
        store.put(("short",), "k", {"a": 2})
    # a store that did not write them (no cache) finds both roots from ()
    with DynamoDBStore.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as store:
        assert sorted(i.value["a"] for i in store.search(())) == [1, 2]
        assert sorted(store.list_namespaces()) == sorted([(root, "u"), ("short",)])


def test_a_listing_of_large_namespaces_costs_a_small_query_each(ddb_endpoint: str) -> None:
    table = f"store-{uuid.uuid4().hex[:8]}"
    with DynamoDBStore.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as store:
        store.setup()
        from langgraph.store.base import PutOp

        text = os.urandom(500).hex()  # about 1 KB an item, incompressible
        store.batch(
            [
                PutOp(("memories", f"user-{u}"), f"m{i}", {"t": text})
                for u in range(5)
                for i in range(40)
            ]
        )
        store.stats.reset()
        listed = store.list_namespaces(prefix=("memories",))
        assert listed == [("memories", f"user-{u}") for u in range(5)]
        # 25 items of user-0, then what one read unit holds (3 items) of each other user,
        # a jump past each, and the Query that finds the range ends: never 40 items each
        assert store.stats.requests == {"query": 1 + 4 + 1}, store.stats.requests
        store.stats.reset()
        assert store.list_namespaces(prefix=("memories",), limit=2) == listed[:2]
        assert store.stats.requests == {"query": 2}, store.stats.requests


def test_values_over_an_item_size_round_trip_and_leave_no_chunks(ddb_endpoint: str) -> None:
    table = f"store-{uuid.uuid4().hex[:8]}"
    big = {"blob": os.urandom(450_000).hex()}  # 900 KB of text, incompressible-ish
    with DynamoDBStore.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as store:
        store.setup()
        store.put(("files", "u1"), "big", big)
        assert store.get(("files", "u1"), "big").value == big  # type: ignore[union-attr]
        assert [i.key for i in store.search(("files",))] == ["big"]
        bigger = {"blob": os.urandom(600_000).hex()}
        store.put(("files", "u1"), "big", bigger)
        assert store.get(("files", "u1"), "big").value == bigger  # type: ignore[union-attr]
        client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)

        def items() -> list[dict[str, Any]]:
            return client.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "m#files#"}},
            )["Items"]

        def chunks() -> int:
            return sum(i[schema.KIND]["S"] == schema.KIND_CHUNK for i in items())

        (item,) = [i for i in items() if i[schema.KIND]["S"] == schema.KIND_MEMORY]
        count = int(item[schema.CHUNKS]["L"][1]["N"])
        assert count >= 2 and chunks() == count  # the old value's chunks went with the put
        store.delete(("files", "u1"), "big")
        assert store.get(("files", "u1"), "big") is None and chunks() == 0


def test_bad_input_gets_a_clear_error(ddb_endpoint: str, store_table: str) -> None:
    with DynamoDBStore.from_table(
        store_table, endpoint_url=ddb_endpoint, region_name=REGION
    ) as store:
        with pytest.raises(InvalidNamespaceError):
            store.put(("a.b",), "k", {"x": 1})
        with pytest.raises(InvalidNamespaceError):
            store.put(("langgraph", "x"), "k", {"x": 1})
        with pytest.raises(InvalidNamespaceError):
            store.put((), "k", {"x": 1})
        with pytest.raises(InvalidInputError, match="must be a dict"):
            store.put(("a",), "k", ["not", "a", "dict"])  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="unsupported filter operator"):
            store.search(("a",), filter={"x": {"$regex": "y"}})
        with pytest.raises(InvalidInputError, match="ttl"):
            store.put(("a",), "k", {"x": 1}, ttl=-1)
