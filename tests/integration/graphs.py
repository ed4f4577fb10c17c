"""Graph builders and helpers for the differential tests in ``test_graphs.py``.

Every builder takes a ``Calls`` counter (so a test can prove which nodes ran again after a
resume) and returns an uncompiled ``StateGraph``. ``Runner`` drives a compiled graph through
the sync API (in a worker thread) or the async API, and ``Canon`` turns what LangGraph returns
into plain data in which checkpoint ids, task ids, run ids, interrupt ids and timestamps are
renamed by order of first appearance, so two runs on different savers compare equal exactly
when they have the same shape (including which config points at which checkpoint).
"""

from __future__ import annotations

import asyncio
import base64
import ctypes
import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import operator
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Send, interrupt
from pydantic import BaseModel
from typing_extensions import TypedDict

# --- call counting and failure switches ------------------------------------------------------


class Calls:
    """Thread-safe call counter per node (and per Send item), plus a failure switch."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.fail = True
        self._lock = threading.Lock()
        self.peers_done = threading.Event()
        self._done = 0

    def hit(self, name: str) -> int:
        with self._lock:
            self.counts[name] += 1
            return self.counts[name]

    def peer_finished(self, expected: int) -> None:
        """A task that must finish before the failing one raises reports it is done."""
        with self._lock:
            self._done += 1
            if self._done >= expected:
                self.peers_done.set()

    def fail_after_peers(self, what: str) -> None:
        """Raise, once the successful tasks of the same step are done and committed.

        Waiting keeps the test deterministic: LangGraph keeps the writes of tasks that
        finished, and cancels tasks still running when another one fails.
        """
        self.peers_done.wait(timeout=10)
        time.sleep(0.3)  # let LangGraph commit the peers' writes (put_writes)
        raise ValueError(f"boom in {what}")


# --- 1. a multi-turn chat -----------------------------------------------------------------


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: Annotated[int, operator.add]
    summary: str


def chat_graph(calls: Calls) -> StateGraph:
    def bot(state: ChatState) -> dict[str, Any]:
        calls.hit("bot")
        last = state["messages"][-1]
        n = len(state["messages"])
        # An explicit id: add_messages gives missing ids by mutating the written message,
        # which races with the background put_writes of that same object (in LangGraph,
        # whatever the saver), so an id-less write is saved with or without its id.
        reply = AIMessage(content=f"echo({n}): {last.content}", id=f"ai-{n}")
        return {"messages": [reply], "turns": 1}

    def tally(state: ChatState) -> dict[str, Any]:
        calls.hit("tally")
        kinds = "".join(m.type[0] for m in state["messages"])
        return {"summary": f"{state['turns']} turns, {kinds}"}

    g = StateGraph(ChatState)
    g.add_node("bot", bot)
    g.add_node("tally", tally)
    g.add_edge(START, "bot")
    g.add_edge("bot", "tally")
    g.add_edge("tally", END)
    return g


# --- shared list state ------------------------------------------------------------------------


class LogState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


# --- 2. interrupts, also in parallel branches --------------------------------------------------


def interrupt_graph(calls: Calls) -> StateGraph:
    def ask(state: LogState) -> dict[str, Any]:
        calls.hit("ask")
        name = interrupt({"q": "name?"})
        return {"log": [f"name={name}"]}

    def branch(which: str) -> Callable[[LogState], dict[str, Any]]:
        def node(state: LogState) -> dict[str, Any]:
            calls.hit(which)
            answer = interrupt({"q": f"{which}?", "seen": list(state["log"])})
            return {"log": [f"{which}={answer}"]}

        return node

    def join(state: LogState) -> dict[str, Any]:
        calls.hit("join")
        return {"log": ["joined"]}

    g = StateGraph(LogState)
    g.add_node("ask", ask)
    g.add_node("left", branch("left"))
    g.add_node("right", branch("right"))
    g.add_node("join", join)
    g.add_edge(START, "ask")
    g.add_edge("ask", "left")
    g.add_edge("ask", "right")
    g.add_edge(["left", "right"], "join")
    g.add_edge("join", END)
    return g


# --- 3. subgraphs, two levels deep, interrupt in the innermost --------------------------------


def nested_graph(calls: Calls) -> StateGraph:
    def grand_node(state: LogState) -> dict[str, Any]:
        calls.hit("g1")
        answer = interrupt({"q": "deep?", "seen": list(state["log"])})
        return {"log": [f"g1={answer}"]}

    grand = StateGraph(LogState)
    grand.add_node("g1", grand_node)
    grand.add_edge(START, "g1")
    grand.add_edge("g1", END)

    def step(name: str) -> Callable[[LogState], dict[str, Any]]:
        def node(state: LogState) -> dict[str, Any]:
            calls.hit(name)
            return {"log": [name]}

        return node

    child = StateGraph(LogState)
    child.add_node("c1", step("c1"))
    child.add_node("grand", grand.compile())
    child.add_node("c3", step("c3"))
    child.add_edge(START, "c1")
    child.add_edge("c1", "grand")
    child.add_edge("grand", "c3")
    child.add_edge("c3", END)

    parent = StateGraph(LogState)
    parent.add_node("p1", step("p1"))
    parent.add_node("child", child.compile())
    parent.add_node("p2", step("p2"))
    parent.add_edge(START, "p1")
    parent.add_edge("p1", "child")
    parent.add_edge("child", "p2")
    parent.add_edge("p2", END)
    return parent


# --- 4. Send fan-out, and parallel branches where one fails -------------------------------------


class MapState(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[int], operator.add]
    total: int


class WorkArg(TypedDict):
    item: int


FAILING_ITEM = 3


def send_graph(calls: Calls, n_items: int) -> StateGraph:
    def plan(state: MapState) -> dict[str, Any]:
        calls.hit("plan")
        return {"items": list(range(n_items))}

    def fan_out(state: MapState) -> list[Send]:
        return [Send("work", {"item": i}) for i in state["items"]]

    def work(arg: WorkArg) -> dict[str, Any]:
        item = arg["item"]
        calls.hit(f"work[{item}]")
        if item == FAILING_ITEM and calls.fail:
            calls.fail_after_peers(f"work[{item}]")
        result = {"results": [item * 10]}
        if item != FAILING_ITEM:
            calls.peer_finished(n_items - 1)
        return result

    def reduce(state: MapState) -> dict[str, Any]:
        calls.hit("reduce")
        return {"total": sum(state["results"])}

    g = StateGraph(MapState)
    g.add_node("plan", plan)
    g.add_node("work", work)
    g.add_node("reduce", reduce)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", fan_out, ["work"])
    g.add_edge("work", "reduce")
    g.add_edge("reduce", END)
    return g


def branches_graph(calls: Calls) -> StateGraph:
    def start(state: LogState) -> dict[str, Any]:
        calls.hit("start")
        return {"log": ["start"]}

    def ok(state: LogState) -> dict[str, Any]:
        calls.hit("ok")
        calls.peer_finished(1)
        return {"log": ["ok"]}

    def flaky(state: LogState) -> dict[str, Any]:
        calls.hit("flaky")
        if calls.fail:
            calls.fail_after_peers("flaky")
        return {"log": ["flaky"]}

    def join(state: LogState) -> dict[str, Any]:
        calls.hit("join")
        return {"log": ["join"]}

    g = StateGraph(LogState)
    g.add_node("start", start)
    g.add_node("ok", ok)
    g.add_node("flaky", flaky)
    g.add_node("join", join)
    g.add_edge(START, "start")
    g.add_edge("start", "ok")
    g.add_edge("start", "flaky")
    g.add_edge(["ok", "flaky"], "join")
    g.add_edge("join", END)
    return g


# --- 5./6. a long linear graph (time travel, history filters) -----------------------------------


class ChainState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    const: str
    count: int


def chain_graph(calls: Calls, length: int = 8) -> StateGraph:
    """n0 -> n1 -> ... : ``const`` is set once by the input and never changes (so the saver
    stores it by reference, further back than its reference depth)."""

    def node(i: int) -> Callable[[ChainState], dict[str, Any]]:
        def run(state: ChainState) -> dict[str, Any]:
            calls.hit(f"n{i}")
            return {"log": [f"n{i}"], "count": state.get("count", 0) + 1}

        return run

    g = StateGraph(ChainState)
    for i in range(length):
        g.add_node(f"n{i}", node(i))
    g.add_edge(START, "n0")
    for i in range(length - 1):
        g.add_edge(f"n{i}", f"n{i + 1}")
    g.add_edge(f"n{length - 1}", END)
    return g


def loop_graph(calls: Calls, rounds: int = 4) -> StateGraph:
    """One node that loops ``rounds`` times per run (for history filters)."""

    def tick(state: ChainState) -> dict[str, Any]:
        calls.hit("tick")
        return {"log": [f"tick{state.get('count', 0)}"], "count": state.get("count", 0) + 1}

    def again(state: ChainState) -> str:
        return "tick" if state["count"] % rounds else END

    g = StateGraph(ChainState)
    g.add_node("tick", tick)
    g.add_edge(START, "tick")
    g.add_conditional_edges("tick", again, ["tick", END])
    return g


# --- 7. large state -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def big_text() -> str:
    """~3 MB of incompressible text (so zstd cannot shrink it under the item limit)."""
    noise = base64.b64encode(os.urandom(2_200_000)).decode("ascii")
    return "начало тред-🧵\n" + noise + "\nконец ✓"


class BigState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    blob: str


def big_graph(calls: Calls) -> StateGraph:
    """start -> [big, flaky] -> join: ``big`` writes ~3 MB, ``flaky`` fails once."""

    def start(state: BigState) -> dict[str, Any]:
        calls.hit("start")
        return {"log": ["start"]}

    def big(state: BigState) -> dict[str, Any]:
        calls.hit("big")
        calls.peer_finished(1)
        return {"blob": big_text(), "log": ["big"]}

    def flaky(state: BigState) -> dict[str, Any]:
        calls.hit("flaky")
        if calls.fail:
            calls.fail_after_peers("flaky")
        return {"log": ["flaky"]}

    def join(state: BigState) -> dict[str, Any]:
        calls.hit("join")
        return {"log": [f"join:{len(state['blob'])}"]}

    g = StateGraph(BigState)
    g.add_node("start", start)
    g.add_node("big", big)
    g.add_node("flaky", flaky)
    g.add_node("join", join)
    g.add_edge(START, "start")
    g.add_edge("start", "big")
    g.add_edge("start", "flaky")
    g.add_edge(["big", "flaky"], "join")
    g.add_edge("join", END)
    return g


def big_then_small_graph(calls: Calls) -> StateGraph:
    """big -> small: ``big`` writes ~3 MB, ``small`` leaves it unchanged."""

    def big(state: BigState) -> dict[str, Any]:
        calls.hit("big")
        return {"blob": big_text(), "log": ["big"]}

    def small(state: BigState) -> dict[str, Any]:
        calls.hit("small")
        return {"log": [f"small:{len(state['blob'])}"]}

    g = StateGraph(BigState)
    g.add_node("big", big)
    g.add_node("small", small)
    g.add_edge(START, "big")
    g.add_edge("big", "small")
    g.add_edge("small", END)
    return g


# --- 8./9. a small two-node graph, one per thread ------------------------------------------------


class OwnedState(TypedDict, total=False):
    owner: str
    log: Annotated[list[str], operator.add]


def owned_graph(calls: Calls) -> StateGraph:
    def first(state: OwnedState) -> dict[str, Any]:
        calls.hit("first")
        return {"log": [f"first:{state['owner']}:{len(state['log'])}"]}

    def second(state: OwnedState) -> dict[str, Any]:
        calls.hit("second")
        return {"log": [f"second:{state['owner']}"]}

    g = StateGraph(OwnedState)
    g.add_node("first", first)
    g.add_node("second", second)
    g.add_edge(START, "first")
    g.add_edge("first", "second")
    g.add_edge("second", END)
    return g


# --- 10. Pydantic models and dataclasses in state -------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: str
    zip: str


class Profile(BaseModel):
    name: str
    tags: list[str]
    address: Address
    color: Color = Color.RED


@dataclasses.dataclass
class Point:
    x: int
    y: float
    label: str = ""


class TypedState(TypedDict, total=False):
    profile: Profile
    point: Point
    trail: Annotated[list[Point], operator.add]
    when: dt.datetime


class ModelState(BaseModel):
    """A Pydantic model as the whole state schema."""

    profile: Profile
    point: Point
    moves: int = 0


def _move(profile: Profile, point: Point) -> tuple[Profile, Point]:
    new_point = Point(point.x + 1, point.y * 2, label=f"{point.label}>")
    new_profile = profile.model_copy(
        update={"tags": [*profile.tags, f"moved{point.x}"], "color": Color.BLUE}
    )
    return new_profile, new_point


def typed_graph(calls: Calls) -> StateGraph:
    def move(state: TypedState) -> dict[str, Any]:
        calls.hit("move")
        assert isinstance(state["profile"], Profile), type(state["profile"])
        assert isinstance(state["point"], Point), type(state["point"])
        profile, point = _move(state["profile"], state["point"])
        return {
            "profile": profile,
            "point": point,
            "trail": [point],
            "when": state["when"] + dt.timedelta(hours=1),
        }

    g = StateGraph(TypedState)
    g.add_node("move", move)
    g.add_edge(START, "move")
    g.add_edge("move", END)
    return g


def model_graph(calls: Calls) -> StateGraph:
    def move(state: ModelState) -> dict[str, Any]:
        calls.hit("move")
        assert isinstance(state.profile, Profile), type(state.profile)
        assert isinstance(state.point, Point), type(state.point)
        profile, point = _move(state.profile, state.point)
        return {"profile": profile, "point": point, "moves": state.moves + 1}

    g = StateGraph(ModelState)
    g.add_node("move", move)
    g.add_edge(START, "move")
    g.add_edge("move", END)
    return g


# --- deadlines: a saver that loops forever must fail the test, not hang the session -------------

#: Longest a single graph or saver call may take here (the slowest normally takes ~2 s).
CALL_TIMEOUT_S = 8.0


class Hung(TimeoutError):
    """A graph or saver call did not return within ``CALL_TIMEOUT_S``."""


def _raise_in_thread(ident: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(Hung))


def call_with_deadline(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` in this (worker) thread; past the deadline, raise :class:`Hung` inside it,
    which also breaks a busy loop that never waits on anything."""
    ident = threading.get_ident()
    lock = threading.Lock()
    done = False

    def fire() -> None:
        with lock:
            if not done:
                _raise_in_thread(ident)

    timer = threading.Timer(CALL_TIMEOUT_S, fire)
    timer.daemon = True
    timer.start()
    try:
        return fn(*args, **kwargs)
    finally:
        with lock:
            done = True
        timer.cancel()


async def await_with_deadline(awaitable: Awaitable[Any]) -> Any:
    """Await on the event loop; past the deadline cancel it, or, if the loop does not even
    run the cancellation (a coroutine spins without awaiting), raise :class:`Hung` in it."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(awaitable)
    ident = threading.get_ident()
    responsive = threading.Event()
    timed_out = False

    def cancel() -> None:
        responsive.set()
        task.cancel()

    def fire() -> None:
        nonlocal timed_out
        if task.done():
            return
        timed_out = True
        loop.call_soon_threadsafe(cancel)
        if not responsive.wait(2.0) and not task.done():
            _raise_in_thread(ident)

    timer = threading.Timer(CALL_TIMEOUT_S, fire)
    timer.daemon = True
    timer.start()
    try:
        return await task
    except asyncio.CancelledError:
        if timed_out:
            raise Hung(f"no answer within {CALL_TIMEOUT_S} s") from None
        raise
    finally:
        timer.cancel()


# --- driving a graph through the sync or the async API -------------------------------------------


class Runner:
    """One compiled graph, called through ``invoke``/``stream``/... (each in a worker thread,
    so the event loop stays free) or through ``ainvoke``/``astream``/..., every call under a
    deadline (:data:`CALL_TIMEOUT_S`)."""

    def __init__(self, graph: Any, mode: str) -> None:
        assert mode in ("sync", "async"), mode
        self.graph = graph
        self.mode = mode

    async def _call(
        self, sync: Callable[[], Any], asynchronous: Callable[[], Awaitable[Any]]
    ) -> Any:
        if self.mode == "async":
            return await await_with_deadline(asynchronous())
        return await asyncio.to_thread(call_with_deadline, sync)

    async def invoke(self, inp: Any, config: Any, **kwargs: Any) -> Any:
        return await self._call(
            lambda: self.graph.invoke(inp, config, **kwargs),
            lambda: self.graph.ainvoke(inp, config, **kwargs),
        )

    async def stream(self, inp: Any, config: Any, **kwargs: Any) -> list[Any]:
        async def collect() -> list[Any]:
            return [chunk async for chunk in self.graph.astream(inp, config, **kwargs)]

        return await self._call(  # type: ignore[no-any-return]
            lambda: list(self.graph.stream(inp, config, **kwargs)), collect
        )

    async def get_state(self, config: Any, *, subgraphs: bool = False) -> Any:
        return await self._call(
            lambda: self.graph.get_state(config, subgraphs=subgraphs),
            lambda: self.graph.aget_state(config, subgraphs=subgraphs),
        )

    async def history(self, config: Any, **kwargs: Any) -> list[Any]:
        async def collect() -> list[Any]:
            return [s async for s in self.graph.aget_state_history(config, **kwargs)]

        return await self._call(  # type: ignore[no-any-return]
            lambda: list(self.graph.get_state_history(config, **kwargs)), collect
        )

    async def update_state(self, config: Any, values: Any, as_node: str | None = None) -> Any:
        return await self._call(
            lambda: self.graph.update_state(config, values, as_node=as_node),
            lambda: self.graph.aupdate_state(config, values, as_node=as_node),
        )

    async def saver(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a checkpointer method (``list`` is collected), sync or ``a``-prefixed."""
        saver = self.graph.checkpointer
        if method == "list":

            async def collect() -> list[Any]:
                return [t async for t in saver.alist(*args, **kwargs)]

            return await self._call(lambda: list(saver.list(*args, **kwargs)), collect)
        return await self._call(
            lambda: getattr(saver, method)(*args, **kwargs),
            lambda: getattr(saver, "a" + method)(*args, **kwargs),
        )


# --- normalizing what LangGraph returns -----------------------------------------------------------

_ID_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"
)
_TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$")
_LONG = 10_000


class Canon:
    """Plain, comparable data from snapshots, tasks, interrupts, messages, models...

    Ids (uuids, 32-hex interrupt ids) are renamed ``<id0>``, ``<id1>``... in order of first
    appearance (dict keys are visited sorted), ISO timestamps become ``<ts>``, exceptions
    become their type and args, and objects keep their type name, so a model that came back
    as a dict does not compare equal to the model.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _rename(self, match: re.Match[str]) -> str:
        return self.names.setdefault(match.group(0), f"<id{len(self.names)}>")

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, str):
            if len(obj) > _LONG:
                return ("<long>", len(obj), hashlib.sha256(obj.encode()).hexdigest())
            if _TS_RE.match(obj):
                return "<ts>"
            return _ID_RE.sub(self._rename, obj)
        if obj is None or isinstance(obj, (bool, int, float, bytes, enum.Enum, dt.datetime)):
            return obj
        if isinstance(obj, BaseCheckpointSaver):
            return "<checkpointer>"  # in configs LangGraph hands back (subgraph state)
        if isinstance(obj, BaseException):
            return {"!exception": type(obj).__name__, "args": self(list(obj.args))}
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return {"!type": type(obj).__name__, **{f: self(getattr(obj, f)) for f in obj._fields}}
        if isinstance(obj, BaseModel):
            fields = type(obj).model_fields
            return {"!type": type(obj).__name__, **{f: self(getattr(obj, f)) for f in fields}}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {
                "!type": type(obj).__name__,
                **{f.name: self(getattr(obj, f.name)) for f in dataclasses.fields(obj)},
            }
        if isinstance(obj, Send):
            return {"!type": "Send", "node": obj.node, "arg": self(obj.arg)}
        if isinstance(obj, dict):
            return {self(k): self(v) for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0]))}
        if isinstance(obj, (list, tuple)):
            return [self(v) for v in obj]
        if isinstance(obj, (set, frozenset)):
            return {"!set": sorted((self(v) for v in obj), key=repr)}
        return obj


def canon(obj: Any) -> Any:
    """``Canon()(obj)``: one fresh renaming."""
    return Canon()(obj)


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """Where two normalized records first differ (for readable assertion messages)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected.keys() | actual.keys():
            if key not in actual:
                return f"{path}[{key!r}] missing (expected {expected[key]!r:.300})"
            if key not in expected:
                return f"{path}[{key!r}] unexpected: {actual[key]!r:.300}"
            found = first_difference(expected[key], actual[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(e, a, f"{path}[{i}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path}: length {len(actual)}, expected {len(expected)}"
        return None
    if expected != actual:
        return f"{path}: got {actual!r:.300}, expected {expected!r:.300}"
    return None
