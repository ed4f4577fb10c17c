"""Differential tests: real ``StateGraph`` runs behave on ``DynamoDBSaver`` exactly as on
LangGraph's ``InMemorySaver``.

Each test runs one scenario twice, once per saver, through the sync API
(``invoke``/``stream``/``get_state``/``get_state_history``/``update_state``) or the async
one (``mode``), records everything LangGraph returns, and compares the two records after
renaming checkpoint/task/run/interrupt ids and timestamps by order of first appearance
(see ``graphs.Canon``). Each scenario also checks a few absolute facts, so that both savers
being wrong the same way would not pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aiobotocore.session import AioSession
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import StateGraph
from langgraph.types import Command

from langgraph_dynamodb import DynamoDBSaver, schema

from ..conftest import REGION
from .graphs import (
    FAILING_ITEM,
    Address,
    Calls,
    Color,
    Point,
    Profile,
    Runner,
    await_with_deadline,
    big_graph,
    big_text,
    big_then_small_graph,
    branches_graph,
    call_with_deadline,
    canon,
    chain_graph,
    chat_graph,
    first_difference,
    interrupt_graph,
    loop_graph,
    model_graph,
    nested_graph,
    owned_graph,
    send_graph,
    typed_graph,
)

pytestmark = pytest.mark.integration


# --- fixtures and the differential harness -------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Drive the graphs through the sync API or through the async API."""
    return str(request.param)


@pytest.fixture
def thread_id() -> str:
    """A fresh thread id (the same one is used on both savers: they do not share storage)."""
    return f"graph-{uuid.uuid4()}"


class DynamoSavers:
    """Makes ``DynamoDBSaver`` instances on one table and closes them all at the end."""

    def __init__(self, endpoint: str, table: str) -> None:
        self.endpoint = endpoint
        self.table = table
        self.made: list[DynamoDBSaver] = []

    def make(self) -> DynamoDBSaver:
        saver = DynamoDBSaver(table_name=self.table, endpoint_url=self.endpoint, region_name=REGION)
        self.made.append(saver)
        return saver

    async def close(self) -> None:
        for saver in self.made:
            await saver.aclose()


@pytest.fixture
async def ddb(ddb_endpoint: str, table_name: str) -> AsyncIterator[DynamoSavers]:
    savers = DynamoSavers(ddb_endpoint, table_name)
    yield savers
    await savers.close()


@dataclass
class Side:
    """One run of a scenario: a saver, the API mode and the thread."""

    name: str
    mode: str
    thread_id: str
    saver: BaseCheckpointSaver[Any]
    reopen: Callable[[], BaseCheckpointSaver[Any]]
    """Another saver on the same storage, with cold caches (``InMemorySaver``: itself)."""

    def run(self, builder: StateGraph, saver: BaseCheckpointSaver[Any] | None = None) -> Runner:
        return Runner(builder.compile(checkpointer=saver or self.saver), self.mode)

    def config(self, thread_id: str | None = None, **extra: Any) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id or self.thread_id}, **extra}


Scenario = Callable[[Side], Awaitable[dict[str, Any]]]


async def differential(
    scenario: Scenario,
    mode: str,
    thread_id: str,
    ddb: DynamoSavers,
    ddb_saver: DynamoDBSaver | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``scenario`` on ``InMemorySaver`` and on ``DynamoDBSaver`` (``ddb_saver``, or a
    new one on ``ddb``'s table); compare the records (normalized) key by key. Returns both
    raw records for further checks."""
    memory = InMemorySaver()
    mem = await scenario(Side("memory", mode, thread_id, memory, lambda: memory))
    dyn_saver = ddb_saver or ddb.make()
    dyn = await scenario(Side("dynamodb", mode, thread_id, dyn_saver, ddb.make))
    expected, actual = canon(mem), canon(dyn)
    assert actual.keys() == expected.keys()
    for key in expected:
        assert actual[key] == expected[key], (
            f"{key!r} differs from InMemorySaver: "
            f"{first_difference(expected[key], actual[key], key)}"
        )
    return mem, dyn


def _log(snapshot: Any) -> list[str]:
    return list(snapshot.values["log"])


# --- 1. multi-turn chat ----------------------------------------------------------------------


async def test_multi_turn_chat(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(chat_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        obs["turn1"] = await g.invoke({"messages": [HumanMessage("hello", id="h-1")]}, cfg)
        obs["turn2"] = await g.stream(
            {"messages": [("user", "how are you?")]}, cfg, stream_mode="values"
        )
        obs["turn3"] = await g.stream(
            {"messages": [HumanMessage("bye", id="h-5")]}, cfg, stream_mode="updates"
        )
        obs["state3"] = await g.get_state(cfg)
        obs["turn4"] = await g.invoke(
            {"messages": [HumanMessage("one", id="h-7"), HumanMessage("two", id="h-8")]}, cfg
        )
        state = await g.get_state(cfg)
        first_ai = next(m for m in state.values["messages"] if m.type == "ai")
        obs["update"] = await g.update_state(
            cfg, {"messages": [AIMessage(content="edited", id=first_ai.id)]}, as_node="tally"
        )
        obs["final"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        obs["history_cold"] = await side.run(chat_graph(Calls()), side.reopen()).history(cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    final = dyn["final"]
    assert [m.content for m in final.values["messages"]] == [
        "hello",
        "edited",
        "how are you?",
        "echo(3): how are you?",
        "bye",
        "echo(5): bye",
        "one",
        "two",
        "echo(8): two",
    ]
    assert final.values["turns"] == 4
    assert final.values["summary"] == "4 turns, hahahahha"
    assert final.metadata["source"] == "update"
    history = dyn["history"]
    assert len(history) == 17  # 4 turns x (input, start, bot, tally) + the update
    assert history[0].config == final.config
    for newer, older in zip(history, history[1:], strict=False):
        assert newer.parent_config == older.config
    assert history[-1].parent_config is None
    assert [(h.metadata["source"], h.metadata["step"], h.next) for h in history[:5]] == [
        ("update", 15, ()),
        ("loop", 14, ()),
        ("loop", 13, ("tally",)),
        ("loop", 12, ("bot",)),
        ("input", 11, ("__start__",)),
    ]
    assert dyn["calls"] == {"bot": 4, "tally": 4}


# --- 2. interrupts, in parallel branches too ---------------------------------------------------


def skip_async_interrupts_before_311(mode: str) -> None:
    """LangGraph's ``interrupt()`` cannot find its config in async nodes before Python 3.11
    (no task context there); a limit of LangGraph, the same on every checkpointer."""
    if mode == "async" and sys.version_info < (3, 11):
        pytest.skip("LangGraph's interrupt() in async runs needs Python 3.11+")


async def test_interrupts_and_resume(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    skip_async_interrupts_before_311(mode)

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(interrupt_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        obs["r1"] = _sorted_interrupts(await g.invoke({"log": ["start"]}, cfg))
        obs["s1"] = await g.get_state(cfg)
        obs["r2"] = _sorted_interrupts(await g.invoke(Command(resume="alice"), cfg))
        s2 = obs["s2"] = await g.get_state(cfg)
        obs["s2_cold"] = await side.run(interrupt_graph(Calls()), side.reopen()).get_state(cfg)
        by_question = {i.value["q"]: i.id for i in s2.interrupts}
        # Answer only the left branch: it completes, the right one interrupts again.
        obs["r3"] = _sorted_interrupts(
            await g.invoke(Command(resume={by_question["left?"]: "L"}), cfg)
        )
        s3 = obs["s3"] = await g.get_state(cfg)
        obs["r4"] = await g.stream(
            Command(resume={s3.interrupts[0].id: "R"}), cfg, stream_mode="updates"
        )
        obs["final"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    s1, s2, s3 = dyn["s1"], dyn["s2"], dyn["s3"]
    assert s1.next == ("ask",)
    assert [i.value for i in s1.interrupts] == [{"q": "name?"}]
    assert [i.value for t in s1.tasks for i in t.interrupts] == [{"q": "name?"}]
    assert s2.next == ("left", "right")
    seen = ["start", "name=alice"]
    assert [i.value for i in s2.interrupts] == [
        {"q": "left?", "seen": seen},
        {"q": "right?", "seen": seen},
    ]
    assert [len(t.interrupts) for t in s2.tasks] == [1, 1]
    assert [i.value for i in dyn["s2_cold"].interrupts] == [i.value for i in s2.interrupts]
    assert s3.next == ("right",)  # left's writes are pending, only right is waiting
    assert [i.value["q"] for i in s3.interrupts] == ["right?"]
    assert [(t.name, t.result) for t in s3.tasks] == [
        ("left", {"log": ["left=L"]}),
        ("right", None),
    ]
    assert _log(dyn["final"]) == ["start", "name=alice", "left=L", "right=R", "joined"]
    assert dyn["final"].next == () and dyn["final"].interrupts == ()
    assert dyn["calls"] == {"ask": 2, "left": 2, "right": 3, "join": 1}


def _sorted_interrupts(result: dict[str, Any]) -> dict[str, Any]:
    """``invoke`` lists the interrupts of parallel tasks in the order the tasks happened to
    finish (a race in LangGraph, whatever the saver); put them in a stable order."""
    if "__interrupt__" in result:
        result = {**result, "__interrupt__": sorted(result["__interrupt__"], key=repr)}
    return result


# --- 3. subgraphs --------------------------------------------------------------------------


async def test_subgraphs_with_interrupt(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    skip_async_interrupts_before_311(mode)

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(nested_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        obs["r1"] = await g.invoke({"log": ["in"]}, cfg)
        deep = obs["s1_deep"] = await g.get_state(cfg, subgraphs=True)
        obs["s1"] = await g.get_state(cfg)
        child = deep.tasks[0].state
        grand = child.tasks[0].state
        child_ns = child.config["configurable"]["checkpoint_ns"]
        grand_ns = grand.config["configurable"]["checkpoint_ns"]
        obs["child_ns"], obs["grand_ns"] = child_ns, grand_ns
        obs["child_state"] = await g.get_state(child.config)
        obs["grand_state"] = await g.get_state(grand.config, subgraphs=True)
        ns_cfg = {"configurable": {"thread_id": side.thread_id, "checkpoint_ns": child_ns}}
        obs["child_history"] = await g.history(ns_cfg)
        obs["grand_history"] = await g.history(
            {"configurable": {"thread_id": side.thread_id, "checkpoint_ns": grand_ns}}
        )
        cold = side.run(nested_graph(Calls()), side.reopen())
        obs["s1_deep_cold"] = await cold.get_state(cfg, subgraphs=True)
        obs["r2"] = await g.stream(
            Command(resume="yes"), cfg, subgraphs=True, stream_mode="updates"
        )
        obs["final_deep"] = await g.get_state(cfg, subgraphs=True)
        obs["history"] = await g.history(cfg)
        obs["child_history_after"] = await g.history(ns_cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    deep = dyn["s1_deep"]
    assert deep.next == ("child",)
    child = deep.tasks[0].state
    grand = child.tasks[0].state
    assert child.next == ("grand",) and grand.next == ("g1",)
    assert dyn["child_ns"].startswith("child:")
    assert dyn["grand_ns"].startswith(dyn["child_ns"] + "|grand:")
    assert [i.value for i in grand.interrupts] == [{"q": "deep?", "seen": ["in", "p1", "c1"]}]
    assert [i.value for i in dyn["s1_deep_cold"].tasks[0].state.tasks[0].state.interrupts] == [
        {"q": "deep?", "seen": ["in", "p1", "c1"]}
    ]
    # the parent's snapshot shows the interrupt raised two levels down, on the child task
    deep_interrupt = [{"q": "deep?", "seen": ["in", "p1", "c1"]}]
    assert [i.value for i in dyn["s1"].interrupts] == deep_interrupt
    assert [i.value for t in dyn["s1"].tasks for i in t.interrupts] == deep_interrupt
    assert dyn["s1"].tasks[0].state["configurable"]["checkpoint_ns"] == dyn["child_ns"]
    assert len(dyn["child_history"]) == 3 and dyn["grand_history"]
    assert all(
        h.config["configurable"]["checkpoint_ns"] == dyn["child_ns"] for h in dyn["child_history"]
    )
    final = dyn["final_deep"]
    assert final.next == () and "g1=yes" in _log(final) and _log(final)[-1] == "p2"
    assert dyn["calls"] == {"p1": 1, "c1": 1, "g1": 2, "c3": 1, "p2": 1}


# --- 4. Send fan-out and failing parallel branches ---------------------------------------------

N_ITEMS = 6


async def test_send_fan_out_with_failing_task(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(send_graph(calls, N_ITEMS))
        cfg = side.config()
        obs: dict[str, Any] = {}
        with pytest.raises(ValueError, match=rf"boom in work\[{FAILING_ITEM}\]"):
            await g.invoke({"results": []}, cfg)
        obs["failed"] = await g.get_state(cfg)
        obs["pending"] = (await g.saver("get_tuple", cfg)).pending_writes
        obs["calls_failed"] = dict(calls.counts)
        calls.fail = False
        obs["resumed"] = await g.invoke(None, cfg)
        obs["final"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    failed = dyn["failed"]
    assert failed.next == ("work",)  # only the failed task is left to run
    assert len(failed.tasks) == N_ITEMS
    errors = [t for t in failed.tasks if t.error is not None]
    assert [t.name for t in errors] == ["work"]
    result_writes = [v for _, ch, v in dyn["pending"] if ch == "results"]
    assert sorted(r for v in result_writes for r in v) == [
        i * 10 for i in range(N_ITEMS) if i != FAILING_ITEM
    ]
    assert dyn["resumed"]["total"] == sum(i * 10 for i in range(N_ITEMS))
    assert dyn["resumed"]["results"] == [i * 10 for i in range(N_ITEMS)]
    expected_calls = {f"work[{i}]": 1 for i in range(N_ITEMS)}
    expected_calls.update({"plan": 1, "reduce": 1, f"work[{FAILING_ITEM}]": 2})
    assert dyn["calls"] == expected_calls


async def test_parallel_branch_failure_keeps_writes(
    mode: str, thread_id: str, ddb: DynamoSavers
) -> None:
    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(branches_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        with pytest.raises(ValueError, match="boom in flaky"):
            await g.invoke({"log": []}, cfg)
        obs["failed"] = await g.get_state(cfg)
        obs["failed_cold"] = await side.run(branches_graph(Calls()), side.reopen()).get_state(cfg)
        obs["pending"] = (await g.saver("get_tuple", cfg)).pending_writes
        calls.fail = False
        obs["resumed"] = await g.stream(None, cfg, stream_mode="updates")
        obs["final"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    failed = dyn["failed"]
    assert failed.next == ("flaky",)
    assert sorted(t.name for t in failed.tasks) == ["flaky", "ok"]
    by_name = {t.name: t for t in failed.tasks}
    assert by_name["ok"].error is None and by_name["ok"].result == {"log": ["ok"]}
    assert by_name["flaky"].error is not None and "boom in flaky" in repr(by_name["flaky"].error)
    assert [(ch, v) for _, ch, v in dyn["pending"] if ch == "log"] == [("log", ["ok"])]
    assert _log(dyn["final"]) == ["start", "flaky", "ok", "join"]
    assert dyn["calls"] == {"start": 1, "ok": 1, "flaky": 2, "join": 1}


JOIN_RUNS = 6
#: Added to every DynamoDB request in the join test: a real table is a network round trip
#: away, DynamoDB Local on the same machine answers faster than a superstep runs.
NETWORK_LATENCY_S = 0.015


@contextlib.asynccontextmanager
async def saver_with_latency(ddb: DynamoSavers, mode: str) -> AsyncIterator[DynamoDBSaver]:
    """A ``DynamoDBSaver`` on the session table whose requests each take a little longer."""
    if mode == "sync":
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint, region_name=REGION)
        client.meta.events.register(
            "before-send.dynamodb", lambda **_: time.sleep(NETWORK_LATENCY_S)
        )
        saver = DynamoDBSaver(table_name=ddb.table, client=client)
        try:
            yield saver
        finally:
            client.close()
        return

    async def delay(**_: Any) -> None:
        await asyncio.sleep(NETWORK_LATENCY_S)

    session = AioSession()
    async with session.create_client(
        "dynamodb", endpoint_url=ddb.endpoint, region_name=REGION
    ) as aclient:
        aclient.meta.events.register("before-send.dynamodb", delay)
        yield DynamoDBSaver(table_name=ddb.table, aclient=aclient)


async def test_join_barrier_across_invocations(
    mode: str, thread_id: str, ddb: DynamoSavers
) -> None:
    """start -> [ok, flaky] -> join, run again and again on one thread. The join's barrier
    channel is unchanged by the input and ``start`` checkpoints of each run, then filled by
    ``ok`` and ``flaky``; those checkpoints must keep the (empty) barrier they had."""

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        calls.fail = False
        g = side.run(branches_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        for run in range(JOIN_RUNS):
            if run % 2:
                # "values": the order of "updates" from parallel tasks is a race
                obs[f"run{run}"] = await g.stream({"log": [f"run{run}"]}, cfg, stream_mode="values")
            else:
                obs[f"run{run}"] = await g.invoke({"log": [f"run{run}"]}, cfg)
        obs["final"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    async with saver_with_latency(ddb, mode) as saver:
        _, dyn = await differential(scenario, mode, thread_id, ddb, saver)
    history = dyn["history"]
    assert len(history) == 5 * JOIN_RUNS  # input, start, [ok, flaky], join, done
    allowed = {("__start__",), ("start",), ("ok", "flaky"), ("join",), ()}
    wrong = [(h.metadata["step"], h.next) for h in history if h.next not in allowed]
    assert not wrong, f"join scheduled before its branches ran: {wrong}"
    assert dyn["calls"] == {n: JOIN_RUNS for n in ("start", "ok", "flaky", "join")}


# --- 5. time travel ------------------------------------------------------------------------------

CONST = "constant value " * 20


async def test_time_travel_fork_and_update(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(chain_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        obs["run"] = await g.invoke({"log": ["in"], "const": CONST, "count": 0}, cfg)
        hist = obs["history1"] = await g.history(cfg)
        at_n3 = next(s for s in hist if s.next == ("n3",))
        at_n5 = next(s for s in hist if s.next == ("n5",))
        obs["at_n3"] = await g.get_state(at_n3.config)
        obs["fork"] = await g.invoke(None, at_n3.config)
        obs["history2"] = await g.history(cfg)
        updated = obs["update_cfg"] = await g.update_state(
            at_n5.config, {"log": ["edited"], "count": 100}, as_node="n4"
        )
        obs["updated"] = await g.get_state(updated)
        obs["continued"] = await g.stream(None, updated, stream_mode="values")
        obs["final"] = await g.get_state(cfg)
        obs["history3"] = await g.history(cfg)
        cold = side.run(chain_graph(Calls()), side.reopen())
        obs["history3_cold"] = await cold.history(cfg)
        obs["old_states_cold"] = [await cold.get_state(s.config) for s in hist]
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    nodes = [f"n{i}" for i in range(8)]
    assert dyn["run"] == {"log": ["in", *nodes], "const": CONST, "count": 8}
    assert dyn["fork"] == {"log": ["in", *nodes], "const": CONST, "count": 8}
    assert dyn["updated"].next == ("n5",)
    assert dyn["updated"].parent_config == next(
        s.config for s in dyn["history1"] if s.next == ("n5",)
    )
    final = dyn["final"]
    assert final.values == {
        "log": ["in", *nodes[:5], "edited", *nodes[5:]],
        "const": CONST,
        "count": 103,
    }
    assert len(dyn["history1"]) == 10
    # the fork adds a "fork" checkpoint and n3..n7; the update one, and n5..n7 three more
    assert len(dyn["history3"]) == 10 + 6 + 4
    assert [h.metadata["source"] for h in dyn["history3"]].count("fork") == 1
    for old, again in zip(dyn["history1"], dyn["old_states_cold"], strict=True):
        assert again.values == old.values and again.config == old.config
    assert dyn["calls"] == {
        "n0": 1,
        "n1": 1,
        "n2": 1,
        "n3": 2,
        "n4": 2,
        "n5": 3,
        "n6": 3,
        "n7": 3,
    }


# --- 6. history filter / before / limit -----------------------------------------------------------


async def test_history_filter_before_limit(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    async def scenario(side: Side) -> dict[str, Any]:
        g = side.run(loop_graph(Calls()))
        cfg = side.config()
        await g.invoke({"log": [], "count": 0}, cfg)
        await g.invoke({"log": ["second"]}, side.config(metadata={"user": "bob"}))
        await g.update_state(cfg, {"log": ["patched"]})
        hist = await g.history(cfg)
        queries: dict[str, dict[str, Any]] = {
            "all": {},
            "loop": {"filter": {"source": "loop"}},
            "input": {"filter": {"source": "input"}},
            "update": {"filter": {"source": "update"}},
            "step3": {"filter": {"step": 3}},
            "loop_step2": {"filter": {"source": "loop", "step": 2}},
            "bob": {"filter": {"user": "bob"}},
            "bob_loop": {"filter": {"user": "bob", "source": "loop"}},
            "nothing": {"filter": {"source": "nope"}},
            "limit1": {"limit": 1},
            "limit3": {"limit": 3},
            "limit_big": {"limit": 100},
            "before": {"before": hist[3].config},
            "before_limit": {"before": hist[3].config, "limit": 2},
            "before_oldest": {"before": hist[-1].config},
            "filter_before_limit": {
                "filter": {"source": "loop"},
                "before": hist[5].config,
                "limit": 2,
            },
        }
        obs: dict[str, Any] = {"hist": hist}
        for name, kwargs in queries.items():
            obs[name] = await g.history(cfg, **kwargs)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)

    def ids(snaps: list[Any]) -> list[str]:
        return [s.config["configurable"]["checkpoint_id"] for s in snaps]

    hist = dyn["hist"]
    assert [(h.metadata["source"], h.metadata["step"]) for h in hist] == [
        ("update", 11),
        *[("loop", step) for step in range(10, 5, -1)],
        ("input", 5),
        *[("loop", step) for step in range(4, -1, -1)],
        ("input", -1),
    ]
    assert [h.metadata.get("user") for h in hist] == [None, *["bob"] * 6, *[None] * 6]
    assert ids(dyn["loop"]) == ids([h for h in hist if h.metadata["source"] == "loop"])
    assert ids(dyn["input"]) == ids([hist[6], hist[12]])
    assert len(dyn["update"]) == 1 and ids(dyn["update"]) == ids(hist[:1])
    assert ids(dyn["step3"]) == ids([hist[8]])
    assert ids(dyn["loop_step2"]) == ids([hist[9]])
    assert ids(dyn["bob"]) == ids(hist[1:7])
    assert ids(dyn["bob_loop"]) == ids(hist[1:6])
    assert dyn["nothing"] == []
    assert ids(dyn["limit1"]) == ids(hist[:1])
    assert ids(dyn["limit3"]) == ids(hist[:3])
    assert ids(dyn["limit_big"]) == ids(hist)
    assert ids(dyn["before"]) == ids(hist[4:])
    assert ids(dyn["before_limit"]) == ids(hist[4:6])
    assert dyn["before_oldest"] == []
    loop_older = [h for h in hist[6:] if h.metadata["source"] == "loop"]
    assert ids(dyn["filter_before_limit"]) == ids(loop_older[:2])


# --- 7. large state (chunked payloads) ------------------------------------------------------------


async def test_large_state_round_trips(
    mode: str, thread_id: str, ddb: DynamoSavers, ddb_endpoint: str, table_name: str
) -> None:
    blob = big_text()

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(big_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        with pytest.raises(ValueError, match="boom in flaky"):
            await g.invoke({"log": []}, cfg)
        pending = (await g.saver("get_tuple", cfg)).pending_writes
        obs["pending"] = pending
        calls.fail = False
        obs["resumed"] = await g.invoke(None, cfg)
        obs["second"] = await g.invoke({"log": ["again"]}, cfg)
        obs["final"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        cold = side.run(big_graph(Calls()), side.reopen())
        obs["final_cold"] = await cold.get_state(cfg)
        obs["history_cold"] = await cold.history(cfg)
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    assert [v for _, ch, v in dyn["pending"] if ch == "blob"] == [blob]
    assert dyn["resumed"]["blob"] == blob
    assert dyn["final"].values["blob"] == blob
    assert dyn["final_cold"].values["blob"] == blob
    assert all(h.values.get("blob") in (None, blob) for h in dyn["history_cold"])
    assert sum(h.values.get("blob") == blob for h in dyn["history_cold"]) >= 4
    assert dyn["calls"] == {"start": 2, "big": 2, "flaky": 3, "join": 2}
    assert _log(dyn["final"])[-1] == f"join:{len(blob)}"

    # The payloads really went over DynamoDB's 400 KB item limit, into chunk items.
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": schema.thread_pk(thread_id)}},
        "ProjectionExpression": "pk, sk, k",
    }
    while True:
        resp = client.query(**kwargs)
        items += resp["Items"]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    client.close()
    chunks = [i for i in items if i["k"]["S"] == schema.KIND_CHUNK]
    # At least the pending write of ``big`` and one checkpoint hold the ~2.3 MB compressed
    # blob, each in several chunk items.
    print(f"{len(chunks)} chunk items")
    assert len(chunks) >= 2 * 6


async def test_large_value_unchanged_by_the_next_step(
    mode: str, thread_id: str, ddb: DynamoSavers
) -> None:
    """A ~3 MB channel written by one step and left unchanged by the next (so the next
    checkpoint stores it by reference to a chunked one); one run, then read back."""
    blob = big_text()

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(big_then_small_graph(calls))
        cfg = side.config()
        obs: dict[str, Any] = {}
        obs["run"] = await g.invoke({"log": ["in"]}, cfg)
        obs["state"] = await g.get_state(cfg)
        obs["history"] = await g.history(cfg)
        obs["state_cold"] = await side.run(big_then_small_graph(Calls()), side.reopen()).get_state(
            cfg
        )
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    expected = {"log": ["in", "big", f"small:{len(blob)}"], "blob": blob}
    assert dyn["run"] == expected
    assert dyn["state"].values == expected and dyn["state"].next == ()
    assert dyn["state_cold"].values == expected
    assert [h.metadata["step"] for h in dyn["history"]] == [2, 1, 0, -1]


# --- 8. odd thread ids ----------------------------------------------------------------------------

ODD_IDS = [
    "t1",
    "t10",
    "t1#x",
    "t1$",
    "t1 ",
    " t1",
    "t",
    "a|b:c$d",
    "тред-🧵",
    "with spaces in it",
    "tab\there",
    "x" * 600,
    "x" * 599 + "y",
    "🧵" * 600,  # 2400 bytes in UTF-8: stored under a digest
    "🧵" * 599 + "x",
]


@pytest.fixture
async def odd_table(ddb_endpoint: str) -> AsyncIterator[str]:
    """A table of its own, so the ids are exactly these (and list(None) sees only them)."""
    name = f"odd-ids-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as saver:
        saver.setup()
    yield name
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    client.delete_table(TableName=name)
    client.close()


async def test_odd_thread_ids_are_isolated(
    mode: str, ddb: DynamoSavers, odd_table: str, ddb_endpoint: str
) -> None:
    async def scenario(side: Side) -> dict[str, Any]:
        g = side.run(owned_graph(Calls()))
        obs: dict[str, Any] = {}
        for turn in range(2):
            for n, tid in enumerate(ODD_IDS):
                await g.invoke({"owner": tid, "log": [f"{n}.{turn}"]}, side.config(tid))
        obs["states"] = {tid: await g.get_state(side.config(tid)) for tid in ODD_IDS}
        obs["histories"] = {tid: await g.history(side.config(tid)) for tid in ODD_IDS}
        obs["listed"] = sorted(
            t.config["configurable"]["thread_id"] for t in await g.saver("list", None)
        )
        await g.saver("delete_thread", "t1")
        obs["after_delete"] = {tid: await g.get_state(side.config(tid)) for tid in ODD_IDS}
        obs["histories_after_delete"] = {
            tid: len(await g.history(side.config(tid))) for tid in ODD_IDS
        }
        return obs

    own = DynamoSavers(ddb_endpoint, odd_table)
    try:
        _, dyn = await differential(scenario, mode, "unused", own, own.make())
    finally:
        await own.close()
    for n, tid in enumerate(ODD_IDS):
        state = dyn["states"][tid]
        assert state.values == {
            "owner": tid,
            "log": [f"{n}.0", f"first:{tid}:1", f"second:{tid}"]
            + [f"{n}.1", f"first:{tid}:4", f"second:{tid}"],
        }, tid
        history = dyn["histories"][tid]
        assert len(history) == 8, tid
        assert {h.config["configurable"]["thread_id"] for h in history} == {tid}
        if tid != "t1":
            assert dyn["after_delete"][tid].values == state.values, tid
            assert dyn["histories_after_delete"][tid] == 8, tid
    assert dyn["listed"] == sorted(tid for tid in ODD_IDS for _ in range(8))
    assert dyn["after_delete"]["t1"].values == {}
    assert dyn["histories_after_delete"]["t1"] == 0


# --- 9. concurrent threads on one saver -----------------------------------------------------------

N_THREADS = 20
TURNS = 3


async def test_concurrent_threads(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    tids = [f"{thread_id}-{i:02d}" for i in range(N_THREADS)]

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        g = side.run(owned_graph(calls))

        def inputs(tid: str, turn: int) -> dict[str, Any]:
            return {"owner": tid, "log": [f"turn{turn}"]}

        if side.mode == "async":

            async def one(tid: str) -> None:
                for turn in range(TURNS):
                    await await_with_deadline(g.graph.ainvoke(inputs(tid, turn), side.config(tid)))

            await asyncio.gather(*(one(tid) for tid in tids))
        else:

            def one_sync(tid: str) -> None:
                for turn in range(TURNS):
                    call_with_deadline(g.graph.invoke, inputs(tid, turn), side.config(tid))

            def all_sync() -> None:
                with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
                    list(pool.map(one_sync, tids))

            await asyncio.to_thread(all_sync)
        obs: dict[str, Any] = {}
        for tid in tids:
            obs[f"state {tid}"] = await g.get_state(side.config(tid))
            obs[f"history {tid}"] = await g.history(side.config(tid))
        obs["calls"] = dict(calls.counts)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    for tid in tids:
        expected: list[str] = []
        for turn in range(TURNS):
            expected += [f"turn{turn}", f"first:{tid}:{len(expected) + 1}", f"second:{tid}"]
        assert dyn[f"state {tid}"].values == {"owner": tid, "log": expected}, tid
        assert len(dyn[f"history {tid}"]) == 4 * TURNS  # input, start, first, second
    assert dyn["calls"] == {"first": N_THREADS * TURNS, "second": N_THREADS * TURNS}


# --- 10. Pydantic models and dataclasses in state -------------------------------------------------


def _profile() -> Profile:
    return Profile(name="ada", tags=["x"], address=Address(city="Paris", zip="75001"))


async def test_pydantic_and_dataclass_state(mode: str, thread_id: str, ddb: DynamoSavers) -> None:
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)

    async def scenario(side: Side) -> dict[str, Any]:
        calls = Calls()
        typed = side.run(typed_graph(calls))
        model = side.run(model_graph(calls))
        cfg = side.config()
        model_cfg = side.config(side.thread_id + "-model")
        obs: dict[str, Any] = {}
        obs["typed1"] = await typed.invoke(
            {"profile": _profile(), "point": Point(1, 1.5, "p"), "trail": [], "when": when}, cfg
        )
        obs["typed2"] = await typed.invoke({"trail": []}, cfg)
        obs["typed_state"] = await typed.get_state(cfg)
        obs["typed_history"] = await typed.history(cfg)
        obs["typed_cold"] = await side.run(typed_graph(Calls()), side.reopen()).get_state(cfg)
        obs["model1"] = await model.invoke(
            {"profile": _profile(), "point": Point(0, 2.0)}, model_cfg
        )
        obs["model2"] = await model.invoke({"moves": 10}, model_cfg)
        obs["model_state"] = await model.get_state(model_cfg)
        obs["model_history"] = await model.history(model_cfg)
        return obs

    _, dyn = await differential(scenario, mode, thread_id, ddb)
    values = dyn["typed_state"].values
    for vals in (values, dyn["typed_cold"].values):
        assert type(vals["profile"]) is Profile
        assert type(vals["profile"].address) is Address
        assert vals["profile"].color is Color.BLUE
        assert vals["profile"].tags == ["x", "moved1", "moved2"]
        assert type(vals["point"]) is Point and vals["point"] == Point(3, 6.0, "p>>")
        assert vals["trail"] == [Point(2, 3.0, "p>"), Point(3, 6.0, "p>>")]
        assert all(type(p) is Point for p in vals["trail"])
        assert vals["when"] == when + dt.timedelta(hours=2)
        assert isinstance(vals["when"], dt.datetime)
    for snap in dyn["typed_history"]:
        if "point" in snap.values:
            assert type(snap.values["point"]) is Point
            assert type(snap.values["profile"]) is Profile
    mvals = dyn["model_state"].values
    assert type(mvals["profile"]) is Profile and type(mvals["point"]) is Point
    assert mvals["moves"] == 11
    assert mvals["point"] == Point(2, 8.0, ">>")
