"""Soak: many threads of a real graph, many steps each, sync (a thread pool) or async
(``asyncio.gather``), on one saver; then check that no step was lost and measure memory,
sockets and clients. ``scripts/soak.py`` is the command line; ``test_soak.py`` the short
version.

A *step* is one ``invoke`` of a one-node graph that appends the step number to a list
channel (an append-only delta every time) and counts. After the run, each thread's state
must hold every step in order, its history must have the checkpoints InMemorySaver makes
for the same steps, and every step must have its own checkpoint in that history.
"""

from __future__ import annotations

import asyncio
import gc
import operator
import os
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_dynamodb import DynamoDBSaver

REGION = "us-east-1"


class SoakState(TypedDict):
    inbox: int
    steps: Annotated[list[int], operator.add]
    n: int


def soak_graph() -> StateGraph:
    def work(state: SoakState) -> dict[str, Any]:
        return {"steps": [state["inbox"]], "n": state.get("n", 0) + 1}

    builder = StateGraph(SoakState)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    return builder


def checkpoints_for(steps: int) -> int:
    """How many checkpoints InMemorySaver keeps for a thread after ``steps`` invokes."""
    graph = soak_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "reference"}}
    for step in range(steps):
        graph.invoke({"inbox": step}, config)
    return len(list(graph.get_state_history(config)))


# --- measurements -----------------------------------------------------------------------------
def rss_mb() -> float:
    """Resident set size of this process (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_sockets() -> int:
    """Open socket file descriptors of this process (Linux)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def live(type_name: str, predicate: Callable[[Any], bool] = lambda o: True) -> int:
    """Objects alive whose class (or a base) has this qualified name."""
    gc.collect()
    count = 0
    for obj in gc.get_objects():
        try:
            names = {f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__}
        except Exception:
            continue
        if type_name in names and predicate(obj):
            count += 1
    return count


def aio_clients() -> int:
    return live("aiobotocore.client.AioBaseClient")


def aiohttp_sessions_open() -> int:
    return live("aiohttp.client.ClientSession", lambda s: not s.closed)


@dataclass
class Figures:
    """What one soak run measured."""

    mode: str
    threads: int
    steps: int
    seconds: float = 0.0
    invokes: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    lost_steps: int = 0
    checkpoints: int = 0
    rss_mb: dict[str, float] = field(default_factory=dict)
    traced_mb: dict[str, float] = field(default_factory=dict)
    traced_peak_mb: float = 0.0
    sockets: dict[str, int] = field(default_factory=dict)
    aio_clients: dict[str, int] = field(default_factory=dict)
    aiohttp_sessions_open_after: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.lost_steps == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _marks(steps: int) -> list[int]:
    """Phase ends: warm-up (10%), half, end. Memory is compared between half and end."""
    return sorted({max(1, steps // 10), max(1, steps // 2), steps})


def _sample(fig: Figures, label: str, trace: bool) -> None:
    gc.collect()
    fig.rss_mb[label] = round(rss_mb(), 1)
    if trace and tracemalloc.is_tracing():
        fig.traced_mb[label] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)


# --- runs -------------------------------------------------------------------------------------
def run_sync(endpoint: str, table: str, threads: int, steps: int, *, trace: bool = True) -> Figures:
    """``threads`` threads of a thread pool, each invoking its own graph thread."""
    from botocore.config import Config

    fig = Figures("sync", threads, steps)
    fig.sockets["before"] = open_sockets()
    saver = DynamoDBSaver(
        table_name=table,
        endpoint_url=endpoint,
        region_name=REGION,
        boto_config=Config(max_pool_connections=threads),
    )
    graph = soak_graph().compile(checkpointer=saver)
    ids = [f"soak-{uuid.uuid4().hex[:8]}-{i}" for i in range(threads)]
    lock = threading.Lock()

    def one(thread_id: str, lo: int, hi: int) -> None:
        config = {"configurable": {"thread_id": thread_id}}
        for step in range(lo, hi):
            try:
                graph.invoke({"inbox": step}, config)
            except Exception as exc:  # recorded, not raised: the figures say what failed
                with lock:
                    fig.errors.append(f"{thread_id} step {step}: {exc!r}")
                return

    started = time.monotonic()
    lo = 0
    with ThreadPoolExecutor(threads) as pool:
        for n, hi in enumerate(_marks(steps)):
            list(pool.map(lambda t, lo=lo, hi=hi: one(t, lo, hi), ids))
            if n == 0 and trace:
                tracemalloc.start()
            _sample(fig, f"{hi} steps", trace)
            lo = hi
    fig.seconds = time.monotonic() - started
    if tracemalloc.is_tracing():
        fig.traced_peak_mb = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
        tracemalloc.stop()
    fig.requests = saver.stats.total_requests
    fig.invokes = threads * steps
    fig.sockets["during"] = open_sockets()
    verify(saver, ids, steps, fig)
    for thread_id in ids:
        saver.delete_thread(thread_id)
    saver.close()
    fig.sockets["after close"] = open_sockets()
    return fig


def run_async(
    endpoint: str, table: str, threads: int, steps: int, *, trace: bool = True
) -> Figures:
    """``threads`` coroutines under ``asyncio.gather``, one saver, one event loop."""
    fig = Figures("async", threads, steps)
    fig.sockets["before"] = open_sockets()
    fig.aio_clients["before"] = aio_clients()

    async def main() -> None:
        async with DynamoDBSaver.from_table(
            table, endpoint_url=endpoint, region_name=REGION
        ) as saver:
            graph = soak_graph().compile(checkpointer=saver)
            ids = [f"soak-{uuid.uuid4().hex[:8]}-{i}" for i in range(threads)]

            async def one(thread_id: str, lo: int, hi: int) -> None:
                config = {"configurable": {"thread_id": thread_id}}
                for step in range(lo, hi):
                    try:
                        await graph.ainvoke({"inbox": step}, config)
                    except Exception as exc:
                        fig.errors.append(f"{thread_id} step {step}: {exc!r}")
                        return

            started = time.monotonic()
            lo = 0
            for n, hi in enumerate(_marks(steps)):
                await asyncio.gather(*(one(t, lo, hi) for t in ids))
                if n == 0 and trace:
                    tracemalloc.start()
                _sample(fig, f"{hi} steps", trace)
                lo = hi
            fig.seconds = time.monotonic() - started
            if tracemalloc.is_tracing():
                fig.traced_peak_mb = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
                tracemalloc.stop()
            fig.requests = saver.stats.total_requests
            fig.invokes = threads * steps
            fig.sockets["during"] = open_sockets()
            fig.aio_clients["during"] = aio_clients()
            await asyncio.to_thread(verify, saver, ids, steps, fig)
            for thread_id in ids:
                await saver.adelete_thread(thread_id)

    asyncio.run(main())
    fig.aio_clients["after close"] = aio_clients()
    fig.aiohttp_sessions_open_after = aiohttp_sessions_open()
    fig.sockets["after close"] = open_sockets()
    return fig


def verify(saver: DynamoDBSaver, ids: list[str], steps: int, fig: Figures) -> None:
    """Every thread holds every step, in order, each with its own checkpoint, and as many
    checkpoints as InMemorySaver keeps (sync API, a fresh graph)."""
    expected = checkpoints_for(steps)
    graph = soak_graph().compile(checkpointer=saver)
    for thread_id in ids:
        config = {"configurable": {"thread_id": thread_id}}
        state = graph.get_state(config).values
        history = list(graph.get_state_history(config))
        fig.checkpoints += len(history)
        seen = {len(s.values.get("steps", [])) for s in history}
        lost = [i for i in range(1, steps + 1) if i not in seen]
        ok_state = state.get("steps") == list(range(steps)) and state.get("n") == steps
        if lost or not ok_state or len(history) != expected:
            fig.lost_steps += max(len(lost), 1)
            fig.errors.append(
                f"{thread_id}: {len(lost)} steps missing, {len(history)}/{expected} "
                f"checkpoints, final state {'ok' if ok_state else 'WRONG'}"
            )


def table_lines(figures: list[Figures]) -> list[str]:
    """The figures as a Markdown table."""
    rows = [
        "| mode | threads x steps | invokes/s | requests | errors | lost steps | checkpoints "
        "| RSS MB (per phase) | traced MB (half -> end, peak) | sockets before/during/after "
        "| aio clients during/after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        traced = " -> ".join(f"{v}" for v in f.traced_mb.values())
        rows.append(
            f"| {f.mode} | {f.threads} x {f.steps} | {f.invokes / max(f.seconds, 1e-9):.0f} "
            f"| {f.requests} | {len(f.errors)} | {f.lost_steps} | {f.checkpoints} "
            f"| {' / '.join(str(v) for v in f.rss_mb.values())} "
            f"| {traced or '-'} (peak {f.traced_peak_mb}) "
            f"| {f.sockets.get('before')}/{f.sockets.get('during')}/{f.sockets.get('after close')} "
            f"| {f.aio_clients.get('during', '-')}/{f.aio_clients.get('after close', '-')} |"
        )
    return rows
