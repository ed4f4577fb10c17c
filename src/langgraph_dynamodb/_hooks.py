"""botocore event handlers: counters on every client the library uses, and two
behaviours on the clients it makes (never on clients passed in).

- **Counters** (:func:`install_counters`, on every client): throttled attempts
  (``needs-retry``), request and response body bytes of every attempt (``before-send``,
  ``before-parse``), added to the :class:`~.stats.CallStats` of the library call being
  made. Outside the library's calls they do nothing, so a client shared with other code
  is not affected.

- **Fast items.** A ``before-parse`` handler converts the items of Query, Scan and
  BatchGetItem responses with :mod:`.wire` instead of botocore's per-value model walk.
  It leans on two things botocore does not promise: that the items it converts equal
  what botocore's parser returns, and that the endpoint merges
  ``customized_response_dict`` into the parsed response. Both are checked where they
  happen: the first response converted in a process is also parsed by botocore and the
  two compared, and an ``after-call`` handler checks that each converted response really
  carries the converted items (putting them in if not). If either check fails, the
  handler turns itself off for the process with one warning, and botocore's own parser
  reads everything from then on.
- **Connections.** A ``needs-retry`` handler logs a warning at the first failed
  connection of a request (botocore retries silently), and ends the retries of a refused
  connection after :data:`~langgraph_dynamodb.limits.REFUSED_CONNECTION_ATTEMPTS`
  attempts: nothing listens there, so waiting the whole retry budget (about 40 s) only
  hides the mistake. Throttling and 5xx answers keep botocore's patient retries.
"""

from __future__ import annotations

import contextvars
import errno
import logging
from typing import Any

from langgraph_dynamodb import _observe, limits, wire
from langgraph_dynamodb.stats import THROTTLE_CODES

logger = logging.getLogger("langgraph_dynamodb.client")

_ID = "langgraph-dynamodb-"

_converted: contextvars.ContextVar[tuple[str, Any] | None] = contextvars.ContextVar(
    "langgraph_dynamodb_converted", default=None
)


class _FastItems:
    """Whether the fast item parser is on in this process, and its one-time checks."""

    enabled = True
    compared = False

    @classmethod
    def turn_off(cls, why: str) -> None:
        if cls.enabled:
            cls.enabled = False
            logger.warning(
                "langgraph-dynamodb: reading items with botocore's own parser from now on (%s). "
                "Reads are correct, a little slower; please report your botocore version.",
                why,
                extra={"ddb_event": "item_parser_off"},
            )


def _botocore_items(response_dict: dict[str, Any], operation_model: Any, key: str) -> Any:
    """What botocore's own parser makes of a response's items."""
    from botocore.parsers import create_parser

    parsed = create_parser("json").parse(response_dict, operation_model.output_shape)
    return parsed.get(key)


def _before_parse(response_dict: Any, customized_response_dict: Any, **kwargs: Any) -> None:
    """Convert the items of a successful read response (see the module docstring)."""
    _converted.set(None)
    if not _FastItems.enabled:
        return
    operation_model = kwargs.get("operation_model")
    operation = getattr(operation_model, "name", "")
    headers = response_dict.get("headers", {})
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or "json" not in str(
        headers.get("content-type", "")
    ):
        return
    if not isinstance(body, bytes):
        return
    split = wire.split_response(operation, body)
    if split is None:
        return
    rest, taken = split
    key = wire.ITEM_OPERATIONS[operation]
    if not _FastItems.compared:
        _FastItems.compared = True
        try:
            expected = _botocore_items(response_dict, operation_model, key)
        except Exception as exc:  # botocore could not parse it either: leave it to botocore
            _FastItems.turn_off(f"checking the parser failed: {exc!r}")
            return
        if expected != taken[key]:
            _FastItems.turn_off("its items differ from botocore's for this botocore version")
            return
    response_dict["body"] = rest
    customized_response_dict.update(taken)
    _converted.set((key, taken[key]))


def _after_call(parsed: Any, **kwargs: Any) -> None:
    """Check that the items converted before parsing reached the response."""
    converted = _converted.get()
    if converted is None:
        return
    _converted.set(None)
    key, items = converted
    if isinstance(parsed, dict) and parsed.get(key) is not items:
        parsed[key] = items
        _FastItems.turn_off("this botocore does not merge customized_response_dict")


def _refused(exc: BaseException) -> bool:
    """Whether a connection error is a refused connection (nothing listens there)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ConnectionRefusedError) or getattr(err, "errno", None) == (
            errno.ECONNREFUSED
        ):
            return True
        todo.extend(
            [
                getattr(err, "__cause__", None),
                getattr(err, "__context__", None),
                getattr(err, "os_error", None),
                (getattr(err, "kwargs", None) or {}).get("error"),
            ]
        )
    return False


_CONNECTION_ERRORS = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"}
)


def _needs_retry(attempts: int = 1, caught_exception: Any = None, **kwargs: Any) -> None:
    """Warn at a request's first failed connection; stop retrying refused ones."""
    if caught_exception is None or type(caught_exception).__name__ not in _CONNECTION_ERRORS:
        return
    refused = _refused(caught_exception)
    if attempts == 1:
        logger.warning(
            "cannot reach DynamoDB for %s: %s; retrying%s",
            getattr(kwargs.get("operation"), "name", "a request"),
            caught_exception,
            f" {limits.REFUSED_CONNECTION_ATTEMPTS - 1} more times" if refused else "",
            extra={
                "ddb_event": "connection_failed",
                "ddb_request": getattr(kwargs.get("operation"), "name", None),
                "ddb_refused": refused,
            },
        )
    if refused and attempts >= limits.REFUSED_CONNECTION_ATTEMPTS:
        raise caught_exception


_current_call = _observe.current


def _count_sent(request: Any = None, **kwargs: Any) -> None:
    call = _current_call()
    if call is not None:
        body = getattr(request, "body", None)
        if isinstance(body, (bytes, bytearray, str)):
            call.count_sent(len(body))


def _count_received(response_dict: Any = None, **kwargs: Any) -> None:
    call = _current_call()
    if call is not None and isinstance(response_dict, dict):
        body = response_dict.get("body")
        if isinstance(body, (bytes, bytearray)):
            call.count_received(len(body))


def _count_throttle(response: Any = None, **kwargs: Any) -> None:
    if response is None:
        return
    call = _current_call()
    if call is None or not isinstance(response, tuple) or len(response) < 2:
        return
    parsed = response[1]
    if isinstance(parsed, dict) and "Error" in parsed:
        if parsed["Error"].get("Code") in THROTTLE_CODES:
            call.count_throttle()


def install_counters(client: Any) -> None:
    """Register the counting handlers on a client (idempotent: unique ids); a stand-in
    without botocore's events is left alone."""
    meta = getattr(client, "meta", None)
    events = getattr(meta, "events", None)
    operations = getattr(getattr(meta, "service_model", None), "operation_names", None)
    if events is None or operations is None:
        return
    events.register_first("before-send.dynamodb", _count_sent, unique_id=_ID + "sent")
    events.register_first("needs-retry.dynamodb", _count_throttle, unique_id=_ID + "throttle")
    # First at each operation's own level: the item parser (more specific than a
    # service-wide handler) trims the body, so the count must run before it.
    for operation in operations:
        events.register_first(
            f"before-parse.dynamodb.{operation}",
            _count_received,
            unique_id=_ID + "received" + operation,
        )


def install(client: Any) -> None:
    """Register the handlers on a client the library made (boto3 or aiobotocore)."""
    install_counters(client)
    events = client.meta.events
    for operation in wire.ITEM_OPERATIONS:
        events.register(
            f"before-parse.dynamodb.{operation}", _before_parse, unique_id=_ID + "parse" + operation
        )
        events.register(
            f"after-call.dynamodb.{operation}", _after_call, unique_id=_ID + "check" + operation
        )
    events.register_first("needs-retry.dynamodb", _needs_retry, unique_id=_ID + "retry")
