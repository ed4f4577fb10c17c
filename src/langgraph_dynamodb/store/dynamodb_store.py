"""``DynamoDBStore``: LangGraph's long-term memory (a ``BaseStore``) on DynamoDB, with
native sync and async I/O. Each batch is one flow (:mod:`.batch`) run by the saver's
drivers, on clients made as the saver makes them."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
)

from langgraph_dynamodb import flows, limits
from langgraph_dynamodb._clients import Clients
from langgraph_dynamodb._drivers import OwnsClients
from langgraph_dynamodb.caches import GroupDirectory, VectorIndexState
from langgraph_dynamodb.codec import Compressor
from langgraph_dynamodb.errors import ConfigurationError
from langgraph_dynamodb.options import compression_of
from langgraph_dynamodb.stats import Stats, trace_ids_default
from langgraph_dynamodb.store import vector_index
from langgraph_dynamodb.store.batch import index_settings, run_batch
from langgraph_dynamodb.store.flows import StoreCtx

if TYPE_CHECKING:
    import boto3
    from aiobotocore.session import AioSession
    from botocore.config import Config
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

__all__ = ["DynamoDBStore"]

logger = logging.getLogger("langgraph_dynamodb.store")

VectorSearch = Literal["auto", "native", "client"]
VECTOR_SEARCH_MODES = ("auto", "native", "client")
SEARCH_VECTORS_BOTOCORE = (1, 43, 64)
"""The first botocore with DynamoDB's SearchVectors."""


def _botocore_has_search_vectors() -> bool:
    import botocore

    try:
        version = tuple(int(p) for p in botocore.__version__.split(".")[:3])
    except ValueError:  # pragma: no cover - a development build
        return True
    return version >= SEARCH_VECTORS_BOTOCORE


def _log_index_change(usable: bool, reason: str) -> None:
    if usable:
        logger.info("semantic search uses the table's vector index (SearchVectors)")
    else:
        logger.info("semantic search ranks on the client: %s", reason)


def _vector_state(mode: Any, indexed: bool) -> VectorIndexState | None:
    """The store's view of its vector index for ``vector_search=mode`` (``None``: the
    client ranks, puts write no vector items).

    Raises:
        ConfigurationError: An unknown mode, or ``"native"`` where it cannot work.
    """
    if mode not in VECTOR_SEARCH_MODES:
        raise ConfigurationError(
            f"vector_search must be one of {', '.join(map(repr, VECTOR_SEARCH_MODES))}, "
            f"got {mode!r}"
        )
    if mode == "client" or not indexed:
        if mode == "native":
            raise ConfigurationError(
                "vector_search='native' needs index={'dims': ..., 'embed': ...}: there is "
                "nothing to search without embeddings"
            )
        return None
    unsupported = None
    if not _botocore_has_search_vectors():
        import botocore

        unsupported = (
            f"botocore {botocore.__version__} has no SearchVectors; install boto3>=1.43.64 "
            "(and aiobotocore>=3.9.1 for async)"
        )
        if mode == "native":
            raise ConfigurationError(f"vector_search='native': {unsupported}")
        _log_index_change(False, unsupported)
    return VectorIndexState(
        required=mode == "native", on_change=_log_index_change, unsupported=unsupported
    )


def _ttl_config(ttl: TTLConfig | None) -> TTLConfig | None:
    if ttl is None:
        return None
    if not isinstance(ttl, Mapping):
        raise ConfigurationError(f"ttl must be langgraph's TTLConfig (a dict), got {ttl!r}")
    unknown = set(ttl) - {
        "default_ttl",
        "refresh_on_read",
        "omit_expired",
        "sweep_interval_minutes",
    }
    if unknown:
        raise ConfigurationError(f"unknown TTLConfig keys {sorted(unknown)}")
    default = ttl.get("default_ttl")
    if default is not None and (
        isinstance(default, bool) or not isinstance(default, (int, float)) or default <= 0
    ):
        raise ConfigurationError(f"default_ttl must be positive minutes, got {default!r}")
    return ttl


class DynamoDBStore(OwnsClients, BaseStore):
    """LangGraph long-term memory on Amazon DynamoDB: ``get``, ``put``, ``delete``,
    ``search`` (namespace prefix, filters, semantic search), ``list_namespaces``, sync and
    native async (aiobotocore, no threads; without the ``[async]`` extra, the sync client
    on a thread pool), with TTL and values of any size.

    Example:
        ```python
        store = DynamoDBStore(table_name="memory", region_name="eu-west-1",
                              index={"dims": 1536, "embed": embeddings, "fields": ["text"]},
                              ttl={"default_ttl": 43200, "refresh_on_read": True})
        store.setup()
        graph = builder.compile(checkpointer=saver, store=store)
        ```

    Args:
        table_name: The DynamoDB table: the checkpoint table (one table to deploy) or one
            of its own; the store's keys never meet the checkpointer's.
        region_name: AWS region; else the session's, ``AWS_REGION``, ``AWS_DEFAULT_REGION``
            or the profile's.
        endpoint_url: Another endpoint, e.g. DynamoDB Local (else
            ``AWS_ENDPOINT_URL_DYNAMODB``).
        profile_name: AWS profile for the clients the store makes.
        client: A boto3 DynamoDB client for sync calls (not closed by the store).
        aclient: An entered aiobotocore DynamoDB client for async calls (not closed).
        session: A ``boto3.Session`` to make the sync client from.
        aiosession: An aiobotocore ``AioSession`` (or aioboto3 ``Session``).
        boto_config: A botocore ``Config`` merged over the library's defaults.
        index: Semantic search, as langgraph's ``IndexConfig``: ``dims``, ``embed`` (an
            ``Embeddings`` or a function), ``fields`` (default: the whole value).
        vector_search: How semantic search ranks. ``"auto"`` (default): through the
            table's vector index (SearchVectors) once DescribeTable shows it ACTIVE and
            filled, else on the client, with one log line. ``"native"``: through the index
            or an error that says why not. ``"client"``: always on the client (reads every
            item under the prefix), and puts write no vector items for an index.
        ttl: Expiry, as langgraph's ``TTLConfig`` (minutes): ``default_ttl``,
            ``refresh_on_read``. Expired items are absent at once; DynamoDB deletes them.
        serde: Serializer of values (default ``JsonPlusSerializer``, no pickle).
        compression: As for the saver: ``"zstd"`` (default), ``None`` or a codec.
        compression_level: zstd level (1-22, default 3).
        compression_threshold: Values smaller than this (bytes) are not compressed.
        consistent_reads: Strongly consistent reads (default): a get or search sees every
            put that returned before it. False halves read cost.
        trace_ids: Put the namespace of single-op calls on the OpenTelemetry spans
            (default: ``LANGGRAPH_DYNAMODB_TRACE_IDS``, else off). Values never are.
        combine_writes: Let async calls running at the same time on one event loop send
            their unconditional puts together, one BatchWriteItem for all (default on: many
            runs at once on one store then send about half the requests; one call at a
            time sends exactly what it would alone). ``False``: every call sends its own
            requests. See docs/async.md.
        combine_reads: Let async calls running at the same time on one event loop send
            their reads by key together (``get``, and the re-read of what the vector index
            found), one BatchGetItem for all (default on: many runs at once on one store
            then send a third fewer requests; one call at a time sends exactly what it
            would alone). Strongly consistent reads stay strongly consistent. ``False``:
            every call sends its own requests. See docs/async.md.

    Attributes:
        stats: Requests, capacity, latency, retries and throttles per operation
            (``store.get``, ``store.search``, ...), as the saver's.
    """

    supports_ttl = True

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
        index: IndexConfig | None = None,
        vector_search: VectorSearch = "auto",
        ttl: TTLConfig | None = None,
        serde: SerializerProtocol | None = None,
        compression: str | Compressor | bool | None = "zstd",
        compression_level: int | None = None,
        compression_threshold: int = limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES,
        consistent_reads: bool = True,
        trace_ids: bool | None = None,
        combine_writes: bool = True,
        combine_reads: bool = True,
    ) -> None:
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
        self.table_name = table_name
        self.index_config = index
        self._index = index_settings(index)
        self.vector_search = vector_search
        self._vector_state = _vector_state(vector_search, self._index is not None)
        self.ttl_config = _ttl_config(ttl)
        self.serde = serde or JsonPlusSerializer()
        self._compression = compression_of(
            compression, compression_level, compression_threshold, None
        )
        self._consistent = bool(consistent_reads)
        self._directory = GroupDirectory()
        self.stats = Stats()
        self._trace_ids = trace_ids_default(trace_ids)

    # --- constructors and lifecycle -----------------------------------------------------
    @classmethod
    def from_table(cls, table_name: str, **kwargs: Any) -> DynamoDBStore:
        """A store that owns its clients; use it as a (sync or async) context manager."""
        return cls(table_name=table_name, **kwargs)

    # --- plumbing -------------------------------------------------------------------------
    def _ctx(self) -> StoreCtx:
        return StoreCtx(
            table=self.table_name,
            consistent_read=self._consistent,
            serde=self.serde,
            compression=self._compression,
            directory=self._directory,
            vector_state=self._vector_state,
        )

    def _operation(self, ops: list[Op]) -> tuple[str, dict[str, Any] | None]:
        """The span name of a batch (``store.get`` for ``get``'s one op, else
        ``store.batch``) and, with ``trace_ids``, its namespace."""
        if len(ops) != 1:
            return "store.batch", None
        op = ops[0]
        if isinstance(op, GetOp):
            name, namespace = "store.get", op.namespace
        elif isinstance(op, SearchOp):
            name, namespace = "store.search", op.namespace_prefix
        elif isinstance(op, PutOp):
            name = "store.put" if op.value is not None else "store.delete"
            namespace = op.namespace
        elif isinstance(op, ListNamespacesOp):
            return "store.list_namespaces", None
        else:
            return "store.batch", None
        if not self._trace_ids:
            return name, None
        return name, {"langgraph.store.namespace": tuple(str(p) for p in namespace)}

    # --- the table ------------------------------------------------------------------------
    def setup(self, *, prepare_async: bool = True) -> None:
        """Create the table if missing (on-demand, encrypted), wait until it is ACTIVE,
        check its keys and enable TTL; with ``index=`` (and not ``vector_search="client"``)
        declare its vector index: in the new table, or added to one that has none (DynamoDB
        builds it in the background: nothing waits for it). Idempotent; the same table as
        a saver's is fine.

        Raises:
            ConfigurationError: ``vector_search="native"`` and the index cannot be declared
                (a provisioned table, DynamoDB Local) or is declared differently.
        """
        self._after_setup(self._run(self._setup_flow(), "store.setup"))
        if prepare_async:
            self._clients.prepare_async()

    async def asetup(self) -> None:
        """Async :meth:`setup`."""
        self._after_setup(await self._arun(self._setup_flow(), "store.setup"))

    def vector_index_status(self) -> vector_index.IndexStatus:
        """Look at the table's vector index now (one DescribeTable): whether semantic
        search can go through it (``usable``), and if not, why (``reason``). A deploy
        script can wait on it after :meth:`setup`; ``"auto"`` looks by itself."""
        if self._index is None:
            return vector_index.IndexStatus(False, "the store has no index= (no embeddings)")
        flow = vector_index.look(self._ctx(), self._index.dims)
        return self._run(flow, "store.vector_index_status")

    async def avector_index_status(self) -> vector_index.IndexStatus:
        """Async :meth:`vector_index_status`."""
        if self._index is None:
            return vector_index.IndexStatus(False, "the store has no index= (no embeddings)")
        flow = vector_index.look(self._ctx(), self._index.dims)
        return await self._arun(flow, "store.vector_index_status")

    def _setup_flow(self) -> Any:
        state = self._vector_state
        if state is None or not state.supported or self._index is None:
            return flows.setup(self._ctx(), ttl=True)
        return vector_index.setup(self._ctx(), self._index.dims)

    def _after_setup(self, status: Any) -> None:
        state = self._vector_state
        if state is None or not isinstance(status, vector_index.IndexStatus):
            return
        if state.required and status.broken:
            raise ConfigurationError(f"vector_search='native': {status.reason}")
        state.record(status.usable, status.reason, self._ctx().clock())

    # --- BaseStore --------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ops in order (reads before the batch's writes); usually one request per
        kind of op."""
        ops = list(ops)
        name, ids = self._operation(ops)
        return self._run(run_batch(self._ctx(), ops, self._index), name, ids)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`."""
        ops = list(ops)
        name, ids = self._operation(ops)
        return await self._arun(run_batch(self._ctx(), ops, self._index), name, ids)
