"""Golden items: raw DynamoDB items that an earlier build wrote (``tests/golden/items.json``,
made once by ``tests/golden/make.py``, never regenerated here) are loaded into a new table
with ``PutItem`` as they are, and read through the public API of this build: what it reads
must be what ``tests/golden/expected.json`` says. So every later version reads today's
format (docs/compatibility.md)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore
from tests.golden.make import INDEX, decode, read_saver, read_store

from ..conftest import REGION

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def load(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def golden_table(ddb_endpoint: str) -> str:
    """A new table holding the golden items, put raw."""
    name = f"golden-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    for item in decode(load("items.json")["items"]):
        client.put_item(TableName=name, Item=item)
    return name


def test_the_golden_items_cover_every_kind_of_item() -> None:
    items = load("items.json")["items"]
    kinds = {(i["k"]["S"], (i.get("z") or {}).get("S")) for i in items}
    assert {("c", "zstd+d1"), ("c", None), ("w", "zstd+d1"), ("w", None)} <= kinds
    assert {k for k, _ in kinds} == {"c", "w", "x", "m", "v", "d"}  # chunks, store, vectors
    assert any("ch" in i for i in items)  # a payload in chunk items
    assert any(i["k"]["S"] == "m" and "ttl" in i for i in items)
    assert any(i["k"]["S"] == "m" and "vn" in i for i in items)
    assert all(int(i.get("v", {"N": "1"})["N"]) == load("items.json")["format"] for i in items)


def test_this_build_reads_the_golden_checkpoints(ddb_endpoint: str, golden_table: str) -> None:
    with DynamoDBSaver(
        table_name=golden_table, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        assert read_saver(saver) == load("expected.json")["saver"]


def test_this_build_reads_the_golden_memories(ddb_endpoint: str, golden_table: str) -> None:
    with DynamoDBStore(
        table_name=golden_table, endpoint_url=ddb_endpoint, region_name=REGION, index=INDEX
    ) as store:
        assert read_store(store) == load("expected.json")["store"]
