"""One table definition: the library's ``create_table_params``, what ``setup()`` creates,
and both templates agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from samtranslator.yaml_helper import yaml_parse

from examples.incident import memory
from examples.incident.infra import spec
from langgraph_dynamodb import schema

from ..conftest import REGION


def library_definition() -> dict[str, Any]:
    params = schema.create_table_params("any")
    return {
        "KeySchema": params["KeySchema"],
        "AttributeDefinitions": params["AttributeDefinitions"],
        "BillingMode": params["BillingMode"],
        "SSE": params["SSESpecification"]["Enabled"],
    }


def from_cloudformation(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props["BillingMode"],
        "SSE": props["SSESpecification"]["SSEEnabled"],
    }


def test_sam_table_is_the_library_table() -> None:
    template = yaml_parse(Path(spec.__file__).with_name("template.yaml").read_text())
    props = template["Resources"]["CheckpointTable"]["Properties"]
    assert from_cloudformation(props) == library_definition()
    assert props["TimeToLiveSpecification"]["AttributeName"] == schema.TTL
    # the memory's vector index: what DynamoDBStore(index=memory.index_config()) declares
    dims = memory.index_config()["dims"]
    assert props["VectorIndexes"] == [schema.vector_index_definition(dims)]


def test_cdk_table_is_the_library_table(cdk_template: Any) -> None:
    (table,) = cdk_template.find_resources("AWS::DynamoDB::Table").values()
    assert from_cloudformation(table["Properties"]) == library_definition()
    assert table["Properties"]["TimeToLiveSpecification"]["AttributeName"] == schema.TTL


@pytest.mark.integration
def test_setup_creates_the_library_table(ddb_endpoint: str, incident_table: str) -> None:
    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=ddb_endpoint, region_name=REGION
    )
    described = client.describe_table(TableName=incident_table)["Table"]
    expected = library_definition()
    assert described["KeySchema"] == expected["KeySchema"]
    assert (
        sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        == (expected["AttributeDefinitions"])
    )
    assert described["BillingModeSummary"]["BillingMode"] == expected["BillingMode"]
