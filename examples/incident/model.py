"""The investigation's data: plain JSON-shaped ``TypedDict`` records, no custom classes.

Everything that goes into the graph state is made of ``str``, ``int``, ``float``, ``bool``,
``None``, ``list`` and ``dict``, so checkpoints need nothing but LangGraph's default
serializer (msgpack, no pickle), two runs compare with ``==``, and the Lambda can return the
result as JSON as it is.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

AgentId = Literal["metrics", "logs", "traces", "deployments", "dependencies", "runbooks"]
AGENTS: tuple[AgentId, ...] = (
    "metrics",
    "logs",
    "traces",
    "deployments",
    "dependencies",
    "runbooks",
)
"""The six investigating agents, in the order results are reported."""

AgentStatus = Literal["SUCCESS", "PARTIAL", "TIMEOUT", "FAILURE"]
"""``PARTIAL``: a tool failed or was cut, confidence reduced; ``TIMEOUT``: the agent ran out of
time, confidence 0; ``FAILURE``: the analyst failed (retries exhausted), confidence 0."""

ToolStatus = Literal["OK", "PARTIAL", "TIMEOUT", "ERROR"]

Category = Literal["deployment", "dependency", "capacity", "none"]
"""Root-cause classes agents vote on; ``none`` means "no signal here" and casts no vote."""

ResultStatus = Literal["SUCCESS", "PARTIAL", "FAILURE"]
"""``SUCCESS``: consensus, every agent answered fully; ``PARTIAL``: consensus despite degraded
agents; ``FAILURE``: no consensus (fail closed) or an invalid event."""


class Incident(TypedDict):
    """The validated incident (from the EventBridge event)."""

    event_id: str
    execution_id: str
    source: str
    detail_type: str
    account: str
    region: str
    time: str
    service: str
    severity: str
    alarm: str
    alarm_reason: str
    metric: dict[str, Any]
    log_group: str
    started_at: str
    detected_at: str


class ToolCall(TypedDict):
    """What one bounded action-group call returned (without its data)."""

    tool: str
    status: ToolStatus
    bytes: int
    truncated: bool
    error: str | None


class ToolResult(ToolCall):
    """One bounded action-group call, with its (possibly partial) data."""

    data: dict[str, Any]


class Cost(TypedDict):
    """What an agent consumed."""

    input_tokens: int
    output_tokens: int
    tool_calls: int
    usd: float


class Analysis(TypedDict):
    """What an analyst concludes from an agent's evidence."""

    category: Category
    suspect: str
    summary: str
    evidence: list[str]
    confidence: float
    action: str
    input_tokens: int
    output_tokens: int


class Hypothesis(TypedDict):
    """One agent's answer."""

    agent: str
    status: AgentStatus
    category: Category
    suspect: str
    summary: str
    evidence: list[str]
    confidence: float
    action: str
    cost: Cost
    retries: int
    tools: list[ToolCall]


class Vote(TypedDict):
    """The weighted support of one category."""

    category: str
    score: float
    agents: list[str]


class Consensus(TypedDict):
    """The weighted vote over the agents' hypotheses."""

    status: Literal["AGREED", "NO_QUORUM"]
    category: str
    suspect: str
    action: str
    confidence: float
    agreement: float
    supporting: list[str]
    dissenting: list[str]
    answered: int
    quorum: int
    votes: list[Vote]
    reason: str


class Precedent(TypedDict):
    """A similar past incident of the same service, recalled from the store's memory."""

    execution_id: str
    score: float
    alarm: str
    status: str
    category: str
    suspect: str
    action: str


class CostReport(TypedDict):
    """The cost guardian's account; exceeding the budget is a signal, not a failure."""

    total_usd: float
    budget_usd: float
    budget_exceeded: bool
    input_tokens: int
    output_tokens: int
    tool_calls: int
    by_agent: dict[str, float]


class TraceEntry(TypedDict):
    """One step of the execution trace (deterministic: no clock readings)."""

    node: str
    status: str
    detail: str


class Recommendation(TypedDict):
    """The terminal node's answer. Read-only system: a human approves any action."""

    status: ResultStatus
    action: str
    category: str
    suspect: str
    confidence: float
    rationale: list[str]
    requires_approval: bool


class Result(TypedDict):
    """What an investigation returns (and the Lambda puts in its response)."""

    execution_id: str
    status: ResultStatus
    incident: dict[str, Any]
    recommendation: Recommendation
    consensus: Consensus | None
    cost: CostReport | None
    hypotheses: list[Hypothesis]
    trace: list[TraceEntry]
    error: dict[str, Any] | None
    precedents: list[Precedent]


def merge_hypotheses(
    left: dict[str, Hypothesis], right: dict[str, Hypothesis]
) -> dict[str, Hypothesis]:
    """Reducer of the ``hypotheses`` channel: parallel agents each add their own key."""
    return {**left, **right}


class State(TypedDict, total=False):
    """The graph state.

    ``hypotheses`` and ``trace`` have reducers because the six agents write them in the same
    superstep; LangGraph applies parallel writes in task order, not completion order, so
    the trace is the same on every run.
    """

    event: dict[str, Any]
    incident: Incident
    error: dict[str, Any]
    hypotheses: Annotated[dict[str, Hypothesis], merge_hypotheses]
    trace: Annotated[list[TraceEntry], operator.add]
    consensus: Consensus
    precedents: list[Precedent]
    cost: CostReport
    result: Result
