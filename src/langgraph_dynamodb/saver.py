"""``DynamoDBSaver``: the public checkpointer. Each method builds a flow and runs it."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import timedelta
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

from langgraph_dynamodb import flows, limits, schema
from langgraph_dynamodb._clients import Clients
from langgraph_dynamodb._drivers import OwnsClients
from langgraph_dynamodb.caches import (
    HeadKey,
    IndexCache,
    ReadHints,
    RunMarks,
    StoredWrites,
    Watermarks,
    WritesInFlight,
)
from langgraph_dynamodb.codec import Compressor
from langgraph_dynamodb.errors import ConfigurationError, InvalidInputError
from langgraph_dynamodb.options import compression_of, default_boto_config, ttl_seconds
from langgraph_dynamodb.stats import Stats, trace_ids_default

if TYPE_CHECKING:
    import boto3
    from aiobotocore.session import AioSession
    from botocore.config import Config
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

__all__ = ["DynamoDBSaver", "default_boto_config"]

logger = logging.getLogger("langgraph_dynamodb")


def _parent_key(config: RunnableConfig) -> HeadKey:
    """The head a config addresses, as the caches key it (the flow checks the config)."""
    try:
        return flows.target_of(config).cache_key()
    except InvalidInputError:
        return ("", "", "")


class DynamoDBSaver(OwnsClients, BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on Amazon DynamoDB, with native sync and async I/O.

    One instance serves ``invoke`` and ``ainvoke``: sync methods use a boto3 client,
    async methods an aiobotocore client (``pip install 'langgraph-dynamodb[async]'``;
    without it they run the boto3 client on a thread pool, with one warning), each
    created on first use and reused.

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
        region_name: AWS region; else the ``session``'s, ``AWS_REGION``,
            ``AWS_DEFAULT_REGION`` or the profile's.
        endpoint_url: Another endpoint, e.g. DynamoDB Local (else
            ``AWS_ENDPOINT_URL_DYNAMODB`` or botocore's default).
        profile_name: AWS profile for the clients the saver makes (else ``AWS_PROFILE``).
        client: A boto3 DynamoDB client to use for sync methods (not closed by the saver).
        aclient: An entered aiobotocore DynamoDB client for async methods (not closed).
        session: A ``boto3.Session`` to create the sync client from.
        aiosession: An aiobotocore ``AioSession`` (or an ``aioboto3.Session``) to create
            the async client from.
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
        trace_ids: Put thread ids, namespaces and checkpoint ids on the OpenTelemetry
            spans (they can be personal data; default: ``LANGGRAPH_DYNAMODB_TRACE_IDS``,
            else off). Values are never traced.
        fencing: One writer per thread: every ``put``/``put_writes`` names its run (the
            ``run_id`` LangGraph's Agent Server puts in each run's config; uuid7, so it
            sorts in start order) and is one TransactWriteItems with a claim of the
            thread's fence; once a newer run has written to the thread, a write of an
            older one raises :class:`~langgraph_dynamodb.errors.FencedError` and stores
            nothing. Every writer of the table must use it. Default off (LangGraph's
            behaviour: the last writer wins); each write then costs twice the write
            units and one more for the fence.
        replication_wait: On a global table read in a region other than the writer's
            (seconds or timedelta): a checkpoint whose own item has replicated before
            what it is made of (its chunks, older checkpoints it refers to) is read
            again for up to this long, then raises
            :class:`~langgraph_dynamodb.errors.ReplicationLagError` (retryable). Default
            none: such a checkpoint raises ``CorruptItemError`` at once, as on a table in
            one region, where it means an item was lost. See docs/global-tables.md.
        combine_writes: Let async calls running at the same time on one event loop send
            their unconditional puts together, one BatchWriteItem for all (default on: many
            runs at once on one saver then send about half the requests; one call at a
            time sends exactly what it would alone). ``False``: every call sends its own
            requests. See docs/async.md.
        combine_reads: Let async calls running at the same time on one event loop read
            by key together, one BatchGetItem for all (default on; the saver reads by key
            only the chunks of large values and checkpoints it fetches by id; one call at a
            time sends exactly what it would alone). ``False``: every call sends its own
            requests. See docs/async.md.

    Attributes:
        stats: Requests, capacity, latency, retries and throttles per operation
            (:class:`~langgraph_dynamodb.stats.Stats`).
    """

    def __init__(
        self,
        *,
        table_name: str,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        client: SyncClient | None = None,
        aclient: AsyncClient | None = None,
        session: boto3.session.Session | None = None,
        aiosession: AioSession | Any = None,
        boto_config: Config | None = None,
        serde: SerializerProtocol | None = None,
        ttl: float | timedelta | None = None,
        ttl_refresh_on_read: bool = False,
        compression: str | Compressor | bool | None = "zstd",
        compression_level: int | None = None,
        compression_threshold: int = limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES,
        extra_codecs: Mapping[str, Compressor] | None = None,
        consistent_reads: bool = True,
        trace_ids: bool | None = None,
        fencing: bool = False,
        replication_wait: float | timedelta | None = None,
        combine_writes: bool = True,
        combine_reads: bool = True,
    ) -> None:
        super().__init__(serde=serde)
        # validates the table name and the client options, before anything else
        self._clients = Clients(
            table=table_name,
            region_name=region_name,
            endpoint_url=endpoint_url,
            profile_name=profile_name,
            boto_config=boto_config,
            client=client,
            aclient=aclient,
            session=session,
            aiosession=aiosession,
            combine_writes=combine_writes,
            combine_reads=combine_reads,
        )
        if ttl_refresh_on_read and ttl is None:
            raise ConfigurationError("ttl_refresh_on_read=True needs ttl=")
        self.table_name = table_name
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self._ttl = ttl_seconds(ttl)
        self._ttl_refresh = bool(ttl_refresh_on_read)
        self._compression = compression_of(
            compression, compression_level, compression_threshold, extra_codecs
        )
        self._consistent = bool(consistent_reads)
        self._index = IndexCache()
        self._hints = ReadHints()
        self._runs = RunMarks()
        self._watermarks = Watermarks()
        self._stored_writes = StoredWrites()
        self._in_flight = WritesInFlight()
        self._fencing = bool(fencing)
        self._replication_wait = ttl_seconds(replication_wait, "replication_wait") or 0.0
        self.stats = Stats()
        self._trace_ids = trace_ids_default(trace_ids)

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

    # --- flow plumbing ------------------------------------------------------------------
    def _skipped(self, message: str) -> None:
        logger.warning(
            message, extra={"ddb_event": "skipped_checkpoint", "ddb_table": self.table_name}
        )
        self.stats.skipped_checkpoints += 1

    def _ids(self, config: RunnableConfig | None) -> dict[str, str] | None:
        """The span attributes naming a call's thread, with ``trace_ids`` only."""
        if not self._trace_ids or not config:
            return None
        conf = config.get("configurable") or {}
        return {
            "langgraph." + name: str(conf[name])
            for name in ("thread_id", "checkpoint_ns", "checkpoint_id")
            if conf.get(name) is not None
        }

    def _ctx(self) -> flows.Ctx:
        return flows.Ctx(
            table=self.table_name,
            serde=self.serde,
            compression=self._compression,
            consistent_read=self._consistent,
            ttl_seconds=self._ttl,
            ttl_refresh_on_read=self._ttl_refresh,
            index=self._index,
            hints=self._hints,
            runs=self._runs,
            watermarks=self._watermarks,
            stored_writes=self._stored_writes,
            fencing=self._fencing,
            replication_wait=self._replication_wait,
            on_skip=self._skipped,
        )

    # --- table ----------------------------------------------------------------------------
    def setup(self, *, prepare_async: bool = True) -> None:
        """Create the table if missing (on-demand, encrypted), wait until it is ACTIVE,
        check its key schema and enable TTL when ``ttl`` is set. Idempotent.

        It also makes the sync client and connects it, so the first call does not pay
        for that (call it in a Lambda's init phase). With ``prepare_async`` (and the async
        extra installed) it loads what the async client will need, about 0.1 s once,
        instead of in the first ``ainvoke``; pass False in a sync-only service."""
        self._run(
            flows.setup(self._ctx(), ttl=self._ttl is not None, checkpointer=True),
            "checkpoint.setup",
        )
        if prepare_async:
            self._clients.prepare_async()

    async def asetup(self) -> None:
        """Async :meth:`setup`: makes the async client of the running event loop and
        connects it, so the first ``ainvoke`` does not pay for it."""
        await self._arun(
            flows.setup(self._ctx(), ttl=self._ttl is not None, checkpointer=True),
            "checkpoint.setup",
        )

    # --- the checkpointer API -------------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint with the config's ``checkpoint_id``, else the latest of the
        thread and namespace, with its pending writes; usually one Query."""
        return self._run(
            flows.get_tuple(self._ctx(), config), "checkpoint.get_tuple", self._ids(config)
        )

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        return await self._arun(
            flows.get_tuple(self._ctx(), config), "checkpoint.get_tuple", self._ids(config)
        )

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
        yield from self._iterate(flow, "checkpoint.list", self._ids(config))

    # --- seams for tooling (with request() and client, shared with the store) -------------
    def dump_thread(self, thread_id: str) -> Iterator[tuple[CheckpointTuple, dict[str, str]]]:
        """Every checkpoint of a thread, each namespace oldest first, with the task path of
        each task that left pending writes (``{task_id: task_path}``): what
        ``langgraph-dynamodb export`` writes, in one read of the thread. A checkpoint that
        cannot be read is left out and said, as in :meth:`list`."""
        flow = flows.dump_thread(self._ctx(), schema.require_id(thread_id, "thread_id"))
        ids = self._ids({"configurable": {"thread_id": thread_id}})
        yield from self._iterate(flow, "checkpoint.export", ids)

    def task_paths(self, config: RunnableConfig) -> dict[str, str] | None:
        """The task path of each task that left pending writes at the config's checkpoint
        (the namespace's latest without a ``checkpoint_id``): ``{task_id: task_path}`` as
        LangGraph gave ``put_writes`` (``"~__pregel_pull, node"`` for a node, ``""``
        where it gave none); ``None`` when there is no such checkpoint. It names the node
        of each task, failed ones included, without the graph
        (:func:`langgraph_dynamodb.views.task_node`)."""
        return self._run(
            flows.task_paths(self._ctx(), config), "checkpoint.task_paths", self._ids(config)
        )

    def thread_items(self, thread_id: str, *, keys_only: bool = False) -> Sequence[dict[str, Any]]:
        """The raw DynamoDB items of a thread's checkpoints and writes (chunks left out),
        in sort-key order, as the low-level client returns them: for tooling that counts,
        audits or copies what is stored (the format is ``langgraph_dynamodb.schema``'s).

        Args:
            thread_id: The thread.
            keys_only: Only ``pk`` and ``sk`` of each item (a Query still reads, and
                bills, whole items), and a tombstone's watermark.

        A deleted thread's tombstones are among the items (kind ``z``); the saver then
        starts new roots above them, so a restore (an import) of the thread is live.
        """
        flow = flows.thread_items(
            self._ctx(), schema.require_id(thread_id, "thread_id"), keys_only=keys_only
        )
        ids = self._ids({"configurable": {"thread_id": thread_id}})
        return self._run(flow, "checkpoint.thread_items", ids)

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
        async for item in self._aiterate(flow, "checkpoint.list", self._ids(config)):
            yield item

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint (usually one PutItem; see docs/table-design.md for when it
        takes more); returns the config that addresses it."""
        self._in_flight.wait(_parent_key(config), limits.PARENT_WRITES_WAIT_SECONDS)
        flow = flows.put(self._ctx(), config, checkpoint, metadata, new_versions)
        return self._run(flow, "checkpoint.put", self._ids(config))

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        await self._in_flight.await_idle(_parent_key(config), limits.PARENT_WRITES_WAIT_SECONDS)
        flow = flows.put(self._ctx(), config, checkpoint, metadata, new_versions)
        return await self._arun(flow, "checkpoint.put", self._ids(config))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes for the config's checkpoint (one PutItem per kind
        of write, regular or special; more when another writer got there first)."""
        flow = flows.put_writes(self._ctx(), config, writes, task_id, task_path)
        with self._in_flight.writing(_parent_key(config)):
            self._run(flow, "checkpoint.put_writes", self._ids(config))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        flow = flows.put_writes(self._ctx(), config, writes, task_id, task_path)
        with self._in_flight.writing(_parent_key(config)):
            await self._arun(flow, "checkpoint.put_writes", self._ids(config))

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of a thread, leaving a tombstone per namespace:
        a late write of a run that was still writing never makes the thread readable
        again; a new run on the thread id starts afresh."""
        ids = self._ids({"configurable": {"thread_id": thread_id}})
        self._run(flows.delete_thread(self._ctx(), thread_id), "checkpoint.delete_thread", ids)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        ids = self._ids({"configurable": {"thread_id": thread_id}})
        await self._arun(
            flows.delete_thread(self._ctx(), thread_id), "checkpoint.delete_thread", ids
        )

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and writes) created by these runs: a Query of each run's
        markers, then of each thread they name (never a Scan)."""
        self._run(flows.delete_for_runs(self._ctx(), run_ids), "checkpoint.delete_for_runs")

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async :meth:`delete_for_runs`."""
        await self._arun(flows.delete_for_runs(self._ctx(), run_ids), "checkpoint.delete_for_runs")

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of a thread to another thread id."""
        flow = flows.copy_thread(self._ctx(), source_thread_id, target_thread_id)
        self._run(
            flow,
            "checkpoint.copy_thread",
            self._ids({"configurable": {"thread_id": source_thread_id}}),
        )

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async :meth:`copy_thread`."""
        flow = flows.copy_thread(self._ctx(), source_thread_id, target_thread_id)
        ids = self._ids({"configurable": {"thread_id": source_thread_id}})
        await self._arun(flow, "checkpoint.copy_thread", ids)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest``: keep the newest checkpoint of each namespace (and what its
        DeltaChannels need); ``delete`` (or ``delete_all``, as LangGraph's Agent Server
        says it): delete the threads."""
        self._run(flows.prune(self._ctx(), thread_ids, strategy), "checkpoint.prune")

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async :meth:`prune`."""
        await self._arun(flows.prune(self._ctx(), thread_ids, strategy), "checkpoint.prune")

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Writes and seed of ``DeltaChannel`` channels along the parent chain (beta in
        LangGraph), read with one Query page or two instead of one request per ancestor."""
        flow = flows.delta_channel_history(self._ctx(), config, channels)
        return self._run(flow, "checkpoint.get_delta_channel_history", self._ids(config))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Async :meth:`get_delta_channel_history`."""
        flow = flows.delta_channel_history(self._ctx(), config, channels)
        return await self._arun(flow, "checkpoint.get_delta_channel_history", self._ids(config))

    # --- the thread directory (for tools: the command line, the replay UI) --------------
    def directory_page(self, *, below: str | None = None, limit: int = 50) -> flows.DirectoryPage:
        """The thread directory's ``limit`` newest entries below sort key ``below`` (a
        page's ``next_below``), one Query per shard; stale entries included
        (:func:`~langgraph_dynamodb.flows.threads.is_current` tells them apart)."""
        if limit <= 0:
            raise InvalidInputError(f"limit must be a positive number, got {limit}")
        flow = flows.directory_page(self._ctx(), below, limit)
        return self._run(flow, "checkpoint.directory_page")

    def directory_is_complete(self) -> bool:
        """Whether the thread directory lists every thread of the table: the table was
        made by :meth:`setup`, or ``langgraph-dynamodb index-threads`` filled it."""
        return self._run(flows.directory_is_complete(self._ctx()), "checkpoint.directory")

    def index_thread(self, thread_id: str) -> str | None:
        """Write a thread's current thread directory entry, as a ``put`` of this version
        does (for a thread written before the directory); its period, or ``None`` when
        the thread has no live root checkpoint."""
        return self._run(flows.index_thread(self._ctx(), thread_id), "checkpoint.index_thread")

    def mark_directory_complete(self) -> None:
        """Say that the thread directory lists every thread (after indexing them all)."""
        self._run(flows.mark_directory_complete(self._ctx()), "checkpoint.directory")

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonic, branch-unique channel versions (as LangGraph's Postgres saver).

        A thread migrated from a saver whose versions are integers (LangGraph's default,
        langgraph-checkpoint-aws) keeps integer versions: LangGraph compares a thread's
        versions with each other, and a string never compares with an integer."""
        if isinstance(current, int):
            return current + 1
        if current is None:
            current_v = 0
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"
