"""The vector-index emulator against the rules of DynamoDB's API reference, through boto3
(so every request and answer also passes botocore's service model): index lifecycle,
what is indexed, SearchVectors' limits, conditions, scores, projections, capacity, lag."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from langgraph_dynamodb.vector_emulator import VectorSearchEmulator

from ..conftest import REGION, needs_search_vectors

pytestmark = [pytest.mark.integration, needs_search_vectors]


def _index(name: str = "vix", *, dims: int = 2, metric: str = "COSINE", **extra: Any) -> Any:
    return {
        "IndexName": name,
        "VectorAttribute": {"AttributeName": "vec"},
        "Projection": extra.pop("Projection", {"ProjectionType": "KEYS_ONLY"}),
        "Dimensions": dims,
        "DistanceFunction": metric,
        **extra,
    }


def _vec(*values: float) -> dict[str, Any]:
    return {"L": [{"N": str(v)} for v in values]}


class Table:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def put(self, sk: str, **attrs: Any) -> None:
        self.client.put_item(TableName=self.name, Item={"pk": {"S": "p"}, "sk": {"S": sk}, **attrs})

    def search(self, vector: list[float], index: str = "vix", **params: Any) -> list[Any]:
        params.setdefault("TopK", 10)
        answer = self.client.search_vectors(
            TableName=self.name,
            IndexName=index,
            SearchVector=[{"N": str(v)} for v in vector],
            **params,
        )
        return [(r["Item"]["sk"]["S"], round(r["Score"], 6)) for r in answer["SearchResults"]]

    def wait_active(self) -> None:
        for _ in range(200):
            described = self.client.describe_table(TableName=self.name)["Table"]
            if all(i["IndexStatus"] == "ACTIVE" for i in described.get("VectorIndexes", [])):
                return
            time.sleep(0.02)
        raise AssertionError("not ACTIVE")


@pytest.fixture
def client(vector_emulator: VectorSearchEmulator) -> Any:
    return boto3.client("dynamodb", endpoint_url=vector_emulator.endpoint_url, region_name=REGION)


def create(client: Any, *indexes: Any, billing: str = "PAY_PER_REQUEST") -> Table:
    name = f"emu-{uuid.uuid4().hex[:8]}"
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        params["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    if indexes:
        params["VectorIndexes"] = list(indexes)
    client.create_table(**params)
    table = Table(client, name)
    table.wait_active()
    return table


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_indexes_are_declared_described_added_and_deleted(client: Any) -> None:
    with pytest.raises(ClientError, match="on-demand") as exc:
        create(client, _index(), billing="PROVISIONED")
    assert code(exc) == "ValidationException"
    table = create(client, _index())
    (described,) = client.describe_table(TableName=table.name)["Table"]["VectorIndexes"]
    assert described["IndexStatus"] == "ACTIVE" and described["Backfilling"] is False
    assert described["IndexArn"].endswith(f"table/{table.name}/index/vix")
    with pytest.raises(ClientError, match="already exists"):
        client.update_table(TableName=table.name, VectorIndexUpdates=[{"Create": _index()}])
    with pytest.raises(ClientError, match="must all have 2 dimensions"):
        client.update_table(
            TableName=table.name, VectorIndexUpdates=[{"Create": _index("other", dims=3)}]
        )
    table.put("a", vec=_vec(1, 0))
    answer = client.update_table(
        TableName=table.name,
        VectorIndexUpdates=[{"Create": _index("second", metric="DOT_PRODUCT")}],
    )
    names = {i["IndexName"] for i in answer["TableDescription"]["VectorIndexes"]}
    assert names == {"vix", "second"}
    table.wait_active()
    assert table.search([1, 0], index="second") == [("a", 1.0)]  # backfilled
    client.update_table(TableName=table.name, VectorIndexUpdates=[{"Delete": {"IndexName": "vix"}}])
    with pytest.raises(ClientError) as exc:
        table.search([1, 0])
    assert code(exc) == "ResourceNotFoundException"


def test_only_items_with_a_vector_of_the_right_size_and_the_hash_are_indexed(
    client: Any,
) -> None:
    schema = [
        {"AttributeName": "tenant", "SearchSchemaElementType": "HASH"},
        {"AttributeName": "kind", "SearchSchemaElementType": "INLINE_FILTER"},
    ]
    table = create(client, _index(SearchSchema=schema))
    table.put("ok", vec=_vec(1, 0), tenant={"S": "t"}, kind={"S": "x"})
    table.put("no-hash", vec=_vec(1, 0), kind={"S": "x"})
    table.put("no-vector", tenant={"S": "t"})
    table.put("three-dims", vec=_vec(1, 0, 0), tenant={"S": "t"})
    table.put("a-set", vec={"NS": ["1", "0"]}, tenant={"S": "t"})
    condition = {
        "SearchConditionExpression": "tenant = :t",
        "ExpressionAttributeValues": {":t": {"S": "t"}},
    }
    assert table.search([1, 0], **condition) == [("ok", 0.0)]
    with pytest.raises(ClientError, match="must compare the HASH attribute"):
        table.search([1, 0])
    with pytest.raises(ClientError, match="not in the search schema"):
        table.search(
            [1, 0],
            SearchConditionExpression="tenant = :t AND color = :c",
            ExpressionAttributeValues={":t": {"S": "t"}, ":c": {"S": "red"}},
        )
    with pytest.raises(ClientError, match="unsupported condition"):
        table.search(
            [1, 0],
            SearchConditionExpression="tenant = :t AND kind > :k",
            ExpressionAttributeValues={":t": {"S": "t"}, ":k": {"S": "a"}},
        )
    both = {
        "SearchConditionExpression": "tenant = :t AND #k = :k",
        "ExpressionAttributeNames": {"#k": "kind"},
        "ExpressionAttributeValues": {":t": {"S": "t"}, ":k": {"S": "y"}},
    }
    assert table.search([1, 0], **both) == []


def test_limits_are_the_documented_ones(client: Any) -> None:
    table = create(client, _index())
    with pytest.raises(ClientError, match="TopK must be between 1 and 100"):
        table.search([1, 0], TopK=101)  # botocore itself refuses 0 (the model's minimum)
    with pytest.raises(ClientError, match="has 3 dimensions"):
        table.search([1, 0, 0])


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("COSINE", [("same", 0.0), ("right-angle", 1.0), ("opposite", 2.0)]),
        ("EUCLIDEAN", [("same", 0.0), ("right-angle", 1.414214), ("opposite", 2.0)]),
        ("DOT_PRODUCT", [("same", 1.0), ("right-angle", 0.0), ("opposite", -1.0)]),
    ],
)
def test_scores_follow_the_distance_function(client: Any, metric: str, expected: Any) -> None:
    table = create(client, _index(metric=metric))
    table.put("opposite", vec=_vec(-1, 0))
    table.put("same", vec=_vec(1, 0))
    table.put("right-angle", vec=_vec(0, 1))
    assert table.search([1, 0]) == expected
    assert table.search([1, 0], TopK=1) == expected[:1]


def test_projections_and_capacity(client: Any) -> None:
    include = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]}
    table = create(
        client,
        _index("keys"),
        _index("some", Projection=include),
        _index("all", Projection={"ProjectionType": "ALL"}),
    )
    table.put("a", vec=_vec(1, 0), title={"S": "t"}, body={"S": "b"})

    def attrs(index: str, **params: Any) -> set[str]:
        answer = client.search_vectors(
            TableName=table.name,
            IndexName=index,
            SearchVector=[{"N": "1"}, {"N": "0"}],
            TopK=1,
            **params,
        )
        return set(answer["SearchResults"][0]["Item"])

    assert attrs("keys") == {"pk", "sk"}
    assert attrs("some") == {"pk", "sk", "title"}
    assert attrs("all") == {"pk", "sk", "title", "body", "vec"}
    assert attrs("all", ProjectionExpression="#t", ExpressionAttributeNames={"#t": "title"}) == {
        "title"
    }
    answer = client.search_vectors(
        TableName=table.name,
        IndexName="keys",
        SearchVector=[{"N": "1"}, {"N": "0"}],
        TopK=1,
        ReturnConsumedCapacity="TOTAL",
    )
    assert answer["ConsumedCapacity"]["VectorSearchRequestBytes"] == 1 * 2 * 4


def test_every_kind_of_write_feeds_the_index(client: Any) -> None:
    table = create(client, _index())
    client.batch_write_item(
        RequestItems={
            table.name: [
                {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"S": s}, "vec": _vec(1, i)}}}
                for i, s in enumerate(["a", "b", "c"])
            ]
        }
    )
    assert {sk for sk, _ in table.search([1, 0])} == {"a", "b", "c"}
    client.update_item(
        TableName=table.name,
        Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
        UpdateExpression="REMOVE vec",
    )
    client.delete_item(TableName=table.name, Key={"pk": {"S": "p"}, "sk": {"S": "b"}})
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table.name,
                    "Item": {"pk": {"S": "p"}, "sk": {"S": "d"}, "vec": _vec(0, 1)},
                }
            }
        ]
    )
    assert {sk for sk, _ in table.search([1, 0])} == {"c", "d"}


def test_a_paused_feed_keeps_new_items_out_and_deleted_ones_in(
    client: Any, vector_emulator: VectorSearchEmulator
) -> None:
    table = create(client, _index())
    table.put("old", vec=_vec(1, 0))
    vector_emulator.pause_feed()
    try:
        table.put("new", vec=_vec(1, 0))
        client.delete_item(TableName=table.name, Key={"pk": {"S": "p"}, "sk": {"S": "old"}})
        assert table.search([1, 0]) == [("old", 0.0)]
        vector_emulator.feed()
        assert table.search([1, 0]) == [("new", 0.0)]
    finally:
        vector_emulator.resume_feed()


def test_lag_and_index_definitions_kept_across_restarts(ddb_endpoint: str, tmp_path: Path) -> None:
    state = tmp_path / "vector-indexes.json"
    with VectorSearchEmulator(ddb_endpoint, lag_seconds=0.3, state_file=state) as emulator:
        client = boto3.client("dynamodb", endpoint_url=emulator.endpoint_url, region_name=REGION)
        table = create(client, _index())
        table.put("a", vec=_vec(1, 0))
        assert table.search([1, 0]) == []  # not yet
        time.sleep(0.4)
        assert table.search([1, 0]) == [("a", 0.0)]
    with VectorSearchEmulator(ddb_endpoint, state_file=state) as emulator:
        client = boto3.client("dynamodb", endpoint_url=emulator.endpoint_url, region_name=REGION)
        again = Table(client, table.name)
        again.wait_active()
        assert again.search([1, 0]) == [("a", 0.0)]  # the index, backfilled again
