"""Running investigations on a checkpointer: fresh, resumed after a crash, or stored.

The thread id of an investigation is its execution id, derived from the event id, so:

- a new event runs the graph from the start;
- an event whose run crashed (its latest checkpoint still has work to do) resumes from
  that checkpoint: agents whose hypotheses were saved are not run again;
- an event whose run finished returns the stored result without running anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from langgraph.types import StateSnapshot

from .analysts import Analyst, DeterministicAnalyst
from .answers import ANSWERS_TTL_S, CachedAnalyst
from .events import parse_incident
from .faults import Faults
from .graph import AGENT_RETRY, InvestigationContext, RunLog, build_graph
from .model import AGENTS, Result, State
from .telemetry import (
    TOOL_MAX_BYTES,
    TOOL_TIMEOUT_S,
    ActionGroups,
    FixtureProvider,
    Toolbox,
)

Mode = Literal["fresh", "resumed", "stored"]


@dataclass
class Outcome:
    """What :meth:`Investigator.investigate` did.

    Attributes:
        result: The investigation's result.
        mode: ``fresh`` (ran from the start), ``resumed`` (continued a crashed run) or
            ``stored`` (the run had finished; nothing ran).
        thread_id: The checkpoint thread.
        agents_run: Agents executed by this call (sorted).
        log: This call's agent executions, with durations.
        answers_reused: Agents whose analyst answer came from the answer cache (sorted).
    """

    result: Result
    mode: Mode
    thread_id: str
    agents_run: list[str]
    log: RunLog
    answers_reused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrailRow:
    """One checkpoint of an investigation, oldest first.

    Attributes:
        step: LangGraph step (-1 for the input).
        source: ``input`` or ``loop``.
        checkpoint_id: The checkpoint id.
        next: Nodes scheduled after this checkpoint.
        done: Of those, the ones whose writes are saved.
    """

    step: int
    source: str
    checkpoint_id: str
    next: tuple[str, ...]
    done: tuple[str, ...]


@dataclass
class Investigator:
    """Runs incident investigations on a checkpointer (create one per process).

    Args:
        checkpointer: Where checkpoints go (a ``DynamoDBSaver``).
        store: Where finished investigations are remembered and similar ones recalled (a
            ``DynamoDBStore`` with :func:`examples.incident.memory.index_config`); ``None``
            runs without memory.
        provider: Telemetry source (default: the recorded fixtures).
        analyst: Reasoning (default: deterministic).
        answers: A node cache (a ``DynamoDBCache``) that keeps analyst answers for the
            same evidence (:mod:`examples.incident.answers`); ``None`` asks every time.
        answers_ttl_s: How long an answer is reused, in seconds.
        budget_usd: Cost budget of one investigation.
        agent_timeout_s: Time budget of one agent.
        tool_timeout_s: Time bound of one action-group call.
        tool_max_bytes: Size bound of one action-group answer.
        faults: Faults to inject, ``kind:target[:count],...``; ``None`` reads
            ``INCIDENT_FAULTS`` at every run.
        backoff_base_s: First backoff of a throttled agent (the ``initial_interval`` of
            the agents' :data:`~examples.incident.graph.AGENT_RETRY`).
        max_attempts: Attempts of a throttled agent before the run fails (and the queue
            delivers the event again).
    """

    checkpointer: BaseCheckpointSaver[Any]
    store: BaseStore | None = None
    provider: ActionGroups = field(default_factory=FixtureProvider)
    analyst: Analyst = field(default_factory=DeterministicAnalyst)
    answers: BaseCache[Any] | None = None
    answers_ttl_s: int = ANSWERS_TTL_S
    budget_usd: float = 0.10
    agent_timeout_s: float = 20.0
    tool_timeout_s: float = TOOL_TIMEOUT_S
    tool_max_bytes: int = TOOL_MAX_BYTES
    faults: str | None = None
    backoff_base_s: float = AGENT_RETRY.initial_interval
    max_attempts: int = AGENT_RETRY.max_attempts

    def __post_init__(self) -> None:
        retry = AGENT_RETRY._replace(
            initial_interval=self.backoff_base_s, max_attempts=self.max_attempts
        )
        self.graph = build_graph(retry).compile(checkpointer=self.checkpointer, store=self.store)

    def context(self) -> InvestigationContext:
        """A fresh run context (new run log, fault counters reset)."""
        faults = Faults.from_env() if self.faults is None else Faults.parse(self.faults)
        return InvestigationContext(
            toolbox=Toolbox(
                self.provider,
                timeout_s=self.tool_timeout_s,
                max_bytes=self.tool_max_bytes,
                faults=faults,
            ),
            analyst=(
                self.analyst
                if self.answers is None
                else CachedAnalyst(self.analyst, self.answers, self.answers_ttl_s)
            ),
            faults=faults,
            budget_usd=self.budget_usd,
            agent_timeout_s=self.agent_timeout_s,
            log=RunLog(),
        )

    @staticmethod
    def config(thread_id: str) -> RunnableConfig:
        """The run config of a thread."""
        return {"configurable": {"thread_id": thread_id}}

    @staticmethod
    def _stored(snapshot: StateSnapshot) -> Result | None:
        result = snapshot.values.get("result") if snapshot.values else None
        return result if result and not snapshot.next else None

    def investigate(self, event: dict[str, Any], *, thread_id: str | None = None) -> Outcome:
        """Investigate an incident event (sync: boto3).

        Args:
            event: The EventBridge event.
            thread_id: Override the thread (default: the execution id).

        Raises:
            InvalidEventError: The event is not a valid incident event.
        """
        incident = parse_incident(event)
        thread = thread_id or incident["execution_id"]
        config = self.config(thread)
        ctx = self.context()
        snapshot = self.graph.get_state(config)
        stored = self._stored(snapshot)
        if stored is not None:
            return Outcome(stored, "stored", thread, [], ctx.log)
        mode: Mode = "resumed" if snapshot.next else "fresh"
        state_in = None if snapshot.next else State(event=event)
        out = self.graph.invoke(state_in, config, context=ctx)
        return Outcome(out["result"], mode, thread, ctx.log.agents(), ctx.log, _reused(ctx))

    async def ainvestigate(self, event: dict[str, Any], *, thread_id: str | None = None) -> Outcome:
        """Async :meth:`investigate` (aiobotocore): same graph, same checkpoints."""
        incident = parse_incident(event)
        thread = thread_id or incident["execution_id"]
        config = self.config(thread)
        ctx = self.context()
        snapshot = await self.graph.aget_state(config)
        stored = self._stored(snapshot)
        if stored is not None:
            return Outcome(stored, "stored", thread, [], ctx.log)
        mode: Mode = "resumed" if snapshot.next else "fresh"
        state_in = None if snapshot.next else State(event=event)
        out = await self.graph.ainvoke(state_in, config, context=ctx)
        return Outcome(out["result"], mode, thread, ctx.log.agents(), ctx.log, _reused(ctx))

    def trail(self, thread_id: str) -> list[TrailRow]:
        """The thread's checkpoints, oldest first, with the nodes each one saved work of."""
        return _rows(self.graph.get_state_history(self.config(thread_id)))

    def finished_agents(self, thread_id: str) -> list[str]:
        """Agents whose hypotheses are saved in the thread's latest checkpoint (sorted)."""
        latest = self.checkpointer.get_tuple(self.config(thread_id))
        if latest is None:
            return []
        done: set[str] = set()
        for _, channel, value in latest.pending_writes or ():
            if channel == "hypotheses" and isinstance(value, dict):
                done.update(a for a in value if a in AGENTS)
        return sorted(done)


def _reused(ctx: InvestigationContext) -> list[str]:
    """The agents whose answer the run's answer cache served."""
    return sorted(ctx.analyst.reused) if isinstance(ctx.analyst, CachedAnalyst) else []


def _rows(history: Iterable[StateSnapshot]) -> list[TrailRow]:
    rows = []
    for snap in history:
        meta = snap.metadata or {}
        rows.append(
            TrailRow(
                step=int(meta.get("step", 0)),
                source=str(meta.get("source", "")),
                checkpoint_id=str(snap.config["configurable"]["checkpoint_id"]),
                next=tuple(snap.next),
                done=tuple(t.name for t in snap.tasks if t.result is not None or t.error),
            )
        )
    return sorted(rows, key=lambda r: (r.step, r.checkpoint_id))
