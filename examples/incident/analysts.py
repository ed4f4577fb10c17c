"""Analysts: how an agent turns its evidence into a hypothesis.

An :class:`Analyst` is anything with ``analyze(agent, incident, evidence) -> Analysis``.

- :class:`DeterministicAnalyst` (default) applies fixed, documented heuristics to the
  evidence: no model, no network, and the same evidence always gives the same analysis, so
  investigations replay bit for bit.
- :class:`LLMAnalyst` asks any LangChain chat model, for example Amazon Bedrock through
  ``langchain-aws`` (``LLMAnalyst.bedrock("anthropic.claude-3-5-haiku-20241022-v1:0")``);
  optional, not installed by this project.

An analyst signals throttling by raising :class:`Throttled`; LangGraph's RetryPolicy on
the agent's node retries it with backoff. Any other exception makes the agent's
hypothesis a ``FAILURE`` (confidence 0).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

from .agents import AgentSpec
from .events import parse_time
from .model import Analysis, Category, Incident, ToolResult
from .telemetry import json_size

PROMPT_TOKENS = 350
"""Tokens the instructions of one agent's prompt take (the deterministic analyst's estimate)."""

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "RequestLimitExceeded",
    }
)
"""Error codes (Bedrock and AWS in general) that mean "slow down and try again"."""

CATEGORIES: tuple[Category, ...] = ("deployment", "dependency", "capacity", "none")


class Throttled(RuntimeError):
    """The analyst's backend asked to slow down; the call may be retried."""


class AnalystUnavailable(RuntimeError):
    """The analyst cannot run here (for example ``langchain-aws`` is not installed)."""


class Analyst(Protocol):
    """Turns an agent's evidence into an :class:`~examples.incident.model.Analysis`."""

    name: str

    def analyze(
        self, agent: AgentSpec, incident: Incident, evidence: Sequence[ToolResult]
    ) -> Analysis:
        """Analyze the evidence; raise :class:`Throttled` to be retried."""
        ...


def _tokens(data: Any) -> int:
    return math.ceil(json_size(data) / 4)


def _clamp(value: float, low: float = 0.0, high: float = 0.95) -> float:
    return round(min(high, max(low, value)), 4)


def _data(evidence: Sequence[ToolResult], key: str) -> list[Any]:
    out: list[Any] = []
    for result in evidence:
        value = result["data"].get(key)
        if isinstance(value, list):
            out += value
    return out


Rule = Callable[[Incident, Sequence[ToolResult]], dict[str, Any]]

_SATURATION = re.compile(r"throttl|cpu|memory|concurren|capacity|saturat", re.IGNORECASE)
_THROTTLE_TEXT = re.compile(r"throttl|throughput|rate exceeded|too many requests", re.IGNORECASE)
_DOWNSTREAM_TEXT = re.compile(
    r"\b(?:calling|from|to|upstream|downstream)\s+([a-z][a-z0-9._-]+)", re.IGNORECASE
)


def _change(name: str, baseline: float, peak: float, ratio: float) -> str:
    if math.isinf(ratio):
        return f"{name} rose from 0 to {peak:g}"
    return f"{name} rose {ratio:.1f}x ({baseline:g} -> {peak:g})"


def _metrics_rule(incident: Incident, evidence: Sequence[ToolResult]) -> dict[str, Any]:
    """Series that at least doubled against their pre-incident median.

    Saturation-type series (throttles, CPU, memory, concurrency) point at capacity; an abrupt
    step in latency or errors (from baseline to over 2x within one period) at a change; a
    gradual rise at a dependency.
    """
    started = parse_time(incident["started_at"])
    moved = []
    for series in _data(evidence, "series"):
        before = [v for t, v in series["points"] if parse_time(t) < started]
        after = [(t, v) for t, v in series["points"] if parse_time(t) >= started]
        if not before or not after:
            continue
        baseline = statistics.median(before)
        peak = max(v for _, v in after)
        ratio = peak / baseline if baseline > 0 else (math.inf if peak > 0 else 1.0)
        first = after[0][1] / baseline if baseline > 0 else ratio
        moved.append((series["name"], baseline, peak, ratio, first))
    moved = [m for m in moved if m[3] >= 2]
    if not moved:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": "no metric moved beyond 2x its baseline",
            "evidence": [],
            "confidence": 0.5,
            "action": "",
        }
    moved.sort(key=lambda m: (-min(m[3], 1e9), m[0]))
    lines = [_change(name, baseline, peak, ratio) for name, baseline, peak, ratio, _ in moved[:4]]
    saturated = [m for m in moved if _SATURATION.search(m[0])]
    if saturated:
        return {
            "category": "capacity",
            "suspect": incident["service"],
            "summary": f"saturation: {_change(*saturated[0][:4])} at the start",
            "evidence": lines,
            "confidence": _clamp(0.5 + 0.04 * math.log2(min(saturated[0][3], 1024.0))),
            "action": f"add capacity for {incident['service']} (scale out or raise limits)",
        }
    top = min(moved[0][3], 1024.0)
    if moved[0][4] >= 2:
        return {
            "category": "deployment",
            "suspect": incident["service"],
            "summary": f"step change within one period, no resource saturated: "
            f"{_change(*moved[0][:4])}",
            "evidence": lines,
            "confidence": _clamp(0.3 + 0.05 * math.log2(top)),
            "action": f"check changes to {incident['service']} just before the start",
        }
    return {
        "category": "dependency",
        "suspect": incident["service"],
        "summary": f"gradual rise without saturation: {_change(*moved[0][:4])}",
        "evidence": lines,
        "confidence": _clamp(0.25 + 0.05 * math.log2(top)),
        "action": f"check the dependencies of {incident['service']}",
    }


def _signature(message: str) -> str:
    text = re.sub(r"\b[0-9a-f]{8,}\b|\d+", "#", message)
    return re.sub(r"\s+", " ", text).strip()[:120]


def _logs_rule(incident: Incident, evidence: Sequence[ToolResult]) -> dict[str, Any]:
    """The dominant error signature since the start.

    Throttling words point at capacity; a named downstream at a dependency; a signature
    never seen before the start at a change.
    """
    started = parse_time(incident["started_at"])
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for event in _data(evidence, "events"):
        sig = _signature(event["message"])
        samples.setdefault(sig, event["message"])
        (after if parse_time(event["t"]) >= started else before)[sig] += 1
    if not after:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": "no error log lines since the start",
            "evidence": [],
            "confidence": 0.4,
            "action": "",
        }
    total = sum(after.values())
    sig, count = min(after.items(), key=lambda kv: (-kv[1], kv[0]))
    share = count / total
    new = before[sig] == 0
    lines = [
        f"{count}/{total} error lines since the start: {samples[sig][:160]}",
        f"seen {before[sig]} times in the hour before" if not new else "never seen before",
    ]
    downstream = _DOWNSTREAM_TEXT.search(samples[sig])
    if _THROTTLE_TEXT.search(sig):
        return {
            "category": "capacity",
            "suspect": downstream.group(1) if downstream else incident["service"],
            "summary": f"throttling errors dominate ({share:.0%} of error lines)",
            "evidence": lines,
            "confidence": _clamp(0.35 + 0.5 * share),
            "action": "raise the throttled limit or shed load",
        }
    if downstream and downstream.group(1) != incident["service"] and not new:
        return {
            "category": "dependency",
            "suspect": downstream.group(1),
            "summary": f"errors calling {downstream.group(1)} grew since the start",
            "evidence": lines,
            "confidence": _clamp(0.3 + 0.4 * share),
            "action": f"check {downstream.group(1)}",
        }
    if new:
        return {
            "category": "deployment",
            "suspect": incident["service"],
            "summary": f"a new error signature appeared at the start ({share:.0%} of errors)",
            "evidence": lines,
            "confidence": _clamp(0.3 + 0.4 * share),
            "action": f"compare with the last change to {incident['service']}",
        }
    return {
        "category": "none",
        "suspect": incident["service"],
        "summary": "known errors, rate grew; no attribution",
        "evidence": lines,
        "confidence": 0.3,
        "action": "",
    }


def _traces_rule(incident: Incident, evidence: Sequence[ToolResult]) -> dict[str, Any]:
    """The most common root cause of faulty traces: remote (a downstream) or local."""
    traces = [t for t in _data(evidence, "traces") if t["fault"] or t["error"] or t["throttle"]]
    if not traces:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": "no faulty traces",
            "evidence": [],
            "confidence": 0.4,
            "action": "",
        }
    causes = Counter(
        (t["root_cause"]["service"], t["root_cause"]["entity"], bool(t["root_cause"]["remote"]))
        for t in traces
    )
    (service, entity, remote), count = min(
        causes.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1])
    )
    share = count / len(traces)
    throttled = sum(1 for t in traces if t["throttle"]) / len(traces)
    durations = sorted(t["duration"] for t in traces)
    p50 = durations[len(durations) // 2]
    lines = [
        f"{count}/{len(traces)} faulty traces rooted in {service}"
        + (f" ({entity})" if entity else ""),
        f"median faulty response time {p50:.2f} s",
    ]
    confidence = _clamp(0.4 + 0.5 * share)
    if remote and throttled >= 0.5:
        return {
            "category": "capacity",
            "suspect": service,
            "summary": f"{service} throttles {throttled:.0%} of faulty requests",
            "evidence": lines,
            "confidence": confidence,
            "action": f"raise {service} capacity or smooth the load",
        }
    if remote:
        return {
            "category": "dependency",
            "suspect": service,
            "summary": f"faulty requests fail or wait in downstream {service}",
            "evidence": lines,
            "confidence": confidence,
            "action": f"check {service}, fail over or degrade gracefully",
        }
    return {
        "category": "deployment",
        "suspect": incident["service"],
        "summary": f"faulty requests spend their time inside {service}"
        + (f" ({entity})" if entity else "")
        + ", not in a downstream",
        "evidence": lines,
        "confidence": confidence,
        "action": f"look at recent changes to {incident['service']} around {entity or service}",
    }


def _deployments_rule(incident: Incident, evidence: Sequence[ToolResult]) -> dict[str, Any]:
    """The last change to the service before the start: the closer, the more suspect."""
    started = parse_time(incident["started_at"])
    changes = sorted(
        (c for c in _data(evidence, "items") if parse_time(c["t"]) <= started),
        key=lambda c: (c["t"], c.get("id", "")),
    )
    recent = [c for c in changes if started - parse_time(c["t"]) <= timedelta(hours=2)]
    if not recent:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": "no change to the service in the 2 hours before the start",
            "evidence": [f"{len(changes)} older change records"],
            "confidence": 0.5,
            "action": "",
        }
    last = recent[-1]
    minutes = (started - parse_time(last["t"])).total_seconds() / 60
    version = last.get("version", "")
    previous = last.get("previous", "")
    lines = [
        f"{last.get('type', 'change')} {version} at {last['t']} ({minutes:.0f} min before the "
        f"start) by {last.get('author', '?')}: {last.get('summary', '')}"[:240]
    ]
    if previous:
        action = f"roll back {incident['service']} from {version} to {previous}"
    else:
        action = f"revert the last change to {incident['service']}"
    return {
        "category": "deployment",
        "suspect": f"{incident['service']}@{version}" if version else incident["service"],
        "summary": f"{incident['service']} {version} was deployed {minutes:.0f} min before",
        "evidence": lines,
        "confidence": _clamp(0.9 - 0.004 * minutes, low=0.3),
        "action": action,
    }


def _dependencies_rule(incident: Incident, evidence: Sequence[ToolResult]) -> dict[str, Any]:
    """The worst outgoing edge of the service graph, if its error rate is 5 % or more."""
    edges = [e for e in _data(evidence, "edges") if e.get("requests")]
    if not edges:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": "no downstream traffic recorded",
            "evidence": [],
            "confidence": 0.3,
            "action": "",
        }

    def rate(edge: dict[str, Any]) -> float:
        bad = edge.get("errors", 0) + edge.get("faults", 0) + edge.get("throttles", 0)
        return float(bad / edge["requests"])

    worst = min(edges, key=lambda e: (-rate(e), e["to"]))
    lines = [f"{e['to']}: {rate(e):.1%} errors of {e['requests']} requests" for e in edges]
    if rate(worst) < 0.05:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": f"all {len(edges)} downstream dependencies are healthy",
            "evidence": lines,
            "confidence": 0.6,
            "action": "",
        }
    throttling = worst.get("throttles", 0) >= (worst.get("errors", 0) + worst.get("faults", 0))
    return {
        "category": "capacity" if throttling else "dependency",
        "suspect": worst["to"],
        "summary": f"{worst['to']} {'throttles' if throttling else 'fails'} "
        f"{rate(worst):.1%} of calls",
        "evidence": lines,
        "confidence": _clamp(0.5 + min(0.4, rate(worst))),
        "action": f"{'raise the capacity of' if throttling else 'check'} {worst['to']}",
    }


def _runbooks_rule(incident: Incident, evidence: Sequence[ToolResult]) -> dict[str, Any]:
    """The runbook whose keywords best match the alarm, metric and service."""
    text = " ".join(
        [
            incident["alarm"],
            incident["alarm_reason"],
            incident["metric"]["name"],
            incident["service"],
        ]
    ).lower()
    scored = []
    for book in _data(evidence, "items"):
        hits = sorted({k for k in book.get("keywords", []) if k.lower() in text})
        if hits:
            scored.append((len(hits), book["id"], hits, book))
    if not scored:
        return {
            "category": "none",
            "suspect": incident["service"],
            "summary": "no runbook matches this alarm",
            "evidence": [],
            "confidence": 0.2,
            "action": "",
        }
    hits_n, _, hits, book = min(scored, key=lambda s: (-s[0], s[1]))
    return {
        "category": book["category"],
        "suspect": incident["service"],
        "summary": f"{book['id']} '{book['title']}' matches ({', '.join(hits)})",
        "evidence": [f"{book['id']}: {book.get('guidance', '')}"[:240]],
        "confidence": _clamp(0.3 + 0.1 * hits_n, high=0.7),
        "action": book["action"],
    }


RULES: dict[str, Rule] = {
    "metrics": _metrics_rule,
    "logs": _logs_rule,
    "traces": _traces_rule,
    "deployments": _deployments_rule,
    "dependencies": _dependencies_rule,
    "runbooks": _runbooks_rule,
}


class DeterministicAnalyst:
    """Fixed heuristics over the evidence (see each ``_*_rule``); the default analyst.

    Token counts are estimated (4 bytes per token) so cost accounting works as it would
    with a model, deterministically.
    """

    name = "deterministic"

    def analyze(
        self, agent: AgentSpec, incident: Incident, evidence: Sequence[ToolResult]
    ) -> Analysis:
        """Apply the agent's rule to its evidence."""
        found = RULES[agent.id](incident, evidence)
        return Analysis(
            category=found["category"],
            suspect=found["suspect"],
            summary=found["summary"],
            evidence=found["evidence"],
            confidence=float(found["confidence"]),
            action=found["action"],
            input_tokens=PROMPT_TOKENS + sum(_tokens(r["data"]) for r in evidence),
            output_tokens=_tokens(found),
        )


_INSTRUCTIONS = """You are the {title} agent of an incident investigation.
Question: {question}
Answer with one JSON object and nothing else:
{{"category": one of "deployment", "dependency", "capacity", "none",
  "suspect": the component you blame, "summary": one sentence,
  "evidence": up to 4 short strings quoting the data,
  "confidence": a number from 0 to 1, "action": what an operator should do (read-only system,
  a human approves)}}"""


def _is_throttling(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            return True
    name = type(exc).__name__
    return "Throttl" in name or "TooManyRequests" in name or "throttl" in str(exc).lower()


def _json_object(text: str) -> dict[str, Any]:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError(f"no JSON object in the model's answer: {text[:200]!r}")
    value = json.loads(text[start : end + 1])
    if not isinstance(value, dict):
        raise ValueError("the model's answer is not a JSON object")
    return value


class LLMAnalyst:
    """Asks a LangChain chat model (for example Bedrock via ``langchain-aws``).

    The model gets the agent's question and its bounded evidence, and must answer one JSON
    object. Token usage comes from the model's ``usage_metadata``. Throttling errors become
    :class:`Throttled` (the agent retries with backoff). Answers are not bit-for-bit
    reproducible across runs (use temperature 0), but a checkpointed run replays from its
    stored hypotheses without asking again.

    Args:
        model: Any LangChain ``BaseChatModel``.
    """

    name = "llm"

    def __init__(self, model: Any) -> None:
        self.model = model

    @classmethod
    def bedrock(cls, model_id: str, *, region_name: str | None = None, **kwargs: Any) -> LLMAnalyst:
        """An analyst on Amazon Bedrock (``pip install langchain-aws``; IAM:
        ``bedrock:InvokeModel`` on the model).

        Raises:
            AnalystUnavailable: ``langchain-aws`` is not installed.
        """
        try:
            from langchain_aws import ChatBedrockConverse  # type: ignore[import-not-found]
        except ImportError as exc:
            raise AnalystUnavailable(
                "the Bedrock analyst needs langchain-aws: pip install langchain-aws"
            ) from exc
        model = ChatBedrockConverse(
            model=model_id, region_name=region_name, temperature=0, **kwargs
        )
        return cls(model)

    def analyze(
        self, agent: AgentSpec, incident: Incident, evidence: Sequence[ToolResult]
    ) -> Analysis:
        """Ask the model; parse and check its JSON answer."""
        facts = ("service", "alarm", "alarm_reason", "metric", "started_at", "detected_at")
        payload = {
            "incident": {k: v for k, v in incident.items() if k in facts},
            "evidence": [
                {"tool": r["tool"], "status": r["status"], "data": r["data"]} for r in evidence
            ],
        }
        messages = [
            ("system", _INSTRUCTIONS.format(title=agent.title, question=agent.question)),
            ("human", json.dumps(payload, sort_keys=True, default=str)),
        ]
        try:
            reply = self.model.invoke(messages)
        except Exception as exc:
            if _is_throttling(exc):
                raise Throttled(str(exc)) from exc
            raise
        answer = _json_object(str(reply.content))
        category = answer.get("category", "none")
        if category not in CATEGORIES:
            category = "none"
        usage = getattr(reply, "usage_metadata", None) or {}
        return Analysis(
            category=category,
            suspect=str(answer.get("suspect") or incident["service"])[:200],
            summary=str(answer.get("summary", ""))[:500],
            evidence=[str(e)[:300] for e in answer.get("evidence", [])][:4],
            confidence=_clamp(float(answer.get("confidence", 0.0)), high=1.0),
            action=str(answer.get("action", ""))[:500],
            input_tokens=int(usage.get("input_tokens", 0)),
            output_tokens=int(usage.get("output_tokens", 0)),
        )
