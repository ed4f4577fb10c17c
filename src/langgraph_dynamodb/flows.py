"""Every saver operation, written once as a flow (a generator of requests). No I/O here.

The sync and async shells run the same flows (see ``_drivers``), so the two APIs cannot
drift. Multi-request work (pagination, batches with ``UnprocessedItems``, large payloads,
delete/copy/prune) is ordered so that a crash at any point leaves a state in which every
visible checkpoint is whole: chunks and writes are written before the head that makes
them visible, heads are deleted before what they depend on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    PendingWrite,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import items as it
from langgraph_dynamodb import keys, limits
from langgraph_dynamodb.calls import Call, Emit, Failure, Flow, Sleep, backoff
from langgraph_dynamodb.codec import Compression
from langgraph_dynamodb.errors import (
    ConflictError,
    CorruptItemError,
    InvalidInputError,
    TableSchemaError,
    UnavailableError,
)

logger = logging.getLogger("langgraph_dynamodb")

AttrMap = dict[str, Any]

CAPACITY_OPS = frozenset(
    {
        "get_item",
        "put_item",
        "delete_item",
        "update_item",
        "query",
        "scan",
        "batch_get_item",
        "batch_write_item",
    }
)
"""Operations that report consumed capacity when asked."""


@dataclass
class Ctx:
    """Everything a flow needs from the saver, read at call time."""

    table: str
    serde: SerializerProtocol
    compression: Compression
    consistent_read: bool
    ttl_seconds: float | None
    ttl_refresh_on_read: bool
    cache: it.ChannelIndexCache
    clock: Callable[[], float] = time.time

    def expires_at(self) -> int | None:
        """Expiry (epoch seconds) for items written now, if a TTL is configured."""
        if self.ttl_seconds is None:
            return None
        return int(self.clock() + self.ttl_seconds)

    @property
    def refers_to_writes(self) -> bool:
        """Whether deltas may refer to pending writes: not under a TTL (writes items are
        not touched with the heads that refer to them) nor under encryption (tails are
        encrypted on their own)."""
        return self.ttl_seconds is None and it._plain_serde(self.serde) is self.serde

    def call(self, op: str, expect: tuple[str, ...] = (), **params: Any) -> Call:
        """A request on this table, asking DynamoDB for its consumed capacity."""
        if op in CAPACITY_OPS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        if op not in ("batch_write_item", "batch_get_item"):
            params.setdefault("TableName", self.table)
        return Call(op, params, expect)


# --- config parsing ---------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """Thread, namespace and (optional) checkpoint id a config addresses."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None


def target_of(config: RunnableConfig | None, *, need_checkpoint: bool = False) -> Target:
    """Read and validate the ids of a config."""
    if not isinstance(config, Mapping):
        raise InvalidInputError(
            f"config must be a dict like {{'configurable': {{'thread_id': ...}}}}, got {config!r}"
        )
    configurable = config.get("configurable")
    if not isinstance(configurable, Mapping) or "thread_id" not in configurable:
        raise InvalidInputError(
            "config has no thread_id: pass {'configurable': {'thread_id': '...'}} when you "
            "invoke a graph that has a checkpointer"
        )
    thread_id = keys.require_id(configurable["thread_id"], "thread_id")
    ns = keys.require_id(
        configurable.get("checkpoint_ns", "") or "", "checkpoint_ns", allow_empty=True
    )
    cp = configurable.get("checkpoint_id")
    if cp is not None:
        cp = keys.require_id(cp, "checkpoint_id")
    elif need_checkpoint:
        raise InvalidInputError(
            "config has no checkpoint_id: writes belong to a checkpoint; pass the config "
            "returned by put()"
        )
    return Target(thread_id, ns, cp or None)


# --- generic request helpers --------------------------------------------------------------
def batch_write(
    ctx: Ctx, puts: Iterable[AttrMap] = (), deletes: Iterable[AttrMap] = ()
) -> Flow[None]:
    """BatchWriteItem in groups of 25, retrying ``UnprocessedItems`` with backoff."""
    requests: list[AttrMap] = []
    seen: set[tuple[str, str]] = set()
    for item in puts:
        requests.append({"PutRequest": {"Item": item}})
        seen.add((item[keys.PK]["S"], item[keys.SK]["S"]))
    for key in deletes:
        ident = (key[keys.PK]["S"], key[keys.SK]["S"])
        if ident not in seen:
            seen.add(ident)
            requests.append({"DeleteRequest": {"Key": key}})
    for start in range(0, len(requests), limits.BATCH_WRITE_MAX_ITEMS):
        pending = requests[start : start + limits.BATCH_WRITE_MAX_ITEMS]
        attempt = 0
        while pending:
            resp = yield ctx.call("batch_write_item", RequestItems={ctx.table: pending})
            pending = resp.get("UnprocessedItems", {}).get(ctx.table, [])
            if pending:
                attempt += 1
                if attempt >= limits.UNPROCESSED_MAX_ATTEMPTS:
                    raise UnavailableError(
                        f"DynamoDB left {len(pending)} writes unprocessed on {ctx.table!r} "
                        f"after {attempt} attempts; nothing after them was written. Retry later."
                    )
                yield Sleep(backoff(attempt))


def batch_get(ctx: Ctx, keys_: Sequence[AttrMap]) -> Flow[list[AttrMap]]:
    """BatchGetItem in groups of 100, retrying ``UnprocessedKeys`` with backoff."""
    found: list[AttrMap] = []
    unique = list({(k[keys.PK]["S"], k[keys.SK]["S"]): k for k in keys_}.values())
    for start in range(0, len(unique), limits.BATCH_GET_MAX_KEYS):
        pending: AttrMap | None = {
            "Keys": unique[start : start + limits.BATCH_GET_MAX_KEYS],
            "ConsistentRead": ctx.consistent_read,
        }
        attempt = 0
        while pending:
            resp = yield ctx.call("batch_get_item", RequestItems={ctx.table: pending})
            found.extend(resp.get("Responses", {}).get(ctx.table, []))
            pending = resp.get("UnprocessedKeys", {}).get(ctx.table)
            if pending:
                attempt += 1
                if attempt >= limits.UNPROCESSED_MAX_ATTEMPTS:
                    raise UnavailableError(
                        f"DynamoDB left keys unprocessed on {ctx.table!r} after {attempt} "
                        "attempts; retry later"
                    )
                yield Sleep(backoff(attempt))
    return found


def read_all(ctx: Ctx, op: str, **params: Any) -> Flow[list[AttrMap]]:
    """Every item a Query or Scan returns, following ``LastEvaluatedKey``."""
    out: list[AttrMap] = []
    start: AttrMap | None = None
    while True:
        page = dict(params, ConsistentRead=ctx.consistent_read)
        if start:
            page["ExclusiveStartKey"] = start
        resp = yield ctx.call(op, **page)
        out.extend(resp.get("Items", []))
        start = resp.get("LastEvaluatedKey")
        if not start:
            return out


def query_all(ctx: Ctx, pk: str, prefix: str = "", **extra: Any) -> Flow[list[AttrMap]]:
    """Every item of a partition (optionally under a sort-key prefix), ascending."""
    cond = "pk = :pk"
    values: AttrMap = {":pk": it.s_attr(pk)}
    if prefix:
        cond += " AND begins_with(sk, :pre)"
        values[":pre"] = it.s_attr(prefix)
    return (
        yield from read_all(
            ctx, "query", KeyConditionExpression=cond, ExpressionAttributeValues=values, **extra
        )
    )


# --- setup --------------------------------------------------------------------------------
def setup(ctx: Ctx) -> Flow[None]:
    """Create the table if missing, wait until ACTIVE, check its keys, enable TTL."""
    described = yield ctx.call("describe_table", expect=("ResourceNotFoundException",))
    if isinstance(described, Failure):
        created = yield ctx.call(
            "create_table", expect=("ResourceInUseException",), **_create_params(ctx)
        )
        del created
        waited = 0.0
        while True:
            described = yield ctx.call("describe_table", expect=("ResourceNotFoundException",))
            if not isinstance(described, Failure) and (
                described["Table"].get("TableStatus") == "ACTIVE"
            ):
                break
            if waited >= limits.TABLE_ACTIVE_TIMEOUT_S:
                raise UnavailableError(
                    f"table {ctx.table!r} did not become ACTIVE within "
                    f"{limits.TABLE_ACTIVE_TIMEOUT_S:.0f} s of being created; check it in "
                    "the console, then call setup() again"
                )
            yield Sleep(limits.TABLE_ACTIVE_POLL_S)
            waited += limits.TABLE_ACTIVE_POLL_S
    check_key_schema(ctx.table, described["Table"])
    if ctx.ttl_seconds is not None:
        ttl_desc = yield ctx.call("describe_time_to_live")
        status = ttl_desc.get("TimeToLiveDescription", {})
        if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            yield ctx.call(
                "update_time_to_live",
                TimeToLiveSpecification={"Enabled": True, "AttributeName": keys.TTL},
            )
        elif status.get("AttributeName") not in (None, keys.TTL):
            raise TableSchemaError(
                f"table {ctx.table!r} has TTL on attribute {status.get('AttributeName')!r}, "
                f"but this library writes expiry to {keys.TTL!r}; disable TTL on the table "
                "or use another table"
            )


def _create_params(ctx: Ctx) -> AttrMap:
    params = keys.create_table_params(ctx.table)
    params.pop("TableName")
    return params


def check_key_schema(table: str, description: Mapping[str, Any]) -> None:
    """Raise :class:`TableSchemaError` unless the table has this library's keys."""
    types = {
        a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])
    }
    schema = {
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in description.get("KeySchema", [])
    }
    if schema != keys.EXPECTED_KEY_SCHEMA:
        found = ", ".join(f"{n} ({t}, {kt})" for n, kt, t in sorted(schema))
        raise TableSchemaError(
            f"table {table!r} has keys {found}; this library needs partition key "
            f"{keys.PK!r} (S, HASH) and sort key {keys.SK!r} (S, RANGE). Use another table "
            "name, or create it with setup() or the template."
        )


# --- put ----------------------------------------------------------------------------------
def put(
    ctx: Ctx,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> Flow[RunnableConfig]:
    """Store a checkpoint head: one PutItem (chunks first, if the payload is large)."""
    target = target_of(config)
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("id"), str):
        raise InvalidInputError("checkpoint must be a Checkpoint dict with a string 'id'")
    checkpoint_id = keys.require_id(checkpoint["id"], "checkpoint id")
    keys.checkpoint_component(checkpoint_id)
    expires_at = ctx.expires_at()
    parent_index = (
        ctx.cache.get((target.thread_id, target.checkpoint_ns, target.checkpoint_id))
        if target.checkpoint_id
        else None
    )
    plan = it.plan_channels(
        checkpoint,
        new_versions,
        parent_index,
        expires_at=expires_at,
        now=ctx.clock(),
        ttl_seconds=ctx.ttl_seconds,
    )
    if target.checkpoint_id is not None and ctx.refers_to_writes:
        # Deltas may refer to the parent's pending writes instead of repeating them.
        parent_key = (target.thread_id, target.checkpoint_ns, target.checkpoint_id)
        for _ in range(limits.WRITES_IN_FLIGHT_MAX_POLLS):
            if not ctx.cache.writes_in_flight(parent_key):
                break
            yield Sleep(limits.WRITES_IN_FLIGHT_POLL_S)
        plan = dataclasses.replace(
            plan,
            parent_id=target.checkpoint_id,
            parent_writes=ctx.cache.write_values(parent_key),
        )
    prepared = it.build_head(
        serde=ctx.serde,
        compression=ctx.compression,
        thread_id=target.thread_id,
        checkpoint_ns=target.checkpoint_ns,
        checkpoint=checkpoint,
        metadata=get_checkpoint_metadata(config, metadata),
        parent_id=target.checkpoint_id,
        plan=plan,
        expires_at=expires_at,
        now=ctx.clock(),
        ttl_seconds=ctx.ttl_seconds,
    )
    if plan.touch and expires_at is not None:
        yield from touch_heads(ctx, target, plan.touch, expires_at)
    if prepared.chunks:
        yield from batch_write(ctx, puts=prepared.chunks)
    yield ctx.call("put_item", Item=prepared.head)
    key = (target.thread_id, target.checkpoint_ns, checkpoint_id)
    ctx.cache.put(key, prepared.index)
    ctx.cache.note_head(key, target.checkpoint_id)
    return it.make_config(target.thread_id, target.checkpoint_ns, checkpoint_id)


def touch_heads(ctx: Ctx, target: Target, ids: Iterable[str], expires_at: int) -> Flow[None]:
    """Extend the expiry of older heads (and their chunks) a new head refers to.

    Happens at most once per half TTL per holder, so a checkpoint never outlives a value
    it refers to."""
    pk = keys.thread_pk(target.thread_id)
    for checkpoint_id in sorted(ids):
        resp = yield ctx.call(
            "update_item",
            expect=("ConditionalCheckFailedException",),
            Key={
                keys.PK: it.s_attr(pk),
                keys.SK: it.s_attr(keys.head_sk(target.checkpoint_ns, checkpoint_id)),
            },
            UpdateExpression="SET #ttl = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#ttl": keys.TTL},
            ExpressionAttributeValues={":t": it.n_attr(expires_at)},
            ReturnValues="ALL_NEW",
        )
        if isinstance(resp, Failure):
            continue  # gone: readers will skip what needs it
        decoded = it.decode_item(resp.get("Attributes", {}))
        if isinstance(decoded, it.Head) and decoded.chunk_ref is not None:
            for key in decoded.chunk_ref.keys(pk):
                yield ctx.call(
                    "update_item",
                    Key=key,
                    UpdateExpression="SET #ttl = :t",
                    ExpressionAttributeNames={"#ttl": keys.TTL},
                    ExpressionAttributeValues={":t": it.n_attr(expires_at)},
                )


# --- put_writes ---------------------------------------------------------------------------
def put_writes(
    ctx: Ctx,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
) -> Flow[None]:
    """Store a task's writes: one conditional PutItem for regular writes (first write
    wins per index) and one PutItem / BatchWriteItem for special channels (last wins)."""
    target = target_of(config, need_checkpoint=True)
    assert target.checkpoint_id is not None
    keys.require_id(task_id, "task_id")
    if not isinstance(task_path, str):
        raise InvalidInputError(f"task_path must be a string, got {task_path!r}")
    if not writes:
        return
    if not ctx.refers_to_writes:
        yield from _store_writes(ctx, target, writes, task_id, task_path)
        return
    key = (target.thread_id, target.checkpoint_ns, target.checkpoint_id)
    # A put on top of this head waits for this (see put): mark it before serializing.
    ctx.cache.writes_started(key)
    try:
        yield from _store_writes(ctx, target, writes, task_id, task_path)
    finally:
        ctx.cache.writes_ended(key)


def _store_writes(
    ctx: Ctx, target: Target, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
) -> Flow[None]:
    assert target.checkpoint_id is not None
    key = (target.thread_id, target.checkpoint_ns, target.checkpoint_id)
    prepared = it.build_writes(
        serde=ctx.serde,
        compression=ctx.compression,
        thread_id=target.thread_id,
        checkpoint_ns=target.checkpoint_ns,
        checkpoint_id=target.checkpoint_id,
        writes=writes,
        task_id=task_id,
        task_path=task_path,
        expires_at=ctx.expires_at(),
    )
    if prepared.chunks:
        yield from batch_write(ctx, puts=prepared.chunks)
    if prepared.regular is not None:
        stored = yield from _put_regular_writes(ctx, target, task_id, task_path, prepared)
        if stored is not None and ctx.refers_to_writes:
            ctx.cache.note_write_values(
                key,
                task_id,
                [(path, task_id, int(e[0]), str(e[1]), (e[2], e[3])) for path, e in stored],
            )
    if len(prepared.special) == 1:
        yield ctx.call("put_item", Item=prepared.special[0])
    elif prepared.special:
        yield from batch_write(ctx, puts=prepared.special)
    written = [i[keys.SK]["S"] for i in [prepared.regular, *prepared.special] if i is not None]
    ctx.cache.note_writes(key, written)


def _put_regular_writes(
    ctx: Ctx, target: Target, task_id: str, task_path: str, prepared: it.PreparedWrites
) -> Flow[list[tuple[str, list[Any]]] | None]:
    """Put (or merge into) the task's regular-writes item; returns the entries it now
    holds, with their task path, or None if that is not known."""
    assert prepared.regular is not None and target.checkpoint_id is not None
    item = prepared.regular
    written = [(task_path, e) for e in prepared.regular_entries.values()]
    condition: AttrMap = {"ConditionExpression": "attribute_not_exists(pk)"}
    for _attempt in range(limits.WRITES_MERGE_MAX_ATTEMPTS):
        resp = yield ctx.call(
            "put_item",
            expect=("ConditionalCheckFailedException",),
            Item=item,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **condition,
        )
        if not isinstance(resp, Failure):
            return written
        old_raw = resp.response.get("Item")
        if not old_raw:
            old_raw = (yield ctx.call("get_item", Key=it.key_of(item), ConsistentRead=True)).get(
                "Item"
            )
            if not old_raw:
                condition = {"ConditionExpression": "attribute_not_exists(pk)"}
                continue
        old = it.decode_item(old_raw)
        if not isinstance(old, it.WritesItem):
            raise ConflictError(f"item {item[keys.SK]['S']!r} is not a writes item")
        if old.needs_chunks() and old.chunk_ref is not None:
            found = yield from batch_get(ctx, old.chunk_ref.keys(old_raw[keys.PK]["S"]))
            data = it.assemble_chunks(
                old.chunk_ref, old_raw[keys.PK]["S"], {c[keys.SK]["S"]: c for c in found}
            )
            if data is None:
                condition = {
                    "ConditionExpression": "n = :n",
                    "ExpressionAttributeValues": {":n": old_raw[keys.NONCE]},
                }
                continue
            old.set_chunk_data(data)
        old.decode(ctx.compression)
        have = {idx for idx, _, _ in old.entries}
        new = {idx: e for idx, e in prepared.regular_entries.items() if idx not in have}
        merged_path = old.task_path or task_path
        merged = [[idx, ch, t[0], t[1]] for idx, ch, t in old.entries] + list(new.values())
        written = [(merged_path, e) for e in merged]
        if not new:
            return written
        item, chunks = it.writes_item(
            compression=ctx.compression,
            thread_id=target.thread_id,
            checkpoint_ns=target.checkpoint_ns,
            checkpoint_id=target.checkpoint_id,
            task_id=task_id,
            task_path=old.task_path or task_path,
            tag=keys.REGULAR_TAG,
            entries=merged,
            expires_at=ctx.expires_at(),
        )
        if chunks:
            yield from batch_write(ctx, puts=chunks)
        condition = {
            "ConditionExpression": "n = :n",
            "ExpressionAttributeValues": {":n": old_raw[keys.NONCE]},
        }
    raise ConflictError(
        f"writes of task {task_id!r} kept racing with concurrent writers "
        f"({limits.WRITES_MERGE_MAX_ATTEMPTS} attempts)"
    )


# --- reading one namespace ------------------------------------------------------------------
@dataclass
class NsReader:
    """Reads one namespace of a thread newest first and assembles checkpoints from it."""

    ctx: Ctx
    thread_id: str
    checkpoint_ns: str
    lo: str
    hi: str
    page_limit: int
    heads: list[it.Head] = field(default_factory=list)
    by_id: dict[str, it.Head] = field(default_factory=dict)
    writes: dict[str, list[it.WritesItem]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    start: AttrMap | None = None
    exhausted: bool = False
    last_sk: str | None = None
    floor: str | None = None
    """Everything in the range at or above this sort key has been read."""
    pages: int = 0

    @property
    def pk(self) -> str:
        """Partition key of the thread."""
        return keys.thread_pk(self.thread_id)

    def feed(self, raw_items: Iterable[AttrMap]) -> None:
        """Take items read newest first (expired ones are treated as absent)."""
        now = self.ctx.clock()
        for raw in raw_items:
            self.last_sk = raw[keys.SK]["S"]
            if it.is_expired(raw, now):
                continue
            decoded = it.decode_item(raw)
            if isinstance(decoded, it.Head):
                self.heads.append(decoded)
                self.by_id.setdefault(decoded.checkpoint_id, decoded)
            elif isinstance(decoded, it.WritesItem):
                self.writes.setdefault(decoded.checkpoint_id, []).append(decoded)

    def _read(self, lo: str, limit: int | None) -> Flow[None]:
        """One Query of the range from ``lo`` up, newest first, after what was read; keeps
        track of where to go on and of what is now read completely."""
        params: AttrMap = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": it.s_attr(self.pk),
                ":lo": it.s_attr(lo),
                ":hi": it.s_attr(self.hi),
            },
            "ScanIndexForward": False,
            "ConsistentRead": self.ctx.consistent_read,
        }
        if limit is not None:
            params["Limit"] = limit
        if self.start:
            params["ExclusiveStartKey"] = self.start
        resp = yield self.ctx.call("query", **params)
        self.pages += 1
        self.feed(resp.get("Items", []))
        if resp.get("LastEvaluatedKey"):
            self.start = resp["LastEvaluatedKey"]
            self.floor = self.last_sk
        elif lo == self.lo:
            self.start, self.exhausted, self.floor = None, True, self.lo
        else:  # a shorter range is done: the whole range goes on below its last item
            if self.last_sk is not None:
                self.start = {keys.PK: it.s_attr(self.pk), keys.SK: it.s_attr(self.last_sk)}
            self.floor = lo

    def next_page(self) -> Flow[None]:
        """Read the next page of the range."""
        yield from self._read(self.lo, self.page_limit)

    def read_past(self, checkpoint_id: str) -> bool:
        """Whether every item of a checkpoint (its head and writes) has been read."""
        if self.exhausted:
            return True
        prefix = keys.checkpoint_prefix(self.checkpoint_ns, checkpoint_id)
        return self.floor is not None and self.floor <= prefix

    def read_down_to(self, checkpoint_id: str) -> Flow[None]:
        """Read everything from where the last page ended down to (and including) the
        items of ``checkpoint_id``, in as few Queries as DynamoDB allows (no Limit)."""
        lo = max(self.lo, keys.checkpoint_prefix(self.checkpoint_ns, checkpoint_id))
        while not self.read_past(checkpoint_id):
            yield from self._read(lo, None)

    def fetch_chunks(self, objs: Sequence[it.Head | it.WritesItem]) -> Flow[bool]:
        """Load chunked payloads; False if any chunk is missing or corrupt."""
        todo = [o for o in objs if o.needs_chunks() and o.chunk_ref is not None]
        if not todo:
            return True
        wanted = [k for o in todo if o.chunk_ref for k in o.chunk_ref.keys(self.pk)]
        found = yield from batch_get(self.ctx, wanted)
        by_sk = {c[keys.SK]["S"]: c for c in found if not it.is_expired(c, self.ctx.clock())}
        ok = True
        for o in todo:
            assert o.chunk_ref is not None
            data = it.assemble_chunks(o.chunk_ref, self.pk, by_sk)
            if data is None:
                ok = False
            else:
                o.set_chunk_data(data)
        return ok

    def fetch_heads(self, ids: Iterable[str]) -> Flow[None]:
        """Load holder heads by id (when they are outside what was read)."""
        wanted = [i for i in ids if i not in self.by_id and i not in self.missing]
        if not wanted:
            return
        raw = yield from batch_get(
            self.ctx,
            [
                {
                    keys.PK: it.s_attr(self.pk),
                    keys.SK: it.s_attr(keys.head_sk(self.checkpoint_ns, i)),
                }
                for i in wanted
            ],
        )
        now = self.ctx.clock()
        fetched = []
        for r in raw:
            decoded = it.decode_item(r)
            if isinstance(decoded, it.Head) and not it.is_expired(r, now):
                self.by_id[decoded.checkpoint_id] = decoded
                fetched.append(decoded)
        ok = yield from self.fetch_chunks(fetched)
        del ok
        self.missing.update(i for i in wanted if i not in self.by_id)

    def writes_if_complete(self, checkpoint_id: str) -> list[it.WritesItem] | None:
        """The writes items of a checkpoint once all are read and loaded, else None."""
        if not self.read_past(checkpoint_id):
            return None
        found = self.writes.get(checkpoint_id, [])
        return None if any(w.needs_chunks() for w in found) else found

    def older_than(self, head: it.Head) -> list[it.Head]:
        """Heads read so far that are older than ``head``, newest first."""
        return [h for h in self.heads if h.checkpoint_id < head.checkpoint_id]

    def values_of(
        self, head: it.Head, versions: Mapping[str, Any], *, prefer_paging: bool
    ) -> Flow[dict[str, it.Parts] | None]:
        """The stored parts of the given channels of ``head``, reading further pages,
        loading chunked payloads or fetching holders by key as needed; ``None`` if a part
        of it is gone."""
        for _ in range(limits.MAX_RESOLVE_ROUNDS):
            try:
                return it.resolve_values(
                    head,
                    self.ctx.compression,
                    versions,
                    lambda i: self.by_id.get(i),
                    lambda: self.older_than(head),
                    final=self.exhausted and not prefer_paging,
                    find_writes=self.writes_if_complete,
                )
            except it.Unresolved as need:
                if need.writes:
                    unread = [cp for cp in need.writes if not self.read_past(cp)]
                    if unread:
                        yield from self.read_down_to(min(unread))
                        continue
                    pending = [
                        w for cp in need.writes for w in self.writes.get(cp, []) if w.needs_chunks()
                    ]
                    if pending:
                        if not (yield from self.fetch_chunks(pending)):
                            _skip(head, "a chunk of a write it refers to is missing")
                            return None
                        continue
                    if not need.holders and not need.searches:
                        _skip(head, f"the writes of {sorted(need.writes)} it refers to are gone")
                        return None
                chunked = [
                    h
                    for i in need.holders
                    if (h := self.by_id.get(i)) is not None and h.needs_chunks()
                ]
                if need.searches:
                    chunked += [h for h in self.older_than(head) if h.needs_chunks()]
                if chunked:
                    yield from self.fetch_chunks(chunked)
                    for h in chunked:
                        if h.needs_chunks():  # its chunks are gone: so is it
                            self.by_id.pop(h.checkpoint_id, None)
                            self.missing.add(h.checkpoint_id)
                    continue
                absent = need.holders - self.missing - set(self.by_id)
                if absent and not (prefer_paging and not self.exhausted):
                    yield from self.fetch_heads(absent)
                    continue
                if need.holders and need.holders <= self.missing:
                    _skip(head, f"heads {sorted(need.holders)} it needs are gone")
                    return None
                if not self.exhausted:
                    yield from self.next_page()
                    continue
                prefer_paging = False
            except it.Broken as exc:
                _skip(head, str(exc))
                return None
        raise CorruptItemError(
            f"checkpoint {head.checkpoint_id!r} could not be resolved in "
            f"{limits.MAX_RESOLVE_ROUNDS} rounds; its references form no chain"
        )

    def complete(self, head: it.Head) -> Flow[list[it.WritesItem] | None]:
        """Read until every writes item of ``head`` is in; load chunked payloads.
        ``None`` if a chunk is missing."""
        while not self.read_past(head.checkpoint_id):
            yield from self.next_page()
        writes = self.writes.get(head.checkpoint_id, [])
        ok = yield from self.fetch_chunks([head, *writes])
        if not ok:
            _skip(head, "a chunk of it is missing")
            return None
        return writes

    def resolve(
        self,
        head: it.Head,
        *,
        prefer_paging: bool,
        config: RunnableConfig | None = None,
        digests: bool = False,
    ) -> Flow[CheckpointTuple | None]:
        """Assemble the tuple of ``head``; ``None`` if a part of it is gone.

        With ``digests``, list values are fingerprinted so that the next ``put`` on top
        of this checkpoint can store only what is appended."""
        ctx = self.ctx
        writes = yield from self.complete(head)
        if writes is None:
            return None
        versions = it.versions_of(ctx.serde, head, ctx.compression)
        values = yield from self.values_of(head, versions, prefer_paging=prefer_paging)
        if values is None:
            return None
        found = it.assemble(
            serde=ctx.serde,
            compression=ctx.compression,
            head=head,
            values=values,
            writes=writes,
            thread_id=self.thread_id,
            checkpoint_ns=self.checkpoint_ns,
            config=config,
        )
        key = (self.thread_id, self.checkpoint_ns, head.checkpoint_id)
        index = it.index_of(
            head,
            ctx.compression,
            versions,
            self.by_id.get,
            values,
            found.checkpoint["channel_values"],
            ctx.serde if digests else None,
        )
        ctx.cache.put(key, index)
        ctx.cache.note_head(key, head.parent_id, (w.sk for w in writes))
        return found


def _matches(ctx: Ctx, reader: NsReader, head: it.Head, filter: Mapping[str, Any]) -> Flow[bool]:
    """Whether a head's metadata matches a ``list`` filter (its chunks loaded first)."""
    if not (yield from reader.fetch_chunks([head])):
        return False
    return it.metadata_matches(head.metadata(ctx.serde, ctx.compression), filter)


def _skip(head: it.Head, why: str) -> None:
    logger.warning(
        "checkpoint %s (sk %r) is not readable and is skipped: %s; prune or delete_thread "
        "removes it",
        head.checkpoint_id,
        head.sk,
        why,
    )


# --- get_tuple ----------------------------------------------------------------------------
def get_tuple(ctx: Ctx, config: RunnableConfig) -> Flow[CheckpointTuple | None]:
    """The latest checkpoint of a namespace, or the one with the config's id, with its
    pending writes: usually one Query."""
    target = target_of(config)
    prefix = keys.ns_prefix(target.checkpoint_ns)
    hi = (
        keys.head_sk(target.checkpoint_ns, target.checkpoint_id)
        if target.checkpoint_id
        else keys.range_end(prefix)
    )
    expected = ctx.cache.expected_items(
        target.thread_id, target.checkpoint_ns, target.checkpoint_id
    )
    reader = NsReader(
        ctx,
        target.thread_id,
        target.checkpoint_ns,
        prefix,
        hi,
        expected or limits.GET_TUPLE_QUERY_LIMIT,
    )
    tried = 0
    while True:
        while len(reader.heads) <= tried and not reader.exhausted:
            yield from reader.next_page()
        if len(reader.heads) <= tried:
            return None
        head = reader.heads[tried]
        if target.checkpoint_id is not None:
            if head.checkpoint_id != target.checkpoint_id:
                return None
            return (
                yield from reader.resolve(head, prefer_paging=False, config=config, digests=True)
            )
        found = yield from reader.resolve(head, prefer_paging=False, digests=True)
        if found is not None:
            if ctx.ttl_refresh_on_read:
                yield from _refresh(ctx, reader, head, found)
            return found
        tried += 1


def _refresh(ctx: Ctx, reader: NsReader, head: it.Head, found: CheckpointTuple) -> Flow[None]:
    """Sliding expiry: rewrite the latest checkpoint once half its lifetime is gone."""
    if ctx.ttl_seconds is None or head.expires_at is None:
        return
    if head.expires_at - ctx.clock() >= ctx.ttl_seconds / 2:
        return
    yield from _rewrite_whole(ctx, reader, head)


def _rewrite_whole(ctx: Ctx, reader: NsReader, head: it.Head) -> Flow[bool]:
    """Rewrite a head with every channel value inline (no references) and fresh expiry,
    and its writes with fresh expiry. Used by prune, delete_for_runs and TTL refresh.

    Returns False (and writes nothing) if the head is not readable."""
    if (yield from reader.resolve(head, prefer_paging=False)) is None:
        return False
    versions = it.versions_of(ctx.serde, head, ctx.compression)
    values = it.resolve_values(
        head,
        ctx.compression,
        versions,
        lambda i: reader.by_id.get(i),
        lambda: reader.older_than(head),
        final=True,
        find_writes=reader.writes_if_complete,
    )
    expires_at = ctx.expires_at() if ctx.ttl_seconds is not None else head.expires_at
    rebuilt = it.rebuild_head(head, ctx.compression, ctx.serde, values, versions, expires_at)
    writes = reader.writes.get(head.checkpoint_id, [])
    refreshed = [it.with_expiry(w.raw, expires_at) for w in writes]
    if rebuilt.chunks or refreshed:
        yield from batch_write(ctx, puts=[*rebuilt.chunks, *refreshed])
    yield ctx.call("put_item", Item=rebuilt.head)
    key = (reader.thread_id, reader.checkpoint_ns, head.checkpoint_id)
    ctx.cache.put(key, rebuilt.index)
    ctx.cache.note_head(key, head.parent_id, (w.sk for w in writes))
    return True


def delta_channel_history(
    ctx: Ctx, config: RunnableConfig, channels: Sequence[str]
) -> Flow[dict[str, DeltaChannelHistory]]:
    """``get_delta_channel_history`` in one or two Queries instead of one ``get_tuple``
    per ancestor: read the namespace downward from the target once, walk the parent
    chain in memory, collect each ancestor's writes to the channels and stop at the
    nearest ancestor that stores a value (the seed)."""
    if not channels:
        return {}
    target = target_of(config)
    prefix = keys.ns_prefix(target.checkpoint_ns)
    hi = (
        keys.head_sk(target.checkpoint_ns, target.checkpoint_id)
        if target.checkpoint_id
        else keys.range_end(prefix)
    )
    reader = NsReader(
        ctx, target.thread_id, target.checkpoint_ns, prefix, hi, limits.LIST_QUERY_LIMIT
    )
    collected: dict[str, list[PendingWrite]] = {ch: [] for ch in channels}
    seeds: dict[str, Any] = {}
    remaining = set(channels)
    while not reader.heads and not reader.exhausted:
        yield from reader.next_page()
    head = reader.heads[0] if reader.heads else None
    if head is not None and target.checkpoint_id not in (None, head.checkpoint_id):
        head = None
    cursor = head.parent_id if head is not None else None
    while cursor is not None and remaining:
        while cursor not in reader.by_id and not reader.exhausted:
            yield from reader.next_page()
        ancestor = reader.by_id.get(cursor)
        if ancestor is None:
            break
        writes = yield from reader.complete(ancestor)
        if writes is None:
            break
        for write in reversed(it.pending_writes(ctx.serde, ctx.compression, writes)):
            if write[1] in remaining:
                collected[write[1]].append(write)
        versions = it.versions_of(ctx.serde, ancestor, ctx.compression)
        wanted = {ch: versions[ch] for ch in remaining if ch in versions}
        parts = (yield from reader.values_of(ancestor, wanted, prefer_paging=True)) or {}
        for ch, ch_parts in parts.items():
            seeds[ch] = it.join_parts(ctx.serde, ch_parts, f"channel {ch!r}")
            remaining.discard(ch)
        cursor = ancestor.parent_id
    result: dict[str, DeltaChannelHistory] = {}
    for ch in channels:
        entry: DeltaChannelHistory = {"writes": list(reversed(collected[ch]))}
        if ch in seeds:
            entry["seed"] = seeds[ch]
        result[ch] = entry
    return result


# --- list -----------------------------------------------------------------------------------
def list_checkpoints(
    ctx: Ctx,
    config: RunnableConfig | None,
    *,
    filter: Mapping[str, Any] | None = None,
    before: RunnableConfig | None = None,
    limit: int | None = None,
) -> Flow[None]:
    """Emit matching checkpoints newest first (see the saver's ``list``)."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise InvalidInputError(f"limit must be an int or None, got {limit!r}")
    if filter is not None and not isinstance(filter, Mapping):
        raise InvalidInputError(f"filter must be a dict of metadata values, got {filter!r}")
    before_id = None
    if before is not None:
        configurable = before.get("configurable") if isinstance(before, Mapping) else None
        if not isinstance(configurable, Mapping):
            raise InvalidInputError(
                "before must be a config like {'configurable': {'checkpoint_id': ...}} (the "
                f"config of a checkpoint, as list() returns it), got {before!r}"
            )
        before_id = configurable.get("checkpoint_id")
        if before_id is not None:
            before_id = keys.require_id(before_id, "checkpoint_id of before")
    remaining = limit
    if remaining is not None and remaining <= 0:
        return
    if config is None:
        yield from _list_scan(ctx, filter, before_id, remaining)
        return
    target = target_of(config)
    configurable = config["configurable"]
    if "checkpoint_ns" not in configurable or configurable.get("checkpoint_ns") is None:
        yield from _list_thread(
            ctx, target.thread_id, target.checkpoint_id, filter, before_id, remaining
        )
        return
    yield from _list_ns(ctx, target, filter, before_id, remaining)


def _list_ns(
    ctx: Ctx,
    target: Target,
    filter: Mapping[str, Any] | None,
    before_id: str | None,
    remaining: int | None,
) -> Flow[None]:
    prefix = keys.ns_prefix(target.checkpoint_ns)
    if target.checkpoint_id is not None:
        lo = keys.checkpoint_prefix(target.checkpoint_ns, target.checkpoint_id)
        hi = lo + keys.HEAD_MARK
        if before_id is not None and target.checkpoint_id >= before_id:
            return
    else:
        lo = prefix
        hi = keys.range_end(prefix)
        if before_id is not None:
            hi = keys.checkpoint_prefix(target.checkpoint_ns, before_id)
    page = limits.LIST_QUERY_LIMIT
    if remaining is not None:
        page = min(page, max(8, remaining * 4 + 8))
    reader = NsReader(ctx, target.thread_id, target.checkpoint_ns, lo, hi, page)
    done = 0
    while True:
        while len(reader.heads) <= done and not reader.exhausted:
            yield from reader.next_page()
        if len(reader.heads) <= done:
            return
        head = reader.heads[done]
        done += 1
        if filter and not (yield from _matches(ctx, reader, head, filter)):
            continue
        found = yield from reader.resolve(head, prefer_paging=True)
        if found is None:
            continue
        yield Emit(found)
        if remaining is not None:
            remaining -= 1
            if remaining <= 0:
                return


def _group_thread(ctx: Ctx, thread_id: str, raw: Iterable[AttrMap]) -> dict[str, NsReader]:
    """Readers (already fed, exhausted) for every namespace found in a thread's items."""
    by_ns: dict[str, list[AttrMap]] = {}
    plain: dict[str, str] = {}
    for item in raw:
        sk = item[keys.SK]["S"]
        parsed = keys.parse_sk(sk)
        if parsed is None:
            continue
        by_ns.setdefault(parsed.ns_component, []).append(item)
        name = keys.decode_component(parsed.ns_component)
        if name is None:
            ns_attr = item.get(keys.NAMESPACE, {}).get("S")
            if ns_attr is None:
                continue
            name = ns_attr
        plain[parsed.ns_component] = name
    readers: dict[str, NsReader] = {}
    for comp, items_ in by_ns.items():
        if comp not in plain:
            continue
        ns = plain[comp]
        prefix = keys.ns_prefix(ns)
        reader = NsReader(ctx, thread_id, ns, prefix, keys.range_end(prefix), 1)
        reader.feed(sorted(items_, key=lambda r: r[keys.SK]["S"], reverse=True))
        reader.exhausted = True
        readers[ns] = reader
    return readers


def _emit_merged(
    ctx: Ctx,
    readers: Mapping[str, NsReader],
    only_id: str | None,
    filter: Mapping[str, Any] | None,
    before_id: str | None,
    remaining: int | None,
) -> Flow[int | None]:
    """Emit the checkpoints of several namespaces of one thread, newest id first."""
    heads = [(h.checkpoint_id, ns, h) for ns, r in readers.items() for h in r.heads]
    heads.sort(key=lambda x: x[0], reverse=True)
    for cp_id, ns, head in heads:
        if only_id is not None and cp_id != only_id:
            continue
        if before_id is not None and cp_id >= before_id:
            continue
        if filter and not (yield from _matches(ctx, readers[ns], head, filter)):
            continue
        found = yield from readers[ns].resolve(head, prefer_paging=False)
        if found is None:
            continue
        yield Emit(found)
        if remaining is not None:
            remaining -= 1
            if remaining <= 0:
                return 0
    return remaining


def _list_thread(
    ctx: Ctx,
    thread_id: str,
    only_id: str | None,
    filter: Mapping[str, Any] | None,
    before_id: str | None,
    remaining: int | None,
) -> Flow[None]:
    raw = yield from query_all(ctx, keys.thread_pk(thread_id), keys.CHECKPOINT_PREFIX)
    yield from _emit_merged(
        ctx, _group_thread(ctx, thread_id, raw), only_id, filter, before_id, remaining
    )


def _thread_of(item: AttrMap) -> str | None:
    pk = item.get(keys.PK, {}).get("S")
    if not isinstance(pk, str):
        return None
    plain = keys.decode_thread_pk(pk)
    if plain is None:
        plain = item.get(keys.THREAD, {}).get("S")
    return plain


def _list_scan(
    ctx: Ctx, filter: Mapping[str, Any] | None, before_id: str | None, remaining: int | None
) -> Flow[None]:
    by_thread: dict[str, list[AttrMap]] = {}
    scanned = yield from read_all(
        ctx,
        "scan",
        FilterExpression="begins_with(pk, :t) AND begins_with(sk, :c)",
        ExpressionAttributeValues={
            ":t": it.s_attr(keys.THREAD_PREFIX),
            ":c": it.s_attr(keys.CHECKPOINT_PREFIX),
        },
    )
    for item in scanned:
        thread = _thread_of(item)
        if thread is not None:
            by_thread.setdefault(thread, []).append(item)
    for thread_id, raw in by_thread.items():
        left = yield from _emit_merged(
            ctx, _group_thread(ctx, thread_id, raw), None, filter, before_id, remaining
        )
        if remaining is not None:
            remaining = left
            if not remaining:
                return


# --- delete / copy / prune ----------------------------------------------------------------
def _deletion_order(raw: Iterable[AttrMap]) -> list[AttrMap]:
    """Keys to delete so that a crash leaves only whole checkpoints visible: heads newest
    first (each before its own writes and before older heads it refers to), chunks last."""
    cps = [r for r in raw if r[keys.SK]["S"].startswith(keys.CHECKPOINT_PREFIX)]
    rest = [r for r in raw if not r[keys.SK]["S"].startswith(keys.CHECKPOINT_PREFIX)]
    cps.sort(key=lambda r: r[keys.SK]["S"], reverse=True)
    return [it.key_of(r) for r in [*cps, *rest]]


def delete_thread(ctx: Ctx, thread_id: str) -> Flow[None]:
    """Delete every item of a thread: one Query page per 1 MB, one BatchWrite per 25."""
    keys.require_id(thread_id, "thread_id")
    raw = yield from query_all(ctx, keys.thread_pk(thread_id), ProjectionExpression="pk, sk")
    yield from batch_write(ctx, deletes=_deletion_order(raw))
    ctx.cache.discard_thread(thread_id)


def copy_thread(ctx: Ctx, source_thread_id: str, target_thread_id: str) -> Flow[None]:
    """Copy every checkpoint and write of a thread to another thread id.

    Chunks and writes are copied before any head, heads oldest first, so a crash leaves
    the target with a consistent prefix of the source's history.
    """
    keys.require_id(source_thread_id, "source_thread_id")
    keys.require_id(target_thread_id, "target_thread_id")
    raw = yield from query_all(ctx, keys.thread_pk(source_thread_id))
    now = ctx.clock()
    new_pk = keys.thread_pk(target_thread_id)
    expires_at = ctx.expires_at()
    first: list[AttrMap] = []
    heads: list[AttrMap] = []
    for item in raw:
        if it.is_expired(item, now):
            continue
        copy = dict(item)
        copy[keys.PK] = it.s_attr(new_pk)
        copy.pop(keys.THREAD, None)
        if keys.decode_thread_pk(new_pk) is None:
            copy[keys.THREAD] = it.s_attr(target_thread_id)
        if expires_at is not None:
            copy[keys.TTL] = it.n_attr(expires_at)
        kind = copy.get(keys.KIND, {}).get("S")
        (heads if kind == keys.KIND_CHECKPOINT else first).append(copy)
    heads.sort(key=lambda r: r[keys.SK]["S"])
    yield from batch_write(ctx, puts=first)
    yield from batch_write(ctx, puts=heads)


def prune(ctx: Ctx, thread_ids: Sequence[str], strategy: str) -> Flow[None]:
    """``keep_latest``: keep the newest checkpoint of each namespace (rewritten whole so
    it depends on nothing deleted, plus the ancestors its DeltaChannels still need);
    ``delete``: delete the threads."""
    if strategy not in ("keep_latest", "delete"):
        raise InvalidInputError(
            f"unknown prune strategy {strategy!r}; use 'keep_latest' or 'delete'"
        )
    for thread_id in thread_ids:
        if strategy == "delete":
            yield from delete_thread(ctx, thread_id)
            continue
        keys.require_id(thread_id, "thread_id")
        raw = yield from query_all(ctx, keys.thread_pk(thread_id))
        readers = _group_thread(ctx, thread_id, raw)
        keep: set[str] = set()
        for reader in readers.values():
            kept = yield from _keep_latest(ctx, reader)
            keep.update(kept)
        doomed = [r for r in raw if r[keys.SK]["S"] not in keep]
        yield from batch_write(ctx, deletes=_deletion_order(doomed))
        ctx.cache.discard_thread(thread_id)


def _keep_latest(ctx: Ctx, reader: NsReader) -> Flow[set[str]]:
    """Rewrite the newest readable head of a namespace whole; return the keys to keep."""
    for head in reader.heads:
        found = yield from reader.resolve(head, prefer_paging=False)
        if found is None:
            continue
        chain = [head]
        counters = found.metadata.get("counters_since_delta_snapshot") or {}
        depth = max((int(v[1]) for v in counters.values()), default=0) if counters else 0
        cursor = head
        for _ in range(depth):
            parent = reader.by_id.get(cursor.parent_id or "")
            if parent is None:
                break
            chain.append(parent)
            cursor = parent
        keep: set[str] = set()
        for kept in chain:
            if not (yield from reader.fetch_chunks([kept])):
                continue  # unreadable: not kept
            kept_body = kept.body(ctx.compression)
            if kept_body.refs or kept_body.deltas:
                yield from _rewrite_whole(ctx, reader, kept)
            elif kept.chunk_ref is not None:
                keep.update(k[keys.SK]["S"] for k in kept.chunk_ref.keys(reader.pk))
            keep.add(kept.sk)
            for w in reader.writes.get(kept.checkpoint_id, []):
                keep.add(w.sk)
                if w.chunk_ref is not None:
                    keep.update(k[keys.SK]["S"] for k in w.chunk_ref.keys(reader.pk))
        return keep
    return set()


def delete_for_runs(ctx: Ctx, run_ids: Sequence[str]) -> Flow[None]:
    """Delete the checkpoints (and their writes) whose metadata ``run_id`` is listed.

    Finds them with one filtered Scan of the table; remaining checkpoints that referred
    to a deleted one for an unchanged channel are rewritten whole first.
    """
    wanted = [keys.require_id(r, "run_id") for r in run_ids]
    if not wanted:
        return
    threads: dict[str, str] = {}
    for start_i in range(0, len(wanted), 100):
        group = wanted[start_i : start_i + 100]
        names = ", ".join(f":r{i}" for i in range(len(group)))
        values = {f":r{i}": it.s_attr(r) for i, r in enumerate(group)}
        scanned = yield from read_all(
            ctx,
            "scan",
            FilterExpression=f"rid IN ({names})",
            ExpressionAttributeValues=values,
            ProjectionExpression="pk, sk, tid",
        )
        for item in scanned:
            thread = _thread_of(item)
            if thread is not None:
                threads[item[keys.PK]["S"]] = thread
    doomed_runs = set(wanted)
    for thread_id in threads.values():
        raw = yield from query_all(ctx, keys.thread_pk(thread_id))
        readers = _group_thread(ctx, thread_id, raw)
        doomed: list[AttrMap] = []
        for reader in readers.values():
            gone = {
                h.checkpoint_id
                for h in reader.heads
                if h.raw.get(keys.RUN_ID, {}).get("S") in doomed_runs
            }
            if not gone:
                continue
            # Load chunked heads first: a delta's chain is walked through its bases.
            yield from reader.fetch_chunks([h for h in reader.heads if h.checkpoint_id not in gone])
            for head in reader.heads:
                if head.checkpoint_id in gone or head.needs_chunks():
                    continue  # doomed, or unreadable already: nothing to keep readable
                body = head.body(ctx.compression)
                needs = {ref[0] for ref in body.refs.values()}
                for ch in body.deltas:
                    chain, _ = it.delta_chain(head, ch, ctx.compression, reader.by_id.get)
                    needs.update(chain)
                if needs & gone:
                    yield from _rewrite_whole(ctx, reader, head)
            for head in reader.heads:
                if head.checkpoint_id in gone:
                    doomed.append(head.raw)
                    for w in reader.writes.get(head.checkpoint_id, []):
                        doomed.append(w.raw)
                        if w.chunk_ref is not None:
                            doomed.extend(w.chunk_ref.keys(reader.pk))
                    if head.chunk_ref is not None:
                        doomed.extend(head.chunk_ref.keys(reader.pk))
        yield from batch_write(ctx, deletes=_deletion_order(doomed))
        ctx.cache.discard_thread(thread_id)
