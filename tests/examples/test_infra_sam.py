"""The SAM template: translated by aws-sam-translator, linted by cfn-lint, IAM checked."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import cfnlint.api
import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from examples.incident import observability as obs
from examples.incident.infra import spec
from examples.incident.model import AGENTS

from .iam import parliament_findings, queue_arn, resolve, statements, table_arn

TEMPLATE = Path(spec.__file__).with_name("template.yaml")


def _defaults() -> dict[str, str]:
    params = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))["Parameters"]
    return {name: str(p["Default"]) for name, p in params.items()}


PARAMETERS = _defaults()
"""The template's parameters at their defaults."""


class NoManagedPolicies:
    """The template names no managed policy; SAM adds the basic execution role by ARN."""

    def load(self) -> dict[str, str]:
        return {}


def sam_template() -> dict[str, Any]:
    """The template as ``sam package`` hands it over (code uploaded to S3)."""
    template = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    template["Resources"]["InvestigatorFunction"]["Properties"]["CodeUri"] = (
        "s3://artifacts-bucket/incident-lambda.zip"
    )
    return template


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return transform(sam_template(), {}, NoManagedPolicies())


def lint(template: dict[str, Any]) -> list[str]:
    matches = cfnlint.api.lint(json.dumps(template), regions=["us-east-1"])
    return [f"{m.rule.id} {m.message}" for m in matches]


def test_translated_template_lints_clean(translated: dict[str, Any]) -> None:
    assert lint(translated) == []


def test_the_linter_catches_dangling_references(translated: dict[str, Any]) -> None:
    broken = copy.deepcopy(translated)
    env = broken["Resources"]["InvestigatorFunction"]["Properties"]["Environment"]["Variables"]
    env["CHECKPOINT_TABLE"] = {"Ref": "NoSuchTable"}
    broken["Resources"]["CostAlarm"]["Properties"]["AlarmActions"] = [
        {"Fn::GetAtt": ["NoSuchTopic", "Arn"]}
    ]
    problems = lint(broken)
    assert any("NoSuchTable" in p for p in problems), problems
    assert any("NoSuchTopic" in p for p in problems), problems


def test_resources(translated: dict[str, Any]) -> None:
    types = sorted(r["Type"] for r in translated["Resources"].values())
    assert types == sorted(
        [
            "AWS::DynamoDB::Table",
            "AWS::Lambda::Function",
            "AWS::IAM::Role",
            "AWS::Events::Rule",
            "AWS::Lambda::EventSourceMapping",
            "AWS::SQS::Queue",
            "AWS::SQS::Queue",
            "AWS::SQS::QueuePolicy",
            "AWS::Logs::LogGroup",
            "AWS::CloudWatch::Dashboard",
            *["AWS::CloudWatch::Alarm"] * 5,
        ]
    )


def test_names_are_parameters_with_neutral_defaults(raw: dict[str, Any]) -> None:
    assert PARAMETERS["MetricNamespace"] == obs.NAMESPACE == "IncidentInvestigator"
    assert PARAMETERS["ServiceName"] == obs.SERVICE
    text = TEMPLATE.read_text(encoding="utf-8").lower()
    assert "phase" not in text and "seed" not in text


def test_table(raw: dict[str, Any]) -> None:
    table = raw["Resources"]["CheckpointTable"]
    assert table["DeletionPolicy"] == "Retain"
    props = table["Properties"]
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": spec.TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["VectorIndexes"] == [spec.MEMORY_VECTOR_INDEX]


def test_function(translated: dict[str, Any]) -> None:
    fn = translated["Resources"]["InvestigatorFunction"]["Properties"]
    assert fn["Handler"] == spec.HANDLER
    assert fn["Runtime"] == spec.RUNTIME
    assert (fn["Timeout"], fn["MemorySize"]) == (spec.TIMEOUT_S, spec.MEMORY_MB)
    env = fn["Environment"]["Variables"]
    assert env == {
        **spec.environment(
            {"Ref": "CheckpointTable"}, {"Ref": "ServiceName"}, {"Ref": "MetricNamespace"}
        ),
        "TELEMETRY_PROVIDER": {"Ref": "TelemetryProvider"},
        "CHANGES_TABLE": {"Ref": "ChangesTableName"},
        "RUNBOOKS_TABLE": {"Ref": "RunbooksTableName"},
        "INCIDENT_BUDGET_USD": {"Ref": "BudgetUsd"},
    }


def test_events_go_through_a_queue_that_retries_into_a_dead_letter_queue(
    translated: dict[str, Any], raw: dict[str, Any]
) -> None:
    resources = translated["Resources"]
    rule = resources["IncidentDetected"]["Properties"]
    assert rule["EventPattern"] == spec.EVENT_PATTERN
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["IncidentQueue", "Arn"]}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": spec.RULE_RETRY_ATTEMPTS,
        "MaximumEventAgeInSeconds": spec.RULE_MAX_EVENT_AGE_S,
    }
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["IncidentDeadLetters", "Arn"]}}
    queue = resources["IncidentQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["IncidentDeadLetters", "Arn"]},
        "maxReceiveCount": spec.QUEUE_MAX_RECEIVES,
    }
    assert queue["VisibilityTimeout"] == spec.QUEUE_VISIBILITY_S
    assert queue["MessageRetentionPeriod"] == spec.QUEUE_RETENTION_S
    dead = resources["IncidentDeadLetters"]["Properties"]
    assert dead["MessageRetentionPeriod"] == spec.DEAD_LETTER_RETENTION_S
    mapping = resources["IncidentQueueMapping"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["IncidentQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == spec.QUEUE_BATCH_SIZE
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": spec.MAX_CONCURRENCY}
    policy = resources["IncidentQueuesPolicy"]["Properties"]["PolicyDocument"]
    (send,) = policy["Statement"]
    assert send["Principal"] == {"Service": "events.amazonaws.com"}
    assert send["Action"] == "sqs:SendMessage"
    assert send["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["IncidentDetected", "Arn"]}}
    }
    alarm = raw["Resources"]["DeadLettersAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def role_policies(translated: dict[str, Any]) -> list[dict[str, Any]]:
    role = translated["Resources"]["InvestigatorFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    params = {"ChangesTableName": "incident-changes", "RunbooksTableName": "incident-runbooks"}
    return [resolve(p["PolicyDocument"], params) for p in role["Policies"]]


def test_least_privilege_iam(translated: dict[str, Any]) -> None:
    by_sid = statements(role_policies(translated))
    table = table_arn("CheckpointTable")
    assert set(by_sid) == {
        "CheckpointTableReadWrite",
        "MemoryVectorSearch",
        "TelemetryRead",
        "LogsRead",
        "LookupTablesRead",
        "DenyWritesOutsideCheckpointTable",
        "IncidentQueueConsume",
        "DenyInfrastructureChanges",
    }
    consume = by_sid["IncidentQueueConsume"]
    assert consume["Action"] == sorted(spec.QUEUE_ACTIONS)
    assert consume["Resource"] == queue_arn("IncidentQueue")  # this queue only
    rw = by_sid["CheckpointTableReadWrite"]
    assert (rw["Effect"], rw["Resource"]) == ("Allow", table)
    assert rw["Action"] == sorted(spec.CHECKPOINT_TABLE_ACTIONS)
    assert "dynamodb:Scan" not in rw["Action"]
    search = by_sid["MemoryVectorSearch"]
    assert search["Action"] == sorted(spec.MEMORY_SEARCH_ACTIONS)
    assert search["Resource"] == f"{table}/index/{spec.MEMORY_VECTOR_INDEX['IndexName']}"
    assert by_sid["TelemetryRead"]["Action"] == sorted(spec.TELEMETRY_ACTIONS)
    lookup = by_sid["LookupTablesRead"]
    assert lookup["Action"] == sorted(spec.LOOKUP_ACTIONS)
    assert lookup["Resource"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/incident-changes",
        "arn:aws:dynamodb:us-east-1:123456789012:table/incident-runbooks",
    ]
    deny = by_sid["DenyWritesOutsideCheckpointTable"]
    assert deny["Effect"] == "Deny"
    assert deny["NotResource"] == table  # the checkpoint table is excluded from the DENY
    assert deny["Action"] == sorted(spec.DENIED_WRITE_ACTIONS)
    assert by_sid["DenyInfrastructureChanges"]["Action"] == sorted(spec.DENIED_ANYWHERE)
    # every DynamoDB write the function is allowed targets the checkpoint table only
    writes = {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }
    for sid, st in by_sid.items():
        if st["Effect"] == "Allow" and writes & set(st["Action"]):
            assert st["Resource"] == table, sid
        if st["Effect"] == "Allow":
            assert not any(a.endswith("*") for a in st["Action"]), sid


def test_iam_action_names_are_real(translated: dict[str, Any]) -> None:
    for document in role_policies(translated):
        assert parliament_findings(document) == []


def test_parliament_works_offline() -> None:
    findings = parliament_findings(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:PutItems", "Resource": "*"},
                {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"},
            ],
        }
    )
    assert any(f.startswith("UNKNOWN_ACTION") for f in findings), findings
    assert any(f.startswith("RESOURCE_STAR") for f in findings), findings


def test_alarms_match_the_spec(raw: dict[str, Any]) -> None:
    for name, alarm in spec.ALARMS.items():
        props = raw["Resources"][f"{name}Alarm"]["Properties"]
        assert resolve(props["Namespace"], PARAMETERS) == obs.NAMESPACE
        assert props["MetricName"] == alarm["metric"]
        assert props["Statistic"] == alarm["statistic"]
        assert props["Period"] == alarm["period_s"]
        assert props["Threshold"] == alarm["threshold"]
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert resolve(props["Dimensions"], PARAMETERS) == [
            {"Name": "service", "Value": obs.SERVICE}
        ]


def test_dashboard(raw: dict[str, Any]) -> None:
    body = json.loads(
        resolve(raw["Resources"]["Dashboard"]["Properties"]["DashboardBody"], PARAMETERS)
    )
    metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
    assert {m[1] for m in metrics} >= set(spec.DASHBOARD_METRICS)
    assert all(m[0] == obs.NAMESPACE and m[2:4] == ["service", obs.SERVICE] for m in metrics)
    agents = [m[5] for m in metrics if m[1] == obs.AGENT_DURATION]
    assert agents == list(AGENTS)
    assert {w["properties"]["view"] for w in body["widgets"]} == {"timeSeries", "bar", "gauge"}
