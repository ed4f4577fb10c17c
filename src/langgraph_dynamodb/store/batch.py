"""A store batch as one flow: its ops checked, answered in order, reads before writes (as
``InMemoryStore`` and ``PostgresStore`` answer them: a get in a batch does not see that
batch's puts), embeddings asked for with :class:`~langgraph_dynamodb.steps.Compute`
steps so that the same flow runs sync and async."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
    validate_op_namespace,
)

from langgraph_dynamodb.caches import VectorIndexState
from langgraph_dynamodb.errors import ConfigurationError, InvalidInputError
from langgraph_dynamodb.steps import Compute, Flow
from langgraph_dynamodb.store import flows, match, vector_index
from langgraph_dynamodb.store import items as si

Namespace = tuple[str, ...]
FieldPath = tuple[str, str | list[str]]


@dataclass(frozen=True)
class IndexSettings:
    """The store's ``index=``: the embedder, its dimensions, the fields to embed."""

    dims: int
    embeddings: Embeddings
    fields: tuple[FieldPath, ...]


def index_settings(index: IndexConfig | None) -> IndexSettings | None:
    """Check an ``index=`` option (as ``InMemoryStore`` reads it)."""
    if index is None:
        return None
    if not isinstance(index, Mapping) or "embed" not in index or "dims" not in index:
        raise ConfigurationError(
            "index must be {'dims': <int>, 'embed': <Embeddings or a function>, 'fields': "
            f"[...]}} (langgraph's IndexConfig), got {index!r}"
        )
    dims = index["dims"]
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ConfigurationError(f"index dims must be a positive int, got {dims!r}")
    fields = tuple(
        (p, tokenize_path(p)) if p != "$" else (p, p) for p in (index.get("fields") or ["$"])
    )
    return IndexSettings(dims, ensure_embeddings(index["embed"]), fields)


def check(op: Op) -> None:
    """Raise the library's error for an op no store should run (namespace labels as
    ``BaseStore`` checks them, the key, the value)."""
    validate_op_namespace(op)
    if isinstance(op, (GetOp, PutOp)):
        if not op.namespace:
            raise InvalidNamespaceError("Namespace cannot be empty.")
        if not isinstance(op.key, str) or not op.key:
            raise InvalidInputError(f"a store key must be a non-empty string, got {op.key!r}")
    if isinstance(op, PutOp):
        if op.namespace[0] == "langgraph":
            raise InvalidNamespaceError(
                f'Root label for namespace cannot be "langgraph". Got: {op.namespace}'
            )
        if op.value is not None and not isinstance(op.value, Mapping):
            raise InvalidInputError(
                f"a store value must be a dict (or None to delete), got {type(op.value).__name__}"
            )
        if op.ttl is not None and (
            isinstance(op.ttl, bool) or not isinstance(op.ttl, (int, float)) or op.ttl <= 0
        ):
            raise InvalidInputError(f"ttl must be a positive number of minutes, got {op.ttl!r}")
    if isinstance(op, SearchOp):
        if op.limit < 0 or op.offset < 0:
            raise InvalidInputError(
                f"search limit and offset must not be negative, got {op.limit}, {op.offset}"
            )
        if op.filter is not None and not isinstance(op.filter, Mapping):
            raise InvalidInputError(f"search filter must be a dict, got {op.filter!r}")
        match.check_filter(op.filter)
    if isinstance(op, ListNamespacesOp) and (op.limit < 0 or op.offset < 0):
        raise InvalidInputError(
            f"list_namespaces limit and offset must not be negative, got {op.limit}, {op.offset}"
        )


def _texts(op: PutOp, index: IndexSettings) -> list[tuple[str, str]]:
    """(path, text) pairs of a put to embed, as ``InMemoryStore`` picks them."""
    if op.value is None or op.index is False:
        return []
    fields: Sequence[FieldPath] = (
        index.fields if op.index is None else [(ix, tokenize_path(ix)) for ix in op.index]
    )
    out: list[tuple[str, str]] = []
    for path, tokens in fields:
        texts = get_text_at_path(op.value, tokens)
        if len(texts) > 1:
            out.extend((f"{path}.{i}", text) for i, text in enumerate(texts))
        elif texts:
            out.append((path, texts[0]))
    return out


def _embed_documents(index: IndexSettings, texts: list[str]) -> Compute:
    return Compute(
        run=lambda: index.embeddings.embed_documents(texts),
        arun=lambda: index.embeddings.aembed_documents(texts),
    )


def _embed_query(index: IndexSettings, query: str) -> Compute:
    return Compute(
        run=lambda: index.embeddings.embed_query(query),
        arun=lambda: index.embeddings.aembed_query(query),
    )


def _embeddings_of(
    puts: Sequence[PutOp], index: IndexSettings | None
) -> Flow[dict[tuple[Namespace, str], dict[str, list[float]]]]:
    """The embeddings of the puts' indexed fields, each distinct text embedded once."""
    out: dict[tuple[Namespace, str], dict[str, list[float]]] = {}
    if index is None:
        return out
    wanted: dict[str, list[tuple[Namespace, str, str]]] = {}
    for op in puts:
        for path, text in _texts(op, index):
            wanted.setdefault(text, []).append((op.namespace, op.key, path))
    if not wanted:
        return out
    texts = list(wanted)
    vectors = yield _embed_documents(index, texts)
    if len(vectors) != len(texts):
        raise InvalidInputError(
            f"the embedder returned {len(vectors)} embeddings for {len(texts)} texts"
        )
    for text, vector in zip(texts, vectors, strict=True):
        for namespace, key, path in wanted[text]:
            out.setdefault((namespace, key), {})[path] = list(vector)
    return out


def _native_search(
    ctx: flows.StoreCtx,
    op: SearchOp,
    vector: Sequence[float],
    dims: int,
    state: VectorIndexState,
) -> Flow[tuple[list[SearchItem], list[si.Memory]] | None]:
    """A semantic search through the table's vector index, or ``None`` to rank it on the
    client (the index unusable in ``"auto"``, or unable to answer this search whole).

    Raises:
        ConfigurationError: ``vector_search="native"`` and the index cannot serve.
    """
    if state.due(ctx.clock()):
        yield from vector_index.look(ctx, dims)
    if not state.usable:
        if state.required:
            raise ConfigurationError(f"vector_search='native' cannot search: {state.reason}")
        return None
    expect = () if state.required else vector_index.UNAVAILABLE_CODES
    found = yield from vector_index.search(ctx, op, vector, dims, expect=expect)
    if isinstance(found, vector_index.Unavailable):
        state.record(False, found.reason, ctx.clock())
        return None
    if isinstance(found, vector_index.Fallback):
        return None
    return found


def run_batch(
    ctx: flows.StoreCtx, ops: Sequence[Op], index: IndexSettings | None
) -> Flow[list[Result]]:
    """Answer a batch of ops, in order."""
    for op in ops:
        check(op)
    results: list[Result] = [None] * len(ops)
    gets = [(i, op) for i, op in enumerate(ops) if isinstance(op, GetOp)]
    if gets:
        wanted = list(dict.fromkeys((tuple(op.namespace), op.key) for _, op in gets))
        found = yield from flows.get_many(ctx, wanted)
        for i, op in gets:
            memory = found.get((tuple(op.namespace), op.key))
            results[i] = si.to_item(memory, ctx.serde, ctx.compression) if memory else None
        refreshed = {(tuple(op.namespace), op.key) for _, op in gets if op.refresh_ttl}
        yield from flows.refresh(ctx, [m for k, m in found.items() if k in refreshed])
    for i, op in enumerate(ops):
        if isinstance(op, SearchOp):
            vector = None
            if op.query and index is not None:
                vector = yield _embed_query(index, op.query)
            answer = None
            if vector is not None and index is not None and ctx.vector_state is not None:
                answer = yield from _native_search(ctx, op, vector, index.dims, ctx.vector_state)
            if answer is None:
                answer = yield from flows.search(ctx, op, vector)
            page, returned = answer
            results[i] = page
            if op.refresh_ttl:
                yield from flows.refresh(ctx, returned)
        elif isinstance(op, ListNamespacesOp):
            results[i] = yield from flows.list_namespaces(ctx, op)
    latest: dict[tuple[Namespace, str], PutOp] = {}
    for op in ops:
        if isinstance(op, PutOp):
            latest[(tuple(op.namespace), op.key)] = op  # the last write of a key wins
    if latest:
        vectors = yield from _embeddings_of(list(latest.values()), index)
        now = ctx.clock()
        writes = []
        for (namespace, key), op in latest.items():
            prepared = None
            if op.value is not None:
                prepared = si.build_item(
                    serde=ctx.serde,
                    compression=ctx.compression,
                    namespace=namespace,
                    key_=key,
                    value=op.value,
                    now=now,
                    ttl_minutes=op.ttl,
                    embeddings=vectors.get((namespace, key), {}),
                    dims=index.dims if index is not None else None,
                    index_vectors=ctx.vector_state is not None,
                )
            writes.append(flows.Write(namespace, key, prepared))
        yield from flows.write_many(ctx, writes)
    return results
