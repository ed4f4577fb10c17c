"""The two I/O shells: run a flow with a boto3 client (sync) or an aiobotocore client.

Everything else is in the flows; a driver only sends each :class:`~.calls.Call` to the
client, records capacity, sleeps for :class:`~.calls.Sleep` and hands out
:class:`~.calls.Emit` values.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn, TypeVar

from langgraph_dynamodb import wire
from langgraph_dynamodb.calls import (
    Call,
    Emit,
    Failure,
    Flow,
    Sleep,
    Stats,
    error_code,
    failure_of,
    translate_exception,
)

T = TypeVar("T")

_FAST_ITEMS_ID = "langgraph-dynamodb-fast-items"


def _take_items(response_dict: Any, customized_response_dict: Any, **kwargs: Any) -> None:
    """``before-parse`` hook: convert the items of a read response in :mod:`.wire`."""
    operation = getattr(kwargs.get("operation_model"), "name", "")
    content_type = str(response_dict.get("headers", {}).get("content-type", ""))
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or "json" not in content_type:
        return
    if not isinstance(body, bytes):
        return
    split = wire.split_response(operation, body)
    if split is not None:
        response_dict["body"], taken = split
        customized_response_dict.update(taken)


def install_fast_items(client: Any) -> None:
    """Have a client the saver created parse read responses' items with :mod:`.wire`
    (the same result as botocore's parser, in a fraction of the time). Works for
    boto3 and aiobotocore clients alike; clients passed in by the user are left alone."""
    for operation in wire.ITEM_OPERATIONS:
        client.meta.events.register(
            f"before-parse.dynamodb.{operation}", _take_items, unique_id=_FAST_ITEMS_ID + operation
        )


def _on_error(call: Call, exc: Exception, stats: Stats, table: str) -> Failure:
    """Hand an expected error back to the flow; raise everything else translated."""
    stats.record(call.op, None)
    code = error_code(exc)
    if code is not None and code in call.expect:
        return failure_of(exc)
    _raise_translated(call, exc, table)


def _raise_translated(call: Call, exc: Exception, table: str) -> NoReturn:
    translated = translate_exception(call, exc, table)
    if translated is None:
        raise exc
    raise translated from exc


def _execute(client: Any, step: Call | Sleep, stats: Stats, table: str) -> Any:
    if isinstance(step, Sleep):
        time.sleep(step.seconds)
        return None
    try:
        response = getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, table)
    stats.record(step.op, response)
    return response


async def _aexecute(client: Any, step: Call | Sleep, stats: Stats, table: str) -> Any:
    if isinstance(step, Sleep):
        await asyncio.sleep(step.seconds)
        return None
    try:
        response = await getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, table)
    stats.record(step.op, response)
    return response


def iterate_sync(flow: Flow[Any], client: Any, stats: Stats, table: str) -> Iterator[Any]:
    """Run a flow with a blocking client, yielding what it emits; returns its result.

    The flow is closed however the run ends, so its ``finally`` blocks run at once."""
    response: Any = None
    try:
        while True:
            try:
                step = flow.send(response)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if isinstance(step, Emit):
                response = None
                yield step.value
            else:
                response = _execute(client, step, stats, table)
    finally:
        flow.close()


async def iterate_async(
    flow: Flow[Any], client: Any, stats: Stats, table: str, result: list[Any] | None = None
) -> AsyncIterator[Any]:
    """Run a flow with an async client, yielding what it emits (its result goes to
    ``result``). The flow is closed however the run ends."""
    response: Any = None
    try:
        while True:
            try:
                step = flow.send(response)
            except StopIteration as stop:
                if result is not None:
                    result.append(stop.value)
                return
            if isinstance(step, Emit):
                response = None
                yield step.value
            else:
                response = await _aexecute(client, step, stats, table)
    finally:
        flow.close()


def run_sync(flow: Flow[T], client: Any, stats: Stats, table: str) -> T:
    """Run a flow that emits nothing and return its result."""
    gen = iterate_sync(flow, client, stats, table)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


async def run_async(flow: Flow[T], client: Any, stats: Stats, table: str) -> T:
    """Run a flow that emits nothing and return its result."""
    result: list[Any] = []
    async for _ in iterate_async(flow, client, stats, table, result):
        pass
    return result[0]  # type: ignore[no-any-return]
