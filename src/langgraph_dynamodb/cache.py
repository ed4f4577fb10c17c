"""``DynamoDBCache``: LangGraph's node cache (``cache=``, with ``CachePolicy(ttl=...)`` on a
node or ``@task``) on DynamoDB, in the checkpoint table or one of its own.

It behaves as LangGraph's ``InMemoryCache``: ``get`` returns the entries present and not
expired (an entry expires when its TTL in seconds has passed: ``now < expiry`` is a hit,
so ``ttl=0`` is a miss at once; ``None`` never expires), ``set`` replaces entries,
``clear(namespaces)`` removes exactly those namespaces (not their children) and
``clear()`` everything. Values go through the cache's serializer (LangGraph's
``JsonPlusSerializer`` without pickle by default), then the saver's compression and,
over an item's size, its chunking.

Layout (:mod:`.schema`): one partition per namespace (``n#`` and its encoded labels), an
entry per key (``e#`` and the encoded key), so clearing a namespace is a keys-only Query
of its partition and batched deletes, never a Scan; a directory partition (``q#``) lists
every namespace the cache wrote to, for ``clear()``. Reads are strongly consistent: the
next run sees what this one cached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import flows, limits, schema
from langgraph_dynamodb._clients import Clients
from langgraph_dynamodb._drivers import OwnsClients
from langgraph_dynamodb.codec import Compression, Compressor, frame, unframe
from langgraph_dynamodb.errors import InvalidInputError
from langgraph_dynamodb.flows.bulk import batch_get, batch_write, query_all
from langgraph_dynamodb.flows.context import TableCtx
from langgraph_dynamodb.options import compression_of
from langgraph_dynamodb.schema import AttrMap, get_b, key, sk_of
from langgraph_dynamodb.stats import Stats, trace_ids_default
from langgraph_dynamodb.steps import Flow

if TYPE_CHECKING:
    import boto3
    from aiobotocore.session import AioSession
    from botocore.config import Config
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

__all__ = ["CacheNamespaceSummary", "DynamoDBCache"]


@dataclass(kw_only=True)
class _CacheCtx(TableCtx):
    """What the cache's flows get beside the table: its compression and the namespaces
    whose directory entries it wrote (entries are never deleted, so once is enough)."""

    compression: Compression
    known: set[str] | None = None


def _require_namespace(namespace: Any) -> Namespace:
    """A cache namespace as LangGraph passes it (a tuple of strings), checked."""
    if not isinstance(namespace, tuple) or not all(isinstance(x, str) for x in namespace):
        raise InvalidInputError(f"a cache namespace must be a tuple of strings, got {namespace!r}")
    return namespace


def _require(full_key: Any) -> tuple[Namespace, str]:
    """A ``(namespace, key)`` pair as LangGraph passes it, checked."""
    if not (isinstance(full_key, tuple) and len(full_key) == 2):
        raise InvalidInputError(f"a cache key must be (namespace, key), got {full_key!r}")
    namespace, key_ = full_key
    if not isinstance(key_, str):
        raise InvalidInputError(f"a cache key must be a string, got {key_!r}")
    return _require_namespace(namespace), key_


def _get(
    ctx: _CacheCtx, serde: SerializerProtocol, keys: Sequence[FullKey], now: float
) -> Flow[dict[FullKey, Any]]:
    """The live entries of ``keys``: one round of BatchGetItem (100 keys a request), and
    one more for the chunks of large values."""
    wanted: dict[tuple[str, str], FullKey] = {}
    for full_key in keys:
        namespace, key_ = _require(full_key)
        wanted[(schema.cache_pk(namespace), schema.cache_sk(key_))] = (namespace, key_)
    if not wanted:
        return {}
    found = yield from batch_get(ctx, [key(pk, sk) for pk, sk in wanted])
    refs = [(item, schema.chunk_ref_of(item)) for item in found]
    chunk_keys = [k for item, ref in refs if ref for k in ref.keys(item[schema.PK]["S"])]
    parts: dict[str, dict[str, AttrMap]] = {}  # by partition, then sort key
    if chunk_keys:
        for chunk in (yield from batch_get(ctx, chunk_keys)):
            parts.setdefault(chunk[schema.PK]["S"], {})[sk_of(chunk)] = chunk
    out: dict[FullKey, Any] = {}
    for item, ref in refs:
        pk = item[schema.PK]["S"]
        entry = _entry_of(ctx, item, ref, parts.get(pk, {}))
        if entry is None or (entry.expires is not None and not now < entry.expires):
            continue
        out[wanted[(pk, sk_of(item))]] = serde.loads_typed(entry.value)
    return out


def _entry_of(
    ctx: _CacheCtx, item: AttrMap, ref: schema.ChunkRef | None, chunks: Mapping[str, AttrMap]
) -> schema.CacheEntryPayload | None:
    """An entry item's payload (its value still serialized), its chunks (by sort key) put
    together; ``None`` when they are gone or being replaced: a miss, never half a value."""
    what = f"cache entry {sk_of(item)!r} of {item[schema.PK]['S']!r}"
    schema.check_format(item, what)
    data = get_b(item, schema.PAYLOAD) if ref is None else ref.join(chunks)
    if data is None:
        return None
    return schema.decode_cache_entry(unframe(item, data, ctx.compression), what)


def _set(
    ctx: _CacheCtx,
    serde: SerializerProtocol,
    pairs: Mapping[FullKey, tuple[Any, int | None]],
    now: float,
) -> Flow[None]:
    """Write the entries (chunks first, then the entries, then directory entries of new
    namespaces), 25 items a BatchWriteItem."""
    chunks: list[AttrMap] = []
    entries: list[AttrMap] = []
    directory: dict[str, AttrMap] = {}
    for full_key, (value, ttl) in pairs.items():
        namespace, key_ = _require(full_key)
        if ttl is not None and (not isinstance(ttl, (int, float)) or isinstance(ttl, bool)):
            raise InvalidInputError(f"a cache TTL must be seconds or None, got {ttl!r}")
        expires = None if ttl is None else now + ttl
        expires_at = None if expires is None else math.ceil(expires)
        pk, sk = schema.cache_pk(namespace), schema.cache_sk(key_)
        typed = serde.dumps_typed(value)
        structure = schema.encode_cache_entry(schema.CacheEntryPayload(typed, expires))
        framed = frame(structure, ctx.compression, pk, expires_at, nonce_prefix=sk[2:])
        item: AttrMap = {**key(pk, sk), schema.KIND: schema.s(schema.KIND_CACHE), **framed.attrs}
        if expires_at is not None:
            item[schema.TTL] = schema.n(expires_at)
        chunks.extend(framed.chunks)
        entries.append(item)
        if ctx.known is None or pk not in ctx.known:
            directory[pk] = {
                **key(schema.CACHE_DIRECTORY_PK, schema.cache_directory_sk(pk)),
                schema.KIND: schema.s(schema.KIND_DIRECTORY),
            }
    if chunks:
        yield from batch_write(ctx, puts=chunks)
    yield from batch_write(ctx, puts=[*entries, *directory.values()])
    if ctx.known is not None:
        ctx.known.update(directory)


def _clear(ctx: _CacheCtx, namespaces: Sequence[Namespace] | None) -> Flow[None]:
    """Delete every item of the namespaces' partitions (entries and chunks), or of every
    namespace in the directory; directory entries stay (a later ``set`` may count on
    them)."""
    if namespaces is None:
        listed = yield from query_all(ctx, schema.CACHE_DIRECTORY_PK, keys_only=True)
        pks = [pk for pk in (schema.cache_pk_of_directory_sk(sk_of(i)) for i in listed) if pk]
    else:
        pks = [schema.cache_pk(_require_namespace(tuple(ns))) for ns in namespaces]
    for pk in dict.fromkeys(pks):
        doomed = yield from query_all(ctx, pk, keys_only=True)
        yield from batch_write(ctx, deletes=[key(pk, sk_of(i)) for i in doomed])


@dataclass(frozen=True)
class CacheNamespaceSummary:
    """One namespace of a cache, counted by :meth:`DynamoDBCache.summarize`.

    Attributes:
        namespace: Its labels, as LangGraph gave them (``None`` for a label so long
            that its key keeps only a digest). LangGraph's node namespaces are
            ``("__pregel_ns_writes", "<module>.<function>", "<node>")``.
        entries: Cached values, expired ones included.
        expired: Entries whose expiry second has passed (misses already; DynamoDB's TTL
            deletes them later, usually within days).
        bytes: The items' size as DynamoDB bills storage (entries and the chunks of large
            values), without its 100 bytes of overhead per item.
    """

    namespace: tuple[str | None, ...]
    entries: int
    expired: int
    bytes: int


def _summarize(ctx: _CacheCtx, now: float) -> Flow[list[CacheNamespaceSummary]]:
    """Every namespace in the directory, counted from its partition (one Query each, the
    items read whole to size them)."""
    listed = yield from query_all(ctx, schema.CACHE_DIRECTORY_PK, keys_only=True)
    out = []
    for pk in (schema.cache_pk_of_directory_sk(sk_of(i)) for i in listed):
        namespace = None if pk is None else schema.cache_namespace_of(pk)
        if pk is None or namespace is None:
            continue
        items = yield from query_all(ctx, pk)
        chunks = {sk_of(i): i for i in items if schema.get_s(i, schema.KIND) != schema.KIND_CACHE}
        entries = expired = 0
        for item in items:
            if schema.get_s(item, schema.KIND) == schema.KIND_CACHE:
                entries += 1
                expired += _expired(ctx, item, chunks, now)
        size = sum(schema.approx_size(i) for i in items)
        out.append(CacheNamespaceSummary(namespace, entries, expired, size))
    return out


def _expired(ctx: _CacheCtx, item: AttrMap, chunks: Mapping[str, AttrMap], now: float) -> bool:
    """Whether an entry has expired: from its TTL attribute (its expiry rounded up to the
    second), or, within that second, from the exact expiry in its payload."""
    ttl = schema.get_n(item, schema.TTL)
    if ttl is None or ttl - 1 >= now:
        return False
    if ttl <= now:
        return True
    entry = _entry_of(ctx, item, schema.chunk_ref_of(item), chunks)
    return entry is None or (entry.expires is not None and not now < entry.expires)


class DynamoDBCache(OwnsClients, BaseCache[ValueT], Generic[ValueT]):
    """LangGraph's node cache on Amazon DynamoDB: cached node and ``@task`` results, with a
    TTL per entry, in the checkpoint table (one table for everything LangGraph persists)
    or one of its own. Sync and native async; the same client options as the saver.

    Example:
        ```python
        from langgraph.types import CachePolicy

        from langgraph_dynamodb import DynamoDBCache

        cache = DynamoDBCache(table_name="checkpoints")
        cache.setup()
        cache.set({(("summaries",), "k1"): ({"text": "short"}, 3600)})
        print(cache.get([(("summaries",), "k1"), (("summaries",), "k2")]))
        policy = CachePolicy(ttl=3600)  # builder.add_node("summarize", fn, cache_policy=policy)
        cache.close()
        ```

    Args:
        table_name: The DynamoDB table (the checkpoint table is fine).
        region_name: AWS region (else the session's, ``AWS_REGION``, ...).
        endpoint_url: Another endpoint, e.g. DynamoDB Local.
        profile_name: AWS profile of the clients the cache makes.
        client: A boto3 DynamoDB client for sync calls (not closed by the cache).
        aclient: An entered aiobotocore DynamoDB client for async calls (not closed).
        session: A boto3 session to make the sync client from.
        aiosession: An aiobotocore session to make the async client from.
        boto_config: botocore ``Config`` merged over the library's defaults.
        serde: Serializer of cached values (LangGraph's default: JSON-plus, no pickle).
        compression: ``"zstd"`` (default), ``None``/``False``, or a ``Compressor``.
        compression_level: zstd level.
        compression_threshold: Values smaller than this many bytes are not compressed.
        extra_codecs: Further codecs to read existing entries with, by name.
        trace_ids: Put namespaces in span attributes (else ``LANGGRAPH_DYNAMODB_TRACE_IDS``).
        combine_writes: Let async calls running at the same time on one event loop send
            their unconditional puts together, one BatchWriteItem for all (default on: many
            runs at once on one cache then send about half the requests; one call at a
            time sends exactly what it would alone). ``False``: every call sends its own
            requests. See docs/async.md.
        combine_reads: Let async calls running at the same time on one event loop send
            their lookups together, one BatchGetItem for all (default on; one call at a
            time sends exactly what it would alone). ``False``: every call sends its own
            requests. See docs/async.md.
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
        compression: str | Compressor | bool | None = "zstd",
        compression_level: int | None = None,
        compression_threshold: int = limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES,
        extra_codecs: Mapping[str, Compressor] | None = None,
        trace_ids: bool | None = None,
        combine_writes: bool = True,
        combine_reads: bool = True,
    ) -> None:
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
        super().__init__(serde=serde)
        self.table_name = table_name
        self._compression = compression_of(
            compression, compression_level, compression_threshold, extra_codecs
        )
        self._known: set[str] = set()
        self.stats = Stats()
        self._trace_ids = trace_ids_default(trace_ids)

    @classmethod
    def from_table(cls, table_name: str, **kwargs: Any) -> DynamoDBCache[Any]:
        """A cache that owns its clients; use it as a (sync or async) context manager."""
        return cls(table_name=table_name, **kwargs)

    def _ctx(self) -> _CacheCtx:
        return _CacheCtx(
            table=self.table_name,
            consistent_read=True,
            compression=self._compression,
            known=self._known,
        )

    # --- the table ------------------------------------------------------------------------
    def setup(self, *, prepare_async: bool = True) -> None:
        """Create the table if missing (on-demand, encrypted), wait until it is ACTIVE,
        check its keys and enable TTL (DynamoDB then deletes expired entries, for free).
        Idempotent; the saver's table is fine."""
        self._run(flows.setup(self._ctx(), ttl=True), "cache.setup")
        if prepare_async:
            self._clients.prepare_async()

    async def asetup(self) -> None:
        """Async :meth:`setup`."""
        await self._arun(flows.setup(self._ctx(), ttl=True), "cache.setup")

    # --- BaseCache ------------------------------------------------------------------------
    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The cached values of the keys that have one, not expired (strongly consistent:
        one BatchGetItem per 100 keys, and one more for large values' chunks)."""
        return self._run(_get(self._ctx(), self.serde, keys, time.time()), "cache.get")

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async :meth:`get`."""
        return await self._arun(_get(self._ctx(), self.serde, keys, time.time()), "cache.get")

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Cache values, each with its TTL in seconds (``None``: never expires); one
        BatchWriteItem per 25 items."""
        self._run(_set(self._ctx(), self.serde, pairs, time.time()), "cache.set")

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        """Async :meth:`set`."""
        await self._arun(_set(self._ctx(), self.serde, pairs, time.time()), "cache.set")

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the entries of exactly these namespaces (not their children), or of every
        namespace with ``None``: a keys-only Query of each namespace's partition and
        batched deletes, never a Scan."""
        self._run(_clear(self._ctx(), namespaces), "cache.clear")

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async :meth:`clear`."""
        await self._arun(_clear(self._ctx(), namespaces), "cache.clear")

    # --- tooling --------------------------------------------------------------------------
    def summarize(self) -> list[CacheNamespaceSummary]:
        """Every namespace the cache wrote to, with its entries, expired share and bytes
        (for the command line's ``cache``): one Query of the directory and one of each
        namespace, reading its items whole. Not for a hot path."""
        return self._run(_summarize(self._ctx(), time.time()), "cache.summarize")

    async def asummarize(self) -> list[CacheNamespaceSummary]:
        """Async :meth:`summarize`."""
        return await self._arun(_summarize(self._ctx(), time.time()), "cache.summarize")
