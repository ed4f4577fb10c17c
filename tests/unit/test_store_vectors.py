"""The store's vector-index layer without a network: the index's key and attribute
formats (round trips), items built for the index, the index's status read from
DescribeTable, search results read back; and the requests the store sends for it,
pinned with botocore's ``Stubber`` (which checks them against the service model)."""

from __future__ import annotations

import math
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_dynamodb import ConfigurationError, DynamoDBStore, limits, schema
from langgraph_dynamodb.errors import CorruptItemError, InvalidInputError
from langgraph_dynamodb.options import compression_of
from langgraph_dynamodb.store import dynamodb_store, vector_index, vectors
from langgraph_dynamodb.store import items as si

from ..conftest import needs_search_vectors

labels = st.text(
    alphabet=st.characters(codec="utf-8", blacklist_characters=".\x00"), min_size=1, max_size=12
)
namespaces = st.lists(labels, min_size=1, max_size=10).map(tuple)
COMPRESSION = compression_of("zstd", None, limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES, None)


# --- formats ------------------------------------------------------------------------------
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=1, max_size=64))
def test_a_vector_attribute_gives_back_the_float32_values(vector: list[float]) -> None:
    attr = vectors.to_attribute(vector, len(vector))
    assert vectors.from_attribute(attr) == vectors.decode(vectors.encode(vector))
    assert all(set(v) == {"N"} for v in attr["L"])


def test_a_vector_attribute_refuses_what_dynamodb_cannot_store() -> None:
    with pytest.raises(InvalidInputError, match="NaN or infinity"):
        vectors.to_attribute([1.0, math.nan])
    with pytest.raises(InvalidInputError, match="dims=3"):
        vectors.to_attribute([1.0, 2.0], 3)
    with pytest.raises(CorruptItemError):
        vectors.from_attribute({"L": [{"S": "x"}]})


@given(namespaces, st.text(min_size=1, max_size=20), st.integers(0, 30))
def test_a_vector_item_leads_back_to_its_item(namespace: Any, key: str, slot: int) -> None:
    item_sk = schema.memory_sk(namespace, key)
    assert schema.memory_sk_of(item_sk) is None  # only vector items are in the index
    assert schema.memory_sk_of(schema.vector_sk(item_sk, slot)) == item_sk
    assert (
        schema.memory_sk_of(
            schema.CHUNK_PREFIX + schema.memory_chunk_prefix(namespace, key) + "ab#0"
        )
        is None
    )


@given(namespaces)
def test_prefix_attributes_hold_every_prefix_up_to_the_depth(namespace: Any) -> None:
    attrs = schema.prefix_attributes(namespace)
    depth = min(len(namespace), limits.STORE_VECTOR_PREFIX_DEPTH)
    assert list(attrs) == list(schema.PREFIX_ATTRIBUTES[:depth])
    for d in range(1, depth + 1):
        assert attrs[schema.prefix_attribute(d)] == {"S": schema.prefix_value(namespace[:d])}


def test_lookalike_prefixes_never_compare_equal() -> None:
    assert schema.prefix_value(("a", "b")) != schema.prefix_value(("a#b",))
    assert schema.prefix_value(("a",)) != schema.prefix_value(("ab",))


def _build(embeddings: dict[str, list[float]], index_vectors: bool) -> si.PreparedPut:
    return si.build_item(
        serde=JsonPlusSerializer(),
        compression=COMPRESSION,
        namespace=("memories", "u1", "notes"),
        key_="k",
        value={"text": "tea"},
        now=1_000.0,
        ttl_minutes=10,
        embeddings=embeddings,
        dims=3,
        index_vectors=index_vectors,
    )


def test_each_embedding_is_a_vector_item_beside_the_item() -> None:
    put = _build({"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0]}, index_vectors=True)
    item = put.item
    assert schema.VECTOR not in item and not any(a.startswith("ns") for a in item)
    assert item[schema.VECTOR_ITEMS] == {"N": "2"}
    assert [vectors.from_attribute(v[schema.VECTOR]) for v in put.vectors] == [
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
    ]
    for vector_item in put.vectors:
        assert vector_item[schema.KIND] == {"S": schema.KIND_VECTOR}
        assert vector_item[schema.TTL] == item[schema.TTL]
        assert vector_item[schema.PK] == item[schema.PK]
        assert schema.memory_sk_of(vector_item[schema.SK]["S"]) == item[schema.SK]["S"]
        assert {a for a in vector_item if a.startswith("ns")} == {"ns1", "ns2", "ns3"}
    memory = si.decode_item(item)
    assert memory is not None  # the item reads as before: its embeddings in its payload
    assert memory.embeddings(COMPRESSION) == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert memory.vector_keys() == [
        {schema.PK: v[schema.PK], schema.SK: v[schema.SK]} for v in put.vectors
    ]


def test_client_mode_items_have_no_vector_items() -> None:
    put = _build({"a": [1.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0]}, index_vectors=False)
    assert schema.VECTOR_ITEMS not in put.item and not put.vectors
    memory = si.decode_item(put.item)
    assert memory is not None
    assert memory.embeddings(COMPRESSION) == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


# --- the index's status, and its results ----------------------------------------------------
def _described(**index: Any) -> dict[str, Any]:
    definition = {
        **schema.vector_index_definition(3),
        "IndexStatus": "ACTIVE",
        "Backfilling": False,
        **index,
    }
    return {"VectorIndexes": [definition]}


def test_the_index_is_usable_only_active_filled_and_as_declared() -> None:
    assert vector_index.status_of(_described(), 3).usable
    missing = vector_index.status_of({}, 3)
    assert not missing.usable and not missing.broken and "setup()" in missing.reason
    creating = vector_index.status_of(_described(IndexStatus="CREATING"), 3)
    assert not creating.usable and not creating.broken and "CREATING" in creating.reason
    filling = vector_index.status_of(_described(Backfilling=True), 3)
    assert not filling.usable and "backfilling" in filling.reason
    other = vector_index.status_of(_described(Dimensions=4), 3)
    assert other.broken and "Dimensions is 4, not 3" in other.reason
    euclid = vector_index.status_of(_described(DistanceFunction="EUCLIDEAN"), 3)
    assert euclid.broken and "DistanceFunction" in euclid.reason


def test_results_name_each_item_once_with_its_best_similarity() -> None:
    item_sk = schema.memory_sk(("m", "u"), "k")
    pk = schema.group_pk(schema.group_of(("m", "u")))
    response = {
        "SearchResults": [
            {"Item": {"pk": {"S": pk}, "sk": {"S": schema.vector_sk(item_sk, 0)}}, "Score": 0.1},
            {"Item": {"pk": {"S": pk}, "sk": {"S": schema.vector_sk(item_sk, 1)}}, "Score": 0.3},
            {
                "Item": {"pk": {"S": "m#other#"}, "sk": {"S": schema.vector_sk(item_sk, 0)}},
                "Score": 0.5,
            },
            {"Item": {"pk": {"S": pk}, "sk": {"S": item_sk}}, "Score": 0.55},
            {"Item": {"pk": {"S": pk}, "sk": {"S": "c#foreign"}}, "Score": 0.6},
        ]
    }
    hits = vector_index.hits_of(response)
    assert [(h.key[schema.PK]["S"], h.key[schema.SK]["S"]) for h in hits] == [
        (pk, item_sk),
        ("m#other#", item_sk),
    ]
    assert [round(h.similarity, 6) for h in hits] == [0.9, 0.5]


# --- request shapes, checked against botocore's service model ---------------------------------
DIMS = 3


def embed(texts: list[str]) -> list[list[float]]:
    return [[1.0, float(len(t)), 0.5] for t in texts]


def _stubbed_store(**options: Any) -> tuple[DynamoDBStore, Stubber]:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
    )
    store = DynamoDBStore(
        table_name="memory",
        client=client,
        index={"dims": DIMS, "embed": embed, "fields": ["text"]},
        **options,
    )
    return store, Stubber(client)


def _table(indexes: list[dict[str, Any]] | None) -> dict[str, Any]:
    table: dict[str, Any] = {
        "TableName": "memory",
        "TableStatus": "ACTIVE",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    }
    if indexes is not None:
        table["VectorIndexes"] = indexes
    return table


@needs_search_vectors
def test_a_native_search_is_one_search_vectors_then_one_batch_get() -> None:
    store, stub = _stubbed_store(vector_search="native")
    put = si.build_item(
        serde=store.serde,
        compression=store._compression,
        namespace=("memories", "u1"),
        key_="k1",
        value={"text": "tea"},
        now=1_000.0,
        ttl_minutes=None,
        embeddings={"text": embed(["tea"])[0]},
        dims=DIMS,
        index_vectors=True,
    )
    active = {**schema.vector_index_definition(DIMS), "IndexStatus": "ACTIVE", "Backfilling": False}
    stub.add_response("describe_table", {"Table": _table([active])}, {"TableName": "memory"})
    stub.add_response(
        "search_vectors",
        {
            "SearchResults": [{"Item": {k: put.vectors[0][k] for k in ("pk", "sk")}, "Score": 0.0}],
            "ConsumedCapacity": {"VectorSearchRequestBytes": 120.0},
        },
        {
            "TableName": "memory",
            "IndexName": schema.VECTOR_INDEX_NAME,
            "SearchVector": vectors.to_attribute(embed(["tea"])[0], DIMS)["L"],
            "TopK": 11,
            "SearchConditionExpression": "#ns = :ns",
            "ExpressionAttributeNames": {"#ns": "ns1"},
            "ExpressionAttributeValues": {":ns": {"S": schema.prefix_value(("memories",))}},
            "ReturnConsumedCapacity": "TOTAL",
        },
    )
    stub.add_response(
        "batch_get_item",
        {"Responses": {"memory": [put.item]}},
        {
            "RequestItems": {
                "memory": {
                    "Keys": [{k: put.item[k] for k in ("pk", "sk")}],
                    "ConsistentRead": True,
                }
            },
            "ReturnConsumedCapacity": "TOTAL",
        },
    )
    with stub:
        (found,) = store.search(("memories",), query="tea", limit=1)
    stub.assert_no_pending_responses()
    assert (found.key, found.value, round(found.score or 0, 6)) == ("k1", {"text": "tea"}, 1.0)


@needs_search_vectors
def test_setup_declares_the_index_in_a_new_table_and_adds_it_to_an_old_one() -> None:
    store, stub = _stubbed_store()
    definition = schema.vector_index_definition(DIMS)
    stub.add_client_error("describe_table", "ResourceNotFoundException")
    stub.add_response(
        "create_table",
        {"TableDescription": _table(None)},
        {**schema.create_table_params("memory"), "VectorIndexes": [definition]},
    )
    stub.add_response("describe_table", {"Table": _table(None)}, {"TableName": "memory"})
    stub.add_response(
        "describe_time_to_live", {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED"}}
    )
    # DynamoDB Local dropped the index: setup() adds it, and says (in "auto") why it could not
    stub.add_client_error("update_table", "ValidationException", "Nothing to update")
    with stub:
        store.setup(prepare_async=False)
    stub.assert_no_pending_responses()
    state = store._vector_state
    assert state is not None and not state.usable and "could not be added" in state.reason

    store, stub = _stubbed_store()
    stub.add_response("describe_table", {"Table": _table(None)}, {"TableName": "memory"})
    stub.add_response(
        "describe_time_to_live", {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED"}}
    )
    creating = {**definition, "IndexStatus": "CREATING", "Backfilling": True}
    stub.add_response(
        "update_table",
        {"TableDescription": _table([creating])},
        {"TableName": "memory", "VectorIndexUpdates": [{"Create": definition}]},
    )
    with stub:
        store.setup(prepare_async=False)
    stub.assert_no_pending_responses()
    assert store._vector_state is not None and "CREATING" in store._vector_state.reason


@needs_search_vectors
def test_auto_falls_back_when_search_vectors_is_refused() -> None:
    store, stub = _stubbed_store()
    active = {**schema.vector_index_definition(DIMS), "IndexStatus": "ACTIVE", "Backfilling": False}
    stub.add_response("describe_table", {"Table": _table([active])})
    stub.add_client_error("search_vectors", "AccessDeniedException", "not authorized")
    stub.add_response("query", {"Items": []})  # the directory of roots: empty
    with stub:
        assert store.search((), query="tea") == []
    stub.assert_no_pending_responses()
    assert store._vector_state is not None and "AccessDeniedException" in store._vector_state.reason


def test_a_botocore_without_search_vectors_ranks_on_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dynamodb_store, "_botocore_has_search_vectors", lambda: False)
    with pytest.raises(ConfigurationError, match="has no SearchVectors"):
        _stubbed_store(vector_search="native")
    store, stub = _stubbed_store()  # "auto": the client ranks, setup declares no index
    stub.add_response("describe_table", {"Table": _table(None)}, {"TableName": "memory"})
    stub.add_response(
        "describe_time_to_live", {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED"}}
    )
    stub.add_response("query", {"Items": []})
    with stub:
        store.setup(prepare_async=False)
        assert store.search((), query="tea") == []
    stub.assert_no_pending_responses()
    assert store._vector_state is not None and not store._vector_state.supported
