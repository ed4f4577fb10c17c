"""Table and thread maintenance: ``setup``, ``delete_thread``, ``copy_thread``, ``prune``
and ``delete_for_runs``. Ordered so that a crash at any point leaves every visible checkpoint whole:
heads are deleted before what they depend on, copied after it. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.checkpoint.base.id import uuid6

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import InvalidInputError, TableSchemaError, UnavailableError
from langgraph_dynamodb.flows.bulk import batch_write, query_all
from langgraph_dynamodb.flows.context import Ctx, TableCtx
from langgraph_dynamodb.flows.read import Reader, readers_of_thread, rewrite_whole
from langgraph_dynamodb.schema import (
    AttrMap,
    get_s,
    is_expired,
    key_of,
    s,
    sk_of,
    with_expiry,
)
from langgraph_dynamodb.steps import Failure, Flow, Sleep
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.storage.build import expiry_in_seconds
from langgraph_dynamodb.storage.deltas import chain_of
from langgraph_dynamodb.storage.resolve import Missing


# --- setup ------------------------------------------------------------------------------
def setup(
    ctx: TableCtx,
    *,
    ttl: bool,
    vector_indexes: Sequence[Mapping[str, Any]] = (),
    checkpointer: bool = False,
) -> Flow[dict[str, Any]]:
    """Create the table if missing (with ``vector_indexes``), wait until ACTIVE, check its
    keys, enable TTL (when ``ttl``); the table's description. A ``checkpointer``'s table,
    when this call creates it, is marked as having its thread directory complete (it holds
    no thread yet)."""
    described = yield ctx.request("describe_table", expect=("ResourceNotFoundException",))
    if isinstance(described, Failure):
        params = schema.create_table_params(ctx.table)
        params.pop("TableName")
        if vector_indexes:
            params["VectorIndexes"] = [dict(v) for v in vector_indexes]
        created = yield ctx.request("create_table", expect=("ResourceInUseException",), **params)
        waited = 0.0
        while True:
            described = yield ctx.request("describe_table", expect=("ResourceNotFoundException",))
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
        if checkpointer and not isinstance(created, Failure):  # else: the creator's to do
            yield ctx.request("put_item", Item=schema.directory_complete())
    check_key_schema(ctx.table, described["Table"])
    if ttl:
        ttl_desc = yield ctx.request("describe_time_to_live")
        status = ttl_desc.get("TimeToLiveDescription", {})
        if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            yield ctx.request("update_time_to_live", **requests.enable_ttl())
        elif status.get("AttributeName") not in (None, schema.TTL):
            raise TableSchemaError(
                f"table {ctx.table!r} has TTL on attribute {status.get('AttributeName')!r}, "
                f"but this library writes expiry to {schema.TTL!r}; disable TTL on the table "
                "or use another table"
            )
    return dict(described["Table"])


def check_key_schema(table: str, description: Mapping[str, Any]) -> None:
    """Raise :class:`TableSchemaError` unless the table has this library's keys."""
    types = {
        a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])
    }
    key_schema = {
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in description.get("KeySchema", [])
    }
    if key_schema != schema.EXPECTED_KEY_SCHEMA:
        found = ", ".join(f"{name} ({t}, {kt})" for name, kt, t in sorted(key_schema))
        raise TableSchemaError(
            f"table {table!r} has keys {found}; this library needs partition key "
            f"{schema.PK!r} (S, HASH) and sort key {schema.SK!r} (S, RANGE). Use another table "
            "name, or create it with setup() or the template."
        )


# --- delete / copy / prune ----------------------------------------------------------------
def _deletion_order(raw: Iterable[AttrMap]) -> list[AttrMap]:
    """Keys to delete so that a crash leaves only whole checkpoints visible: heads newest
    first (each before its own writes and before older heads it refers to), chunks last."""
    items = list(raw)
    cps = [r for r in items if sk_of(r).startswith(schema.CHECKPOINT_PREFIX)]
    rest = [r for r in items if not sk_of(r).startswith(schema.CHECKPOINT_PREFIX)]
    cps.sort(key=sk_of, reverse=True)
    return [key_of(r) for r in [*cps, *rest]]


def delete_thread(ctx: Ctx, thread_id: str) -> Flow[None]:
    """Delete every item of a thread, its runs' markers and its directory entries: one
    Query page per 1 MB, one BatchWrite per 25. A tombstone per namespace goes first
    (see :mod:`..schema`): a late write of a run that was still writing never makes the
    thread readable again."""
    schema.require_id(thread_id, "thread_id")
    also = (schema.N_RUN_ID, schema.N_LINEAGE, schema.N_WATERMARK, schema.N_NAMESPACE)
    raw = yield from query_all(ctx, schema.thread_pk(thread_id), keys_only=True, also=also)
    tombstones = _tombstones(ctx, thread_id, raw)
    raw = [
        i for i in raw if sk_of(i) != schema.FENCE_SK and not schema.is_tombstone_sk(sk_of(i))
    ]  # the fence refuses late older runs; tombstones are replaced
    runs = sorted({r for r in (get_s(i, schema.RUN_ID) for i in raw) if r})
    markers = [key_of(schema.run_marker(r, thread_id, None)) for r in runs]
    entries = [schema.directory_key(thread_id, p) for p in sorted(_root_periods(raw))]
    yield from batch_write(ctx, puts=tombstones)
    yield from batch_write(ctx, deletes=[*_deletion_order(raw), *markers, *entries])
    ctx.index.discard_thread(thread_id)
    ctx.hints.discard_thread(thread_id)
    ctx.stored_writes.discard_thread(thread_id)
    ctx.runs.discard_thread(thread_id)


def _root_periods(raw: Iterable[AttrMap]) -> set[str]:
    """The directory periods of the root namespace's heads among ``raw``: where the
    thread's directory entries can be (every entry's period holds a root head)."""
    root = schema.ns_component("")
    periods: set[str] = set()
    for item in raw:
        parsed = schema.parse_sk(sk_of(item))
        if (
            parsed is not None
            and parsed.kind == schema.KIND_CHECKPOINT
            and parsed.ns_component == root
        ):
            periods.add(schema.activity_period(parsed.checkpoint_id))
    return periods


def _tombstones(ctx: Ctx, thread_id: str, raw: Iterable[AttrMap]) -> list[AttrMap]:
    """A tombstone per namespace of the thread's heads (and of its tombstones), and of the
    root namespace always: its watermark the highest lineage, checkpoint id and earlier
    watermark there, and at least a checkpoint id made now, so that a run that started
    before the deletion and had not written yet stays deleted too (a run that starts
    after it reads the tombstone and starts its lineage above it)."""
    now = str(uuid6(clock_seq=-1))
    marks: dict[str, str] = {"": now}  # plain namespace -> watermark
    for item in raw:
        sk = sk_of(item)
        if schema.is_tombstone_sk(sk):
            component = schema.tombstone_ns_component(sk)
            mark = schema.watermark_of(item)
        else:
            parsed = schema.parse_sk(sk)
            if parsed is None or parsed.kind != schema.KIND_CHECKPOINT:
                continue
            component = parsed.ns_component
            lineage = schema.id_from_attr(item.get(schema.LINEAGE))
            mark = max(parsed.checkpoint_id, lineage or parsed.checkpoint_id)
        name = schema.decode_component(component)
        name = name if name is not None else get_s(item, schema.NAMESPACE)
        if name is None or mark is None:
            continue
        marks[name] = max(mark, marks.get(name, now))
    # A tombstone outlives what it hides: late writes carry the writer's TTL (or none)
    expires_at = (
        None
        if ctx.ttl_seconds is None
        else expiry_in_seconds(ctx.clock(), max(limits.TOMBSTONE_TTL_SECONDS, 2 * ctx.ttl_seconds))
    )
    for ns, mark in marks.items():
        ctx.watermarks.note(thread_id, ns, mark)
    return [schema.tombstone(thread_id, ns, mark, expires_at) for ns, mark in marks.items()]


def _dead_checkpoints(ctx: Ctx, thread_id: str, raw: Sequence[AttrMap]) -> set[tuple[str, str]]:
    """(namespace component, checkpoint id) of the heads the thread's readers leave out:
    late writes of a deleted lineage (one rule, :class:`~.read.Reader`'s)."""
    if not any(schema.is_tombstone_sk(sk_of(i)) for i in raw):
        return set()
    dead: set[tuple[str, str]] = set()
    for ns, reader in readers_of_thread(ctx, thread_id, raw).items():
        component = schema.ns_component(ns)
        dead.update((component, cp) for cp in reader.dead)
    return dead


def copy_thread(ctx: Ctx, source_thread_id: str, target_thread_id: str) -> Flow[None]:
    """Copy every checkpoint and write of a thread to another thread id.

    Chunks, writes, the markers of the heads' runs and the copy's current directory entry
    are written before any head, heads oldest first, so a crash leaves the target with a
    consistent prefix of the source's history (and ``delete_for_runs`` finds the copies
    as it found the originals). Into a thread id that was deleted before, the copied
    heads take a lineage above its tombstones (one more Query, of the target), so the
    copy is live.
    """
    schema.require_id(source_thread_id, "source_thread_id")
    schema.require_id(target_thread_id, "target_thread_id")
    raw = yield from query_all(ctx, schema.thread_pk(source_thread_id))
    into = yield from query_all(
        ctx,
        schema.thread_pk(target_thread_id),
        schema.CHECKPOINT_PREFIX,
        keys_only=True,
        also=(schema.N_WATERMARK,),
    )
    marks = [mark for mark in map(schema.watermark_of, into) if mark is not None]
    above = schema.lineage_after(max(marks)) if marks else None
    now = ctx.clock()
    new_pk = schema.thread_pk(target_thread_id)
    expires_at = ctx.expires_at()
    first: list[AttrMap] = []
    heads: list[AttrMap] = []
    dead = _dead_checkpoints(ctx, source_thread_id, raw)
    for item in raw:
        if is_expired(item, now) or sk_of(item) == schema.FENCE_SK:
            continue  # a fence belongs to its thread's runs, not to a copy
        parsed = schema.parse_sk(sk_of(item))
        if schema.is_tombstone_sk(sk_of(item)) or (
            parsed is not None and (parsed.ns_component, parsed.checkpoint_id) in dead
        ):
            continue  # a deleted lineage's late writes are not the thread's
        copy = with_expiry(item, expires_at) if expires_at is not None else dict(item)
        copy[schema.PK] = s(new_pk)
        copy.pop(schema.THREAD, None)
        if schema.decode_thread_pk(new_pk) is None:
            copy[schema.THREAD] = s(target_thread_id)
        is_head = get_s(copy, schema.KIND) == schema.KIND_CHECKPOINT
        if is_head and above is not None:
            copy[schema.LINEAGE] = schema.id_attr(above)
        (heads if is_head else first).append(copy)
    heads.sort(key=sk_of)
    runs = sorted({r for r in (get_s(h, schema.RUN_ID) for h in heads) if r})
    markers = [schema.run_marker(r, target_thread_id, expires_at) for r in runs]
    current = max(_root_periods(heads), default=None)  # its latest root head's
    entries = (
        [] if current is None else [schema.directory_entry(target_thread_id, current, expires_at)]
    )
    yield from batch_write(ctx, puts=[*first, *markers, *entries])
    yield from batch_write(ctx, puts=heads)


def prune(ctx: Ctx, thread_ids: Sequence[str], strategy: str) -> Flow[None]:
    """``keep_latest``: keep the newest checkpoint of each namespace (rewritten whole so
    it depends on nothing deleted, plus the ancestors its DeltaChannels still need);
    ``delete`` (or ``delete_all``, what LangGraph's Agent Server sends for a DELETE_ALL
    prune): delete the threads."""
    if strategy not in ("keep_latest", "delete", "delete_all"):
        raise InvalidInputError(
            f"unknown prune strategy {strategy!r}; use 'keep_latest' or 'delete'"
        )
    for thread_id in thread_ids:
        if strategy in ("delete", "delete_all"):
            yield from delete_thread(ctx, thread_id)
            continue
        schema.require_id(thread_id, "thread_id")
        raw = yield from query_all(ctx, schema.thread_pk(thread_id))
        keep: set[str] = {schema.FENCE_SK}  # and the tombstones: late writes stay out
        keep.update(sk_of(r) for r in raw if schema.is_tombstone_sk(sk_of(r)))
        for reader in readers_of_thread(ctx, thread_id, raw).values():
            keep.update((yield from _keep_latest(ctx, reader)))
        doomed = [r for r in raw if sk_of(r) not in keep]
        kept_runs = {get_s(r, schema.RUN_ID) for r in raw if sk_of(r) in keep}
        gone_runs = sorted({r for r in (get_s(d, schema.RUN_ID) for d in doomed) if r} - kept_runs)
        markers = [key_of(schema.run_marker(r, thread_id, None)) for r in gone_runs]
        stale = _root_periods(doomed) - _root_periods(r for r in raw if sk_of(r) in keep)
        entries = [schema.directory_key(thread_id, p) for p in sorted(stale)]
        yield from batch_write(ctx, deletes=[*_deletion_order(doomed), *markers, *entries])
        ctx.index.discard_thread(thread_id)
        ctx.hints.discard_thread(thread_id)
        ctx.stored_writes.discard_thread(thread_id)
        ctx.runs.discard_thread(thread_id)


def _keep_latest(ctx: Ctx, reader: Reader) -> Flow[set[str]]:
    """Rewrite the newest readable head of a namespace whole (and the ancestors its
    DeltaChannels need); return the sort keys to keep."""
    for head in reader.heads:
        found = yield from reader.checkpoint(head, prefer_paging=False)
        if isinstance(found, Missing):
            continue
        chain = [head]
        counters = found.tuple.metadata.get("counters_since_delta_snapshot") or {}
        depth = max((int(v[1]) for v in counters.values()), default=0) if counters else 0
        cursor = head
        for _ in range(depth):
            parent = reader.head(cursor.parent_id or "")
            if parent is None:
                break
            chain.append(parent)
            cursor = parent
        keep: set[str] = set()
        for kept in chain:
            if (yield from reader.load_chunks([kept])):
                continue  # unreadable: not kept
            payload = kept.payload(ctx.compression)
            if payload.refs or payload.deltas:
                yield from rewrite_whole(ctx, reader, kept, found if kept is head else None)
            else:
                keep.update(k[schema.SK]["S"] for k in kept.chunk_keys())
            keep.add(kept.sk)
            for w in reader.writes.get(kept.checkpoint_id, []):
                keep.add(w.sk)
                keep.update(k[schema.SK]["S"] for k in w.chunk_keys())
        return keep
    return set()


def delete_for_runs(ctx: Ctx, run_ids: Sequence[str]) -> Flow[None]:
    """Delete the checkpoints (and their writes) whose metadata ``run_id`` is listed.

    Finds their threads with one Query of each run's markers (never a Scan: the cost
    follows the runs' own items, not the table's size); remaining checkpoints that depend
    on a deleted one are rewritten whole first. The markers stay (they expire with the
    run's checkpoints): a process still writing the run knows its marker is written, so
    what it writes next is found by the next ``delete_for_runs``.
    """
    wanted = list(dict.fromkeys(schema.require_id(r, "run_id") for r in run_ids))
    threads: dict[str, None] = {}  # the threads the markers name, in order
    for run_id in wanted:
        for marker in (yield from query_all(ctx, schema.run_pk(run_id))):
            thread = schema.thread_of_run_marker(marker)
            if thread is not None:
                threads[thread] = None
    doomed_runs = set(wanted)
    for thread_id in threads:
        raw = yield from query_all(ctx, schema.thread_pk(thread_id))
        doomed: list[AttrMap] = []
        for reader in readers_of_thread(ctx, thread_id, raw).values():
            gone = {h.checkpoint_id for h in reader.heads if h.run_id in doomed_runs}
            if not gone:
                continue
            # Load chunked heads first: a delta's chain is walked through its bases.
            yield from reader.load_chunks([h for h in reader.heads if h.checkpoint_id not in gone])
            for head in reader.heads:
                if head.checkpoint_id in gone or head.needs_chunks():
                    continue  # doomed, or unreadable already: nothing to keep readable
                payload = head.payload(ctx.compression)
                needs = {ref.holder for ref in payload.refs.values()}
                for ch in payload.deltas:
                    needs.update(chain_of(head, ch, ctx.compression, reader.head))
                if needs & gone:
                    yield from rewrite_whole(ctx, reader, head)
            for head in reader.heads:
                if head.checkpoint_id in gone:
                    doomed.append(head.raw)
                    doomed.extend(head.chunk_keys())
                    for w in reader.writes.get(head.checkpoint_id, []):
                        doomed.append(w.raw)
                        doomed.extend(w.chunk_keys())
        yield from batch_write(ctx, deletes=_deletion_order(doomed))
        ctx.index.discard_thread(thread_id)
        ctx.hints.discard_thread(thread_id)
        ctx.stored_writes.discard_thread(thread_id)


def thread_of(item: AttrMap) -> str | None:
    """The plain thread id of an item (from its key, or its attribute when digested)."""
    pk = get_s(item, schema.PK)
    if pk is None:
        return None
    plain = schema.decode_thread_pk(pk)
    return plain if plain is not None else get_s(item, schema.THREAD)
