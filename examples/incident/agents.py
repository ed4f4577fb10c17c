"""The six investigating agents: what each asks, with which tools, and how much it weighs."""

from __future__ import annotations

from dataclasses import dataclass

from .model import AGENTS


@dataclass(frozen=True)
class AgentSpec:
    """One investigating agent.

    Attributes:
        id: Agent id (also its graph node name).
        title: What it looks at.
        question: What it is asked (the LLM analyst's instruction).
        tools: Action groups it calls, as ``(tool, collection)``.
        weight: Its weight in the consensus vote.
    """

    id: str
    title: str
    question: str
    tools: tuple[tuple[str, str], ...]
    weight: float


SPECS: dict[str, AgentSpec] = {
    spec.id: spec
    for spec in (
        AgentSpec(
            "metrics",
            "CloudWatch metrics",
            "Which metrics moved away from their baseline when the incident started, and "
            "does that point at saturation (capacity) or at a change?",
            (("cloudwatch_metrics", ""),),
            1.0,
        ),
        AgentSpec(
            "logs",
            "CloudWatch Logs",
            "Which error signature dominates since the start, is it new, and what does it blame?",
            (("cloudwatch_logs", ""),),
            1.0,
        ),
        AgentSpec(
            "traces",
            "X-Ray traces",
            "Where do faulty requests spend their time or fail: in the service or in a downstream?",
            (("xray_traces", ""),),
            1.2,
        ),
        AgentSpec(
            "deployments",
            "Deployments and changes",
            "Which change to the service landed shortly before the start?",
            (("dynamodb_lookup", "changes"),),
            1.2,
        ),
        AgentSpec(
            "dependencies",
            "Service dependency graph",
            "Is any downstream dependency of the service failing or throttling?",
            (("service_graph", ""),),
            1.0,
        ),
        AgentSpec(
            "runbooks",
            "Runbooks and knowledge",
            "Which runbook matches this alarm, and what does it prescribe?",
            (("dynamodb_lookup", "runbooks"),),
            0.6,
        ),
    )
}

assert tuple(SPECS) == AGENTS
