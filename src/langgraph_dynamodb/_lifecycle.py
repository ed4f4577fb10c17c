"""What the saver and the store share as owners of their clients: the sync and async
context managers, ``close``/``aclose``, and running a flow on the sync or the async
client (requests and capacity counted in ``stats``)."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from langgraph_dynamodb._clients import Clients
from langgraph_dynamodb._drivers import run_async, run_sync
from langgraph_dynamodb.calls import Flow, Stats

T = TypeVar("T")
S = TypeVar("S", bound="OwnsClients")


class OwnsClients:
    """A mixin for a class with ``_clients`` and ``stats``."""

    _clients: Clients
    stats: Stats

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

    def _run(self, flow: Flow[T]) -> T:
        client = self._clients.sync()
        return run_sync(flow, client, self.stats, self._clients.where(client))

    async def _arun(self, flow: Flow[T]) -> T:
        client = await self._clients.async_()
        return await run_async(flow, client, self.stats, self._clients.where(client))
