"""Error translation: DynamoDB error codes and botocore exceptions to the library's errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from langgraph_dynamodb import _drivers, errors, steps
from langgraph_dynamodb.stats import CallStats
from langgraph_dynamodb.steps import Failure, Request

TABLE = "my-table"
WHERE = steps.Where(TABLE, "eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com")
LOCAL = steps.Where(TABLE, "us-east-1", "http://127.0.0.1:8000")
PUT = Request("put_item", {"TableName": TABLE})
QUERY = Request("query", {"TableName": TABLE})


def translate(code: str, message: str = "msg", call: Request = PUT) -> errors.DynamoDBSaverError:
    return steps.translate_client_error(call, code, message, WHERE)


def client_error(code: str, message: str = "msg", op: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


# --- translate_client_error -----------------------------------------------------------------
def test_resource_not_found_is_table_not_found_and_mentions_setup() -> None:
    err = translate("ResourceNotFoundException", "Requested resource not found")
    assert isinstance(err, errors.TableNotFoundError)
    text = str(err)
    assert "setup()" in text
    assert repr(TABLE) in text
    assert "Requested resource not found" in text
    assert "region eu-west-1" in text and "at https://dynamodb.eu-west-1.amazonaws.com" in text


def test_no_credentials_on_a_local_endpoint_says_placeholders_work() -> None:
    err = steps.translate_exception(PUT, NoCredentialsError(), LOCAL)
    assert isinstance(err, errors.AccessDeniedError)
    assert "DynamoDB Local accepts any keys" in str(err)
    assert "AWS_ACCESS_KEY_ID=local" in str(err)
    err = steps.translate_exception(PUT, NoCredentialsError(), WHERE)
    assert "DynamoDB Local accepts" not in str(err) and "AWS_PROFILE" in str(err)


def test_unreachable_local_endpoint_names_it_and_how_to_start_one() -> None:
    err = steps.translate_exception(PUT, EndpointConnectionError(endpoint_url="http://x"), LOCAL)
    assert isinstance(err, errors.UnavailableError)
    assert "http://127.0.0.1:8000" in str(err) and "langgraph_dynamodb.local run" in str(err)


@pytest.mark.parametrize(
    ("op", "action"),
    [
        ("put_item", "dynamodb:PutItem"),
        ("query", "dynamodb:Query"),
        ("batch_write_item", "dynamodb:BatchWriteItem"),
        ("batch_get_item", "dynamodb:BatchGetItem"),
        ("describe_table", "dynamodb:DescribeTable"),
        ("update_time_to_live", "dynamodb:UpdateTimeToLive"),
    ],
)
def test_access_denied_names_the_action(op: str, action: str) -> None:
    err = translate("AccessDeniedException", "User: arn:... is not authorized", Request(op, {}))
    assert isinstance(err, errors.AccessDeniedError)
    assert isinstance(err, PermissionError)
    assert action in str(err)
    assert "not authorized" in str(err)


@pytest.mark.parametrize(
    "code",
    [
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
    ],
)
def test_credential_errors_are_access_denied(code: str) -> None:
    err = translate(code)
    assert isinstance(err, errors.AccessDeniedError)
    assert "dynamodb:PutItem" in str(err) and code in str(err)


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    ],
)
def test_throttling_and_server_errors_are_unavailable(code: str) -> None:
    err = translate(code, call=QUERY)
    assert isinstance(err, errors.UnavailableError)
    assert code in str(err)
    assert "dynamodb:Query" in str(err)
    assert code in steps.TRANSIENT_CODES


@pytest.mark.parametrize(
    "message",
    [
        "The provided key element does not match the schema",
        "One or more parameter values were invalid: Missing the key sk in the item",
        "Query condition missed key schema element: id",
        "Query key condition not supported",
    ],
)
def test_key_schema_validation_errors_are_table_schema_errors(message: str) -> None:
    err = translate("ValidationException", message)
    assert isinstance(err, errors.TableSchemaError)
    assert "'pk'" in str(err) and "'sk'" in str(err)
    assert message in str(err)


def test_other_validation_errors_are_request_errors() -> None:
    err = translate("ValidationException", "Item size has exceeded the maximum allowed size")
    assert isinstance(err, errors.DynamoDBRequestError)
    assert "ValidationException" in str(err) and "Item size" in str(err)


def test_conditional_check_and_transaction_failures_are_conflicts() -> None:
    assert isinstance(translate("ConditionalCheckFailedException"), errors.ConflictError)
    assert isinstance(translate("TransactionCanceledException"), errors.ConflictError)


def test_unknown_codes_keep_code_and_message() -> None:
    err = translate("SomethingNewException", "details here")
    assert isinstance(err, errors.DynamoDBRequestError)
    assert "SomethingNewException" in str(err) and "details here" in str(err)


def test_every_error_is_a_saver_error() -> None:
    for code in (
        "ResourceNotFoundException",
        "AccessDeniedException",
        "ThrottlingException",
        "ValidationException",
        "Whatever",
    ):
        assert isinstance(translate(code), errors.DynamoDBSaverError)


def test_action_name() -> None:
    assert steps.action_name("get_item") == "dynamodb:GetItem"
    assert steps.action_name("custom_op") == "dynamodb:custom_op"


# --- translate_exception --------------------------------------------------------------------
def test_translate_exception_reads_client_errors() -> None:
    err = steps.translate_exception(PUT, client_error("ResourceNotFoundException"), WHERE)
    assert isinstance(err, errors.TableNotFoundError)
    err = steps.translate_exception(QUERY, client_error("AccessDeniedException"), WHERE)
    assert isinstance(err, errors.AccessDeniedError) and "dynamodb:Query" in str(err)


def test_translate_exception_network_and_configuration() -> None:
    err = steps.translate_exception(PUT, EndpointConnectionError(endpoint_url="http://x"), WHERE)
    assert isinstance(err, errors.UnavailableError)
    err = steps.translate_exception(PUT, ReadTimeoutError(endpoint_url="http://x"), WHERE)
    assert isinstance(err, errors.UnavailableError)
    err = steps.translate_exception(PUT, NoCredentialsError(), WHERE)
    assert isinstance(err, errors.AccessDeniedError) and "dynamodb:PutItem" in str(err)
    err = steps.translate_exception(PUT, NoRegionError(), WHERE)
    assert isinstance(err, errors.ConfigurationError) and "region" in str(err)


def test_translate_exception_leaves_unknown_exceptions_alone() -> None:
    assert steps.translate_exception(PUT, KeyError("x"), WHERE) is None
    assert steps.translate_exception(PUT, RuntimeError("boom"), WHERE) is None


def test_error_code_and_failure_of() -> None:
    exc = client_error("ConditionalCheckFailedException", "lost")
    exc.response["Item"] = {"pk": {"S": "x"}}
    assert steps.error_code(exc) == "ConditionalCheckFailedException"
    assert steps.error_code(RuntimeError()) is None
    failure = steps.failure_of(exc)
    assert failure.code == "ConditionalCheckFailedException"
    assert failure.message == "lost"
    assert failure.response["Item"] == {"pk": {"S": "x"}}


# --- drivers: expected errors go back to the flow, others are raised translated -------------
class FakeClient:
    def __init__(self, exc: Exception | None = None, response: Any = None) -> None:
        self.exc = exc
        self.response = response if response is not None else {}

    def __getattr__(self, op: str) -> Any:
        def method(**params: Any) -> Any:
            if self.exc is not None:
                raise self.exc
            return self.response

        return method


def _one_call(call: Request) -> Any:
    response = yield call
    return response


def test_driver_hands_expected_errors_to_the_flow() -> None:
    call = Request("put_item", {}, expect=("ConditionalCheckFailedException",))
    client = FakeClient(client_error("ConditionalCheckFailedException", "lost"))
    result = _drivers.run_sync(_one_call(call), client, CallStats(), WHERE)
    assert isinstance(result, Failure) and result.code == "ConditionalCheckFailedException"


def test_driver_raises_translated_errors_from_the_original() -> None:
    original = client_error("ResourceNotFoundException")
    with pytest.raises(errors.TableNotFoundError) as info:
        _drivers.run_sync(_one_call(PUT), FakeClient(original), CallStats(), WHERE)
    assert info.value.__cause__ is original
    with pytest.raises(RuntimeError):
        _drivers.run_sync(_one_call(PUT), FakeClient(RuntimeError("x")), CallStats(), WHERE)


async def test_async_driver_translates_errors() -> None:
    class AsyncClient:
        async def query(self, **params: Any) -> Any:
            raise client_error("ThrottlingException", op="Query")

    with pytest.raises(errors.UnavailableError):
        await _drivers.run_async(_one_call(QUERY), AsyncClient(), CallStats(), WHERE)


# --- Stats ----------------------------------------------------------------------------------
def test_stats_record_capacity() -> None:
    stats = CallStats()
    stats.record("query", {"ConsumedCapacity": {"CapacityUnits": 1.5}})
    stats.record(
        "batch_write_item", {"ConsumedCapacity": [{"CapacityUnits": 2}, {"CapacityUnits": 3}]}
    )
    stats.record("put_item", None)
    stats.record("describe_table", {"ConsumedCapacity": {"CapacityUnits": 9}})
    assert stats.requests == {"query": 1, "batch_write_item": 1, "put_item": 1, "describe_table": 1}
    assert stats.total_requests == 4
    assert stats.read_units == 1.5
    assert stats.write_units == 5.0


def test_backoff_is_bounded() -> None:
    for attempt in range(0, 40):
        delay = steps.backoff(attempt)
        assert 0 <= delay <= steps.limits.UNPROCESSED_MAX_DELAY_S


@pytest.mark.parametrize("cls_name", ["DynamoDBSaver", "DynamoDBStore"])
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table_name": "x"}, "3-255 characters"),
        ({"table_name": "t-1", "client": object(), "session": object()}, "client= or session="),
        ({"table_name": "t-1", "aclient": object(), "aiosession": object()}, "aclient= or"),
        ({"table_name": "t-1", "profile_name": "p", "session": object()}, "profile_name="),
    ],
)
def test_saver_and_store_refuse_the_same_bad_options(
    cls_name: str, kwargs: dict[str, Any], message: str
) -> None:
    import langgraph_dynamodb

    with pytest.raises(errors.ConfigurationError, match=message):
        getattr(langgraph_dynamodb, cls_name)(**kwargs)
