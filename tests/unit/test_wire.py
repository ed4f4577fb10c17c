"""Items converted from DynamoDB's JSON exactly as botocore's own parser converts them."""

from __future__ import annotations

import base64
import json
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_dynamodb import wire
from langgraph_dynamodb._drivers import _take_items

_MODEL = botocore.session.get_session().get_service_model("dynamodb")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# JSON attribute values as DynamoDB sends them.
_scalars = st.one_of(
    st.text(max_size=20).map(lambda s: {"S": s}),
    st.integers(-(10**30), 10**30).map(lambda n: {"N": str(n)}),
    st.binary(max_size=40).map(lambda b: {"B": _b64(b)}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(st.text(max_size=5), min_size=1, max_size=3, unique=True).map(lambda v: {"SS": v}),
    st.lists(st.integers(0, 999), min_size=1, max_size=3, unique=True).map(
        lambda v: {"NS": [str(x) for x in v]}
    ),
    st.lists(st.binary(max_size=8), min_size=1, max_size=3, unique=True).map(
        lambda v: {"BS": [_b64(x) for x in v]}
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda v: {"L": v}),
        st.dictionaries(st.text(max_size=5), inner, max_size=3).map(lambda v: {"M": v}),
    ),
    max_leaves=12,
)
_items = st.dictionaries(st.text(min_size=1, max_size=6), _values, min_size=1, max_size=5)


def _botocore(operation: str, body: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = create_parser("json").parse(
        {"status_code": 200, "headers": {}, "body": body},
        _MODEL.operation_model(operation).output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    return parsed


def _ours(operation: str, body: bytes) -> dict[str, Any]:
    split = wire.split_response(operation, body)
    assert split is not None
    rest, taken = split
    parsed = _botocore(operation, rest)
    parsed.update(taken)
    return parsed


@settings(max_examples=150)
@given(st.lists(_items, max_size=5), st.one_of(st.none(), _items))
def test_query_and_scan_items_match_botocore(items: list[dict[str, Any]], last: Any) -> None:
    response: dict[str, Any] = {
        "Items": items,
        "Count": len(items),
        "ScannedCount": len(items),
        "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 2.5},
    }
    if last is not None:
        response["LastEvaluatedKey"] = last
    body = json.dumps(response).encode()
    for operation in ("Query", "Scan"):
        assert _ours(operation, body) == _botocore(operation, body)


@settings(max_examples=50)
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.lists(_items, max_size=3), max_size=3))
def test_batch_get_responses_match_botocore(responses: dict[str, list[dict[str, Any]]]) -> None:
    body = json.dumps(
        {
            "Responses": responses,
            "UnprocessedKeys": {
                "a": {"Keys": [{"pk": {"S": "x"}, "sk": {"B": _b64(b"\x00\x01")}}]}
            },
            "ConsumedCapacity": [{"TableName": "a", "CapacityUnits": 1.0}],
        }
    ).encode()
    assert _ours("BatchGetItem", body) == _botocore("BatchGetItem", body)


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("PutItem", b'{"Attributes": {"a": {"S": "x"}}}'),  # not an item-reading operation
        ("Query", b'{"Count": 0}'),  # no Items key
        ("Query", b"not json"),
        ("Query", b'["a list"]'),
        ("Query", b'{"Items": [{"a": {"B": "!!not base64!!"}}]}'),
        ("Query", b'{"Items": [{"a": {"S": "x", "B": "eA=="}}]}'),
        ("Query", b'{"Items": [{"a": {}}]}'),
        ("Query", b'{"Items": "nope"}'),
    ],
)
def test_anything_unexpected_is_left_to_botocore(operation: str, body: bytes) -> None:
    assert wire.split_response(operation, body) is None


def test_the_hook_only_touches_successful_json_responses() -> None:
    body = b'{"Items": [{"p": {"B": "eA=="}}], "Count": 1}'

    def run(status: int, content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
        response = {"status_code": status, "headers": {"content-type": content_type}, "body": body}
        taken: dict[str, Any] = {}
        _take_items(response, taken, operation_model=_MODEL.operation_model("Query"))
        return response, taken

    response, taken = run(200, "application/x-amz-json-1.0")
    assert taken == {"Items": [{"p": {"B": b"x"}}]}
    assert json.loads(response["body"]) == {"Count": 1}
    for status, content_type in ((400, "application/x-amz-json-1.0"), (200, "application/cbor")):
        response, taken = run(status, content_type)
        assert taken == {} and response["body"] == body
