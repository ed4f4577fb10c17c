"""The store's pure core: key formats (round trip, order, prefix ranges), filters and
namespace conditions exactly as ``InMemoryStore`` decides them, embeddings' encoding,
ranking, payloads."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langgraph.store.base import MatchCondition
from langgraph.store.memory import _compare_values, _does_match

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import CorruptItemError, InvalidInputError
from langgraph_dynamodb.schema import approx_size
from langgraph_dynamodb.store import match, vectors

labels = st.text(
    alphabet=st.characters(codec="utf-8", blacklist_characters=".\x00"), min_size=1, max_size=12
)
namespaces = st.lists(labels, min_size=1, max_size=5).map(tuple)


@given(namespaces, st.text(min_size=1, max_size=20))
def test_item_keys_round_trip(namespace: tuple[str, ...], key: str) -> None:
    sk = schema.memory_sk(namespace, key)
    parsed = schema.parse_memory_sk(sk)
    assert parsed is not None
    assert parsed.rest == namespace[schema.GROUP_DEPTH :] and parsed.key == key
    assert sk.startswith(schema.namespace_prefix(namespace))
    assert sk.startswith(schema.range_prefix(namespace[: len(namespace) - 1] or namespace))
    assert (
        schema.parse_memory_sk(
            schema.CHUNK_PREFIX + schema.memory_chunk_prefix(namespace, key) + "ab#00000"
        )
        is None
    )


@given(namespaces, namespaces)
def test_a_namespace_range_holds_exactly_its_namespace_and_children(
    a: tuple[str, ...], b: tuple[str, ...]
) -> None:
    if schema.group_of(a) != schema.group_of(b):
        return
    under = b[: len(a)] == a
    sk = schema.memory_sk(b, "k")
    assert sk.startswith(schema.range_prefix(a)) is (under or len(a) <= schema.GROUP_DEPTH)
    assert sk.startswith(schema.namespace_prefix(a)) is (a == b)


@given(st.lists(namespaces, min_size=2, max_size=6, unique=True))
def test_key_order_is_namespace_order_within_a_group(group_of: list[tuple[str, ...]]) -> None:
    group = ("g", "h")
    spaces = [(*group, *ns) for ns in group_of]
    by_key = sorted(spaces, key=lambda ns: schema.memory_sk(ns, "k"))
    assert by_key == sorted(spaces)


def test_partition_and_directory_keys() -> None:
    # one partition per root label: every user's memories are one sort-key range of it
    assert schema.group_pk(schema.group_of(("memories", "alice"))) == "m#memories#"
    assert schema.group_of(("a", "b", "c")) == ("a",)
    assert schema.parse_directory_sk(schema.directory_sk(("a$#",))) == ("a$#",)
    assert not schema.label_digested("a$#") and schema.label_digested("r" * 300)
    assert schema.memory_sk(("a",), "k") == "i#!k#"
    assert schema.memory_sk(("memories", "alice"), "k") == "i#alice#!k#"
    assert schema.memory_sk(("a", "b", "c"), "k") == "i#b#c#!k#"


def test_a_namespace_too_deep_for_a_sort_key_is_refused() -> None:
    deep = ("a", "b", *(["x" * 120] * 12))
    with pytest.raises(InvalidInputError, match="too deep or long"):
        schema.memory_sk(deep, "k")
    long_label = ("a", "b", "y" * 400)  # digested in the key, kept whole in the item
    parsed = schema.parse_memory_sk(schema.memory_sk(long_label, "k"))
    assert parsed is not None and parsed.rest == ("b", None) and parsed.key == "k"


json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)
operators = st.dictionaries(
    st.sampled_from(["$eq", "$ne"]), json, min_size=1, max_size=2
) | st.dictionaries(
    st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), st.integers(-5, 5), min_size=1, max_size=2
)


@settings(max_examples=300)
@given(json, st.one_of(json, operators))
def test_filters_match_as_in_memory_store_matches(value: Any, expected: Any) -> None:
    try:
        oracle = _compare_values(value, expected)
    except (TypeError, ValueError):
        with pytest.raises(InvalidInputError):
            match.value_matches(value, expected)
        return
    assert match.value_matches(value, expected) is oracle


@given(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=0, max_size=4).map(tuple),
    st.lists(st.sampled_from(["a", "b", "*"]), min_size=0, max_size=3).map(tuple),
    st.sampled_from(["prefix", "suffix"]),
)
def test_namespace_conditions_match_as_in_memory_store_matches(
    namespace: tuple[str, ...], path: tuple[str, ...], kind: Any
) -> None:
    condition = MatchCondition(match_type=kind, path=path)
    assert match.namespace_matches(condition, namespace) is _does_match(condition, namespace)


def test_an_unknown_operator_says_which_there_are() -> None:
    with pytest.raises(InvalidInputError, match=r"\$gte"):
        match.item_matches({"a": 1}, {"a": {"$in": [1]}})


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=1, max_size=64))
def test_embeddings_are_float32_bytes(vector: list[float]) -> None:
    data = vectors.encode(vector)
    assert len(data) == 4 * len(vector)
    assert vectors.decode(data) == vector  # float32 values round-trip exactly
    with pytest.raises(InvalidInputError, match="dims=3"):
        vectors.encode([*vector, 0.0, 0.0, 0.0], 3)
    with pytest.raises(CorruptItemError):
        vectors.decode(data + b"\x00")


def test_cosine_in_python_and_numpy_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    query = [1.0, 2.0, 0.0]
    rows = [[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 3.0]]
    with_numpy = match.cosine(query, rows)
    import builtins

    real_import = builtins.__import__

    def no_numpy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "numpy":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    pure = match.cosine(query, rows)
    assert all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(pure, with_numpy, strict=True))
    assert with_numpy[1] == 0.0 and math.isclose(with_numpy[0], 1.0)


def _candidate(key: str, *vectors_: list[float]) -> match.Candidate:
    return match.Candidate(("ns",), key, {}, 0, 0, tuple(vectors_))


def test_ranking_pools_fields_pages_and_fills_with_unscored_items() -> None:
    candidates = [
        _candidate("a", [1.0, 0.0], [0.0, 1.0]),  # best field: 1.0
        _candidate("b", [0.6, 0.8]),
        _candidate("c"),  # not indexed
        _candidate("d", [-1.0, 0.0]),
    ]
    ranked = match.rank(candidates, [0.0, 1.0], offset=0, limit=10)
    assert [(c.key, round(s, 3) if s is not None else None) for c, s in ranked] == [
        ("a", 1.0),
        ("b", 0.8),
        ("d", 0.0),
        ("c", None),
    ]
    assert [c.key for c, _ in match.rank(candidates, [0.0, 1.0], offset=1, limit=2)] == ["b", "d"]
    assert [c.key for c, _ in match.rank(candidates, None, offset=1, limit=2)] == ["b", "c"]


def _full_sort(
    candidates: list[match.Candidate], query: list[float], offset: int, limit: int
) -> list[tuple[str, float | None]]:
    """The ranking the straightforward way (every candidate in memory, one stable sort),
    as InMemoryStore ranks."""
    flat = [(c, v) for c in candidates for v in c.vectors]
    scores = match.cosine(query, [v for _, v in flat])
    ordered = sorted(zip(scores, [c for c, _ in flat], strict=True), key=lambda x: -x[0])
    seen: list[str] = []
    page: list[tuple[str, float | None]] = []
    for score, c in ordered:
        if c.key in seen:
            continue
        seen.append(c.key)
        if offset <= len(seen) - 1 < offset + limit:
            page.append((c.key, score))
    unscored = [c.key for c in candidates if not c.vectors]
    return page + [(k, None) for k in unscored[: max(0, limit - len(page))]]


small_vectors = st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0]), min_size=2, max_size=2)


@given(
    st.lists(st.lists(small_vectors, max_size=2), max_size=30),
    st.integers(0, 5),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(1, 7),
)
@settings(max_examples=200, deadline=None)
def test_top_scores_keep_the_page_of_a_full_sort_in_bounded_memory(
    fields: list[list[list[float]]], offset: int, limit: int, groups: int, chunk: int
) -> None:
    candidates = [_candidate(f"k{i:02d}", *vs) for i, vs in enumerate(fields)]
    query = [0.0, 1.0]
    expected = _full_sort(candidates, query, offset, limit)
    # the candidates split into groups (merged in order), each fed in chunks
    total = match.TopScores(query, offset=offset, limit=limit)
    size = -(-len(candidates) // groups) if candidates else 1
    for g, start in enumerate(range(0, len(candidates), size)):
        part = match.TopScores(query, offset=offset, limit=limit)
        members = candidates[start : start + size]
        for at in range(0, len(members), chunk):
            part.add((c, c.key) for c in members[at : at + chunk])
            assert len(part._scored) <= 2 * (offset + limit)  # bounded by the page
        total.merge(part, where=(g,))
    got = [(c.key, s) for c, s, extra in total.page() if extra == c.key]
    assert [(k, None if s is None else round(s, 9)) for k, s in got] == [
        (k, None if s is None else round(s, 9)) for k, s in expected
    ]


def test_namespace_pages_truncate_sort_and_page() -> None:
    found = [("a", "b", "c"), ("a", "b"), ("a", "c", "d"), ("x",)]
    prefix = MatchCondition(match_type="prefix", path=("a", "*"))
    assert match.page_namespaces(found, [prefix], max_depth=2, offset=0, limit=10) == [
        ("a", "b"),
        ("a", "c"),
    ]
    assert match.page_namespaces(found, [], max_depth=None, offset=1, limit=2) == [
        ("a", "b", "c"),
        ("a", "c", "d"),
    ]
    assert match.literal_prefix(("a", "*", "c")) == ("a",)


def test_payloads_round_trip_and_refuse_what_is_not_one() -> None:
    payload = schema.MemoryPayload(
        namespace=("a", "b"),
        key="k",
        value=("msgpack", b"\x80"),
        created=1,
        updated=2,
        ttl_minutes=5.0,
        embeddings={"text": vectors.encode([1.0, 2.0])},
    )
    assert schema.decode_memory(schema.encode_memory(payload), "item") == payload
    with pytest.raises(CorruptItemError, match="malformed"):
        schema.decode_memory({"n": ["a"], "k": "k"}, "item")
    assert schema.KIND_MEMORY == "m"


def test_ops_given_straight_to_batch_are_checked_as_base_store_checks_them() -> None:
    from langgraph.store.base import (
        GetOp,
        InvalidNamespaceError,
        ListNamespacesOp,
        MatchCondition,
        PutOp,
        SearchOp,
    )

    from langgraph_dynamodb import DynamoDBStore

    store = DynamoDBStore(table_name="unreached", region_name="us-east-1")  # no request made
    for op in [
        PutOp(("a.b",), "k", {"x": 1}),
        PutOp(("a", ""), "k", {"x": 1}),
        PutOp(("langgraph", "x"), "k", {"x": 1}),
        PutOp((), "k", {"x": 1}),
        GetOp(("a", 1), "k"),  # type: ignore[arg-type]
        SearchOp(("a.b",)),
        ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("a.b",)),)),
    ]:
        with pytest.raises(InvalidNamespaceError):
            store.batch([op])


def test_listing_pages_grow_over_small_namespaces_and_shrink_to_a_read_unit() -> None:
    from langgraph_dynamodb.store.flows import _next_list_page

    small = [{"pk": {"S": "m#a#"}, "sk": {"S": "i#u#!k#"}, "p": {"B": b"x" * 100}}]
    assert _next_list_page(25, 2, small, None) == 100  # several namespaces: 4x
    assert _next_list_page(limits.STORE_LIST_PAGE_MAX, 3, small, None) == limits.STORE_LIST_PAGE_MAX
    # several namespaces and 98 more wanted: what they hold at the page's density
    page_of_two = small * 25
    assert _next_list_page(25, 2, page_of_two, 98) == 99 * 13
    assert _next_list_page(25, 2, page_of_two, 3) == 100  # never under the 4x growth
    assert _next_list_page(25, 2, page_of_two, 10_000) == limits.STORE_LIST_PAGE_MAX
    # one namespace: what 4 KB holds, at most STORE_LIST_PAGE
    assert _next_list_page(400, 1, small, 98) == limits.STORE_LIST_PAGE
    big = [{"pk": {"S": "m#a#"}, "sk": {"S": "i#u#!k#"}, "p": {"B": b"x" * 1000}}]
    assert _next_list_page(25, 1, big, None) == limits.READ_UNIT_BYTES // approx_size(big[0]) == 4
    huge = [{"p": {"B": b"x" * 50_000}}]
    assert _next_list_page(25, 1, huge, None) == 1


def test_a_search_without_a_query_asks_for_what_its_matches_so_far_say() -> None:
    from langgraph_dynamodb.store.flows import _next_search_page

    assert _next_search_page(needed=10, read=400, matched=0) == 1600  # nothing yet: 4x
    assert _next_search_page(needed=50, read=400, matched=50) == 500  # 1 in 8, a quarter more
    assert _next_search_page(needed=10, read=10, matched=90) == 10  # never under what's needed


def test_item_size_estimate() -> None:
    item = {"pk": {"S": "m#é#"}, "p": {"B": b"abc"}, "ttl": {"N": "1700000000"}}
    assert approx_size(item) == (2 + 5) + (1 + 3) + (3 + 8)


def test_store_items_of_another_format_are_refused_with_advice() -> None:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from langgraph_dynamodb.codec import Compression
    from langgraph_dynamodb.store import items

    put = items.build_item(
        serde=JsonPlusSerializer(),
        compression=Compression(None),
        namespace=("a", "b"),
        key_="k",
        value={"x": 1},
        now=1_700_000_000.0,
        ttl_minutes=None,
        embeddings={},
        dims=None,
    )
    assert schema.FORMAT not in put.item  # absent: format 1
    assert items.decode_item({**put.item, schema.FORMAT: {"N": "1"}}) is not None
    with pytest.raises(CorruptItemError, match="upgrade langgraph-dynamodb"):
        items.decode_item({**put.item, schema.FORMAT: {"N": "2"}})


def test_one_digest_for_keys_chunks_and_list_shapes() -> None:
    import hashlib

    data = b"a long label" * 40
    assert schema.digest(data) == hashlib.sha256(data).digest()[:16]
    assert schema.digest(data[:7], data[7:]) == schema.digest(data)  # parts hash as joined
    component = schema.encode_component(data.decode(), max_bytes=10, what="label")
    assert component == "$~" + schema.digest(data).hex() + "#"
    assert schema.chunk_list("nonce", 2, data)["L"][3] == {"S": schema.digest(data).hex()}
