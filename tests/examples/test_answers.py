"""The answer cache: an analyst's answer is reused for the same evidence (another delivery
of the alarm), never for other evidence or from partial evidence; a broken cache never
fails an investigation; on DynamoDBCache, a recurrence asks no analyst."""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any

import pytest
from langgraph.cache.memory import InMemoryCache

from examples.incident.agents import SPECS
from examples.incident.analysts import DeterministicAnalyst
from examples.incident.answers import CachedAnalyst, answer_key
from examples.incident.events import parse_incident
from examples.incident.investigation import Investigator
from examples.incident.telemetry import FixtureProvider, Toolbox
from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver

from ..conftest import REGION


class Counting(DeterministicAnalyst):
    def __init__(self) -> None:
        self.calls = 0

    def analyze(self, agent: Any, incident: Any, evidence: Any) -> Any:
        self.calls += 1
        return super().analyze(agent, incident, evidence)


def _case(scenario: dict[str, Any], agent: str = "metrics") -> tuple[Any, Any, list[Any]]:
    incident = parse_incident(scenario["event"])
    toolbox = Toolbox(FixtureProvider())
    return SPECS[agent], incident, [toolbox.run(t, incident, c) for t, c in SPECS[agent].tools]


def test_same_evidence_is_answered_once(scenarios: dict[str, Any]) -> None:
    analyst = Counting()
    cached = CachedAnalyst(analyst, InMemoryCache())
    spec, incident, evidence = _case(scenarios["checkout-latency"])
    first = cached.analyze(spec, incident, evidence)
    redelivered = {**incident, "event_id": "other", "execution_id": "other", "time": "later"}
    assert cached.analyze(spec, redelivered, evidence) == first
    assert analyst.calls == 1 and cached.reused == [spec.id]
    other = copy.deepcopy(evidence)
    other[0]["data"]["extra"] = 1
    cached.analyze(spec, incident, other)  # other evidence: asked again
    cached.analyze(SPECS["logs"], *_case(scenarios["checkout-latency"], "logs")[1:])
    assert analyst.calls == 3


def test_partial_evidence_is_not_kept(scenarios: dict[str, Any]) -> None:
    analyst = Counting()
    cached = CachedAnalyst(analyst, InMemoryCache())
    spec, incident, evidence = _case(scenarios["checkout-latency"])
    evidence[0] = {**evidence[0], "status": "TIMEOUT"}
    cached.analyze(spec, incident, evidence)
    cached.analyze(spec, incident, evidence)
    assert analyst.calls == 2 and cached.reused == []


def test_keys_say_who_answers(scenarios: dict[str, Any]) -> None:
    spec, incident, evidence = _case(scenarios["checkout-latency"])
    keys = {answer_key(who, spec.id, incident, evidence) for who in ("a", "b")}
    assert len(keys) == 2


def test_a_broken_cache_is_a_warning(
    scenarios: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(InMemoryCache[Any]):
        def get(self, keys: Any) -> Any:
            raise RuntimeError("cache down")

        def set(self, pairs: Any) -> None:
            raise RuntimeError("cache down")

    analyst = Counting()
    spec, incident, evidence = _case(scenarios["checkout-latency"])
    with caplog.at_level(logging.WARNING):
        CachedAnalyst(analyst, Broken()).analyze(spec, incident, evidence)
    assert analyst.calls == 1 and "cache down" in caplog.text


def test_recurrence_asks_no_analyst_on_dynamodb(
    ddb_endpoint: str, incident_table: str, scenarios: dict[str, Any]
) -> None:
    analyst = Counting()
    event = copy.deepcopy(scenarios["orders-throttling"]["event"])
    event["id"] = str(uuid.uuid4())
    kw = {"endpoint_url": ddb_endpoint, "region_name": REGION}
    with (
        DynamoDBSaver.from_table(incident_table, **kw) as saver,
        DynamoDBCache.from_table(incident_table, **kw) as answers,
    ):
        investigator = Investigator(saver, analyst=analyst, answers=answers)
        first = investigator.investigate(event)
        asked = analyst.calls
        again = investigator.investigate({**event, "id": str(uuid.uuid4())})
    assert asked == 6 and analyst.calls == 6
    assert again.answers_reused == sorted(again.agents_run) and len(again.agents_run) == 6
    assert again.result["hypotheses"] == first.result["hypotheses"]
