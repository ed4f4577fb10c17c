"""The CDK app: synthesized in-process, checked with ``aws_cdk.assertions``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfnlint.api
import pytest

from examples.incident import observability as obs
from examples.incident.infra import spec

from .iam import parliament_findings, resolve, statements, table_arn


def resources(template: Any, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def only(template: Any, kind: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources(template, kind).items()
    return item


def test_table(cdk_template: Any) -> None:
    from aws_cdk.assertions import Match

    cdk_template.resource_count_is("AWS::DynamoDB::Table", 1)
    cdk_template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "SSESpecification": {"SSEEnabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                    "VectorIndexes": [spec.MEMORY_VECTOR_INDEX],
                }
            ),
        },
    )


def test_function(cdk_template: Any) -> None:
    from aws_cdk.assertions import Match

    table_id, _ = only(cdk_template, "AWS::DynamoDB::Table")
    cdk_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": spec.HANDLER,
            "Runtime": spec.RUNTIME,
            "Timeout": spec.TIMEOUT_S,
            "MemorySize": spec.MEMORY_MB,
            "Environment": {"Variables": Match.object_like(spec.environment({"Ref": table_id}))},
        },
    )


def test_events_go_through_a_queue_that_retries_into_a_dead_letter_queue(
    cdk_template: Any,
) -> None:
    fn_id, _ = only(cdk_template, "AWS::Lambda::Function")
    queues = resources(cdk_template, "AWS::SQS::Queue")
    (queue_id,) = [q for q, r in queues.items() if "RedrivePolicy" in r["Properties"]]
    (dead_id,) = [q for q in queues if q != queue_id]
    queue = queues[queue_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_id, "Arn"]},
        "maxReceiveCount": spec.QUEUE_MAX_RECEIVES,
    }
    assert queue["VisibilityTimeout"] == spec.QUEUE_VISIBILITY_S
    assert queue["MessageRetentionPeriod"] == spec.QUEUE_RETENTION_S
    assert queues[dead_id]["Properties"]["MessageRetentionPeriod"] == spec.DEAD_LETTER_RETENTION_S
    _, rule = only(cdk_template, "AWS::Events::Rule")
    props = rule["Properties"]
    assert props["EventPattern"] == spec.EVENT_PATTERN
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": spec.RULE_RETRY_ATTEMPTS,
        "MaximumEventAgeInSeconds": spec.RULE_MAX_EVENT_AGE_S,
    }
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_id, "Arn"]}}
    _, mapping = only(cdk_template, "AWS::Lambda::EventSourceMapping")
    m = mapping["Properties"]
    assert m["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert m["FunctionName"] == {"Ref": fn_id}
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert m["BatchSize"] == spec.QUEUE_BATCH_SIZE
    assert m["ScalingConfig"] == {"MaximumConcurrency": spec.MAX_CONCURRENCY}
    assert not resources(cdk_template, "AWS::Lambda::Permission")  # EventBridge sends to SQS
    sends = [
        st
        for p in resources(cdk_template, "AWS::SQS::QueuePolicy").values()
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert sends and all(st["Principal"] == {"Service": "events.amazonaws.com"} for st in sends)
    # the function may consume this queue only
    _, policy = only(cdk_template, "AWS::IAM::Policy")
    consume = [
        st
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:ReceiveMessage" in st["Action"]
    ]
    assert [st["Resource"] for st in consume] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    (dead_alarm,) = [
        a["Properties"]
        for a in resources(cdk_template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    ]
    assert dead_alarm["Namespace"] == "AWS/SQS"
    assert dead_alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_id, "QueueName"]}}
    ]


def test_iam_allow_and_deny(cdk_template: Any) -> None:
    from aws_cdk.assertions import Match

    table_id, _ = only(cdk_template, "AWS::DynamoDB::Table")
    table = {"Fn::GetAtt": [table_id, "Arn"]}
    cdk_template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "CheckpointTableReadWrite",
                            "Effect": "Allow",
                            "Action": list(spec.CHECKPOINT_TABLE_ACTIONS),
                            "Resource": table,
                        },
                        {
                            "Sid": "MemoryVectorSearch",
                            "Effect": "Allow",
                            "Action": spec.MEMORY_SEARCH_ACTIONS[0],
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [table, "/index/" + spec.MEMORY_VECTOR_INDEX["IndexName"]],
                                ]
                            },
                        },
                        Match.object_like({"Sid": "TelemetryRead", "Resource": "*"}),
                        {
                            "Sid": "DenyWritesOutsideCheckpointTable",
                            "Effect": "Deny",
                            "Action": list(spec.DENIED_WRITE_ACTIONS),
                            "NotResource": table,
                        },
                        {
                            "Sid": "DenyInfrastructureChanges",
                            "Effect": "Deny",
                            "Action": list(spec.DENIED_ANYWHERE),
                            "Resource": "*",
                        },
                    ]
                ),
            }
        },
    )
    _, policy = only(cdk_template, "AWS::IAM::Policy")
    document = resolve(policy["Properties"]["PolicyDocument"])
    by_sid = statements([document])
    assert by_sid["LookupTablesRead"]["Resource"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/incident-changes",
        "arn:aws:dynamodb:us-east-1:123456789012:table/incident-runbooks",
    ]
    assert by_sid["LogsRead"]["Resource"] == "arn:aws:logs:us-east-1:123456789012:log-group:*"
    writes = {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
    }
    for sid, st in by_sid.items():
        if st["Effect"] == "Allow" and writes & set(st["Action"]):
            assert st["Resource"] == table_arn(table_id), sid
    assert parliament_findings(document) == []
    _, role = only(cdk_template, "AWS::IAM::Role")
    managed = json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert "AWSLambdaBasicExecutionRole" in managed and managed.count("arn:") == 1


def test_alarms_and_dashboard(cdk_template: Any) -> None:
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(cdk_template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] != "AWS/SQS"  # the dead-letter alarm, checked above
    }
    assert set(alarms) == {a["metric"] for a in spec.ALARMS.values()}
    for alarm in spec.ALARMS.values():
        props = alarms[alarm["metric"]]
        assert props["Namespace"] == obs.NAMESPACE
        assert (props["Statistic"], props["Period"], props["Threshold"]) == (
            alarm["statistic"],
            alarm["period_s"],
            alarm["threshold"],
        )
        assert props["Dimensions"] == [{"Name": "service", "Value": obs.SERVICE}]
    _, dashboard = only(cdk_template, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for name in spec.DASHBOARD_METRICS:
        assert name in body


def test_synthesized_template_lints_clean(cdk_template: Any) -> None:
    matches = cfnlint.api.lint(json.dumps(cdk_template.to_json()), regions=["us-east-1"])
    # W3005: CDK adds DependsOn on the role next to the GetAtt (harmless, CDK's choice)
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id != "W3005"] == []


def test_the_default_code_is_examples_bundled_by_cdk() -> None:
    from examples.incident.infra import bundling

    code = bundling.code()  # bundled when the stack is synthesized (test_artifact.py runs it)
    assert Path(code.path) == spec.CODE_DIR
    assert (spec.CODE_DIR / "requirements.txt").is_file()
    assert (spec.CODE_DIR / "incident" / "handler.py").is_file()


def test_app_refuses_a_missing_code_folder(tmp_path: Path, cdk_template: Any) -> None:
    from examples.incident.infra.cdk_app import build_app

    with pytest.raises(FileNotFoundError, match="no Lambda code"):
        build_app(code_dir=tmp_path / "missing", outdir=str(tmp_path / "out"))
