"""The two I/O shells: run a flow with a boto3 client (sync) or an aiobotocore client.

Everything else is in the flows; a driver only sends each :class:`~.calls.Call` to the
client, records capacity, sleeps for :class:`~.calls.Sleep`, runs a
:class:`~.calls.Compute` (blocking, or awaited), runs a :class:`~.calls.Fork`'s sub-flows
concurrently (threads on the one boto3 client, or tasks on the event loop) and hands out
:class:`~.calls.Emit` values. Errors are translated here, naming the table, region and endpoint
(:class:`~.calls.Where`).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Generator, Sequence
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
    Stats,
    Where,
    error_code,
    failure_of,
    translate_exception,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

T = TypeVar("T")


def _on_error(call: Call, exc: Exception, stats: Stats, where: Where) -> Failure:
    """Hand an expected error back to the flow; raise everything else translated."""
    stats.record(call.op, None)
    code = error_code(exc)
    if code is not None and code in call.expect:
        return failure_of(exc)
    _raise_translated(call, exc, where)


def _raise_translated(call: Call, exc: Exception, where: Where) -> NoReturn:
    translated = translate_exception(call, exc, where)
    if translated is None:
        raise exc
    raise translated from exc


def _fork_sync(client: SyncClient, flows: Sequence[Flow[Any]], stats: Stats, where: Where) -> Any:
    if len(flows) <= 1:
        return [run_sync(flow, client, stats, where) for flow in flows]
    with ThreadPoolExecutor(max_workers=len(flows), thread_name_prefix="ddb-fork") as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, run_sync, flow, client, stats, where)
            for flow in flows
        ]
    return [future.result() for future in futures]  # the first error, once all stopped


async def _fork_async(
    client: AsyncClient, flows: Sequence[Flow[Any]], stats: Stats, where: Where
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
    client: SyncClient, step: Call | Sleep | Compute | Fork, stats: Stats, where: Where
) -> Any:
    if isinstance(step, Sleep):
        time.sleep(step.seconds)
        return None
    if isinstance(step, Compute):
        return step.run()
    if isinstance(step, Fork):
        return _fork_sync(client, step.flows, stats, where)
    try:
        response = getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, where)
    stats.record(step.op, response)
    return response


async def _aexecute(
    client: AsyncClient, step: Call | Sleep | Compute | Fork, stats: Stats, where: Where
) -> Any:
    if isinstance(step, Sleep):
        await asyncio.sleep(step.seconds)
        return None
    if isinstance(step, Compute):
        return await step.arun()
    if isinstance(step, Fork):
        return await _fork_async(client, step.flows, stats, where)
    try:
        response = await getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, where)
    stats.record(step.op, response)
    return response


def iterate_sync(
    flow: Flow[T], client: SyncClient, stats: Stats, where: Where
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
    flow: Flow[T], client: AsyncClient, stats: Stats, where: Where, result: list[T] | None = None
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
                    result.append(cast(T, stop.value))
                return
            if isinstance(step, Emit):
                response = None
                yield step.value
            else:
                response = await _aexecute(client, step, stats, where)
    finally:
        flow.close()


def run_sync(flow: Flow[T], client: SyncClient, stats: Stats, where: Where) -> T:
    """Run a flow that emits nothing and return its result."""
    gen = iterate_sync(flow, client, stats, where)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return cast(T, stop.value)


async def run_async(flow: Flow[T], client: AsyncClient, stats: Stats, where: Where) -> T:
    """Run a flow that emits nothing and return its result."""
    result: list[T] = []
    async for _ in iterate_async(flow, client, stats, where, result):
        pass
    return result[0]
