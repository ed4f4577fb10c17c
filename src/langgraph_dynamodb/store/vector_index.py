"""The store's semantic search on DynamoDB's vector index, as flows: set the table up
with it (:func:`setup`, :func:`declare`), is it usable (:func:`check`), and search with
it (:func:`search`); :func:`look` remembers what :func:`check` saw. No I/O.

A search under a prefix (any depth up to ``STORE_VECTOR_PREFIX_DEPTH``, ``()`` included)
is one ``SearchVectors`` with the prefix as one equality on ``ns<depth>``. What it returns
is never answered as it is: the index is fed asynchronously and approximate, so the items
it names are read again (one ``BatchGetItem``, strongly consistent by default), those gone,
expired, outside the prefix or not matching the filter are dropped, and each is scored
again from its stored embeddings exactly as ``InMemoryStore`` scores it (cosine
similarity, the best of its fields). A search the index cannot answer whole (a page past
its 100 results, too few scored items to fill the page, a filter that leaves too few) is
handed back as :class:`Fallback`, and the caller ranks on the client instead: never a
short or a stale answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import SearchOp

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.flows.bulk import batch_get
from langgraph_dynamodb.flows.maintenance import setup as setup_table
from langgraph_dynamodb.schema import AttrMap, key
from langgraph_dynamodb.steps import Failure, Flow
from langgraph_dynamodb.store import items as si
from langgraph_dynamodb.store import match, vectors
from langgraph_dynamodb.store.flows import StoreCtx, loaded_live

Namespace = tuple[str, ...]

UNAVAILABLE_CODES = (
    "ResourceNotFoundException",
    "ValidationException",
    "UnknownOperationException",
    "AccessDeniedException",
)
"""SearchVectors errors that say the index cannot serve (gone, not ACTIVE, DynamoDB Local,
no ``dynamodb:SearchVectors`` grant): in ``"auto"`` the store ranks on the client."""

_SIMILARITY_SLACK = 1e-6
"""Float noise between the index's score and the one computed here."""


@dataclass(frozen=True)
class IndexStatus:
    """Whether a table's vector index can answer the store's searches, and why not.

    Attributes:
        usable: It can.
        reason: Why not.
        broken: It never will as it is (declared differently, or refused by the table);
            otherwise it is missing, or still being built.
    """

    usable: bool
    reason: str
    broken: bool = False


def status_of(description: Mapping[str, Any], dims: int) -> IndexStatus:
    """Read ``DescribeTable``'s ``Table``: the store's index, ACTIVE, filled, as declared."""
    wanted = schema.vector_index_definition(dims)
    for index in description.get("VectorIndexes") or []:
        if index.get("IndexName") != schema.VECTOR_INDEX_NAME:
            continue
        problems = [
            f"{field} is {index.get(field)!r}, not {wanted[field]!r}"
            for field in ("VectorAttribute", "Dimensions", "DistanceFunction")
            if index.get(field) != wanted[field]
        ]
        declared = {e.get("AttributeName") for e in index.get("SearchSchema") or []}
        missing = [a for a in schema.PREFIX_ATTRIBUTES if a not in declared]
        if missing:
            problems.append(f"its search schema lacks {', '.join(missing)}")
        if problems:
            return IndexStatus(
                False,
                f"vector index {schema.VECTOR_INDEX_NAME!r} is declared differently: "
                f"{'; '.join(problems)}. Delete it (UpdateTable VectorIndexUpdates Delete) and "
                "call setup() again, or change index={'dims': ...} to match",
                broken=True,
            )
        if index.get("IndexStatus") != "ACTIVE":
            return IndexStatus(
                False, f"vector index {schema.VECTOR_INDEX_NAME!r} is {index.get('IndexStatus')}"
            )
        if index.get("Backfilling"):
            return IndexStatus(
                False, f"vector index {schema.VECTOR_INDEX_NAME!r} is still backfilling"
            )
        return IndexStatus(True, "")
    return IndexStatus(
        False,
        f"the table has no vector index {schema.VECTOR_INDEX_NAME!r}: setup() declares it "
        "(on-demand tables, and not DynamoDB Local, which ignores vector indexes: "
        "'langgraph-dynamodb local' emulates them)",
    )


def check(ctx: StoreCtx, dims: int) -> Flow[IndexStatus]:
    """Look at the table's vector index (one DescribeTable)."""
    described = yield ctx.request(
        "describe_table", expect=("ResourceNotFoundException", "AccessDeniedException")
    )
    if isinstance(described, Failure):
        if described.code == "AccessDeniedException":
            return IndexStatus(
                False,
                "dynamodb:DescribeTable is denied, so the store cannot see the table's "
                "vector index: grant it (with dynamodb:SearchVectors on the index)",
            )
        return IndexStatus(False, f"table {ctx.table!r} does not exist: call setup()")
    return status_of(described["Table"], dims)


def look(ctx: StoreCtx, dims: int) -> Flow[IndexStatus]:
    """:func:`check`, and what it found remembered in the store's ``vector_state``."""
    status = yield from check(ctx, dims)
    if ctx.vector_state is not None:
        ctx.vector_state.record(status.usable, status.reason, ctx.clock())
    return status


def declare(ctx: StoreCtx, dims: int, description: Mapping[str, Any]) -> Flow[IndexStatus]:
    """Add the store's vector index to a table that has none (UpdateTable; DynamoDB
    builds it in the background, nothing waits for it); the index's status after."""
    status = status_of(description, dims)
    known = {i.get("IndexName") for i in description.get("VectorIndexes") or []}
    if schema.VECTOR_INDEX_NAME in known:
        return status
    response = yield ctx.request(
        "update_table",
        expect=("ValidationException", "LimitExceededException", "ResourceInUseException"),
        VectorIndexUpdates=[{"Create": schema.vector_index_definition(dims)}],
    )
    if isinstance(response, Failure):
        return IndexStatus(
            False,
            f"the table's vector index could not be added ({response.code}: "
            f"{response.message}); vector indexes need an on-demand table and DynamoDB itself "
            "(DynamoDB Local has none: 'langgraph-dynamodb local' emulates them)",
            broken=True,
        )
    return status_of(response.get("TableDescription", {}), dims)


def setup(ctx: StoreCtx, dims: int) -> Flow[IndexStatus]:
    """The store's table set up (created with the vector index when missing, the index
    added when the table has none); the index's status."""
    description = yield from setup_table(
        ctx, ttl=True, vector_indexes=[schema.vector_index_definition(dims)]
    )
    return (yield from declare(ctx, dims, description))


# --- search ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fallback:
    """The index cannot answer this search whole: rank it on the client."""

    reason: str


@dataclass(frozen=True)
class Unavailable:
    """SearchVectors failed: the index cannot serve at all (until it is checked again)."""

    reason: str


def search_request(
    prefix: Namespace, query_vector: Sequence[float], top_k: int, dims: int
) -> dict[str, Any]:
    """SearchVectors' parameters (the table name and capacity are the context's)."""
    params: dict[str, Any] = {
        "IndexName": schema.VECTOR_INDEX_NAME,
        "SearchVector": vectors.to_attribute(query_vector, dims)["L"],
        "TopK": top_k,
    }
    if prefix:
        params["SearchConditionExpression"] = "#ns = :ns"
        params["ExpressionAttributeNames"] = {"#ns": schema.prefix_attribute(len(prefix))}
        params["ExpressionAttributeValues"] = {":ns": {"S": schema.prefix_value(prefix)}}
    return params


@dataclass(frozen=True)
class Hit:
    """An item the index named: its key and the similarity the index gave it."""

    key: AttrMap
    similarity: float


def hits_of(response: Mapping[str, Any]) -> list[Hit]:
    """The items a SearchVectors answer names, best first, each once (an item's vector
    items stand for it), with the cosine similarity of its best vector."""
    out: dict[str, Hit] = {}
    for result in response.get("SearchResults") or []:
        item = result.get("Item") or {}
        pk = (item.get(schema.PK) or {}).get("S")
        sk = schema.memory_sk_of(str((item.get(schema.SK) or {}).get("S", "")))
        if not isinstance(pk, str) or sk is None:
            continue
        ident = pk + "\x00" + sk
        if ident not in out:
            out[ident] = Hit(key(pk, sk), 1.0 - float(result.get("Score", 2.0)))
    return list(out.values())


def _top_k(op: SearchOp, wanted: int) -> int:
    if op.filter:
        return limits.SEARCH_VECTORS_MAX_TOP_K
    return min(
        limits.SEARCH_VECTORS_MAX_TOP_K,
        max(wanted * limits.STORE_VECTOR_OVERFETCH, wanted + limits.STORE_VECTOR_MIN_EXTRA),
    )


def search(
    ctx: StoreCtx,
    op: SearchOp,
    query_vector: Sequence[float],
    dims: int,
    *,
    expect: tuple[str, ...],
) -> Flow[tuple[list[Any], list[si.Memory]] | Fallback | Unavailable]:
    """A semantic search answered through the index: the page (``SearchItem`` s) and the
    items on it; :class:`Fallback` when the index cannot answer it whole,
    :class:`Unavailable` when SearchVectors failed with one of ``expect``."""
    prefix = tuple(op.namespace_prefix)
    wanted = op.offset + op.limit
    if op.limit == 0:
        return [], []
    if len(prefix) > limits.STORE_VECTOR_PREFIX_DEPTH:
        return Fallback(f"the prefix is deeper than {limits.STORE_VECTOR_PREFIX_DEPTH} labels")
    if wanted > limits.SEARCH_VECTORS_MAX_TOP_K:
        return Fallback(f"offset + limit is over {limits.SEARCH_VECTORS_MAX_TOP_K}")
    top_k = _top_k(op, wanted)
    while True:
        response = yield ctx.request(
            "search_vectors", expect=expect, **search_request(prefix, query_vector, top_k, dims)
        )
        if isinstance(response, Failure):
            return Unavailable(f"SearchVectors failed: {response.code}: {response.message}")
        hits = hits_of(response)
        ranked = yield from _verified(ctx, op, query_vector, hits, wanted)
        if len(ranked) >= wanted:
            page = ranked[op.offset : wanted]
            return [si.to_search_item(c, score) for score, _, c, _ in page], [
                m for _, _, _, m in page
            ]
        if len(response.get("SearchResults") or []) < top_k:
            return Fallback("fewer scored items than the page: unscored ones fill it")
        if top_k >= limits.SEARCH_VECTORS_MAX_TOP_K:
            return Fallback(f"the page needs more than the index's {top_k} results")
        top_k = limits.SEARCH_VECTORS_MAX_TOP_K


def _verified(
    ctx: StoreCtx,
    op: SearchOp,
    query_vector: Sequence[float],
    hits: Sequence[Hit],
    wanted: int,
) -> Flow[list[tuple[float, int, match.Candidate, si.Memory]]]:
    """The hits that hold: read again in the index's order, as few at a time as the page
    still needs, until the page is full and no unread hit could rank above its last item;
    each scored exactly. Sorted best first (ties in the index's order)."""
    prefix = tuple(op.namespace_prefix)
    kept: list[tuple[float, int, match.Candidate, si.Memory]] = []
    at = 0
    while at < len(hits):
        missing = wanted - len(kept) if len(kept) < wanted else wanted
        wave = hits[at : at + (missing * 2 if op.filter else missing)]
        raw = yield from batch_get(ctx, [h.key for h in wave])
        found = yield from loaded_live(ctx, raw)
        by_key = {(m.pk, m.sk): m for m in found}
        for rank, hit in enumerate(wave, start=at):
            memory = by_key.get(schema.ident(hit.key))
            if memory is None:
                continue  # deleted or expired since the index saw it
            candidate = si.to_candidate(memory, ctx.serde, ctx.compression, with_vectors=True)
            if candidate.namespace[: len(prefix)] != prefix or not candidate.vectors:
                continue  # a digested label's lookalike, or no longer indexed
            if not match.item_matches(candidate.value, op.filter):
                continue
            score = max(match.cosine(query_vector, candidate.vectors))
            kept.append((score, rank, candidate, memory))
        at += len(wave)
        kept.sort(key=lambda e: (-e[0], e[1]))
        if len(kept) >= wanted and (
            at >= len(hits) or kept[wanted - 1][0] + _SIMILARITY_SLACK >= hits[at].similarity
        ):
            break
    return kept
