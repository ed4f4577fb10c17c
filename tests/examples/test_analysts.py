"""Analysts: the deterministic default over recorded telemetry, and the optional LLM one."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from examples.incident.agents import SPECS
from examples.incident.analysts import (
    AnalystUnavailable,
    DeterministicAnalyst,
    LLMAnalyst,
    Throttled,
)
from examples.incident.events import parse_incident
from examples.incident.model import AGENTS
from examples.incident.telemetry import FixtureProvider, Toolbox

EXPECTED = {
    "checkout-latency": {
        "metrics": "deployment",
        "logs": "deployment",
        "traces": "deployment",
        "deployments": "deployment",
        "dependencies": "none",
        "runbooks": "deployment",
    },
    "orders-throttling": {
        "metrics": "capacity",
        "logs": "capacity",
        "traces": "capacity",
        "deployments": "none",
        "dependencies": "dependency",
        "runbooks": "capacity",
    },
}


def _evidence(scenario: dict[str, Any], agent: str) -> list[Any]:
    incident = parse_incident(scenario["event"])
    toolbox = Toolbox(FixtureProvider())
    return [toolbox.run(tool, incident, coll) for tool, coll in SPECS[agent].tools]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_deterministic_analyst_reads_the_recordings(
    scenarios: dict[str, dict[str, Any]], name: str
) -> None:
    scenario = scenarios[name]
    incident = parse_incident(scenario["event"])
    analyst = DeterministicAnalyst()
    for agent in AGENTS:
        evidence = _evidence(scenario, agent)
        first = analyst.analyze(SPECS[agent], incident, evidence)
        assert first["category"] == EXPECTED[name][agent], (agent, first["summary"])
        assert 0 < first["confidence"] <= 0.95
        assert first["input_tokens"] > 0 and first["output_tokens"] > 0
        assert analyst.analyze(SPECS[agent], incident, evidence) == first  # bit for bit


def test_deployment_agent_names_the_release(scenarios: dict[str, dict[str, Any]]) -> None:
    scenario = scenarios["checkout-latency"]
    found = DeterministicAnalyst().analyze(
        SPECS["deployments"], parse_incident(scenario["event"]), _evidence(scenario, "deployments")
    )
    assert found["suspect"] == "checkout-api@v2.14.0"
    assert found["action"] == "roll back checkout-api from v2.14.0 to v2.13.4"


def _fake(*replies: AIMessage | Exception) -> Any:
    class Model:
        def __init__(self) -> None:
            self.calls: list[Any] = []

        def invoke(self, messages: Any) -> AIMessage:
            self.calls.append(messages)
            reply = replies[len(self.calls) - 1]
            if isinstance(reply, Exception):
                raise reply
            return reply

    return Model()


def test_llm_analyst_parses_the_model_answer(scenarios: dict[str, dict[str, Any]]) -> None:
    scenario = scenarios["checkout-latency"]
    answer = (
        'Here you go: {"category": "deployment", "suspect": "checkout-api", '
        '"summary": "release shrank the pool", "evidence": ["pool max=5"], '
        '"confidence": 0.8, "action": "roll back"}'
    )
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    content=answer,
                    usage_metadata={"input_tokens": 900, "output_tokens": 60, "total_tokens": 960},
                )
            ]
        )
    )
    found = LLMAnalyst(model).analyze(
        SPECS["logs"], parse_incident(scenario["event"]), _evidence(scenario, "logs")
    )
    assert found["category"] == "deployment"
    assert found["confidence"] == 0.8
    assert (found["input_tokens"], found["output_tokens"]) == (900, 60)


def test_llm_analyst_sends_question_and_evidence(scenarios: dict[str, dict[str, Any]]) -> None:
    scenario = scenarios["checkout-latency"]
    model = _fake(AIMessage(content='{"category": "weird", "confidence": 7}'))
    found = LLMAnalyst(model).analyze(
        SPECS["traces"], parse_incident(scenario["event"]), _evidence(scenario, "traces")
    )
    assert found["category"] == "none"  # unknown categories do not vote
    assert found["confidence"] == 1.0  # clamped
    system, human = model.calls[0]
    assert SPECS["traces"].question in system[1]
    assert "ConnectionPool.acquire" in human[1]


def test_llm_analyst_throttling_and_errors(scenarios: dict[str, dict[str, Any]]) -> None:
    from botocore.exceptions import ClientError

    scenario = scenarios["checkout-latency"]
    incident = parse_incident(scenario["event"])
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Converse"
    )
    with pytest.raises(Throttled):
        LLMAnalyst(_fake(throttled)).analyze(SPECS["logs"], incident, [])
    with pytest.raises(ValueError, match="no JSON object"):
        LLMAnalyst(_fake(AIMessage(content="I cannot help"))).analyze(SPECS["logs"], incident, [])
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Converse")
    with pytest.raises(ClientError):
        LLMAnalyst(_fake(denied)).analyze(SPECS["logs"], incident, [])


@pytest.mark.skipif(
    importlib.util.find_spec("langchain_aws") is not None, reason="langchain-aws is installed"
)
def test_bedrock_analyst_needs_langchain_aws() -> None:
    with pytest.raises(AnalystUnavailable, match="pip install langchain-aws"):
        LLMAnalyst.bedrock("anthropic.claude-3-5-haiku-20241022-v1:0")
