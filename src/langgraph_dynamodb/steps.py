"""What flows ask the I/O shells to do, and how DynamoDB's answers and errors are read.

A flow is a generator that yields :class:`Request` (one DynamoDB request), :class:`Sleep`
(a backoff), :class:`Emit` (a result of an iterating operation), :class:`Compute` (work
outside DynamoDB) or :class:`Fork` (independent sub-flows, run concurrently), and receives
the response of each. The sync and async drivers in ``_drivers`` run every flow.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import (
    AccessDeniedError,
    ConfigurationError,
    ConflictError,
    DynamoDBRequestError,
    DynamoDBSaverError,
    TableNotFoundError,
    TableSchemaError,
    UnavailableError,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """One DynamoDB request: the low-level client method name and its parameters.

    Attributes:
        op: boto3 client method (``"query"``, ``"put_item"``, ...).
        params: Its keyword arguments.
        expect: Error codes returned to the flow as a :class:`Failure` instead of raised.
    """

    op: str
    params: dict[str, Any]
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sleep:
    """Wait before the next request (bounded, jittered backoff)."""

    seconds: float


@dataclass(frozen=True)
class Emit:
    """A result of an iterating flow (``list``)."""

    value: Any


@dataclass(frozen=True)
class Failure:
    """An expected error, handed back to the flow: code, message and error response."""

    code: str
    message: str
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """Where a client sends its requests: named in every error about reaching a table."""

    table: str
    region: str | None = None
    endpoint: str | None = None

    def describe(self) -> str:
        """``table 't' in region eu-west-1 at https://...`` for error messages."""
        text = f"table {self.table!r}"
        if self.region:
            text += f" in region {self.region}"
        if self.endpoint:
            text += f" at {self.endpoint}"
        return text

    @property
    def is_custom_endpoint(self) -> bool:
        """Whether requests go somewhere other than AWS (DynamoDB Local, moto, a proxy)."""
        return bool(self.endpoint) and ".amazonaws.com" not in str(self.endpoint)


@dataclass(frozen=True)
class Compute:
    """Work outside DynamoDB that a flow needs the result of (the store's embeddings), in
    its sync and its async form; the driver sends back what it returns."""

    run: Callable[[], Any]
    arun: Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Fork:
    """Independent sub-flows the driver runs concurrently; it sends back their results, in
    order, or raises the first error once all have stopped. Sub-flows never emit. The
    drivers run at most :data:`~langgraph_dynamodb.limits.MAX_PARALLEL_REQUESTS` of them
    at a time (threads on the sync client, tasks on the async one)."""

    flows: tuple[Generator[Any, Any, Any], ...]


Step = Request | Sleep | Emit | Compute | Fork
Flow = Generator[Step, Any, T]


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff for work DynamoDB handed back."""
    cap = min(limits.UNPROCESSED_MAX_DELAY_S, limits.UNPROCESSED_BASE_DELAY_S * 2**attempt)
    return random.uniform(0, cap)


# --- error translation -------------------------------------------------------------------
THROTTLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
"""Error codes of a throttled request (counted as throttles; botocore retries them)."""
TRANSIENT_CODES = THROTTLE_CODES | {
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
}
"""Error codes worth retrying later: throttling and DynamoDB's own server errors."""
_DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
    }
)


@dataclass(frozen=True)
class Operation:
    """What the library knows of one DynamoDB operation it sends.

    Attributes:
        action: The API name, and so the IAM action (``dynamodb:<action>``).
        units: Which capacity its consumed capacity counts as (``"read"``, ``"write"``),
            or ``None`` (table management; the vector index bills by bytes examined).
        reports_capacity: Whether it returns consumed capacity when asked.
    """

    action: str
    units: str | None = None
    reports_capacity: bool = False


OPERATIONS: dict[str, Operation] = {
    "get_item": Operation("GetItem", "read", True),
    "query": Operation("Query", "read", True),
    "scan": Operation("Scan", "read", True),
    "batch_get_item": Operation("BatchGetItem", "read", True),
    "put_item": Operation("PutItem", "write", True),
    "delete_item": Operation("DeleteItem", "write", True),
    "update_item": Operation("UpdateItem", "write", True),
    "batch_write_item": Operation("BatchWriteItem", "write", True),
    "transact_write_items": Operation("TransactWriteItems", "write", True),
    "search_vectors": Operation("SearchVectors", None, True),
    "describe_table": Operation("DescribeTable"),
    "describe_continuous_backups": Operation("DescribeContinuousBackups"),
    "create_table": Operation("CreateTable"),
    "update_table": Operation("UpdateTable"),
    "describe_time_to_live": Operation("DescribeTimeToLive"),
    "update_time_to_live": Operation("UpdateTimeToLive"),
}
"""Every operation the library sends, by boto3 client method: the one table of them."""


def action_name(op: str) -> str:
    """IAM action of a client method, e.g. ``dynamodb:PutItem``."""
    known = OPERATIONS.get(op)
    return "dynamodb:" + (known.action if known is not None else op)


def translate_client_error(
    call: Request, code: str, message: str, where: Where
) -> DynamoDBSaverError:
    """Turn a DynamoDB error code into the library's error, saying what to do."""
    action = action_name(call.op)
    table = where.table
    if code == "ResourceNotFoundException":
        return TableNotFoundError(
            f"DynamoDB {where.describe()} does not exist ({action}: {message}). Call "
            "setup() once, deploy the table from the templates in examples/, or point the "
            "saver where the table is (region_name= or AWS_REGION, endpoint_url= or "
            "AWS_ENDPOINT_URL_DYNAMODB)."
        )
    if code in _DENIED_CODES:
        return AccessDeniedError(
            f"{code} on {action} for {where.describe()}: {message}. Grant {action} on the "
            "table (docs/security.md lists what each feature needs) or fix the credentials."
        )
    if code in TRANSIENT_CODES:
        return UnavailableError(
            f"DynamoDB kept answering {code} to {action} on {where.describe()} after all "
            f"retries: {message}. Retry later, raise the table's capacity, or pass "
            "boto_config=Config(retries={'mode': 'adaptive', 'max_attempts': ...})."
        )
    if code == "ValidationException" and (
        "key element does not match the schema" in message
        or "Missing the key" in message
        or "Query condition missed key schema element" in message
        or "Query key condition not supported" in message
    ):
        return TableSchemaError(
            f"table {table!r} does not have the key schema this library writes "
            f"(partition key {schema.PK!r} S, sort key {schema.SK!r} S): {message}. Use a "
            "table created by setup() or by the template."
        )
    if code == "ConditionalCheckFailedException":
        return ConflictError(f"{action} on {table!r} lost a race with another writer: {message}")
    if code == "TransactionCanceledException":
        return ConflictError(f"a transaction on {table!r} was cancelled: {message}")
    return DynamoDBRequestError(f"{code} from {action} on {where.describe()}: {message}")


_CONNECTION_ERRORS = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ConnectionError",
        "ServerDisconnectedError",
        "ClientConnectorError",
        "ClientOSError",
    }
)


def translate_exception(call: Request, exc: Exception, where: Where) -> DynamoDBSaverError | None:
    """Translate a botocore exception; ``None`` if it is not one this layer knows."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error", {})
        return translate_client_error(
            call, str(error.get("Code", "")), str(error.get("Message", "")), where
        )
    name = type(exc).__name__
    action = action_name(call.op)
    if name in {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        if where.is_custom_endpoint:
            return AccessDeniedError(
                f"no usable AWS credentials for {action} on {where.describe()} ({exc}). "
                "DynamoDB Local accepts any keys: set placeholders such as "
                "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local, or pass a session "
                "made with them."
            )
        return AccessDeniedError(
            f"no usable AWS credentials for {action} on {where.describe()} ({exc}). "
            "Configure credentials (an IAM role, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), or pass endpoint_url= for DynamoDB Local."
        )
    if name == "NoRegionError":
        return ConfigurationError(
            "no AWS region configured: pass region_name=..., or set AWS_REGION or "
            "AWS_DEFAULT_REGION, or use a profile with a region"
        )
    if name in _CONNECTION_ERRORS:
        hint = ""
        if where.is_custom_endpoint:
            hint = (
                f" Is DynamoDB Local (or your proxy) running at {where.endpoint}? "
                "'python -m langgraph_dynamodb.local run' starts one; check endpoint_url= "
                "or AWS_ENDPOINT_URL_DYNAMODB."
            )
        return UnavailableError(
            f"could not reach DynamoDB for {action} on {where.describe()}: {exc}.{hint}"
        )
    return None


def error_code(exc: Exception) -> str | None:
    """The DynamoDB error code of a botocore ``ClientError``, if it is one."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def failure_of(exc: Exception) -> Failure:
    """The :class:`Failure` a flow receives for an expected error."""
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {})
    return Failure(str(error.get("Code", "")), str(error.get("Message", "")), dict(response))
