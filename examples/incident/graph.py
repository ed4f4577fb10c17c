"""The investigation graph.

::

    START -> entry -+-> metrics ------+-> consensus -> cost_guardian -> recommend -> END
                    +-> logs ---------+
                    +-> traces -------+
                    +-> deployments --+
                    +-> dependencies -+
                    +-> runbooks -----+
                    +-> recommend (invalid event)

The six agents run in one superstep, in parallel. Each finished agent's hypothesis is saved
at once as a pending write of that superstep's checkpoint, so after a crash a resumed run
re-runs only the agents that had not finished.

A throttled model call is retried by LangGraph's :class:`~langgraph.types.RetryPolicy` on
the agent's node (:data:`AGENT_RETRY`: jittered exponential backoff, on
:class:`~examples.incident.analysts.Throttled` only). Past its attempts the run fails, so
the invocation fails and the queue delivers the event again; the retry resumes from the
checkpoint and re-runs only that agent. Every other failure of an agent degrades its
hypothesis (the failure matrix of :func:`run_agent`) and the investigation goes on.

A run writes 7 checkpoints (input, start, entry, agents, consensus, cost guardian,
recommendation) holding 11 node runs.

Dependencies (tools, analyst, faults, budget, observer) come from LangGraph's run
context (:class:`InvestigationContext`), which is not checkpointed: a resumed run passes
its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy

from . import memory
from .agents import SPECS, AgentSpec
from .analysts import Analyst, DeterministicAnalyst, Throttled
from .consensus import account, decide, recommend
from .events import InvalidEventError, parse_incident
from .faults import Faults
from .model import (
    AGENTS,
    Cost,
    Hypothesis,
    Incident,
    Result,
    State,
    ToolCall,
    TraceEntry,
)
from .telemetry import FixtureProvider, Toolbox, call_with_timeout

AGENT_TIMEOUT_S = 20.0
"""Time budget of one agent (tools and analysis); past it the hypothesis is ``TIMEOUT``."""

PARTIAL_PENALTY = 0.5
"""Confidence factor of a hypothesis built on partial evidence."""

AGENT_RETRY = RetryPolicy(
    initial_interval=0.2, backoff_factor=2.0, max_interval=2.0, max_attempts=4, retry_on=Throttled
)
"""How a throttled agent is retried: 4 attempts, 0.2 s doubling to at most 2 s, jittered."""


@dataclass(frozen=True)
class Pricing:
    """What tokens and tool calls cost, in USD (defaults: a mid-size Bedrock model)."""

    input_per_1k: float = 0.003
    output_per_1k: float = 0.015
    per_tool_call: float = 0.00001

    def cost(self, input_tokens: int, output_tokens: int, tool_calls: int) -> float:
        """The cost of an agent's work, rounded to micro-dollars."""
        return round(
            input_tokens / 1000 * self.input_per_1k
            + output_tokens / 1000 * self.output_per_1k
            + tool_calls * self.per_tool_call,
            6,
        )


@dataclass(frozen=True)
class AgentRun:
    """One execution of an agent in this process (durations are not part of the state)."""

    agent: str
    status: str
    duration_ms: float
    retries: int
    cost_usd: float


class RunLog:
    """Records the agent executions of this process (thread-safe): for metrics and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: list[AgentRun] = []
        self._attempts: dict[str, int] = {}

    def attempt(self, agent: str) -> int:
        """Count one attempt of an agent's node; returns how many it has had (1 first)."""
        with self._lock:
            self._attempts[agent] = self._attempts.get(agent, 0) + 1
            return self._attempts[agent]

    def record(self, run: AgentRun) -> None:
        """Add one agent execution."""
        with self._lock:
            self.runs.append(run)

    def agents(self) -> list[str]:
        """The agents that ran, sorted."""
        with self._lock:
            return sorted(r.agent for r in self.runs)


@dataclass
class InvestigationContext:
    """What nodes need besides the state; passed per run, never checkpointed.

    Attributes:
        toolbox: Bounded action groups.
        analyst: Turns evidence into hypotheses.
        faults: Injected faults (none by default).
        pricing: Token and tool prices.
        budget_usd: Cost budget of one investigation (exceeding it is a signal).
        agent_timeout_s: Time budget of one agent.
        log: Records agent executions (and counts their attempts).
    """

    toolbox: Toolbox = field(default_factory=lambda: Toolbox(FixtureProvider()))
    analyst: Analyst = field(default_factory=DeterministicAnalyst)
    faults: Faults = field(default_factory=Faults)
    pricing: Pricing = field(default_factory=Pricing)
    budget_usd: float = 0.10
    agent_timeout_s: float = AGENT_TIMEOUT_S
    log: RunLog = field(default_factory=RunLog)


def _degraded(spec: AgentSpec, status: str, why: str, retries: int) -> Hypothesis:
    return Hypothesis(
        agent=spec.id,
        status=status,  # type: ignore[typeddict-item]
        category="none",
        suspect="",
        summary=why,
        evidence=[],
        confidence=0.0,
        action="",
        cost=Cost(input_tokens=0, output_tokens=0, tool_calls=0, usd=0.0),
        retries=retries,
        tools=[],
    )


def run_agent(
    spec: AgentSpec, incident: Incident, ctx: InvestigationContext, retries: int = 0
) -> Hypothesis:
    """One attempt of an agent's investigation, within its time budget.

    Failure matrix: no answer in time gives ``TIMEOUT`` (confidence 0); a tool that failed,
    timed out or was cut gives ``PARTIAL`` (confidence halved); any analyst error but
    throttling gives ``FAILURE`` (confidence 0).

    Raises:
        Throttled: The model asked to slow down; the node's :data:`AGENT_RETRY` retries.
    """
    attempts = {"retries": retries}

    def work() -> Hypothesis:
        evidence = [ctx.toolbox.run(tool, incident, coll) for tool, coll in spec.tools]
        if ctx.faults.has("timeout", spec.id):
            time.sleep(ctx.agent_timeout_s * 3)
        if ctx.faults.has("fail", spec.id):
            raise RuntimeError("injected analyst failure")
        if ctx.faults.take("throttle", spec.id):
            raise Throttled("injected throttling")
        analysis = ctx.analyst.analyze(spec, incident, evidence)
        partial = any(r["status"] != "OK" for r in evidence)
        confidence = analysis["confidence"] * (PARTIAL_PENALTY if partial else 1.0)
        tools = [
            ToolCall(
                tool=r["tool"],
                status=r["status"],
                bytes=r["bytes"],
                truncated=r["truncated"],
                error=r["error"],
            )
            for r in evidence
        ]
        return Hypothesis(
            agent=spec.id,
            status="PARTIAL" if partial else "SUCCESS",
            category=analysis["category"],
            suspect=analysis["suspect"],
            summary=analysis["summary"],
            evidence=analysis["evidence"],
            confidence=round(confidence, 4),
            action=analysis["action"],
            cost=Cost(
                input_tokens=analysis["input_tokens"],
                output_tokens=analysis["output_tokens"],
                tool_calls=len(evidence),
                usd=ctx.pricing.cost(
                    analysis["input_tokens"], analysis["output_tokens"], len(evidence)
                ),
            ),
            retries=attempts["retries"],
            tools=tools,
        )

    outcome = call_with_timeout(work, ctx.agent_timeout_s)
    if outcome.timed_out:
        return _degraded(
            spec, "TIMEOUT", f"no answer within {ctx.agent_timeout_s:g} s", attempts["retries"]
        )
    if isinstance(outcome.error, Throttled):
        raise outcome.error
    if outcome.error is not None or outcome.value is None:
        error = outcome.error
        why = f"{type(error).__name__}: {error}"[:300] if error else "no answer"
        return _degraded(spec, "FAILURE", why, attempts["retries"])
    return outcome.value


# --- nodes ----------------------------------------------------------------------------------
def entry(state: State) -> dict[str, Any]:
    """Validate the EventBridge event; derive the execution id from the event id."""
    try:
        incident = parse_incident(state.get("event"))
    except InvalidEventError as exc:
        return {
            "error": {"type": "InvalidEvent", "message": str(exc), "errors": exc.errors},
            "trace": [TraceEntry(node="entry", status="INVALID", detail=str(exc)[:300])],
        }
    detail = f"{incident['service']} / {incident['alarm']} -> {incident['execution_id']}"
    return {"incident": incident, "trace": [TraceEntry(node="entry", status="OK", detail=detail)]}


def route(state: State) -> list[str] | str:
    """Fan out to the six agents, or straight to the recommendation if the event was bad."""
    return "recommend" if state.get("error") else list(AGENTS)


def agent_node(spec: AgentSpec) -> Callable[[State, Runtime[InvestigationContext]], dict[str, Any]]:
    """The node of one agent."""

    def node(state: State, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
        ctx = runtime.context
        ctx.faults.hang_if_asked(spec.id)  # a frozen process, for crash tests
        started = time.perf_counter()
        retries = ctx.log.attempt(spec.id) - 1
        hypothesis = run_agent(spec, state["incident"], ctx, retries)
        ctx.log.record(
            AgentRun(
                agent=spec.id,
                status=hypothesis["status"],
                duration_ms=(time.perf_counter() - started) * 1000,
                retries=hypothesis["retries"],
                cost_usd=hypothesis["cost"]["usd"],
            )
        )
        entry = TraceEntry(
            node=spec.id,
            status=hypothesis["status"],
            detail=f"{hypothesis['category']} {hypothesis['confidence']:.2f} "
            f"${hypothesis['cost']['usd']:.6f} retries={hypothesis['retries']}",
        )
        return {"hypotheses": {spec.id: hypothesis}, "trace": [entry]}

    node.__name__ = f"{spec.id}_agent"
    return node


def consensus_node(state: State, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Weighted, deterministic vote (fails closed without quorum), beside similar past incidents.

    The past incidents come from the graph's store (``compile(store=...)``), if it has one;
    they are reported, never voted.
    """
    consensus = decide(state.get("hypotheses", {}))
    precedents = memory.recall(runtime.store, state["incident"])
    detail = (
        f"{consensus['category']} agreement={consensus['agreement']:.2f} "
        f"answered={consensus['answered']}/{len(AGENTS)}"
        if consensus["status"] == "AGREED"
        else consensus["reason"]
    )
    if precedents:
        detail += f" precedents={len(precedents)}"
    return {
        "consensus": consensus,
        "precedents": precedents,
        "trace": [TraceEntry(node="consensus", status=consensus["status"], detail=detail)],
    }


def cost_guardian_node(state: State, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """Add up the cost; over budget is a signal (``BUDGET_EXCEEDED``), the run goes on."""
    cost = account(state.get("hypotheses", {}), runtime.context.budget_usd)
    status = "BUDGET_EXCEEDED" if cost["budget_exceeded"] else "OK"
    detail = f"${cost['total_usd']:.6f} of ${cost['budget_usd']:.4f}"
    return {"cost": cost, "trace": [TraceEntry(node="cost_guardian", status=status, detail=detail)]}


def recommend_node(state: State, runtime: Runtime[InvestigationContext]) -> dict[str, Any]:
    """The terminal node: the recommendation and the full result, remembered in the store.

    Remembering is idempotent (the memory's key is the execution id), so a node re-run
    after a crash stores the same item again.
    """
    hypotheses = state.get("hypotheses", {})
    error = state.get("error")
    consensus = state.get("consensus")
    cost = state.get("cost")
    precedents = state.get("precedents", [])
    recommendation = recommend(
        consensus, cost, hypotheses, error["message"] if error else None, precedents
    )
    entry = TraceEntry(
        node="recommend", status=recommendation["status"], detail=recommendation["action"][:200]
    )
    incident = state.get("incident")
    event = state.get("event") or {}
    result = Result(
        execution_id=incident["execution_id"] if incident else "",
        status=recommendation["status"],
        incident=dict(incident) if incident else {"event_id": event.get("id")},
        recommendation=recommendation,
        consensus=consensus,
        cost=cost,
        hypotheses=[hypotheses[a] for a in AGENTS if a in hypotheses],
        trace=[*state.get("trace", []), entry],
        error=error,
        precedents=precedents,
    )
    memory.remember(runtime.store, result)
    return {"result": result, "trace": [entry]}


def build_graph(
    agent_retry: RetryPolicy = AGENT_RETRY,
) -> StateGraph[State, InvestigationContext, State, State]:
    """The investigation graph, uncompiled (compile it with a checkpointer).

    Args:
        agent_retry: How the agents' nodes retry a throttled model.
    """
    graph: StateGraph[State, InvestigationContext, State, State] = StateGraph(
        State, context_schema=InvestigationContext
    )
    graph.add_node("entry", entry)
    for agent in AGENTS:
        graph.add_node(agent, agent_node(SPECS[agent]), retry_policy=agent_retry)  # type: ignore[arg-type]
    graph.add_node("consensus", consensus_node)
    graph.add_node("cost_guardian", cost_guardian_node)
    graph.add_node("recommend", recommend_node)
    graph.add_edge(START, "entry")
    graph.add_conditional_edges("entry", route, [*AGENTS, "recommend"])
    graph.add_edge(list(AGENTS), "consensus")
    graph.add_edge("consensus", "cost_guardian")
    graph.add_edge("cost_guardian", "recommend")
    graph.add_edge("recommend", END)
    return graph
