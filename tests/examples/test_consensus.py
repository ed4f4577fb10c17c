"""Consensus (weighted, deterministic, fail-closed), cost guardian and recommendation."""

from __future__ import annotations

import random

from examples.incident.consensus import (
    ESCALATE,
    MIN_AGREEMENT,
    QUORUM,
    account,
    decide,
    recommend,
)
from examples.incident.model import AGENTS, Cost, Hypothesis


def hyp(
    agent: str,
    category: str = "deployment",
    confidence: float = 0.8,
    status: str = "SUCCESS",
    suspect: str = "checkout-api",
    usd: float = 0.001,
) -> Hypothesis:
    return Hypothesis(
        agent=agent,
        status=status,  # type: ignore[typeddict-item]
        category=category,  # type: ignore[typeddict-item]
        suspect=suspect,
        summary=f"{agent} thinks {category}",
        evidence=[],
        confidence=confidence if status in ("SUCCESS", "PARTIAL") else 0.0,
        action=f"{agent} action",
        cost=Cost(input_tokens=100, output_tokens=10, tool_calls=1, usd=usd),
        retries=0,
        tools=[],
    )


def test_agreement() -> None:
    hyps = {a: hyp(a) for a in AGENTS}
    hyps["dependencies"] = hyp("dependencies", "dependency", 0.6, suspect="db")
    consensus = decide(hyps)
    assert consensus["status"] == "AGREED"
    assert consensus["category"] == "deployment"
    assert consensus["supporting"] == ["metrics", "logs", "traces", "deployments", "runbooks"]
    assert consensus["dissenting"] == ["dependencies"]
    assert consensus["agreement"] >= MIN_AGREEMENT
    # the weightiest supporter's action (traces and deployments weigh 1.2; traces comes first)
    assert consensus["action"] == "traces action"


def test_order_independent_and_repeatable() -> None:
    hyps = [
        hyp(a, random.Random(i).choice(["deployment", "capacity"]), 0.5 + i / 20)
        for i, a in enumerate(AGENTS)
    ]
    first = decide({h["agent"]: h for h in hyps})
    for seed in range(5):
        shuffled = hyps[:]
        random.Random(seed).shuffle(shuffled)
        assert decide({h["agent"]: h for h in shuffled}) == first


def test_no_quorum_fails_closed() -> None:
    hyps = {a: hyp(a, status="TIMEOUT") for a in AGENTS}
    for a in AGENTS[: QUORUM - 1]:
        hyps[a] = hyp(a)
    consensus = decide(hyps)
    assert consensus["status"] == "NO_QUORUM"
    assert consensus["action"] == ESCALATE
    assert f"only {QUORUM - 1} of 6 agents answered" in consensus["reason"]


def test_split_vote_fails_closed() -> None:
    cats = ["deployment", "capacity", "dependency", "deployment", "capacity", "dependency"]
    consensus = decide({a: hyp(a, c, 0.7) for a, c in zip(AGENTS, cats, strict=True)})
    assert consensus["status"] == "NO_QUORUM"
    assert "split vote" in consensus["reason"]


def test_a_lone_supporter_is_not_a_consensus() -> None:
    hyps = {a: hyp(a, "none", 0.6) for a in AGENTS}
    hyps["deployments"] = hyp("deployments", "deployment", 0.9)
    consensus = decide(hyps)
    assert consensus["status"] == "NO_QUORUM"
    assert consensus["reason"] == "only deployments supports deployment"


def test_nobody_found_anything() -> None:
    consensus = decide({a: hyp(a, "none", 0.4) for a in AGENTS})
    assert (consensus["status"], consensus["reason"]) == ("NO_QUORUM", "no agent found a cause")


def test_cost_guardian_signals_but_does_not_fail() -> None:
    hyps = {a: hyp(a, usd=0.0123) for a in AGENTS}
    cost = account(hyps, budget_usd=0.05)
    assert cost["total_usd"] == round(6 * 0.0123, 6)
    assert cost["budget_exceeded"] is True
    assert list(cost["by_agent"]) == list(AGENTS)
    rec = recommend(decide(hyps), cost, hyps)
    assert rec["status"] == "SUCCESS"
    assert any("exceeded" in line and "signal only" in line for line in rec["rationale"])
    assert account(hyps, budget_usd=1.0)["budget_exceeded"] is False


def test_recommendation_statuses() -> None:
    hyps = {a: hyp(a) for a in AGENTS}
    assert recommend(decide(hyps), account(hyps, 1), hyps)["status"] == "SUCCESS"
    hyps["logs"] = hyp("logs", status="TIMEOUT")
    rec = recommend(decide(hyps), account(hyps, 1), hyps)
    assert rec["status"] == "PARTIAL" and "degraded agents: logs" in rec["rationale"]
    assert rec["requires_approval"] is True
    failed = recommend(None, None, {}, error="bad event")
    assert failed["status"] == "FAILURE" and failed["action"] == ESCALATE
