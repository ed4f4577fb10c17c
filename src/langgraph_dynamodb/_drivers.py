"""The two I/O shells: run a flow with a boto3 client (sync) or an aiobotocore client;
and :class:`OwnsClients`, through which the saver and the store run each operation as one
observed call (counted and traced by :mod:`.stats`) and close their clients.

Everything else is in the flows; a driver only sends each :class:`~.steps.Request` to the
client, counts it in the call's :class:`~.stats.CallStats` (and logs one debug line per
request on ``langgraph_dynamodb.requests``: method, table, time, capacity, never keys or
values), sleeps for :class:`~.steps.Sleep`, runs a
:class:`~.steps.Compute` (blocking, or awaited), runs a :class:`~.steps.Fork`'s sub-flows
concurrently (threads on the one boto3 client, or tasks on the event loop) and hands out
:class:`~.steps.Emit` values. The async driver hands requests that may share one with other
calls' (unconditional puts, reads by key) to its client's combiners (:mod:`._combine`),
and sends what comes back to it as before. Errors are translated here, naming the table,
region and endpoint (:class:`~.steps.Where`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from langgraph_dynamodb import limits
from langgraph_dynamodb import stats as observe
from langgraph_dynamodb._clients import ASYNC_EXTRA, Clients
from langgraph_dynamodb._combine import COMBINABLE_OPS, SEND_ALONE, Combiners
from langgraph_dynamodb.flows.context import TableCtx
from langgraph_dynamodb.stats import CallStats, Stats
from langgraph_dynamodb.steps import (
    Compute,
    Emit,
    Failure,
    Flow,
    Fork,
    Request,
    Sleep,
    Where,
    error_code,
    failure_of,
    translate_exception,
)

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

T = TypeVar("T")
S = TypeVar("S", bound="OwnsClients")


def _on_error(
    call: Request, exc: Exception, stats: CallStats, where: Where, started: float
) -> Failure:
    """Hand an expected error back to the flow; raise everything else translated."""
    response = getattr(exc, "response", None)
    stats.record(call.op, response, call.params, failed=True)
    code = error_code(exc)
    if observe.request_log.isEnabledFor(logging.DEBUG):
        observe.log_request(call.op, stats, where, started, response, code or type(exc).__name__)
    if code is not None and code in call.expect:
        return failure_of(exc)
    _raise_translated(call, exc, where)


def _raise_translated(call: Request, exc: Exception, where: Where) -> NoReturn:
    translated = translate_exception(call, exc, where)
    if translated is None:
        raise exc
    raise translated from exc


def _fork_sync(
    client: SyncClient, flows: Sequence[Flow[Any]], stats: CallStats, where: Where
) -> Any:
    if len(flows) <= 1:
        return [run_sync(flow, client, stats, where) for flow in flows]
    workers = min(len(flows), limits.MAX_PARALLEL_REQUESTS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb-fork") as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, run_sync, flow, client, stats, where)
            for flow in flows
        ]
    return [future.result() for future in futures]  # the first error, once all stopped


async def _fork_async(
    client: AsyncClient,
    flows: Sequence[Flow[Any]],
    stats: CallStats,
    where: Where,
    combiner: Combiners | None,
) -> Any:
    slots = asyncio.Semaphore(limits.MAX_PARALLEL_REQUESTS)

    async def run(flow: Flow[Any]) -> Any:
        async with slots:
            return await run_async(flow, client, stats, where, combiner)

    tasks = [asyncio.ensure_future(run(flow)) for flow in flows]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _execute(
    client: SyncClient, step: Request | Sleep | Compute | Fork, stats: CallStats, where: Where
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
    if observe.request_log.isEnabledFor(logging.DEBUG):
        observe.log_request(step.op, stats, where, started, response, None)
    return response


async def _aexecute(
    client: AsyncClient,
    step: Request | Sleep | Compute | Fork,
    stats: CallStats,
    where: Where,
    combiner: Combiners | None,
) -> Any:
    if isinstance(step, Sleep):
        await asyncio.sleep(step.seconds)
        return None
    if isinstance(step, Compute):
        return await step.arun()
    if isinstance(step, Fork):
        return await _fork_async(client, step.flows, stats, where, combiner)
    if combiner is not None and step.op in COMBINABLE_OPS:
        response = await combiner.send(step, stats)
        if response is not SEND_ALONE:
            return response
    started = time.perf_counter()
    try:
        response = await getattr(client, step.op)(**step.params)
    except Exception as exc:
        return _on_error(step, exc, stats, where, started)
    stats.record(step.op, response, step.params)
    if observe.request_log.isEnabledFor(logging.DEBUG):
        observe.log_request(step.op, stats, where, started, response, None)
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
    combiner: Combiners | None = None,
) -> AsyncGenerator[Any, None]:
    """Run a flow with an async client, yielding what it emits (its result goes to
    ``result``); its plain writes and reads by key go through ``combiner``, when given
    (see :mod:`._combine`). The flow is closed however the run ends."""
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
                response = await _aexecute(client, step, stats, where, combiner)
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


async def run_async(
    flow: Flow[T],
    client: AsyncClient,
    stats: CallStats,
    where: Where,
    combiner: Combiners | None = None,
) -> T:
    """Run a flow that emits nothing and return its result (``combiner``: as
    :func:`iterate_async`)."""
    result: list[T] = []
    async for _ in iterate_async(flow, client, stats, where, result, combiner):
        pass
    return result[0]


def _single(request: Request) -> Flow[Any]:
    """A flow of one request."""
    return (yield request)


_DONE = object()
_warned_async_on_threads = False


def _warn_async_on_threads() -> None:
    """Say once per process that async methods run the sync client on threads."""
    global _warned_async_on_threads
    if not _warned_async_on_threads:
        _warned_async_on_threads = True
        warnings.warn(
            "aiobotocore is not installed, so the async methods (ainvoke, aget_tuple, abatch, "
            "...) run the sync boto3 client on a thread pool; for native async, "
            f"{ASYNC_EXTRA}",
            RuntimeWarning,
            stacklevel=3,
        )


class OwnsClients:
    """A mixin for a class with ``_clients``, ``stats`` and ``_trace_ids``."""

    _clients: Clients
    stats: Stats
    _trace_ids: bool = False

    def __enter__(self: S) -> S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self: S) -> S:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- seams for tooling: the command line uses these, and so may yours ---------------
    @property
    def client(self) -> SyncClient:
        """The boto3 DynamoDB client of the sync methods: the one passed in as ``client=``,
        else the one this object made on first use (closed by :meth:`close`). Its
        ``meta.endpoint_url`` and ``meta.region_name`` say where requests go."""
        return self._clients.sync()

    def request(self, operation: str, **params: Any) -> dict[str, Any]:
        """Send one DynamoDB request on this object's table, as the library sends its own:
        ``TableName`` and ``ReturnConsumedCapacity`` added (where the operation takes
        them), counted in :attr:`stats` as operation ``request.<operation>``, traced, and
        errors raised as :mod:`langgraph_dynamodb.errors` (naming the table, region and
        endpoint), never as botocore's.

        Args:
            operation: A boto3 client method, e.g. ``"describe_table"`` or ``"scan"``.
            **params: Its other parameters.

        Returns:
            DynamoDB's response.

        Example:
            ```python
            from langgraph_dynamodb import DynamoDBSaver

            with DynamoDBSaver.from_table("checkpoints") as saver:
                saver.setup()
                table = saver.request("describe_table")["Table"]
                cost = saver.stats.operations["request.describe_table"]
                print(table["TableStatus"], cost.requests)
            ```
        """
        ctx = TableCtx(table=self._clients.table, consistent_read=True)
        flow = _single(ctx.request(operation, **params))
        response: dict[str, Any] = self._run(flow, f"request.{operation}")
        return response

    async def arequest(self, operation: str, **params: Any) -> dict[str, Any]:
        """Async :meth:`request`: always a request of its own, whose response it returns
        (never shared with other calls' writes)."""
        ctx = TableCtx(table=self._clients.table, consistent_read=True)
        flow = _single(ctx.request(operation, **params))
        response: dict[str, Any] = await self._arun(flow, f"request.{operation}", combine=False)
        return response

    def close(self) -> None:
        """Close the sync client if this object created it. It (and its clones) make no
        more requests: a call after this raises :class:`~.errors.ClosedError`.

        In async code use :meth:`aclose` (or ``async with``), which closes the async client
        too; an async client left open is closed when its event loop shuts down."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close both clients if this object created them; no more requests after this."""
        await self._clients.aclose()

    def _run(self, flow: Flow[T], operation: str, ids: Mapping[str, Any] | None = None) -> T:
        client = self._clients.sync()
        where = self._clients.where(client)
        with observe.observed(self.stats, operation, where, ids) as call:
            return run_sync(flow, client, call, where)

    async def _arun(
        self,
        flow: Flow[T],
        operation: str,
        ids: Mapping[str, Any] | None = None,
        *,
        combine: bool = True,
    ) -> T:
        """Run a flow as one observed async call; its plain writes and reads by key may
        share requests with other calls' (``combine``, and ``combine_writes`` or
        ``combine_reads`` on: see :mod:`._combine`)."""
        if not self._clients.native_async():
            _warn_async_on_threads()
            return await asyncio.to_thread(self._run, flow, operation, ids)
        client = await self._clients.async_()
        where = self._clients.where(client)
        combiner = self._clients.combiner(client) if combine else None
        with observe.observed(self.stats, operation, where, ids) as call:
            return await run_async(flow, client, call, where, combiner)

    def _iterate(
        self, flow: Flow[Any], operation: str, ids: Mapping[str, Any] | None = None
    ) -> Generator[Any, None, None]:
        """What an iterating flow emits, as one call (its span open until the end)."""
        client = self._clients.sync()
        where = self._clients.where(client)
        obs = observe.begin(self.stats, operation, where, ids)
        error: BaseException | None = None
        gen = iterate_sync(flow, client, obs.call, where)
        try:
            while True:
                with obs:
                    try:
                        item = next(gen)
                    except StopIteration:
                        return
                yield item
        except BaseException as exc:  # finish() counts a GeneratorExit as no error
            error = exc
            raise
        finally:
            gen.close()
            obs.finish(error)

    async def _aiterate(
        self, flow: Flow[Any], operation: str, ids: Mapping[str, Any] | None = None
    ) -> AsyncIterator[Any]:
        """Async :meth:`_iterate`."""
        if not self._clients.native_async():
            _warn_async_on_threads()
            steps = self._iterate(flow, operation, ids)
            try:
                while True:
                    step = await asyncio.to_thread(next, steps, _DONE)
                    if step is _DONE:
                        return
                    yield step
            finally:
                await asyncio.to_thread(steps.close)
        client = await self._clients.async_()
        where = self._clients.where(client)
        obs = observe.begin(self.stats, operation, where, ids)
        error: BaseException | None = None
        gen = iterate_async(flow, client, obs.call, where, None, self._clients.combiner(client))
        try:
            while True:
                with obs:
                    try:
                        item = await gen.__anext__()
                    except StopAsyncIteration:
                        return
                yield item
        except BaseException as exc:  # finish() counts a GeneratorExit as no error
            error = exc
            raise
        finally:
            await gen.aclose()
            obs.finish(error)
