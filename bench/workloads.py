"""The benchmark's workloads: graphs, inputs and the steps each saver is put through.

Shared by every saver: the runner (``bench/runner.py``) loads this file by path inside
each saver's virtualenv and calls :data:`WORKLOADS` ``[name](h)``, where ``h`` is the
runner's harness (the instrumented saver as ``h.saver``, sizes as ``h.size(key)``,
phases as ``with h.phase(name, api):``, facts as ``h.note(key, value)``). Needs only
``langgraph`` (and ``langchain_core``, which it depends on).

Text is deterministic pseudo-prose: words drawn from a fixed list, Zipf-weighted, with a
fixed seed per message, so every saver stores the same bytes and compression sees
prose-like redundancy (zstd -3 compresses it about as well as English text).

No ``from __future__ import annotations`` here: LangGraph reads the state schemas'
annotations at runtime.
"""

import asyncio
import cProfile
import io
import operator
import os
import pstats
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict

# --- deterministic pseudo-prose --------------------------------------------------------------
WORDS = """
the of and to a in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there been one all we their has would when if so no will
more other its time into only some could new them than may these two first any then such
state graph node agent message model tool user answer question result step value channel
thread checkpoint table item request write read query page cost latency storage memory
history turn task plan search document source finding summary report review draft note data
system process service client server region partition key sort index capacity unit byte
record event stream batch retry error failure timeout limit size version change update delete
copy list order time window budget price customer account invoice payment contract policy
risk market product feature release test build deploy monitor alert incident trace metric log
because however therefore although while after before during between within without against
through across under over about around toward upon among beyond despite unless until whether
small large early late recent current previous next final initial local global public private
simple complex direct indirect clear vague strong weak fast slow careful quick steady sudden
important useful possible likely certain different similar common rare specific general main
people company team group manager engineer analyst researcher designer operator reviewer owner
city country river mountain island coast valley forest desert harbor bridge road station market
morning evening night week month year season spring summer autumn winter today tomorrow
explain describe compare measure estimate predict decide choose prefer suggest propose confirm
consider reduce increase improve avoid allow require include exclude support replace combine
north south east west upper lower inner outer central remote nearby distant open closed
water light sound power heat weather energy signal noise pattern shape color surface edge point
""".split()

_WEIGHTS = [1.0 / (rank + 8) for rank in range(len(WORDS))]


def prose(n_chars: int, seed: int | str) -> str:
    """About ``n_chars`` characters of sentence-like text, the same for the same seed."""
    rng = random.Random(f"bench-prose-{seed}")
    parts: list[str] = []
    length = 0
    while length < n_chars:
        words = rng.choices(WORDS, weights=_WEIGHTS, k=rng.randint(7, 19))
        if rng.random() < 0.3:
            words.insert(rng.randint(2, len(words) - 1), str(rng.randint(2, 2048)))
        if rng.random() < 0.35:
            cut = rng.randint(2, len(words) - 2)
            words[cut] += ","
        sentence = " ".join(words)
        sentence = sentence[0].upper() + sentence[1:] + rng.choice(".....?!")
        parts.append(sentence)
        length += len(sentence) + 1
    text = " ".join(parts)
    if len(text) > n_chars:
        text = text[:n_chars].rsplit(" ", 1)[0] + "."
    return text


# --- graphs ---------------------------------------------------------------------------------
class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build_chat_graph(reply_chars: int = 900) -> StateGraph:
    """START -> respond -> END; ``respond`` adds one ~900-character AI message."""

    def respond(state: ChatState) -> dict[str, Any]:
        turn = sum(1 for m in state["messages"] if m.type == "human")
        return {"messages": [AIMessage(content=prose(reply_chars, f"ai-{turn}"), id=f"ai-{turn}")]}

    builder = StateGraph(ChatState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    builder.add_edge("respond", END)
    return builder


def chat_input(turn: int, chars: int = 120) -> dict[str, Any]:
    """The user message of turn ``turn``."""
    return {"messages": [HumanMessage(content=prose(chars, f"human-{turn}"), id=f"human-{turn}")]}


class FanoutState(TypedDict, total=False):
    topic: str
    findings: Annotated[list[str], operator.add]
    report: str


def build_fanout_graph(agents: int = 6, finding_chars: int = 3000) -> StateGraph:
    """START -> ``agents`` parallel agents (a ~3 KB finding each) -> join -> END."""
    builder = StateGraph(FanoutState)

    def make_agent(i: int) -> Callable[[FanoutState], dict[str, Any]]:
        def agent(state: FanoutState) -> dict[str, Any]:
            return {"findings": [prose(finding_chars, f"{state['topic']}-agent-{i}")]}

        return agent

    def join(state: FanoutState) -> dict[str, Any]:
        heads = [f.split(".")[0] for f in sorted(state.get("findings", []))]
        return {"report": " / ".join(heads)[:600]}

    builder.add_node("join", join)
    for i in range(agents):
        builder.add_node(f"agent_{i}", make_agent(i))
        builder.add_edge(START, f"agent_{i}")
        builder.add_edge(f"agent_{i}", "join")
    builder.add_edge("join", END)
    return builder


class LargeState(TypedDict, total=False):
    corpus: Annotated[list[str], operator.add]
    notes: Annotated[list[str], operator.add]


def build_large_graph(total_chars: int, doc_chars: int = 10_000) -> StateGraph:
    """START -> ingest -> annotate -> END. The first run's ingest adds ``total_chars`` of
    documents (``corpus`` never changes again); every run's annotate adds a short note."""

    def ingest(state: LargeState) -> dict[str, Any]:
        if state.get("corpus"):
            return {}
        docs = max(1, total_chars // doc_chars)
        return {"corpus": [prose(doc_chars, f"doc-{i}") for i in range(docs)]}

    def annotate(state: LargeState) -> dict[str, Any]:
        n = len(state.get("notes", []))
        return {"notes": [prose(200, f"note-{n}")]}

    builder = StateGraph(LargeState)
    builder.add_node("ingest", ingest)
    builder.add_node("annotate", annotate)
    builder.add_edge(START, "ingest")
    builder.add_edge("ingest", "annotate")
    builder.add_edge("annotate", END)
    return builder


def _extend(state: list[Any] | None, writes: list[Any]) -> list[Any]:
    """A DeltaChannel reducer: append every write (batching-invariant)."""
    out = list(state or [])
    for write in writes:
        out.extend(write if isinstance(write, list) else [write])
    return out


def build_delta_graph(reply_chars: int = 900) -> StateGraph | None:
    """The chat graph with its list in a ``DeltaChannel`` (langgraph 1.2, beta); ``None``
    if this langgraph has none."""
    try:
        from langgraph.channels.delta import DeltaChannel
    except ImportError:
        return None

    class DeltaChatState(TypedDict):
        messages: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=1000)]

    def respond(state: DeltaChatState) -> dict[str, Any]:
        turn = len(state["messages"]) // 2
        return {"messages": [prose(reply_chars, f"ai-{turn}")]}

    builder = StateGraph(DeltaChatState)
    builder.add_node("respond", respond)
    builder.add_edge(START, "respond")
    builder.add_edge("respond", END)
    return builder


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


# --- (a) chat ------------------------------------------------------------------------------
def chat(h: Any) -> None:
    """40 turns of a one-node chat, then get_state (latest) and the full state history."""
    turns = h.size("chat_turns")
    graph = build_chat_graph().compile(checkpointer=h.saver)
    config = _config("chat")
    with h.phase("graph"):
        for turn in range(turns):
            graph.invoke(chat_input(turn), config)
    with h.phase("get_state"):
        for _ in range(h.size("get_state_samples")):
            snapshot, ms = _timed(lambda: graph.get_state(config))
            h.sample("get_state", ms)
    h.note("messages_latest", len(snapshot.values.get("messages", [])))
    h.note("messages_expected", 2 * turns)
    with h.phase("history"):
        rows = 0
        started = time.perf_counter()
        for _ in graph.get_state_history(config):
            rows += 1
        h.sample("history", (time.perf_counter() - started) * 1000)
    h.note("history_rows", rows)
    h.note("history_rows_expected", 3 * turns)
    with h.phase("list_page"):
        for _ in range(5):
            got, ms = _timed(lambda: list(h.saver.list(config, limit=10)))
            h.sample("list_limit_10", ms)
    h.note("list_limit_10_rows", len(got))


# --- (b) fan-out ---------------------------------------------------------------------------
def fanout(h: Any) -> None:
    """20 runs (one thread each) of 6 parallel agents and a join."""
    graph = build_fanout_graph(h.size("fanout_agents"), h.size("finding_chars")).compile(
        checkpointer=h.saver
    )
    runs = h.size("fanout_runs")
    with h.phase("graph"):
        for run in range(runs):
            out = graph.invoke({"topic": f"topic {run}"}, _config(f"fanout-{run}"))
    h.note("findings_last_run", len(out.get("findings", [])))
    h.note("findings_expected", h.size("fanout_agents"))
    with h.phase("get_state"):
        for run in range(min(runs, h.size("get_state_samples"))):
            config = _config(f"fanout-{run}")
            _, ms = _timed(lambda config=config: graph.get_state(config))
            h.sample("get_state", ms)


# --- (c) a thread with many checkpoints ------------------------------------------------------
def _checkpoint(parent: dict[str, Any] | None, step: int, saver: Any) -> tuple[dict, dict]:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.base.id import uuid6

    cp = empty_checkpoint() if parent is None else dict(parent)
    versions = dict(cp.get("channel_versions", {}))
    values = dict(cp.get("channel_values", {}))
    changed = ["counter", "note"] if step else ["counter", "note", "topic"]
    for ch in changed:
        versions[ch] = saver.get_next_version(versions.get(ch), None)
    values["counter"] = step
    values["note"] = prose(200, f"note-{step}")
    if not step:
        values["topic"] = prose(300, "topic")
    cp.update(
        id=str(uuid6(clock_seq=-1)),
        ts=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        channel_values=values,
        channel_versions=versions,
        versions_seen={"loop": dict(versions)},
    )
    return cp, {ch: versions[ch] for ch in changed}


def _build_thread(
    h: Any, thread_id: str, start: int, stop: int, state: dict, budget: bool = True
) -> int:
    """Put checkpoints ``start..stop-1`` (each with one pending write) on a thread;
    stops early when the workload's time budget is spent."""
    saver = h.saver
    for step in range(start, stop):
        if budget and h.time_left() <= 0:
            return step
        cp, new_versions = _checkpoint(state.get("cp"), step, saver)
        config = state.get("config") or {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": ""}
        }
        metadata = {"source": "loop", "step": step, "parents": {}}
        config = saver.put(config, cp, metadata, new_versions)
        saver.put_writes(config, [("note", f"w{step}")], task_id=f"task-{step}", task_path="")
        state["cp"], state["config"] = cp, config
        state.setdefault("first_id", config["configurable"]["checkpoint_id"])
    return stop


def _measure_reads(h: Any, n: int, thread_id: str, first_id: str | None) -> None:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    with h.phase(f"get_tuple@{n}"):
        for _ in range(10):
            got, ms = _timed(lambda: h.saver.get_tuple(config))
            h.sample("get_tuple_latest", ms)
    h.note(f"latest_step@{n}", (got.metadata or {}).get("step") if got else None)
    if first_id is not None:
        by_id = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": first_id}
        }
        with h.phase(f"get_tuple_oldest@{n}"):
            for _ in range(5):
                _, ms = _timed(lambda: h.saver.get_tuple(by_id))
                h.sample("get_tuple_by_id", ms)
    with h.phase(f"list10@{n}"):
        for _ in range(5):
            rows, ms = _timed(lambda: list(h.saver.list(config, limit=10)))
            h.sample("list_limit_10", ms)
    h.note(f"list10_rows@{n}", len(rows))


def _try(h: Any, key: str, fn: Callable[[], Any]) -> bool:
    try:
        fn()
        return True
    except NotImplementedError:
        h.note(key, "not implemented")
    except Exception as exc:  # noqa: BLE001 - a peer failing is a result
        h.note(key, f"failed: {type(exc).__name__}: {str(exc)[:200]}")
    return False


def scale(h: Any) -> None:
    """A thread grown to 100 / 1,000 / 10,000 checkpoints through the saver API.

    At each size: latest ``get_tuple`` (and by id of the oldest) and ``list(limit=10)``.
    Then ``copy_thread`` (when implemented) makes a twin to ``prune``; ``delete_thread``
    removes the original.
    """
    thread_id = "scale"
    state: dict[str, Any] = {}
    done = 0
    for n in h.size("scale_points"):
        with h.phase(f"build@{n}"):
            reached = _build_thread(h, thread_id, done, n, state)
        done = reached
        if reached < n:
            h.note("stopped_at", reached)
            h.note("stopped_reason", "time budget")
            break
        _measure_reads(h, n, thread_id, state.get("first_id"))
    h.note("checkpoints", done)
    twin = f"{thread_id}-copy"
    with h.phase("copy_thread"):
        copied = _try(h, "copy_thread", lambda: h.saver.copy_thread(thread_id, twin))
    if not copied:
        with h.phase(f"build_twin@{done}"):
            _build_thread(h, twin, 0, done, {}, budget=False)
    with h.phase("prune"):
        pruned = _try(h, "prune", lambda: h.saver.prune([twin], strategy="keep_latest"))
    if pruned:
        left = list(h.saver.list({"configurable": {"thread_id": twin, "checkpoint_ns": ""}}))
        h.note("prune_left_checkpoints", len(left))
    with h.phase("delete_thread"):
        _try(h, "delete_thread", lambda: h.saver.delete_thread(thread_id))
    left = h.saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    h.note("delete_thread_left_a_checkpoint", left is not None)


# --- (d) a large state -----------------------------------------------------------------------
def large(h: Any) -> None:
    """~2 MB of documents added once, then small steps that leave them unchanged."""
    graph = build_large_graph(h.size("large_chars")).compile(checkpointer=h.saver)
    config = _config("large")
    invokes = h.size("large_invokes")
    with h.phase("graph"):
        for i in range(invokes):
            graph.invoke({"notes": [f"run {i}"]}, config)
    with h.phase("get_state"):
        for _ in range(h.size("large_get_state_samples")):
            snapshot, ms = _timed(lambda: graph.get_state(config))
            h.sample("get_state", ms)
    chars = sum(len(d) for d in snapshot.values.get("corpus", []))
    h.note("state_chars", chars)
    h.note("notes", len(snapshot.values.get("notes", [])))
    h.note("notes_expected", 2 * invokes)


# --- (e) concurrent async ------------------------------------------------------------------
class MemoryState(TypedDict):
    user: str
    turn: int
    recalled: int


def build_memory_graph(note_chars: int = 300) -> StateGraph:
    """START -> remember -> END, for a store: ``remember`` reads the user's profile
    (``aget``), recalls their memories (``asearch`` under their namespace, 5 at most) and
    writes the memory of this turn (``aput``, key ``turn-<n>``: a repeat of the same runs
    rewrites the same items, so every repeat reads and writes as much): three store calls
    a run, through LangGraph's ``store=`` injection, as a memory-using agent makes them."""

    async def remember(state: MemoryState, *, store: BaseStore) -> dict[str, Any]:
        namespace = ("memories", state["user"])
        await store.aget(namespace, "profile")
        recalled = await store.asearch(namespace, limit=5)
        note = {"text": prose(note_chars, f"{state['user']}-{state['turn']}")}
        await store.aput(namespace, f"turn-{state['turn']}", note)
        return {"recalled": len(recalled)}

    builder = StateGraph(MemoryState)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", END)
    return builder


class _PeakRss:
    """The process's peak resident set size while inside (sampled every 10 ms from
    ``/proc/self/statm``; ``None`` where there is no ``/proc``)."""

    def __init__(self) -> None:
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def rss_mb() -> float | None:
        try:
            with open("/proc/self/statm") as statm:
                pages = int(statm.read().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6

    def _sample(self) -> None:
        while True:
            now = self.rss_mb()
            if now is not None and (self.peak_mb is None or now > self.peak_mb):
                self.peak_mb = now
            if self._stop.wait(0.01):
                return

    def __enter__(self) -> "_PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def concurrent(h: Any) -> None:
    """N ainvokes at once on one saver, for each N of ``concurrent_runs`` (a chat turn
    each, fresh threads), against the same saver's runs one after another; on loopback,
    then with a simulated round trip per request. For a store spec the graph is the
    memory agent of :func:`build_memory_graph` (no checkpointer, the store through
    ``store=``). Every figure is the median of ``concurrent_repeats`` measurements (five:
    a round of 32 at once lasts 0.15 to 0.4 s, so one full garbage collection or a
    scheduler hiccup moves it by half, and with three repeats one such round in a cell
    was enough to move its median), after one round of as many runs not measured (times on
    a shared machine move between runs; the first round pays for connections and JIT);
    a run that raises is counted as an
    error, not retried. Also noted: the process's peak RSS while the runs were in
    flight, and the client CPU per run."""
    sizes = list(h.size("concurrent_runs"))
    repeats = h.size("concurrent_repeats")
    sequential_n = h.size("concurrent_sequential")
    is_store = h.args.saver in h.load("savers").STORES
    figures = h.load("concurrent_report")  # a cell's figures, as the report merges them
    if is_store:
        graph = build_memory_graph().compile(store=h.saver)
    else:
        graph = build_chat_graph().compile(checkpointer=h.saver)

    def run_input(i: int, tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if is_store:  # 32 users, each with a growing history
            return {"user": f"user-{i % 32:02d}", "turn": i, "recalled": 0}, _config(f"{tag}-{i}")
        return chat_input(i), _config(f"{tag}-{i}")

    async def sequential(rtt: float, suffix: str) -> None:
        times = []
        for rep in range(repeats):
            tag = f"seq{suffix}-{rep}"
            with h.phase(tag, api="async", rtt_ms=rtt):
                started = time.perf_counter()
                for i in range(sequential_n):
                    await graph.ainvoke(*run_input(i, tag))
                times.append(time.perf_counter() - started)
        h.note(f"sequential_s{suffix}", [round(t, 3) for t in times])
        h.note(f"sequential_per_s{suffix}", figures.sequential_per_s(sequential_n, times))

    async def at_once(n: int, rtt: float, suffix: str) -> None:
        walls, cpus, errors, rss = [], [], 0, []
        # One round first, not measured: it opens the saver's connections (as many as its
        # pool takes) and runs DynamoDB Local's code for this saver's requests at this
        # concurrency through its JIT, which otherwise bills the first repeat, and most of
        # all the first saver to run (its Local CPU per ainvoke fell from 5 to 2.5 ms over
        # its first dozen rounds: scripts/concurrency_costs.py).
        with h.phase(f"conc{n}{suffix}-warm", api="async", rtt_ms=rtt):
            await asyncio.gather(
                *(graph.ainvoke(*run_input(i, f"warm{n}{suffix}")) for i in range(n)),
                return_exceptions=True,
            )
        for rep in range(repeats):
            tag = f"conc{n}{suffix}-{rep}"
            with h.phase(tag, api="async", rtt_ms=rtt), _PeakRss() as peak:
                started, cpu = time.perf_counter(), time.process_time()
                done = await asyncio.gather(
                    *(graph.ainvoke(*run_input(i, tag)) for i in range(n)), return_exceptions=True
                )
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            failed = [r for r in done if isinstance(r, BaseException)]
            errors += len(failed)
            if failed:
                h.note(f"error@{n}{suffix}", f"{type(failed[0]).__name__}: {failed[0]}"[:300])
            rss.append(peak.peak_mb)
        if not is_store:
            snap = await graph.aget_state(_config(f"{tag}-{n - 1}"))
            assert len(snap.values.get("messages", [])) == 2, "a concurrent run lost its state"
        h.note(f"concurrent_s{suffix}@{n}", [round(w, 3) for w in walls])
        seq = h.result["notes"].get(f"sequential_per_s{suffix}")
        for key, value in figures.cell_figures(n, walls, cpus, seq).items():
            h.note(f"{key}{suffix}@{n}", value)
        h.note(f"cpu_s{suffix}@{n}", [round(c, 4) for c in cpus])  # to merge two passes
        h.note(f"errors{suffix}@{n}", errors)
        known = [r for r in rss if r is not None]
        h.note(f"peak_rss_mb{suffix}@{n}", round(max(known), 1) if known else None)
        if n == sizes[0]:  # the figures of the first size under their earlier names
            for key in figures.FIRST_SIZE_KEYS:
                if f"{key}{suffix}@{n}" in h.result["notes"]:
                    h.note(f"{key}{suffix}", h.result["notes"][f"{key}{suffix}@{n}"])

    async def main() -> None:
        await graph.ainvoke(*run_input(0, "warmup"))
        h.note("invokes", sizes[0])
        h.note("sequential_runs", sequential_n)
        h.note("runs", sizes)
        h.note("repeats", repeats)
        h.note("kind", "store" if is_store else "saver")
        h.note("rss_mb_start", _PeakRss.rss_mb())
        rtt = h.size("concurrent_rtt_ms")
        h.note("rtt_ms", rtt)
        for delay, suffix in ((0.0, ""), (rtt, "_rtt")):
            await sequential(delay, suffix)
            for n in sizes:
                await at_once(n, delay, suffix)
        await h.aclose_saver()

    asyncio.run(main())


# --- (f) DeltaChannel history ------------------------------------------------------------------
def delta(h: Any) -> None:
    """A chat whose list is a DeltaChannel: get_state replays it via
    ``get_delta_channel_history``; counts that method's requests."""
    builder = build_delta_graph()
    if builder is None:
        h.note("skipped", "this langgraph has no DeltaChannel")
        return
    h.note("overrides_get_delta_channel_history", h.overrides("get_delta_channel_history"))
    graph = builder.compile(checkpointer=h.saver)
    turns = h.size("delta_turns")
    config = _config("delta")
    with h.phase("graph"):
        for turn in range(turns):
            graph.invoke({"messages": [prose(120, f"human-{turn}")]}, config)
    with h.phase("get_state"):
        for _ in range(5):
            snapshot, ms = _timed(lambda: graph.get_state(config))
            h.sample("get_state", ms)
    h.note("messages_latest", len(snapshot.values.get("messages", [])))
    h.note("messages_expected", 2 * turns)


# --- (g) CPU per put of a 100 KB state ----------------------------------------------------
def cpu(h: Any) -> None:
    """Client CPU (this thread) per ``put`` of a checkpoint whose one changed channel
    holds ~100 KB of text; the saver's serializer on the whole checkpoint as a reference
    point; a profile of the puts (top functions by own time, in the JSON)."""
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.base.id import uuid6

    saver = h.saver
    n = h.size("cpu_puts")
    kb = h.size("cpu_state_chars")
    docs = [prose(kb, f"cpu-{i}") for i in range(n)]
    config: dict[str, Any] = {"configurable": {"thread_id": "cpu", "checkpoint_ns": ""}}
    versions: dict[str, Any] = {}
    cps = []
    for i in range(n):
        versions = dict(versions)
        versions["doc"] = saver.get_next_version(versions.get("doc"), None)
        cp = empty_checkpoint()
        cp.update(
            id=str(uuid6(clock_seq=-1)),
            channel_values={"doc": docs[i], "step": i},
            channel_versions=dict(versions, step=versions["doc"]),
        )
        cps.append((cp, {"doc": versions["doc"], "step": versions["doc"]}))
    profile = cProfile.Profile()
    with h.phase("put"):
        for i, (cp, new_versions) in enumerate(cps):
            wall0, cpu0 = time.perf_counter(), time.thread_time()
            profile.enable()
            config = saver.put(
                config, cp, {"source": "loop", "step": i, "parents": {}}, new_versions
            )
            profile.disable()
            h.sample("put_cpu", (time.thread_time() - cpu0) * 1000)
            h.sample("put_wall", (time.perf_counter() - wall0) * 1000)
    serde = saver.serde
    with h.phase("serde"):
        for cp, _ in cps:
            cpu0 = time.thread_time()
            serde.dumps_typed(cp)
            h.sample("serde_dumps_cpu", (time.thread_time() - cpu0) * 1000)
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:15]  # type: ignore[attr-defined]
    h.note(
        "profile_top_tottime",
        [
            {
                "function": f"{fn[0].rsplit('site-packages/', 1)[-1]}:{fn[1]}({fn[2]})",
                "calls": st[1],
                "tottime_ms": round(st[2] * 1000 / n, 3),
                "cumtime_ms": round(st[3] * 1000 / n, 3),
            }
            for fn, st in top
        ],
    )
    h.note("state_chars", kb)


# --- (h) the chat with a network round trip ---------------------------------------------------
def chat_rtt(h: Any) -> None:
    """The chat again on a fresh table, every request delayed by ``rtt_ms`` in the proxy
    (a stand-in for the network to a real DynamoDB endpoint): the wall time of each turn
    and how many of its requests ran one after another (the round trips it waited for,
    whatever ran beside them), then ``get_state``."""
    rtt = h.size("rtt_ms")
    h.note("rtt_ms", rtt)
    turns = h.size("rtt_turns")
    h.note("turns", turns)
    graph = build_chat_graph().compile(checkpointer=h.saver)
    config = _config("chat-rtt")
    with h.phase("graph", rtt_ms=rtt):
        for turn in range(turns):
            with h.spans() as spans:
                _, ms = _timed(lambda turn=turn: graph.invoke(chat_input(turn), config))
            h.sample("turn", ms)
            h.sample("in_sequence", h.in_sequence(spans))
    with h.phase("get_state", rtt_ms=rtt):
        for _ in range(h.size("get_state_samples")):
            snapshot, ms = _timed(lambda: graph.get_state(config))
            h.sample("get_state", ms)
    h.note("messages_latest", len(snapshot.values.get("messages", [])))
    h.note("messages_expected", 2 * turns)


WORKLOADS: dict[str, Callable[[Any], None]] = {
    "chat": chat,
    "fanout": fanout,
    "scale": scale,
    "large": large,
    "concurrent": concurrent,
    "delta": delta,
    "cpu": cpu,
    "rtt": chat_rtt,
}
"""Workload name -> function of the harness."""

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "chat_turns": 40,
        "get_state_samples": 20,
        "fanout_runs": 20,
        "fanout_agents": 6,
        "finding_chars": 3000,
        "scale_points": [100, 1000, 10000],
        "scale_points_peers": [100, 1000],
        "scale_budget_s": 240,
        "large_chars": 2_000_000,
        "large_invokes": 4,
        "large_get_state_samples": 5,
        "concurrent_runs": [32, 256],
        "concurrent_sequential": 32,
        "concurrent_repeats": 5,
        "concurrent_rtt_ms": 10,
        "delta_turns": 20,
        "cpu_puts": 30,
        "cpu_state_chars": 100_000,
        "rtt_ms": 10,
        "rtt_turns": 20,
        "memory_scale_memories": 100_000,
        "cache_runs": 40,
        "cache_work_ms": 200,
        "cache_rtt_ms": 10,
        "runs_threads": [50, 5000],
        "runs_per_thread": 3,
        "runs_rollbacks": 5,
        "runs_batch": 10,
        "runs_batches": 3,
        "runs_fill_workers": 4,
    },
    "quick": {
        "memory_scale_memories": 5_000,
        "chat_turns": 10,
        "get_state_samples": 10,
        "fanout_runs": 5,
        "fanout_agents": 6,
        "finding_chars": 3000,
        "scale_points": [100, 1000],
        "scale_points_peers": [100],
        "scale_budget_s": 60,
        "large_chars": 500_000,
        "large_invokes": 2,
        "large_get_state_samples": 3,
        "concurrent_runs": [8, 64],
        "concurrent_sequential": 8,
        "concurrent_repeats": 1,
        "concurrent_rtt_ms": 10,
        "delta_turns": 8,
        "cpu_puts": 10,
        "cpu_state_chars": 100_000,
        "rtt_ms": 10,
        "rtt_turns": 5,
        "cache_runs": 8,
        "cache_work_ms": 200,
        "cache_rtt_ms": 10,
        "runs_threads": [15, 1500],
        "runs_per_thread": 3,
        "runs_rollbacks": 3,
        "runs_batch": 10,
        "runs_batches": 1,
        "runs_fill_workers": 4,
    },
}
"""Sizes for a full run and for ``--quick``."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]
