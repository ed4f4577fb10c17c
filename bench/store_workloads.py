"""The store workload, (s): 1,000 memories in 50 namespaces, then gets, searches under a
prefix, filtered searches across namespaces, namespace listings (again once the table has
grown 5x) and semantic searches, each a phase of its own (requests, capacity and latency
per phase). Loaded by the runner
inside each store's virtualenv: stdlib only, each store's library imported by its
factory. ``semantic_limit`` (ours only) measures how many vectors one prefix can hold
before a semantic search passes 100 ms or 25 RCU.
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


GROWTH = 4000
"""Memories added elsewhere in the table (``("archive", user)``) before the same searches
and listings run again: what a store's reads do when the table grows 5x."""


def _grown(h: Any, s: Any) -> None:
    from langgraph.store.base import PutOp

    with h.phase("grow"):
        for start in range(0, GROWTH, 100):
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
    with h.phase("search_prefix_grown"):
        for u in range(20):
            _, ms = _timed(lambda u=u: s.search(("memories", f"user-{u:02d}"), limit=100))
            h.sample("search_prefix", ms)
    with h.phase("search_filter_grown"):
        for _ in range(3):
            found, ms = _timed(
                lambda: s.search(
                    ("memories",), filter={"kind": "fact", "score": {"$gte": 3}}, limit=1000
                )
            )
            h.sample("search_filter", ms)
        h.note("search_filter_grown_rows", len(found))
    with h.phase("list_namespaces_grown"):
        for _ in range(5):
            listed, ms = _timed(lambda: s.list_namespaces(prefix=("memories",), limit=100))
            h.sample("list_namespaces", ms)
        h.note("namespaces_grown_listed", len(listed))


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
    _grown(h, s)
    index = {"dims": 64, "embed": embedder(64), "fields": ["text"]}
    try:
        indexed = h.make_store(index)
        with h.phase("semantic_put"):
            _fill(h, indexed)
        with h.phase("semantic"):
            rows = 0
            for u in range(20):
                found, ms = _timed(
                    lambda u=u: indexed.search(
                        ("memories", f"user-{u:02d}"), query="green tea in the morning", limit=5
                    )
                )
                h.sample("semantic_user", ms)
                rows += sum(1 for f in found if "green tea" in f.value["text"])
            h.note("semantic_top_hits", rows)
            h.note("semantic_top_hits_expected", _green_tea_expected(top=5, users=20))
            for _ in range(3):
                _, ms = _timed(
                    lambda: indexed.search(("memories",), query="rollback checkout", limit=10)
                )
                h.sample("semantic_all", ms)
    except Exception as exc:  # noqa: BLE001 - a store without semantic search here is a result
        h.note("semantic_error", f"{type(exc).__name__}: {str(exc)[:200]}")


def semantic_limit(h: Any) -> None:
    """How many vectors under one prefix a semantic search reads within 100 ms and
    25 RCU, at 256 and 1,536 dimensions (ours only)."""
    from langgraph.store.base import PutOp

    found: dict[str, Any] = {}
    for dims in (256, 1536):
        index = {"dims": dims, "embed": embedder(dims), "fields": ["text"]}
        s = h.make_store(index)
        count = 0
        for target in (25, 50, 100, 200, 400, 800):
            ops = [
                PutOp(
                    ("limit", f"d{dims}"), f"m{i:05d}", {"text": TOPICS[i % len(TOPICS)] + f" {i}"}
                )
                for i in range(count, target)
            ]
            for start in range(0, len(ops), 100):
                s.batch(ops[start : start + 100])
            count = target
            phase = f"d{dims}_n{target}"
            with h.phase(phase):
                for _ in range(5):
                    namespace = ("limit", f"d{dims}")
                    _, ms = _timed(
                        lambda s=s, ns=namespace: s.search(ns, query="green tea", limit=5)
                    )
                    h.sample("semantic", ms)
            found[phase] = target
    h.note("semantic_limit_points", found)


WORKLOADS: dict[str, Callable[[Any], None]] = {"store": store, "semantic_limit": semantic_limit}
