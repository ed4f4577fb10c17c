"""Incident investigation: an EventBridge-triggered, multi-agent LangGraph on DynamoDB.

Six agents investigate an incident in parallel over read-only telemetry, a weighted
consensus decides (or fails closed), a cost guardian watches the budget, and a terminal node
recommends an action for a human to approve. Every step is checkpointed with
``langgraph_dynamodb.DynamoDBSaver``: runs replay deterministically, a crashed run resumes
without redoing finished agents, and a redelivered event returns its stored result.

Run the demo with ``python -m examples.incident``; deploy with ``examples/incident/infra``.

Example:
    ```python
    from langgraph_dynamodb import DynamoDBSaver
    from . import Investigator, load_scenarios

    event = load_scenarios()["checkout-latency"]["event"]
    with DynamoDBSaver.from_table("checkpoints", endpoint_url=url) as saver:
        outcome = Investigator(saver).investigate(event)
        print(outcome.result["recommendation"]["action"])
    ```
"""

from __future__ import annotations

from .analysts import (
    Analyst,
    AnalystUnavailable,
    DeterministicAnalyst,
    LLMAnalyst,
    Throttled,
)
from .events import InvalidEventError, execution_id, parse_incident
from .faults import Faults
from .graph import InvestigationContext, build_graph
from .investigation import Investigator, Outcome, TrailRow
from .telemetry import (
    ActionGroups,
    Boto3Provider,
    FixtureProvider,
    Toolbox,
    load_scenarios,
)

__all__ = [
    "ActionGroups",
    "Analyst",
    "AnalystUnavailable",
    "Boto3Provider",
    "DeterministicAnalyst",
    "Faults",
    "FixtureProvider",
    "InvalidEventError",
    "InvestigationContext",
    "Investigator",
    "LLMAnalyst",
    "Outcome",
    "Throttled",
    "Toolbox",
    "TrailRow",
    "build_graph",
    "execution_id",
    "load_scenarios",
    "parse_incident",
]
