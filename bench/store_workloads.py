"""The store workload, (s): 1,000 memories in 50 namespaces, then gets, searches under a
prefix, filtered searches across namespaces, namespace listings (again once the table has
grown 5x, and 25x) and semantic searches with their recall@10 against an exact ranking
(langgraph's ``InMemoryStore`` on the same memories), each a phase of its own (requests,
capacity, vector bytes examined and latency per phase). Loaded by the runner inside each
store's virtualenv: stdlib and langgraph only, each store's library imported by its
factory. ``semantic_limit`` (ours only) measures how many vectors one prefix can hold
before a client-ranked semantic search passes 100 ms or 25 RCU; ``memory_scale`` (v, ours
only) runs 100,000 memories over 1,000 users on both paths (the vector index, and
ranking on the client).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

USERS = 50
MEMORIES = 1000
TOPICS = [
    "prefers green tea over coffee in the morning",
    "asked to roll back the checkout deployment",
    "reports latency spikes on the orders service",
    "likes dark mode and large fonts",
    "is on call for the payments team this week",
    "wants weekly summaries of incidents",
    "uses python and typescript at work",
    "travels to berlin next month",
]
KINDS = ["fact", "preference", "event"]


def embedder(dims: int) -> Callable[[Sequence[str]], list[list[float]]]:
    """A deterministic offline embedder: words hashed into ``dims`` buckets."""

    def embed(texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vector = [0.0] * dims
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.sha256(word.encode()).digest()
                for j in range(0, 8, 2):
                    vector[int.from_bytes(digest[j : j + 2], "big") % dims] += 1.0
            out.append(vector)
        return out

    return embed


def memory(i: int) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    user = f"user-{i % USERS:02d}"
    value = {
        "text": f"{TOPICS[i % len(TOPICS)]} (note {i})",
        "kind": KINDS[i % len(KINDS)],
        "score": i % 5,
    }
    return ("memories", user), f"m{i:04d}", value


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - started) * 1000


def _fill(h: Any, store: Any, n: int = MEMORIES, batch: int = 50) -> None:
    from langgraph.store.base import PutOp

    for start in range(0, n, batch):
        ops = [PutOp(*memory(i)) for i in range(start, min(n, start + batch))]
        _, ms = _timed(lambda ops=ops: store.batch(ops))
        h.sample("put_batch", ms)


def _green_tea_expected(*, top: int, users: int) -> int:
    """How many green-tea memories the top ``top`` hits of the first ``users`` users can
    hold (each user's own, at most ``top``)."""
    total = 0
    for u in range(users):
        mine = [
            i for i in range(MEMORIES) if i % USERS == u and TOPICS[i % len(TOPICS)] == TOPICS[0]
        ]
        total += min(top, len(mine))
    return total


GROWTH = {"grown": 4000, "grown25": 20000}
"""Memories added elsewhere in the table (``("archive", user)``) before the same searches
and listings run again: what a store's reads do when the table grows 5x, then 25x."""


def _grown(h: Any, s: Any, suffix: str, start_at: int) -> None:
    from langgraph.store.base import PutOp

    added = GROWTH[suffix]
    with h.phase(f"grow_{suffix}"):
        for start in range(start_at, start_at + added, 100):
            s.batch(
                [
                    PutOp(
                        ("archive", f"user-{i % USERS:02d}"),
                        f"a{i:05d}",
                        {"text": "old", "kind": "fact"},
                    )
                    for i in range(start, start + 100)
                ]
            )
    with h.phase(f"search_prefix_{suffix}"):
        for u in range(20):
            _, ms = _timed(lambda u=u: s.search(("memories", f"user-{u:02d}"), limit=100))
            h.sample("search_prefix", ms)
    with h.phase(f"search_filter_{suffix}"):
        for _ in range(3):
            found, ms = _timed(
                lambda: s.search(
                    ("memories",), filter={"kind": "fact", "score": {"$gte": 3}}, limit=1000
                )
            )
            h.sample("search_filter", ms)
        h.note(f"search_filter_{suffix}_rows", len(found))
    with h.phase(f"list_namespaces_{suffix}"):
        for _ in range(5):
            listed, ms = _timed(lambda: s.list_namespaces(prefix=("memories",), limit=100))
            h.sample("list_namespaces", ms)
        h.note(f"namespaces_{suffix}_listed", len(listed))


def exact_scores(oracle: Any, prefix: tuple[str, ...], query: str) -> dict[Any, float]:
    """Every memory under ``prefix`` with its exact score for ``query`` (InMemoryStore)."""
    found = oracle.search(prefix, query=query, limit=100_000)
    return {(tuple(i.namespace), i.key): i.score for i in found if i.score is not None}


def recall_at(found: Sequence[Any], exact: dict[Any, float], k: int) -> float:
    """recall@k of a search's results against the exact ranking: the share of the exact
    top ``k`` it found, a result counting when its exact score reaches the ``k``-th best
    (so that ties cut either way count alike)."""
    if not exact:
        return 1.0
    best = sorted(exact.values(), reverse=True)[:k]
    kth = best[-1] - 1e-6
    got = sum(1 for f in found[:k] if exact.get((tuple(f.namespace), f.key), -2.0) >= kth)
    return got / len(best)


def store(h: Any) -> None:
    """The store workload (see the module docstring)."""
    from langgraph.store.base import GetOp

    s = h.saver
    with h.phase("put"):
        _fill(h, s)
    with h.phase("get"):
        for round_ in range(20):
            keys = [memory(i)[:2] for i in range(round_ * 10, round_ * 10 + 10)]
            got, ms = _timed(lambda keys=keys: s.batch([GetOp(ns, k) for ns, k in keys]))
            h.sample("get_batch", ms)
            h.note(
                "get_found", h.result["notes"].get("get_found", 0) + sum(g is not None for g in got)
            )
        for i in range(0, 500, 10):
            ns, key, _ = memory(i)
            _, ms = _timed(lambda ns=ns, key=key: s.get(ns, key))
            h.sample("get", ms)
    with h.phase("search_prefix"):
        rows = 0
        for u in range(20):
            found, ms = _timed(lambda u=u: s.search(("memories", f"user-{u:02d}"), limit=100))
            h.sample("search_prefix", ms)
            rows += len(found)
        h.note("search_prefix_rows", rows)
        h.note("search_prefix_rows_expected", 20 * MEMORIES // USERS)
    with h.phase("search_filter"):
        rows = 0
        for kind in KINDS[:2]:
            for _ in range(3):
                found, ms = _timed(
                    lambda kind=kind: s.search(
                        ("memories",), filter={"kind": kind, "score": {"$gte": 3}}, limit=1000
                    )
                )
                h.sample("search_filter", ms)
                rows = max(rows, len(found))
        h.note("search_filter_rows", rows)
        expected = max(
            sum(1 for i in range(MEMORIES) if KINDS[i % 3] == kind and i % 5 >= 3)
            for kind in KINDS[:2]
        )
        h.note("search_filter_rows_expected", expected)
    with h.phase("list_namespaces"):
        for _ in range(5):
            listed, ms = _timed(lambda: s.list_namespaces(prefix=("memories",), limit=100))
            h.sample("list_namespaces", ms)
        h.note("namespaces_listed", len(listed))
        h.note("namespaces_expected", USERS)
    _grown(h, s, "grown", 0)
    _grown(h, s, "grown25", GROWTH["grown"])
    index = {"dims": 64, "embed": embedder(64), "fields": ["text"]}
    try:
        indexed = h.make_store(index)
        with h.phase("semantic_put"):
            _fill(h, indexed)
        from langgraph.store.memory import InMemoryStore

        oracle = InMemoryStore(index=index)
        for i in range(MEMORIES):
            oracle.put(*memory(i))
        query = "green tea in the morning"
        with h.phase("semantic"):
            rows = 0
            recalls = []
            for u in range(20):
                prefix = ("memories", f"user-{u:02d}")
                found, ms = _timed(
                    lambda prefix=prefix: indexed.search(prefix, query=query, limit=10)
                )
                h.sample("semantic_user", ms)
                rows += sum(1 for f in found[:5] if "green tea" in f.value["text"])
                recalls.append(recall_at(found, exact_scores(oracle, prefix, query), 10))
            h.note("semantic_top_hits", rows)
            h.note("semantic_top_hits_expected", _green_tea_expected(top=5, users=20))
            h.note("semantic_recall_user", round(sum(recalls) / len(recalls), 4))
        with h.phase("semantic_all"):
            recalls = []
            for text in ("rollback checkout", "on call for payments", "dark mode fonts"):
                found, ms = _timed(
                    lambda text=text: indexed.search(("memories",), query=text, limit=10)
                )
                h.sample("semantic_all", ms)
                recalls.append(recall_at(found, exact_scores(oracle, ("memories",), text), 10))
            h.note("semantic_recall_all", round(sum(recalls) / len(recalls), 4))
    except Exception as exc:  # noqa: BLE001 - a store without semantic search here is a result
        h.note("semantic_error", f"{type(exc).__name__}: {str(exc)[:200]}")


def semantic_limit(h: Any) -> None:
    """How many vectors under one prefix a semantic search ranked on the client reads
    within 100 ms and 25 RCU, at 256 and 1,536 dimensions, beside the same search through
    the vector index (ours only; the items written as "auto" writes them)."""
    from langgraph.store.base import PutOp

    found: dict[str, Any] = {}
    for dims in (256, 1536):
        index = {"dims": dims, "embed": embedder(dims), "fields": ["text"]}
        native = h.make_store(index)
        client = h.make_store(index, table=native.table_name, vector_search="client")
        native.vector_index_status()
        count = 0
        for target in (25, 50, 100, 200, 400, 800):
            ops = [
                PutOp(
                    ("limit", f"d{dims}"), f"m{i:05d}", {"text": TOPICS[i % len(TOPICS)] + f" {i}"}
                )
                for i in range(count, target)
            ]
            for start in range(0, len(ops), 100):
                native.batch(ops[start : start + 100])
            count = target
            for path, store in (("client", client), ("native", native)):
                phase = f"d{dims}_n{target}" + ("" if path == "client" else "_native")
                with h.phase(phase):
                    for _ in range(5):
                        namespace = ("limit", f"d{dims}")
                        _, ms = _timed(
                            lambda s=store, ns=namespace: s.search(ns, query="green tea", limit=5)
                        )
                        h.sample("semantic", ms)
                found[phase] = target
    h.note("semantic_limit_points", found)


SCALE_USERS = 1000
SCALE_DIMS = 128
"""memory_scale: 100,000 memories (5,000 with ``--quick``) over 1,000 users, embedded in
128 dimensions (a smaller model's size: the table stays within what DynamoDB Local holds
in memory)."""
SCALE_QUERIES = (
    "green tea in the morning",
    "rollback of the checkout deployment",
    "latency on the orders service",
    "on call for payments",
)


def scale_memory(i: int) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    user = f"user-{i % SCALE_USERS:04d}"
    value = {
        "text": f"{TOPICS[i % len(TOPICS)]} (note {i}, {TOPICS[(i // 7) % len(TOPICS)]})",
        "kind": KINDS[i % len(KINDS)],
        "score": i % 5,
    }
    return ("memories", user), f"m{i:06d}", value


def memory_scale(h: Any) -> None:
    """100,000 memories over 1,000 users, searched on both paths (ours only): semantic
    search under one user and under all users, a filtered semantic search, a filtered
    search and a namespace listing across users; recall@10 of the index against the
    client path's exact ranking."""
    from langgraph.store.base import PutOp

    memories = int(h.size("memory_scale_memories"))
    index = {"dims": SCALE_DIMS, "embed": embedder(SCALE_DIMS), "fields": ["text"]}
    native = h.make_store(index)  # "auto": the vector index once ACTIVE
    client = h.make_store(index, table=native.table_name, vector_search="client")
    with h.phase("scale_put"):
        for start in range(0, memories, 100):
            ops = [PutOp(*scale_memory(i)) for i in range(start, start + 100)]
            _, ms = _timed(lambda ops=ops: native.batch(ops))
            h.sample("put_batch", ms)
    native.vector_index_status()  # the store looks once, outside the measured phases
    users = [("memories", f"user-{u:04d}") for u in range(0, SCALE_USERS, SCALE_USERS // 50)]
    for path, store in (("native", native), ("client", client)):
        with h.phase(f"scale_user_{path}"):
            for prefix in users:
                for query in SCALE_QUERIES[:2]:
                    _, ms = _timed(
                        lambda p=prefix, q=query, s=store: s.search(p, query=q, limit=10)
                    )
                    h.sample("semantic_user", ms)
        repeats = 8 if path == "native" else 2
        with h.phase(f"scale_all_{path}"):
            for r in range(repeats):
                query = SCALE_QUERIES[r % len(SCALE_QUERIES)]
                _, ms = _timed(lambda q=query, s=store: s.search(("memories",), query=q, limit=10))
                h.sample("semantic_all", ms)
        with h.phase(f"scale_filtered_semantic_{path}"):
            for r in range(repeats):
                query = SCALE_QUERIES[r % len(SCALE_QUERIES)]
                _, ms = _timed(
                    lambda q=query, s=store: s.search(
                        ("memories",), query=q, filter={"kind": "fact"}, limit=5
                    )
                )
                h.sample("semantic_filtered", ms)
    recalls_user, recalls_all = [], []
    for query in SCALE_QUERIES[:2]:
        for prefix in users[:10]:
            exact = {
                (tuple(i.namespace), i.key): i.score or 0.0
                for i in client.search(prefix, query=query, limit=100)
            }
            recalls_user.append(recall_at(native.search(prefix, query=query, limit=10), exact, 10))
        exact = {
            (tuple(i.namespace), i.key): i.score or 0.0
            for i in client.search(("memories",), query=query, limit=100)
        }
        recalls_all.append(
            recall_at(native.search(("memories",), query=query, limit=10), exact, 10)
        )
    h.note("scale_recall_user", round(sum(recalls_user) / len(recalls_user), 4))
    h.note("scale_recall_all", round(sum(recalls_all) / len(recalls_all), 4))
    with h.phase("scale_filter"):
        for _ in range(2):
            found, ms = _timed(
                lambda: native.search(
                    ("memories",), filter={"kind": "fact", "score": {"$gte": 3}}, limit=100
                )
            )
            h.sample("search_filter", ms)
        h.note("scale_filter_rows", len(found))
    with h.phase("scale_list_namespaces"):
        for _ in range(3):
            listed, ms = _timed(lambda: native.list_namespaces(prefix=("memories",), limit=100))
            h.sample("list_namespaces", ms)
        h.note("scale_namespaces_listed", len(listed))


WORKLOADS: dict[str, Callable[[Any], None]] = {
    "store": store,
    "semantic_limit": semantic_limit,
    "memory_scale": memory_scale,
}
