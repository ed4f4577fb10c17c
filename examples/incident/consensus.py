"""Consensus, cost guardian and recommendation: pure, deterministic functions.

- :func:`decide` is a weighted vote over the hypotheses' categories. It fails closed: without
  a quorum of answering agents, with a single supporter, or with a split vote, there is no
  consensus and the recommendation is to escalate to a human.
- :func:`account` adds up the cost; exceeding the budget is a signal in the result, never a
  failure.
- :func:`recommend` builds the terminal answer. The system is read-only: every
  recommendation needs a human's approval.

Sums run in the fixed agent order and are rounded, so the same hypotheses always give the
same numbers, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .agents import SPECS
from .model import (
    AGENTS,
    Consensus,
    CostReport,
    Hypothesis,
    Precedent,
    Recommendation,
    ResultStatus,
    Vote,
)

QUORUM = 4
"""Agents that must answer (SUCCESS or PARTIAL, confidence > 0) for any consensus."""

MIN_SUPPORT = 2
"""Agents that must back the winning category."""

MIN_AGREEMENT = 0.5
"""Share of the cast weighted votes the winning category needs."""

ESCALATE = "escalate to the on-call engineer: no automated recommendation"


def _ordered(hypotheses: Mapping[str, Hypothesis]) -> list[Hypothesis]:
    return [hypotheses[a] for a in AGENTS if a in hypotheses]


def _score(h: Hypothesis) -> float:
    return SPECS[h["agent"]].weight * h["confidence"]


def decide(hypotheses: Mapping[str, Hypothesis]) -> Consensus:
    """The weighted vote.

    Each answering agent votes for its category with weight x confidence; ``none`` does not
    vote. The winner needs a quorum of :data:`QUORUM` answering agents, at least
    :data:`MIN_SUPPORT` supporters and :data:`MIN_AGREEMENT` of the votes cast.
    """
    ordered = _ordered(hypotheses)
    answered = [h for h in ordered if h["status"] in ("SUCCESS", "PARTIAL") and h["confidence"] > 0]
    voting = [h for h in answered if h["category"] != "none"]
    scores: dict[str, float] = {}
    backers: dict[str, list[str]] = {}
    for h in voting:
        scores[h["category"]] = round(scores.get(h["category"], 0.0) + _score(h), 6)
        backers.setdefault(h["category"], []).append(h["agent"])
    votes = [
        Vote(category=c, score=s, agents=backers[c])
        for c, s in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    base = Consensus(
        status="NO_QUORUM",
        category="none",
        suspect="",
        action=ESCALATE,
        confidence=0.0,
        agreement=0.0,
        supporting=[],
        dissenting=[h["agent"] for h in voting],
        answered=len(answered),
        quorum=QUORUM,
        votes=votes,
        reason="",
    )
    if len(answered) < QUORUM:
        return {
            **base,
            "reason": f"only {len(answered)} of {len(AGENTS)} agents answered (quorum {QUORUM})",
        }
    if not votes:
        return {**base, "reason": "no agent found a cause"}
    total = round(sum(scores.values()), 6)
    winner = votes[0]
    agreement = round(winner["score"] / total, 4)
    if len(winner["agents"]) < MIN_SUPPORT:
        return {
            **base,
            "agreement": agreement,
            "reason": f"only {winner['agents'][0]} supports {winner['category']}",
        }
    if agreement < MIN_AGREEMENT:
        return {
            **base,
            "agreement": agreement,
            "reason": f"split vote: {winner['category']} has {agreement:.0%} of the votes",
        }
    supporters = [h for h in voting if h["category"] == winner["category"]]
    by_suspect: dict[str, float] = {}
    for h in supporters:
        by_suspect[h["suspect"]] = round(by_suspect.get(h["suspect"], 0.0) + _score(h), 6)
    suspect = min(by_suspect.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    lead = min(supporters, key=lambda h: (-_score(h), AGENTS.index(h["agent"])))
    weight = sum(SPECS[h["agent"]].weight for h in supporters)
    mean_confidence = sum(_score(h) for h in supporters) / weight
    return Consensus(
        status="AGREED",
        category=winner["category"],
        suspect=suspect,
        action=lead["action"],
        confidence=round(agreement * mean_confidence, 4),
        agreement=agreement,
        supporting=[h["agent"] for h in supporters],
        dissenting=[h["agent"] for h in voting if h["category"] != winner["category"]],
        answered=len(answered),
        quorum=QUORUM,
        votes=votes,
        reason=f"{len(supporters)} agents agree on {winner['category']} ({agreement:.0%} of votes)",
    )


def account(hypotheses: Mapping[str, Hypothesis], budget_usd: float) -> CostReport:
    """The cost of the agents' work against the budget (a signal, not a failure)."""
    ordered = _ordered(hypotheses)
    by_agent = {h["agent"]: h["cost"]["usd"] for h in ordered}
    total = round(sum(by_agent.values()), 6)
    return CostReport(
        total_usd=total,
        budget_usd=budget_usd,
        budget_exceeded=total > budget_usd,
        input_tokens=sum(h["cost"]["input_tokens"] for h in ordered),
        output_tokens=sum(h["cost"]["output_tokens"] for h in ordered),
        tool_calls=sum(h["cost"]["tool_calls"] for h in ordered),
        by_agent=by_agent,
    )


def status_of(consensus: Consensus | None, hypotheses: Mapping[str, Hypothesis]) -> ResultStatus:
    """``FAILURE`` without consensus, ``PARTIAL`` if any agent was degraded, else ``SUCCESS``."""
    if consensus is None or consensus["status"] != "AGREED":
        return "FAILURE"
    if any(h["status"] != "SUCCESS" for h in hypotheses.values()):
        return "PARTIAL"
    return "SUCCESS"


def recommend(
    consensus: Consensus | None,
    cost: CostReport | None,
    hypotheses: Mapping[str, Hypothesis],
    error: str | None = None,
    precedents: Sequence[Precedent] = (),
) -> Recommendation:
    """The terminal recommendation; always requires a human's approval.

    Similar past incidents (``precedents``) are cited in the rationale, with how many of
    them concluded the same category; they never change the decision.
    """
    status = "FAILURE" if error else status_of(consensus, hypotheses)
    rationale: list[str] = []
    if error:
        rationale.append(f"invalid event: {error}")
    elif consensus is None or consensus["status"] != "AGREED":
        rationale.append(f"no consensus: {consensus['reason'] if consensus else 'not reached'}")
        rationale += [
            f"{h['agent']} ({h['status']}, {h['confidence']:.2f}): {h['summary']}"
            for h in _ordered(hypotheses)
        ]
    else:
        rationale += [
            f"{a}: {hypotheses[a]['summary']} ({hypotheses[a]['confidence']:.2f})"
            for a in consensus["supporting"]
        ]
        rationale += [
            f"dissent, {a}: {hypotheses[a]['category']}: {hypotheses[a]['summary']}"
            for a in consensus["dissenting"]
        ]
        degraded = [h["agent"] for h in _ordered(hypotheses) if h["status"] != "SUCCESS"]
        if degraded:
            rationale.append(f"degraded agents: {', '.join(degraded)}")
    if precedents:
        best = precedents[0]
        line = (
            f"{len(precedents)} similar past incident(s); closest {best['execution_id']} "
            f"({best['score']:.2f}): {best['category']} {best['suspect']}".rstrip()
        )
        if consensus is not None and consensus["status"] == "AGREED":
            same = sum(p["category"] == consensus["category"] for p in precedents)
            line += f"; {same} of {len(precedents)} concluded {consensus['category']}"
        rationale.append(line)
    if cost is not None and cost["budget_exceeded"]:
        rationale.append(
            f"cost ${cost['total_usd']:.4f} exceeded the ${cost['budget_usd']:.4f} budget "
            "(signal only)"
        )
    agreed = status != "FAILURE" and consensus is not None
    return Recommendation(
        status=status,
        action=consensus["action"] if agreed and consensus else ESCALATE,
        category=consensus["category"] if agreed and consensus else "none",
        suspect=consensus["suspect"] if agreed and consensus else "",
        confidence=consensus["confidence"] if agreed and consensus else 0.0,
        rationale=rationale,
        requires_approval=True,
    )
