"""Items converted from DynamoDB's JSON exactly as botocore's own parser converts them."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_dynamodb import _clients

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
    split = _clients.split_response(operation, body)
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
    assert _clients.split_response(operation, body) is None


@pytest.fixture(autouse=True)
def fast_items_state() -> Iterator[None]:
    """Each test starts with the fast parser on and unchecked, and leaves it so."""
    saved = (_clients._FastItems.enabled, _clients._FastItems.compared)
    _clients._FastItems.enabled, _clients._FastItems.compared = True, False
    yield
    _clients._FastItems.enabled, _clients._FastItems.compared = saved


def _run_hook(status: int, content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    response = {"status_code": status, "headers": {"content-type": content_type}, "body": body}
    taken: dict[str, Any] = {}
    _clients._before_parse(response, taken, operation_model=_MODEL.operation_model("Query"))
    return response, taken


def test_the_hook_only_touches_successful_json_responses() -> None:
    body = b'{"Items": [{"p": {"B": "eA=="}}], "Count": 1}'
    response, taken = _run_hook(200, "application/x-amz-json-1.0", body)
    assert taken == {"Items": [{"p": {"B": b"x"}}]}
    assert json.loads(response["body"]) == {"Count": 1}
    for status, content_type in ((400, "application/x-amz-json-1.0"), (200, "application/cbor")):
        response, taken = _run_hook(status, content_type, body)
        assert taken == {} and response["body"] == body


def test_first_response_is_checked_against_botocore_and_a_mismatch_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"Items": [{"p": {"B": "eA=="}}], "Count": 1}'
    monkeypatch.setattr(_clients, "item", lambda raw: {"p": {"B": b"not what botocore says"}})
    with caplog.at_level(logging.WARNING, "langgraph_dynamodb"):
        response, taken = _run_hook(200, "application/x-amz-json-1.0", body)
        assert taken == {} and response["body"] == body  # botocore parses this one
        assert not _clients._FastItems.enabled
        response, taken = _run_hook(200, "application/x-amz-json-1.0", body)
        assert taken == {} and response["body"] == body  # and every later one
    warnings = [r for r in caplog.records if "botocore's own parser" in r.getMessage()]
    assert len(warnings) == 1, caplog.records


def _canned(body: bytes) -> Any:
    """A before-send handler answering every request with ``body`` (no network)."""
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    def send(request: Any, **_: Any) -> AWSResponse:
        headers = {"content-type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, Raw())

    return send


def _client(*, install: bool = True) -> Any:
    import boto3

    client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    if install:
        _clients.install(client)
    return client


def test_a_client_reads_converted_items_through_botocore() -> None:
    body = b'{"Items": [{"p": {"B": "eA=="}, "s": {"S": "x"}}], "Count": 1}'
    client = _client()
    client.meta.events.register("before-send.dynamodb", _canned(body))
    for _ in range(2):
        response = client.query(TableName="t", KeyConditionExpression="pk = :p")
        assert response["Items"] == [{"p": {"B": b"x"}, "s": {"S": "x"}}]
        assert response["Count"] == 1
    assert _clients._FastItems.enabled and _clients._FastItems.compared


def test_an_endpoint_that_drops_converted_items_is_caught_and_mended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A botocore that no longer merges ``customized_response_dict``: the response still
    carries its items, one warning, and botocore's parser reads from then on."""
    body = b'{"Items": [{"p": {"B": "eA=="}}], "Count": 1}'
    client = _client()
    client.meta.events.register("before-send.dynamodb", _canned(body))

    def drop(customized_response_dict: dict[str, Any], **_: Any) -> None:
        customized_response_dict.clear()

    client.meta.events.register("before-parse.dynamodb.Query", drop)
    with caplog.at_level(logging.WARNING, "langgraph_dynamodb"):
        for _ in range(3):
            response = client.query(TableName="t", KeyConditionExpression="pk = :p")
            assert response["Items"] == [{"p": {"B": b"x"}}]
    assert not _clients._FastItems.enabled
    warnings = [r for r in caplog.records if "customized_response_dict" in r.getMessage()]
    assert len(warnings) == 1, caplog.records


def test_the_user_agent_is_built_once_and_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore builds the User-Agent twice a request; a client the library made builds
    it once for all its requests (one set of feature ids here), and sends the same header
    as a client without the library's handlers."""
    import importlib.util

    if importlib.util.find_spec("botocore.context") is None:
        pytest.skip("this botocore has no request contexts: its User-Agent is left as it is")
    from botocore.useragent import UserAgentString

    builds: list[int] = []
    build = UserAgentString.to_string

    def counted(self: Any) -> str:
        builds.append(id(self))
        return build(self)

    monkeypatch.setattr(UserAgentString, "to_string", counted)
    body = b'{"Items": [], "Count": 0}'
    sent: dict[str, list[bytes]] = {"library": [], "plain": []}
    for name, client in (("library", _client()), ("plain", _client(install=False))):
        client.meta.events.register_first(
            "before-send.dynamodb",
            lambda request, name=name, **_: sent[name].append(request.headers["User-Agent"]),
        )
        client.meta.events.register("before-send.dynamodb", _canned(body))
        builds.clear()
        for _ in range(5):
            client.query(TableName="t", KeyConditionExpression="pk = :p")
        assert len(builds) == (1 if name == "library" else 10)
    assert len(set(sent["library"])) == 1
    assert sent["library"] == sent["plain"]
