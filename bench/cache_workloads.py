"""The node-cache workload (n, ``cache``): a graph whose slow node has a ``CachePolicy``,
run on each of LangGraph's caches (``BaseCache``): ours (``DynamoDBCache``),
``InMemoryCache``, ``SqliteCache`` and ``RedisCache``.

The graph is ``START -> answer -> show -> END``, compiled without a checkpointer, so the
only requests a run makes are the cache's. ``answer`` stands for an LLM or tool call: it
sleeps ``cache_work_ms`` (cheap on the CPU) and returns an answer, cached with
``CachePolicy(ttl=3600)``; ``show`` is not cached and cuts a preview of the answer. Two
answer sizes: ``1kb``, about 1,000 characters of text, and ``600kb``, a 600,000-character
base64 image a tool rendered (random bytes: zstd takes it only to about 451 KB, over an
item's 350 KB, so ours chunks it).

For each size, each phase ``runs`` invokes of distinct questions:

- ``<size>_none``: the graph compiled without a cache (what a run costs without one);
- ``<size>_miss_<rtt>``: with the cache, questions never asked: each run misses (a
  ``get``), runs the node and writes its result (a ``set``);
- ``<size>_hit_<rtt>``: the same questions again: each run is a hit (a ``get``), the node
  does not run (checked, as is the answer).

``<rtt>`` is ``loopback``, then ``rtt10`` with every request to DynamoDB held 10 ms in the
counting proxy (and every Redis round trip in the Redis proxy): a stand-in for the
network. The in-process caches (``InMemoryCache``, ``SqliteCache``) make no requests, so
they run on loopback only. The runner counts each phase's requests, capacity and bytes
per cache call (``get``, ``set``) and times every call; the bytes each cache holds per
entry are read after each size.

No ``from __future__ import annotations`` here: LangGraph reads the state's annotations.
"""

import base64
import os
import random
import shutil
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from typing_extensions import TypedDict

VALUE_SIZES = ("1kb", "600kb")
"""The answer sizes, in the order they run."""
LOCAL = ("memory-cache", "sqlite-cache")
"""Caches in the process: no requests, so no simulated round trip."""
TTL_S = 3600
REDIS_URL_ENV = "BENCH_REDIS_URL"
"""Where the orchestrator puts the URL of the redis-server it started."""

_WORDS = (
    "the cache answer model tool node graph step value request latency table item write "
    "read partition key region cost token prompt context summary report customer order "
    "payment incident service deploy metric alert trace retry error budget window"
).split()


def answer_value(size: str, question: str) -> str:
    """The node's answer to ``question``: the same for the same question."""
    rng = random.Random(f"bench-cache-{size}-{question}")
    if size == "600kb":
        return base64.b64encode(rng.randbytes(450_000)).decode()  # 600,000 characters
    words: list[str] = []
    length = 0
    while length < 1000:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:1000]


def question(size: str, tag: str, i: int) -> str:
    """The ``i``-th question of a phase (distinct per size and round trip)."""
    return f"question {i} ({size}, {tag}): what does the incident report say?"


def rtt_tag(rtt_ms: float) -> str:
    return "loopback" if not rtt_ms else f"rtt{rtt_ms:g}"


class CacheState(TypedDict, total=False):
    question: str
    answer: str
    shown: str


def build_graph(size: str, work_ms: float, works: list[float]) -> Any:
    """``START -> answer (cached) -> show -> END``; ``answer`` appends its duration (ms)
    to ``works`` each time it runs."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import CachePolicy

    def answer(state: CacheState) -> dict[str, Any]:
        started = time.perf_counter()
        time.sleep(work_ms / 1000)  # the LLM or tool call
        value = answer_value(size, state["question"])
        works.append((time.perf_counter() - started) * 1000)
        return {"answer": value}

    def show(state: CacheState) -> dict[str, Any]:
        return {"shown": state["answer"][:64]}

    builder = StateGraph(CacheState)
    builder.add_node("answer", answer, cache_policy=CachePolicy(ttl=TTL_S))
    builder.add_node("show", show)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", "show")
    builder.add_edge("show", END)
    return builder


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - started) * 1000


# --- the caches ---------------------------------------------------------------------------
def make_cache(h: Any, table: str) -> Any:
    """The cache of spec ``h.args.saver``, new and empty (ours on table ``table``, through
    the counting proxy; Redis through a counting proxy of its own, ``h.wire``)."""
    name = h.args.saver
    if name == "ours-cache":
        from langgraph_dynamodb import DynamoDBCache

        ours = DynamoDBCache(
            table_name=table, endpoint_url=h.args.endpoint, region_name=h.args.region
        )
        ours.setup(prepare_async=False)
        return ours
    if name == "memory-cache":
        from langgraph.cache.memory import InMemoryCache

        return InMemoryCache()
    if name == "sqlite-cache":
        import tempfile

        from langgraph.cache.sqlite import SqliteCache

        folder = tempfile.mkdtemp(prefix="bench-sqlite-cache-")
        sqlite = SqliteCache(path=os.path.join(folder, "cache.db"))
        sqlite.bench_folder = folder  # type: ignore[attr-defined]
        return sqlite
    if name == "redis-cache":
        url = os.environ.get(REDIS_URL_ENV)
        if not url:
            raise RuntimeError(f"no redis-server for this run ({REDIS_URL_ENV} is unset)")
        import redis
        from langgraph.cache.redis import RedisCache

        parts = urllib.parse.urlsplit(url)
        wire = h.load("redis_wire").CountingTcpProxy(
            (parts.hostname or "127.0.0.1", parts.port or 6379),
            lambda: h.state.scope,
            lambda: h.state.delay_ms,
        )
        h.wire = wire.start()
        control = redis.Redis.from_url(url)  # straight to the server: not counted
        control.flushdb()
        client = redis.Redis(host="127.0.0.1", port=wire.port)
        client.ping()  # RedisCache swallows errors (a miss): fail here instead
        made = RedisCache(client)
        made.bench_control = control  # type: ignore[attr-defined]
        h.note("redis_version", control.info("server").get("redis_version"))
        return made
    raise KeyError(f"unknown cache {name!r}")


def stored(h: Any) -> tuple[int, int]:
    """(items, bytes) the cache holds now, as it holds them: for ours every item sized by
    DynamoDB's rules (entries and chunks; not the one directory item of the namespace);
    for Redis each key and value; for SQLite the row's columns; in memory the serialized
    value."""
    name, cache = h.args.saver, h.saver
    if name == "ours-cache":
        found = h.table_bytes(cache.table_name)
        directory = found["by_kind"].get("d", {"items": 0, "bytes": 0})
        return found["items"] - directory["items"], found["bytes"] - directory["bytes"]
    if name == "memory-cache":
        rows = [row for entries in cache._cache.values() for row in entries.values()]
        return len(rows), sum(len(enc) + len(val) for enc, val, _ in rows)
    if name == "sqlite-cache":
        with cache._lock:
            count, size = cache._conn.execute(
                "SELECT count(*), coalesce(sum(length(ns) + length(key) + length(encoding)"
                " + length(val)), 0) FROM cache"
            ).fetchone()
        return int(count), int(size)
    if name == "redis-cache":
        control = cache.bench_control
        keys = list(control.scan_iter(match=cache.prefix + "*", count=1000))
        return len(keys), sum(len(k) + int(control.strlen(k)) for k in keys)
    raise KeyError(name)


def _close(h: Any) -> None:
    cache = h.saver
    folder = getattr(cache, "bench_folder", None)
    if folder is not None:
        cache._conn.close()
        shutil.rmtree(folder, ignore_errors=True)
    control = getattr(cache, "bench_control", None)
    if control is not None:
        cache.redis.close()
        control.close()


# --- the workload ---------------------------------------------------------------------------
def cache(h: Any) -> None:
    """The workload (see the module docstring)."""
    runs = int(h.size("cache_runs"))
    work_ms = float(h.size("cache_work_ms"))
    local = h.args.saver in LOCAL
    rtts = (0.0,) if local else (0.0, float(h.size("cache_rtt_ms")))
    h.note("runs", runs)
    h.note("work_ms", work_ms)
    h.note("ttl_s", TTL_S)
    h.note("rtts_ms", list(rtts))
    h.note("local", local)
    try:
        before = stored(h)
        for size in VALUE_SIZES:
            works: list[float] = []
            plain = build_graph(size, work_ms, works).compile()
            with h.phase(f"{size}_none"):
                for i in range(runs):
                    asked = {"question": question(size, "none", i)}
                    _, ms = _timed(lambda asked=asked, graph=plain: graph.invoke(asked))
                    h.sample("run", ms)
                for ms in works:
                    h.sample("work", ms)
            for rtt_ms in rtts:
                _cached_runs(h, size, rtt_ms, runs, work_ms)
            after = stored(h)
            h.note(
                f"{size}_stored",
                {
                    "entries": runs * len(rtts),
                    "items": after[0] - before[0],
                    "bytes": after[1] - before[1],
                },
            )
            before = after
    finally:
        _close(h)


def _cached_runs(h: Any, size: str, rtt_ms: float, runs: int, work_ms: float) -> None:
    """The miss phase and the hit phase of one size at one round trip."""
    tag = rtt_tag(rtt_ms)
    works: list[float] = []
    graph = build_graph(size, work_ms, works).compile(cache=h.saver)
    questions = [question(size, tag, i) for i in range(runs)]
    right = 0
    with h.phase(f"{size}_miss_{tag}", rtt_ms=rtt_ms):
        for q in questions:
            out, ms = _timed(lambda q=q: graph.invoke({"question": q}))
            h.sample("run", ms)
            right += out["answer"] == answer_value(size, q)
        for ms in works:
            h.sample("work", ms)
    ran = len(works)
    with h.phase(f"{size}_hit_{tag}", rtt_ms=rtt_ms):
        for q in questions:
            out, ms = _timed(lambda q=q: graph.invoke({"question": q}))
            h.sample("run", ms)
            right += out["answer"] == answer_value(size, q)
    h.note(
        f"{size}_{tag}_checks",
        {
            "node_runs_on_misses": ran,
            "node_runs_on_hits": len(works) - ran,
            "answers_right": right,
            "runs": 2 * runs,
        },
    )


WORKLOADS: dict[str, Callable[[Any], None]] = {"cache": cache}
