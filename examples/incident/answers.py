"""An analyst's answer reused for the same evidence: LangGraph's node cache
(``BaseCache``; a ``langgraph_dynamodb.DynamoDBCache`` in the checkpoint table) in front
of the analyst.

A model call is the slow and costly part of an agent. When the same alarm fires again
over the same window (a second alert of one episode, a re-run after a fix was rolled
back), each agent gathers the same evidence and would pay the model for the same answer.
:class:`CachedAnalyst` keys an answer by what it depends on (the analyst, the agent, the
incident without its delivery ids and times, the evidence) and keeps it for
:data:`ANSWERS_TTL_S`.

- Only answers from complete evidence are kept: a partial, failed or timed-out tool must
  not decide the next investigation's answer for hours.
- A hit returns the answer as it was given, its token counts included, so an
  investigation's result does not depend on whether the cache was warm (a resumed run
  equals an uninterrupted one); :attr:`CachedAnalyst.reused` says which agents it served.
- The cache is an optimisation: when it cannot be read or written, the analyst answers
  and a warning is logged; the investigation never fails because of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from typing import Any

from langgraph.cache.base import BaseCache

from .analysts import Analyst
from .model import Analysis, Incident, ToolResult

log = logging.getLogger(__name__)

ANSWERS_TTL_S = 6 * 3600
"""How long an answer is reused: an incident's episode, not the next day's."""

NAMESPACE = "incident-answers"
"""The cache namespace's first label; the analyst's name and the agent follow."""

DELIVERY_FIELDS = frozenset({"event_id", "execution_id", "time", "detected_at"})
"""Incident fields that differ between deliveries of one alarm episode: not in the key."""


def analyst_identity(analyst: Analyst) -> str:
    """Who answers: the analyst's name, and its model's id when it has one (answers of
    two models are two answers)."""
    model = getattr(analyst, "model", None)
    model_id = getattr(model, "model_id", None) or getattr(model, "model", None)
    return analyst.name if model is None else f"{analyst.name}:{model_id or type(model).__name__}"


def answer_key(analyst: str, agent: str, incident: Incident, evidence: Sequence[ToolResult]) -> str:
    """The key of an answer: a SHA-256 of what it depends on, canonical JSON."""
    basis = {
        "analyst": analyst,
        "agent": agent,
        "incident": {k: v for k, v in incident.items() if k not in DELIVERY_FIELDS},
        "evidence": list(evidence),
    }
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachedAnalyst:
    """An :class:`~examples.incident.analysts.Analyst` that reuses answers from a cache.

    Args:
        analyst: The analyst asked on a miss.
        cache: LangGraph's node cache (``DynamoDBCache``, ``InMemoryCache``, ...).
        ttl_s: How long an answer is kept, in seconds.
    """

    def __init__(self, analyst: Analyst, cache: BaseCache[Any], ttl_s: int = ANSWERS_TTL_S):
        self.name = analyst.name
        self.identity = analyst_identity(analyst)
        self.analyst = analyst
        self.cache = cache
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self.reused: list[str] = []

    def analyze(self, agent: Any, incident: Incident, evidence: Sequence[ToolResult]) -> Analysis:
        """The cached answer for this evidence, else the analyst's (kept when the
        evidence is complete)."""
        full_key = (
            (NAMESPACE, self.identity, agent.id),
            answer_key(self.identity, agent.id, incident, evidence),
        )
        try:
            found = self.cache.get([full_key])
        except Exception as exc:  # noqa: BLE001 - an optimisation: answer without it
            log.warning(
                "answer cache unavailable (%s: %s); asking the analyst", type(exc).__name__, exc
            )
            found = {}
        if full_key in found:
            with self._lock:
                self.reused.append(agent.id)
            return found[full_key]  # type: ignore[no-any-return]
        analysis = self.analyst.analyze(agent, incident, evidence)
        if all(r["status"] == "OK" for r in evidence):
            try:
                self.cache.set({full_key: (analysis, self.ttl_s)})
            except Exception as exc:  # noqa: BLE001
                log.warning("answer not cached (%s: %s)", type(exc).__name__, exc)
        return analysis
