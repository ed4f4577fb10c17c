"""Every store operation as a flow (a generator of requests), run by the same drivers as
the saver's. No I/O, and no embedding: the store computes embeddings before a flow starts.

Requests: gets are one ``BatchGetItem`` per 100 keys; puts and deletes one
``BatchWriteItem`` per 25 items (chunks of large values first; a delete reads the items
first, in ``BatchGetItem`` s, to delete their chunks too); a search under a prefix of at
least one label (``("memories",)`` included) is one ``Query`` per page of its root's
partition, one under ``()`` lists the roots first and reads them a few at a time,
concurrently; a namespace listing reads pages of items (growing while they hold small
namespaces) and jumps past each namespace it finds. Never a Scan. Expired items are
absent everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.store.base import ListNamespacesOp, MatchCondition, SearchItem, SearchOp

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.caches import GroupDirectory, VectorIndexState
from langgraph_dynamodb.codec import Compression
from langgraph_dynamodb.errors import CorruptItemError
from langgraph_dynamodb.flows.bulk import batch_get, batch_write, query_all
from langgraph_dynamodb.flows.context import TableCtx
from langgraph_dynamodb.schema import (
    AttrMap,
    approx_size,
    get_s,
    is_expired,
    key_of,
    sk_of,
)
from langgraph_dynamodb.steps import Failure, Flow, Fork
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.store import items as si
from langgraph_dynamodb.store import match

Namespace = tuple[str, ...]
T = TypeVar("T")


@dataclass(kw_only=True)
class StoreCtx(TableCtx):
    """Everything a store flow needs, read at call time."""

    serde: SerializerProtocol
    compression: Compression
    directory: GroupDirectory
    vector_state: VectorIndexState | None = None
    """The table's vector index as last seen; ``None``: semantic search ranks on the
    client, and puts write no vector items (``vector_search="client"``)."""


def _loaded(ctx: StoreCtx, found: Sequence[si.Memory]) -> Flow[list[si.Memory]]:
    """The items whose payloads are in hand, their chunks joined (an item whose chunks
    are gone is corrupt: it is never read half)."""
    todo = [m for m in found if m.needs_chunks()]
    if todo:
        chunks = yield from batch_get(ctx, [k for m in todo for k in m.chunk_keys()])
        by_sk = {sk_of(c): c for c in chunks}
        for memory in todo:
            assert memory.chunk_ref is not None
            data = memory.chunk_ref.join(by_sk)
            if data is None:
                raise CorruptItemError(
                    f"store item {memory.sk!r} in {memory.pk!r} cannot be read: a chunk of "
                    "its value is missing; put the item again or delete it"
                )
            memory.set_chunk_data(data)
    return list(found)


def _decoded(ctx: StoreCtx, raw: Iterable[AttrMap]) -> list[si.Memory]:
    now = ctx.clock()
    out = []
    for item in raw:
        if is_expired(item, now):
            continue
        memory = si.decode_item(item)
        if memory is not None:
            out.append(memory)
    return out


def loaded_live(ctx: StoreCtx, raw: Iterable[AttrMap]) -> Flow[list[si.Memory]]:
    """The live store items among raw items read, their chunks joined."""
    return (yield from _loaded(ctx, _decoded(ctx, raw)))


# --- get --------------------------------------------------------------------------------
def get_many(
    ctx: StoreCtx, wanted: Sequence[tuple[Namespace, str]]
) -> Flow[dict[tuple[Namespace, str], si.Memory]]:
    """The live items of these (namespace, key) pairs: one BatchGetItem per 100."""
    if not wanted:
        return {}
    raw = yield from batch_get(ctx, [si.item_key(ns, k) for ns, k in wanted])
    found = yield from _loaded(ctx, _decoded(ctx, raw))
    by_key = {}
    for memory in found:
        payload = memory.payload(ctx.compression)
        by_key[(payload.namespace, payload.key)] = memory
    return by_key


def refresh(ctx: StoreCtx, found: Iterable[si.Memory], *, now: float | None = None) -> Flow[None]:
    """Extend the expiry of items read, by their own TTL: one conditional write each, on
    the version read, so it can never bring back an item deleted, replaced or expired
    meanwhile; skipped while the expiry would move by less than a tenth of the TTL."""
    at = ctx.clock() if now is None else now
    for memory in found:
        minutes = memory.payload(ctx.compression).ttl_minutes
        current = memory.expires_at
        if minutes is None or current is None:
            continue
        fresh = si.expiry_in_minutes(at, minutes)
        assert fresh is not None
        if fresh - current < minutes * 60 * limits.STORE_TTL_REFRESH_FRACTION:
            continue
        params = requests.refresh_expiry(key_of(memory.raw), fresh, nonce=memory.nonce, now=at)
        response = yield ctx.request(
            "update_item", expect=("ConditionalCheckFailedException",), **params
        )
        if isinstance(response, Failure):
            continue  # gone, replaced or expired since it was read: nothing to extend
        for part_key in [*memory.chunk_keys(), *memory.vector_keys()]:
            yield ctx.request("update_item", **requests.set_expiry(part_key, fresh))


# --- put and delete ---------------------------------------------------------------------
@dataclass(frozen=True)
class Write:
    """One put (``prepared``) or delete (``None``) of a (namespace, key)."""

    namespace: Namespace
    key: str
    prepared: si.PreparedPut | None


def write_many(ctx: StoreCtx, writes: Sequence[Write]) -> Flow[None]:
    """Apply puts and deletes, 25 per BatchWriteItem: the directory entries of groups this
    store has not written to before, then chunks and vector items, then the items.
    Deletes, and puts of large values, first read what they replace, to delete its chunks
    (and a delete its vector items) with them."""
    if not writes:
        return
    replaced = yield from _replaced_parts(ctx, writes)
    parts = [
        c
        for w in writes
        if w.prepared is not None
        for c in [*w.prepared.chunks, *w.prepared.vectors]
    ]
    if parts:
        yield from batch_write(ctx, puts=parts)
    puts = [w.prepared.item for w in writes if w.prepared is not None]
    groups = {schema.group_of(w.namespace) for w in writes if w.prepared is not None}
    new_groups = ctx.directory.unknown(groups)
    if new_groups:  # first, so that a crash never leaves items no directory leads to
        yield from batch_write(ctx, puts=[si.directory_item(g) for g in new_groups])
        ctx.directory.note(new_groups)
    deletes = [si.item_key(w.namespace, w.key) for w in writes if w.prepared is None]
    yield from batch_write(ctx, puts=puts, deletes=[*deletes, *replaced])


def _replaced_parts(ctx: StoreCtx, writes: Sequence[Write]) -> Flow[list[AttrMap]]:
    """Keys of the chunks of items a delete or a large put replaces, and of the vector
    items of those a delete removes. (A put that indexes fewer fields than the item it
    replaces leaves the extra vector items; a native search re-reads what they point to,
    so they never change an answer.)"""
    wanted = [(w.namespace, w.key) for w in writes if w.prepared is None or w.prepared.chunks]
    if not wanted:
        return []
    raw = yield from batch_get(ctx, [si.item_key(ns, k) for ns, k in wanted])
    keep = {sk_of(c) for w in writes if w.prepared is not None for c in w.prepared.chunks}
    deleted = {si.item_key(w.namespace, w.key)[schema.SK]["S"] for w in writes if not w.prepared}
    out: list[AttrMap] = []
    for item in raw:
        memory = si.decode_item(item)
        if memory is not None:
            out.extend(k for k in memory.chunk_keys() if sk_of(k) not in keep)
            if memory.sk in deleted:
                out.extend(memory.vector_keys())
    return out


# --- search -----------------------------------------------------------------------------
def groups_under(ctx: StoreCtx, prefix: Namespace) -> Flow[list[Namespace]]:
    """The groups whose items may be under ``prefix``: its root's, or for ``()`` every
    root the directory lists (one Query)."""
    if len(prefix) >= schema.GROUP_DEPTH:
        return [schema.group_of(prefix)]
    groups: list[Namespace] = []
    entries = yield from query_all(ctx, schema.ROOT_DIRECTORY_PK, schema.DIRECTORY_ENTRY)
    for entry in entries:
        labels = schema.parse_directory_sk(sk_of(entry))
        whole = get_s(entry, schema.NAMESPACE)  # a long label, digested in the key
        if labels and all(label is not None for label in labels):
            groups.append(tuple(label for label in labels if label is not None))
        elif whole is not None:
            groups.append((whole,))
    return groups


def _waves(todo: Sequence[T], *, grow: bool) -> Iterator[Sequence[T]]:
    """``todo`` in slices of at most ``MAX_PARALLEL_REQUESTS``; with ``grow``, the first
    ones smaller (1, 2, 4, ...), for work that may stop early."""
    size = 1 if grow else limits.MAX_PARALLEL_REQUESTS
    at = 0
    while at < len(todo):
        yield todo[at : at + size]
        at += size
        size = min(size * 2, limits.MAX_PARALLEL_REQUESTS)


def fork(ctx: StoreCtx, flows: Sequence[Flow[T]]) -> Flow[list[T]]:
    """Run independent flows concurrently (one runs inline); their results, in order."""
    if len(flows) == 1:
        only = yield from flows[0]
        return [only]
    results = yield Fork(tuple(flows))
    return list(results)


def _items_query(
    ctx: StoreCtx, group: Namespace, prefix: str, start: AttrMap | None, limit: int | None
) -> dict[str, Any]:
    return requests.query(
        schema.group_pk(group),
        # a range rather than begins_with: the same keys, and DynamoDB Local reads a
        # begins_with by walking the whole partition (one user's 100 items among 50,000:
        # 45 ms against 11 ms)
        between=(prefix, schema.range_end(prefix)),
        start=start,
        limit=limit,
        consistent=ctx.consistent_read,
        live_at=ctx.clock(),
    )


def _search_group(
    ctx: StoreCtx,
    group: Namespace,
    op: SearchOp,
    query_vector: Sequence[float] | None,
    enough: int | None,
) -> Flow[list[tuple[match.Candidate, si.Memory]] | match.TopScores]:
    """The matching live items of one group under the search's prefix: in key order (at
    most ``enough``) without a query, else the group's own page of the best scored."""
    prefix = tuple(op.namespace_prefix)
    sk_prefix = schema.range_prefix(prefix) if len(prefix) > len(group) else schema.MEMORY_PREFIX
    out: list[tuple[match.Candidate, si.Memory]] = []
    top = (
        None
        if query_vector is None
        else match.TopScores(query_vector, offset=op.offset, limit=op.limit)
    )
    start: AttrMap | None = None
    # without a query, pages of about what the search still needs (a filter may drop
    # some: then STORE_LIST_PAGE_GROWTH times as many, growing), not 1 MB for ten items
    ask = None if enough is None else enough * (limits.STORE_LIST_PAGE_GROWTH if op.filter else 1)
    read = 0
    while enough is None or len(out) < enough:
        response = yield ctx.request("query", **_items_query(ctx, group, sk_prefix, start, ask))
        read += int(response.get("ScannedCount", 0))
        found = yield from _loaded(ctx, _decoded(ctx, response.get("Items", [])))
        page: list[tuple[match.Candidate, si.Memory]] = []
        for memory in found:
            candidate = si.to_candidate(
                memory, ctx.serde, ctx.compression, with_vectors=top is not None
            )
            if candidate.namespace[: len(prefix)] != prefix:
                continue  # a digested label's lookalike
            if not match.item_matches(candidate.value, op.filter):
                continue
            page.append((candidate, memory))
        if top is not None:
            top.add(page)  # keeps the best of them: memory bounded by the page asked for
        else:
            out.extend(page[: None if enough is None else enough - len(out)])
        start = response.get("LastEvaluatedKey")
        if not start:
            break
        if enough is not None:
            ask = _next_search_page(enough - len(out), read, len(out))
    return out if top is None else top


def _next_search_page(needed: int, read: int, matched: int) -> int:
    """The next page of a search without a query that still needs ``needed`` items: as
    many as the share matched so far says will hold them, a quarter more; with no match
    yet, ``STORE_LIST_PAGE_GROWTH`` times what was read."""
    if matched == 0:
        return max(needed, read * limits.STORE_LIST_PAGE_GROWTH)
    return max(needed, -(-needed * read * 5 // (matched * 4)))


def search(
    ctx: StoreCtx, op: SearchOp, query_vector: Sequence[float] | None
) -> Flow[tuple[list[SearchItem], list[si.Memory]]]:
    """A search: every live item under the namespace prefix, filtered as
    ``InMemoryStore`` filters, in (namespace, key) order or by score; and the items
    returned (for a TTL refresh). Groups are read a few at a time, concurrently; a search
    without a query stops at the first wave that fills its page, one with a query keeps
    only the best page so far (bounded memory, however many items it scores)."""
    enough = None if query_vector is not None else op.offset + op.limit
    found: list[tuple[match.Candidate, si.Memory]] = []
    top = (
        None
        if query_vector is None
        else match.TopScores(query_vector, offset=op.offset, limit=op.limit)
    )
    groups = yield from groups_under(ctx, tuple(op.namespace_prefix))
    done = 0
    for wave in _waves(groups, grow=enough is not None):
        parts = yield from fork(
            ctx, [_search_group(ctx, g, op, query_vector, enough) for g in wave]
        )
        for part in parts:
            if isinstance(part, match.TopScores):
                assert top is not None
                top.merge(part, where=(done,))
            else:
                found.extend(part)
            done += 1
        if enough is not None and len(found) >= enough:
            break
    if top is not None:
        ranked = top.page()
    else:
        ranked = [(c, None, m) for c, m in found[op.offset : op.offset + op.limit]]
    results = [si.to_search_item(c, score) for c, score, _ in ranked]
    return results, [m for _, _, m in ranked]


# --- list namespaces --------------------------------------------------------------------
@dataclass
class _Found:
    """Namespaces a listing has found, in the order it found them."""

    namespaces: list[Namespace] = field(default_factory=list)
    ordered: bool = True
    """False once a digested label was met (key order is then not namespace order)."""


def _namespaces_of_group(
    ctx: StoreCtx,
    group: Namespace,
    within: Namespace,
    conditions: Sequence[MatchCondition],
    max_depth: int | None,
    wanted: int | None,
) -> Flow[_Found]:
    """The namespaces of a group's live items under ``within``: a page of items per
    Query, then a jump past the namespace found last (or, with ``max_depth``, past the
    whole subtree its truncation stands for, once it matched). Pages start at
    ``STORE_LIST_PAGE`` items and grow while each holds several namespaces (small ones:
    one or two more pages read them all); after one that holds
    a single namespace (a large one: jumping past it saves reading it), they hold what one
    read unit does (:func:`_next_list_page`).
    With ``wanted``, stops once that many namespaces are listed, in order."""
    found = _Found()
    prefix = schema.range_prefix(within)
    lo, hi = prefix, schema.range_end(prefix)
    start: AttrMap | None = None
    page = limits.STORE_LIST_PAGE
    listed, listed_last = 0, None  # what the listing shows so far (while in order)
    while True:
        params = requests.query(
            schema.group_pk(group),
            between=(lo, hi),
            start=start,
            limit=page,
            consistent=ctx.consistent_read,
            live_at=ctx.clock(),
        )
        response = yield ctx.request("query", **params)
        last: Namespace | None = None
        seen = 0
        raw = response.get("Items", [])
        for memory in _decoded(ctx, raw):
            namespace = _namespace_of(ctx, group, memory, found)
            if not found.namespaces or found.namespaces[-1] != namespace:
                found.namespaces.append(namespace)
                if all(match.namespace_matches(c, namespace) for c in conditions):
                    shown = namespace if max_depth is None else namespace[:max_depth]
                    if shown != listed_last:
                        listed, listed_last = listed + 1, shown
            if namespace != last:
                seen += 1
            last = namespace
        if not response.get("LastEvaluatedKey"):
            return found  # the page held the rest of the range
        if last is None:
            start = response["LastEvaluatedKey"]
            continue
        if wanted is not None and found.ordered and listed >= wanted:
            return found
        left = wanted - listed if wanted is not None and found.ordered else None
        page = _next_list_page(page, seen, raw, left)
        start = None
        matched = all(match.namespace_matches(c, last) for c in conditions)
        if matched and max_depth is not None and len(last) >= max_depth:
            if max_depth <= len(group):
                return found  # every namespace of the group truncates to the same labels
            lo = schema.range_end(schema.range_prefix(last[:max_depth]))  # past the subtree
        else:
            lo = schema.range_end(schema.namespace_prefix(last))  # past its own items
        if lo >= hi:
            return found


def _next_list_page(page: int, namespaces: int, raw: Sequence[AttrMap], left: int | None) -> int:
    """The next page of a listing. After one that held several namespaces (small ones):
    ``STORE_LIST_PAGE_GROWTH`` times larger, or, when ``left`` more namespaces are wanted,
    what they hold at the page's density if that is more (a user's few memories each: one
    more Query reads them all). After one that held a single namespace (a large one, which
    the listing jumps past): what fits one read unit, up to ``STORE_LIST_PAGE``, so a
    Query per namespace costs the least a Query can."""
    if namespaces > 1:
        grown = page * limits.STORE_LIST_PAGE_GROWTH
        if left is not None:
            per_namespace = -(-len(raw) // namespaces)
            grown = max(grown, (left + 1) * per_namespace)
        return min(grown, limits.STORE_LIST_PAGE_MAX)
    if not raw:
        return limits.STORE_LIST_PAGE
    average = max(1, sum(approx_size(item) for item in raw) // len(raw))
    return max(1, min(limits.STORE_LIST_PAGE, limits.READ_UNIT_BYTES // average))


def _namespace_of(ctx: StoreCtx, group: Namespace, memory: si.Memory, found: _Found) -> Namespace:
    """An item's namespace: from its sort key, or its payload when a label is digested."""
    parsed = schema.parse_memory_sk(memory.sk)
    if parsed is not None and all(label is not None for label in parsed.rest):
        return (*group, *(label for label in parsed.rest if label is not None))
    found.ordered = False
    if memory.needs_chunks():
        raise CorruptItemError(
            f"store item {memory.sk!r}: a namespace with a label over "
            f"{limits.STORE_LABEL_KEY_BYTES} bytes and a value over an item's size cannot be "
            "listed; use shorter labels"
        )
    return memory.payload(ctx.compression).namespace


def list_namespaces(ctx: StoreCtx, op: ListNamespacesOp) -> Flow[list[Namespace]]:
    """The namespaces that hold live items and meet the conditions, sorted, truncated to
    ``max_depth``, paged: read from the items themselves (no marker can go stale)."""
    conditions = tuple(op.match_conditions or ())
    prefixes = [c for c in conditions if c.match_type == "prefix"]
    literal = match.literal_prefix(prefixes[0].path) if prefixes else ()
    found = _Found()
    wanted = op.offset + op.limit
    groups = [
        g
        for g in (yield from groups_under(ctx, literal[: schema.GROUP_DEPTH]))
        if literal[: len(g)] == g[: len(literal)]
    ]
    kept: list[Namespace] = []
    at = 0
    while at < len(groups):
        # a group holds at least one namespace (unless all its items were deleted): read
        # as many groups at once as namespaces are still wanted
        size = limits.MAX_PARALLEL_REQUESTS if not found.ordered else wanted - len(kept)
        wave = groups[at : at + max(1, min(size, limits.MAX_PARALLEL_REQUESTS))]
        at += len(wave)
        parts = yield from fork(
            ctx,
            [
                _namespaces_of_group(
                    ctx,
                    g,
                    literal if len(literal) > len(g) else g,
                    conditions,
                    op.max_depth,
                    wanted - len(kept) if found.ordered else None,
                )
                for g in wave
            ],
        )
        for part in parts:
            found.namespaces.extend(part.namespaces)
            found.ordered = found.ordered and part.ordered
        kept = match.page_namespaces(
            found.namespaces, conditions, max_depth=op.max_depth, offset=0, limit=wanted
        )
        if found.ordered and len(kept) >= wanted:
            break
    return match.page_namespaces(
        found.namespaces,
        conditions,
        max_depth=op.max_depth,
        offset=op.offset,
        limit=op.limit,
    )
