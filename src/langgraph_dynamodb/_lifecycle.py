"""What the saver and the store share as owners of their clients: the sync and async
context managers, ``close``/``aclose``, and running a flow on the sync or the async
client as one observed call (counted in ``stats``, traced by :mod:`._observe`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

from langgraph_dynamodb import _observe
from langgraph_dynamodb._clients import Clients
from langgraph_dynamodb._drivers import iterate_async, iterate_sync, run_async, run_sync
from langgraph_dynamodb.calls import Flow
from langgraph_dynamodb.stats import Stats

T = TypeVar("T")
S = TypeVar("S", bound="OwnsClients")


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
        with _observe.observed(self.stats, operation, where, ids) as call:
            return run_sync(flow, client, call, where)

    async def _arun(self, flow: Flow[T], operation: str, ids: Mapping[str, Any] | None = None) -> T:
        client = await self._clients.async_()
        where = self._clients.where(client)
        with _observe.observed(self.stats, operation, where, ids) as call:
            return await run_async(flow, client, call, where)

    def _iterate(
        self, flow: Flow[Any], operation: str, ids: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """What an iterating flow emits, as one call (its span open until the end)."""
        client = self._clients.sync()
        where = self._clients.where(client)
        obs = _observe.begin(self.stats, operation, where, ids)
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
        client = await self._clients.async_()
        where = self._clients.where(client)
        obs = _observe.begin(self.stats, operation, where, ids)
        error: BaseException | None = None
        gen = iterate_async(flow, client, obs.call, where)
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
