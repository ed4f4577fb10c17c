"""The two I/O shells: run a flow with a boto3 client (sync) or an aiobotocore client.

Everything else is in the flows; a driver only sends each :class:`~.calls.Call` to the
client, counts it in the call's :class:`~.stats.CallStats` (and logs one debug line per
request on ``langgraph_dynamodb.requests``: method, table, time, capacity, never keys or
values), sleeps for :class:`~.calls.Sleep`, runs a
:class:`~.calls.Compute` (blocking, or awaited), runs a :class:`~.calls.Fork`'s sub-flows
concurrently (threads on the one boto3 client, or tasks on the event loop) and hands out
:class:`~.calls.Emit` values. Errors are translated here, naming the table, region and endpoint
(:class:`~.calls.Where`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncGenerator, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from langgraph_dynamodb.calls import (
    Call,
    Compute,
    Emit,
    Failure,
    Flow,
    Fork,
    Sleep,
    Where,
    error_code,
    failure_of,
    translate_exception,
)
from langgraph_dynamodb.stats import CallStats, capacity_units, retry_attempts

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

T = TypeVar("T")

request_log = logging.getLogger("langgraph_dynamodb.requests")


def _log_request(
    step: Call, stats: CallStats, where: Where, started: float, response: Any, code: str | None
) -> None:
    """One debug line per request, with structured ``extra`` fields (no keys, no values)."""
    ms = (time.perf_counter() - started) * 1000
    response = response if isinstance(response, dict) else {}
    units = capacity_units(response)
    retries = retry_attempts(response)
    request_log.debug(
        "%s %s on %r: %.1f ms, %.1f capacity units, %d retries%s",
        stats.operation or "call",
        step.op,
        where.table,
        ms,
        units,
        retries,
        f", error {code}" if code else "",
        extra={
            "ddb_call": stats.operation,
            "ddb_request": step.op,
            "ddb_table": where.table,
            "ddb_ms": round(ms, 3),
            "ddb_capacity_units": units,
            "ddb_retries": retries,
            "ddb_error": code,
        },
    )


def _on_error(
    call: Call, exc: Exception, stats: CallStats, where: Where, started: float
) -> Failure:
    """Hand an expected error back to the flow; raise everything else translated."""
    response = getattr(exc, "response", None)
    stats.record(call.op, response, call.params, failed=True)
    code = error_code(exc)
    if request_log.isEnabledFor(logging.DEBUG):
        _log_request(call, stats, where, started, response, code or type(exc).__name__)
    if code is not None and code in call.expect:
        return failure_of(exc)
    _raise_translated(call, exc, where)


def _raise_translated(call: Call, exc: Exception, where: Where) -> NoReturn:
    translated = translate_exception(call, exc, where)
    if translated is None:
        raise exc
    raise translated from exc


def _fork_sync(
    client: SyncClient, flows: Sequence[Flow[Any]], stats: CallStats, where: Where
) -> Any:
    if len(flows) <= 1:
        return [run_sync(flow, client, stats, where) for flow in flows]
    with ThreadPoolExecutor(max_workers=len(flows), thread_name_prefix="ddb-fork") as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, run_sync, flow, client, stats, where)
            for flow in flows
        ]
    return [future.result() for future in futures]  # the first error, once all stopped


async def _fork_async(
    client: AsyncClient, flows: Sequence[Flow[Any]], stats: CallStats, where: Where
) -> Any:
    tasks = [asyncio.ensure_future(run_async(flow, client, stats, where)) for flow in flows]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _execute(
    client: SyncClient, step: Call | Sleep | Compute | Fork, stats: CallStats, where: Where
) -> Any:
    if isinstance(step, Sleep):
        time.sleep(step.seconds)
        return None
    if isinstance(step, Compute):
        return step.run()
    if isinstance(step, Fork):
        return _fork_sync(client, step.flows, stats, where)
    started = time.perf_counter()
    try:
        response = getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, where, started)
    stats.record(step.op, response, step.params)
    if request_log.isEnabledFor(logging.DEBUG):
        _log_request(step, stats, where, started, response, None)
    return response


async def _aexecute(
    client: AsyncClient, step: Call | Sleep | Compute | Fork, stats: CallStats, where: Where
) -> Any:
    if isinstance(step, Sleep):
        await asyncio.sleep(step.seconds)
        return None
    if isinstance(step, Compute):
        return await step.arun()
    if isinstance(step, Fork):
        return await _fork_async(client, step.flows, stats, where)
    started = time.perf_counter()
    try:
        response = await getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, where, started)
    stats.record(step.op, response, step.params)
    if request_log.isEnabledFor(logging.DEBUG):
        _log_request(step, stats, where, started, response, None)
    return response


def iterate_sync(
    flow: Flow[T], client: SyncClient, stats: CallStats, where: Where
) -> Generator[Any, None, T]:
    """Run a flow with a blocking client, yielding what it emits; returns its result.

    The flow is closed however the run ends, so its ``finally`` blocks run at once."""
    response: Any = None
    try:
        while True:
            try:
                step = flow.send(response)
            except StopIteration as stop:
                return cast(T, stop.value)
            if isinstance(step, Emit):
                response = None
                yield step.value
            else:
                response = _execute(client, step, stats, where)
    finally:
        flow.close()


async def iterate_async(
    flow: Flow[T],
    client: AsyncClient,
    stats: CallStats,
    where: Where,
    result: list[T] | None = None,
) -> AsyncGenerator[Any, None]:
    """Run a flow with an async client, yielding what it emits (its result goes to
    ``result``). The flow is closed however the run ends."""
    response: Any = None
    try:
        while True:
            try:
                step = flow.send(response)
            except StopIteration as stop:
                if result is not None:
                    result.append(cast(T, stop.value))
                return
            if isinstance(step, Emit):
                response = None
                yield step.value
            else:
                response = await _aexecute(client, step, stats, where)
    finally:
        flow.close()


def run_sync(flow: Flow[T], client: SyncClient, stats: CallStats, where: Where) -> T:
    """Run a flow that emits nothing and return its result."""
    gen = iterate_sync(flow, client, stats, where)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return cast(T, stop.value)


async def run_async(flow: Flow[T], client: AsyncClient, stats: CallStats, where: Where) -> T:
    """Run a flow that emits nothing and return its result."""
    result: list[T] = []
    async for _ in iterate_async(flow, client, stats, where, result):
        pass
    return result[0]
