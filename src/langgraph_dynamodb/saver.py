"""``DynamoDBSaver``: the public checkpointer. Each method builds a flow and runs it."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import flows, limits
from langgraph_dynamodb._drivers import (
    install_fast_items,
    iterate_async,
    iterate_sync,
    run_async,
    run_sync,
)
from langgraph_dynamodb.calls import Flow, Stats
from langgraph_dynamodb.codec import Compression, Compressor, ZstdCompressor
from langgraph_dynamodb.errors import ConfigurationError
from langgraph_dynamodb.items import ChannelIndexCache

if TYPE_CHECKING:
    from botocore.config import Config

__all__ = ["DynamoDBSaver", "default_boto_config"]


def default_boto_config(user: Config | None = None) -> Config:
    """The botocore ``Config`` the saver's own clients use, merged with ``user``'s.

    Standard retry mode with 8 attempts (throttling, 5xx and connection errors are
    retried with backoff and jitter), 5 s connect and 30 s read timeouts, TCP keep-alive.
    Use it for a client you inject with ``client=``/``aclient=``.
    """
    from botocore.config import Config

    default = Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=30,
        tcp_keepalive=True,
    )
    return default.merge(user) if user is not None else default


def _ttl_seconds(ttl: float | timedelta | None) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    else:
        raise ConfigurationError(f"ttl must be seconds (int or float) or a timedelta, got {ttl!r}")
    if not seconds > 0:
        raise ConfigurationError(f"ttl must be positive, got {ttl!r}")
    return seconds


def _compression(
    compression: str | Compressor | bool | None,
    level: int | None,
    threshold: int,
    extra_codecs: Mapping[str, Compressor] | None,
) -> Compression:
    codec: Compressor | None
    if compression is None or compression is False:
        if level is not None:
            raise ConfigurationError("compression_level given but compression is disabled")
        codec = None
    elif compression is True or compression == "zstd":
        codec = ZstdCompressor(limits.DEFAULT_ZSTD_LEVEL if level is None else level)
    elif isinstance(compression, str):
        raise ConfigurationError(
            f"unknown compression {compression!r}; use 'zstd', None, or a Compressor object"
        )
    else:
        if level is not None:
            raise ConfigurationError(
                "compression_level applies to 'zstd' only; configure your codec directly"
            )
        codec = compression
    return Compression(codec, threshold, extra_codecs)


class _Clients:
    """The saver's DynamoDB clients, created lazily and shared by its clones.

    LangGraph clones a saver (``with_allowlist``, a shallow copy) for every run under
    strict msgpack; the clones share this object, so they share the clients too.
    """

    def __init__(
        self,
        *,
        region_name: str | None,
        endpoint_url: str | None,
        boto_config: Config,
        client: Any,
        aclient: Any,
        session: Any,
        aiosession: Any,
    ) -> None:
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.boto_config = boto_config
        self.client = client
        self.owns_client = client is None
        self.session = session
        self.aclient = aclient
        self.owns_aclient = aclient is None
        self.aiosession = aiosession
        self.aclient_loop: asyncio.AbstractEventLoop | None = None
        self.astack: AsyncExitStack | None = None
        self.lock = threading.Lock()

    def sync(self) -> Any:
        """The boto3 client (created on first use)."""
        if self.client is None:
            with self.lock:
                if self.client is None:
                    import boto3

                    session = self.session or boto3.session.Session()
                    self.client = session.client(
                        "dynamodb",
                        region_name=self.region_name,
                        endpoint_url=self.endpoint_url,
                        config=self.boto_config,
                    )
                    install_fast_items(self.client)
        return self.client

    async def async_(self) -> Any:
        """The aiobotocore client of the running event loop (created on first use)."""
        if not self.owns_aclient:
            return self.aclient
        loop = asyncio.get_running_loop()
        if self.aclient is not None and self.aclient_loop is loop:
            return self.aclient
        import aioboto3

        session = self.aiosession or aioboto3.Session()
        stack = AsyncExitStack()
        aclient = await stack.enter_async_context(
            session.client(
                "dynamodb",
                region_name=self.region_name,
                endpoint_url=self.endpoint_url,
                config=self.boto_config,
            )
        )
        if self.aclient is not None and self.aclient_loop is loop:
            await stack.aclose()  # another task of this loop won the race
            return self.aclient
        install_fast_items(aclient)
        # A client of another (usually finished) event loop cannot be closed from here.
        self.astack, self.aclient, self.aclient_loop = stack, aclient, loop
        return aclient

    def close(self) -> None:
        """Close the sync client if this holder created it."""
        if self.owns_client and self.client is not None:
            self.client.close()
            self.client = None

    async def aclose(self) -> None:
        """Close both clients if this holder created them."""
        self.close()
        if self.astack is not None:
            stack, self.astack = self.astack, None
            self.aclient = None
            self.aclient_loop = None
            await stack.aclose()


class DynamoDBSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on Amazon DynamoDB, with native sync and async I/O.

    One instance serves ``invoke`` and ``ainvoke``: sync methods use a boto3 client,
    async methods an aiobotocore client (via aioboto3), each created lazily and reused.

    Example:
        ```python
        from langgraph_dynamodb import DynamoDBSaver

        saver = DynamoDBSaver(table_name="checkpoints", region_name="eu-west-1")
        saver.setup()  # once: creates the table if it is missing
        graph = builder.compile(checkpointer=saver)
        graph.invoke(inputs, {"configurable": {"thread_id": "t-1"}})
        ```

    Args:
        table_name: The DynamoDB table.
        region_name: AWS region (or ``AWS_REGION`` / the profile's region).
        endpoint_url: Another endpoint, e.g. DynamoDB Local.
        client: A boto3 DynamoDB client to use for sync methods (not closed by the saver).
        aclient: An entered aiobotocore DynamoDB client for async methods (not closed).
        session: A ``boto3.Session`` to create the sync client from.
        aiosession: An ``aioboto3.Session`` to create the async client from.
        boto_config: A botocore ``Config``; merged over the defaults (standard retry mode,
            8 attempts, 5 s connect and 30 s read timeouts).
        serde: Serializer (default: LangGraph's ``JsonPlusSerializer``, no pickle).
        ttl: Expire checkpoints this long after they are written (seconds or timedelta).
        ttl_refresh_on_read: Sliding expiry: reading the latest checkpoint once half its
            lifetime has passed rewrites it with a fresh expiry.
        compression: ``"zstd"`` (default: zstd with a built-in dictionary of what LangGraph
            checkpoints repeat), ``None``/``False`` to disable, or a
            :class:`~langgraph_dynamodb.codec.Compressor`.
        compression_level: zstd level (1-22, default 3).
        compression_threshold: Payloads smaller than this (bytes) are not compressed.
        extra_codecs: Codecs to read existing items written with other compressors.
        consistent_reads: Strongly consistent reads (default True: LangGraph reads what it
            just wrote). False halves read cost, at the risk of reading stale state.
    """

    def __init__(
        self,
        *,
        table_name: str,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        aclient: Any = None,
        session: Any = None,
        aiosession: Any = None,
        boto_config: Config | None = None,
        serde: SerializerProtocol | None = None,
        ttl: float | timedelta | None = None,
        ttl_refresh_on_read: bool = False,
        compression: str | Compressor | bool | None = "zstd",
        compression_level: int | None = None,
        compression_threshold: int = limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES,
        extra_codecs: Mapping[str, Compressor] | None = None,
        consistent_reads: bool = True,
    ) -> None:
        super().__init__(serde=serde)
        if not isinstance(table_name, str) or not 3 <= len(table_name) <= 255:
            raise ConfigurationError(
                f"table_name must be a DynamoDB table name (3-255 characters), got {table_name!r}"
            )
        if client is not None and session is not None:
            raise ConfigurationError("pass either client= or session=, not both")
        if aclient is not None and aiosession is not None:
            raise ConfigurationError("pass either aclient= or aiosession=, not both")
        if ttl_refresh_on_read and ttl is None:
            raise ConfigurationError("ttl_refresh_on_read=True needs ttl=")
        self.table_name = table_name
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self._ttl = _ttl_seconds(ttl)
        self._ttl_refresh = bool(ttl_refresh_on_read)
        self._compression = _compression(
            compression, compression_level, compression_threshold, extra_codecs
        )
        self._consistent = bool(consistent_reads)
        self._cache = ChannelIndexCache()
        self._clients = _Clients(
            region_name=region_name,
            endpoint_url=endpoint_url,
            boto_config=default_boto_config(boto_config),
            client=client,
            aclient=aclient,
            session=session,
            aiosession=aiosession,
        )
        self.stats = Stats()

    # --- constructors and lifecycle -----------------------------------------------------
    @classmethod
    def from_table(cls, table_name: str, **kwargs: Any) -> DynamoDBSaver:
        """A saver that owns its clients; use it as a (sync or async) context manager.

        Example:
            ```python
            with DynamoDBSaver.from_table("checkpoints", region_name="eu-west-1") as saver:
                graph = builder.compile(checkpointer=saver)
            async with DynamoDBSaver.from_table("checkpoints") as saver:
                ...
            ```
        """
        return cls(table_name=table_name, **kwargs)

    def __enter__(self) -> DynamoDBSaver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> DynamoDBSaver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def close(self) -> None:
        """Close the sync client if the saver created it."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close both clients if the saver created them."""
        await self._clients.aclose()

    # --- flow plumbing ------------------------------------------------------------------
    def _ctx(self) -> flows.Ctx:
        return flows.Ctx(
            table=self.table_name,
            serde=self.serde,
            compression=self._compression,
            consistent_read=self._consistent,
            ttl_seconds=self._ttl,
            ttl_refresh_on_read=self._ttl_refresh,
            cache=self._cache,
        )

    def _run(self, flow: Flow[Any]) -> Any:
        return run_sync(flow, self._clients.sync(), self.stats, self.table_name)

    async def _arun(self, flow: Flow[Any]) -> Any:
        return await run_async(flow, await self._clients.async_(), self.stats, self.table_name)

    # --- table ----------------------------------------------------------------------------
    def setup(self) -> None:
        """Create the table if missing (on-demand, encrypted), wait until it is ACTIVE,
        check its key schema and enable TTL when ``ttl`` is set. Idempotent."""
        self._run(flows.setup(self._ctx()))

    async def asetup(self) -> None:
        """Async :meth:`setup`."""
        await self._arun(flows.setup(self._ctx()))

    # --- the checkpointer API -------------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint with the config's ``checkpoint_id``, else the latest of the
        thread and namespace, with its pending writes; usually one Query."""
        return self._run(flows.get_tuple(self._ctx(), config))  # type: ignore[no-any-return]

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        return await self._arun(flows.get_tuple(self._ctx(), config))  # type: ignore[no-any-return]

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, with their pending writes.

        Args:
            config: ``None`` for every thread (a table Scan); a thread, optionally limited
                to one ``checkpoint_ns`` (present, even ``""``) and one ``checkpoint_id``.
            filter: Exact equality on top-level metadata keys.
            before: Only checkpoints with an id lower than this config's.
            limit: At most this many matches.
        """
        flow = flows.list_checkpoints(
            self._ctx(), config, filter=filter, before=before, limit=limit
        )
        yield from iterate_sync(flow, self._clients.sync(), self.stats, self.table_name)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        flow = flows.list_checkpoints(
            self._ctx(), config, filter=filter, before=before, limit=limit
        )
        async for item in iterate_async(
            flow, await self._clients.async_(), self.stats, self.table_name
        ):
            yield item

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint (one PutItem); returns the config that addresses it."""
        flow = flows.put(self._ctx(), config, checkpoint, metadata, new_versions)
        return self._run(flow)  # type: ignore[no-any-return]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        flow = flows.put(self._ctx(), config, checkpoint, metadata, new_versions)
        return await self._arun(flow)  # type: ignore[no-any-return]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes for the config's checkpoint (one request)."""
        self._run(flows.put_writes(self._ctx(), config, writes, task_id, task_path))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        await self._arun(flows.put_writes(self._ctx(), config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread."""
        self._run(flows.delete_thread(self._ctx(), thread_id))

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        await self._arun(flows.delete_thread(self._ctx(), thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and writes) created by these runs (a filtered Scan)."""
        self._run(flows.delete_for_runs(self._ctx(), run_ids))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`."""
        await self._arun(flows.delete_for_runs(self._ctx(), run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of a thread to another thread id."""
        self._run(flows.copy_thread(self._ctx(), source_thread_id, target_thread_id))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`."""
        await self._arun(flows.copy_thread(self._ctx(), source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: keep the newest checkpoint of each namespace (and what its
        DeltaChannels need); ``delete``: delete the threads."""
        self._run(flows.prune(self._ctx(), thread_ids, strategy))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async :meth:`prune`."""
        await self._arun(flows.prune(self._ctx(), thread_ids, strategy))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Writes and seed of ``DeltaChannel`` channels along the parent chain (beta in
        LangGraph), read with one Query page or two instead of one request per ancestor."""
        return self._run(flows.delta_channel_history(self._ctx(), config, channels))  # type: ignore[no-any-return]

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Async :meth:`get_delta_channel_history`."""
        flow = flows.delta_channel_history(self._ctx(), config, channels)
        return await self._arun(flow)  # type: ignore[no-any-return]

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonic, branch-unique channel versions (as LangGraph's Postgres saver)."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"
