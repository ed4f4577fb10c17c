"""The incident investigator as an AWS CDK (Python) stack; same resources as ``template.yaml``.

The checkpoint table's keys, billing and encryption are read from
``langgraph_dynamodb.schema.create_table_params`` (what ``DynamoDBSaver.setup()`` creates),
so the stack cannot drift from the library; actions, alarms and names come from
:mod:`examples.incident.infra.spec`.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from langgraph_dynamodb import schema

from .. import observability as obs
from ..model import AGENTS
from . import spec

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def checkpoint_table(scope: Construct, construct_id: str) -> dynamodb.Table:
    """The checkpoint table, built from ``schema.create_table_params``.

    It also holds the incident memory (``DynamoDBStore``, same key schema, with its vector
    index) and powertools' idempotency records. Adds what the library leaves to
    deployments: TTL on ``ttl``, point-in-time recovery, retention on stack deletion.
    """
    params = schema.create_table_params("unused")
    types = {a["AttributeName"]: a["AttributeType"] for a in params["AttributeDefinitions"]}
    key = {k["KeyType"]: k["AttributeName"] for k in params["KeySchema"]}
    on_demand = params["BillingMode"] == "PAY_PER_REQUEST"
    encrypted = params.get("SSESpecification", {}).get("Enabled", False)
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(
            name=key["HASH"], type=_ATTRIBUTE_TYPES[types[key["HASH"]]]
        ),
        sort_key=dynamodb.Attribute(name=key["RANGE"], type=_ATTRIBUTE_TYPES[types[key["RANGE"]]]),
        billing_mode=(
            dynamodb.BillingMode.PAY_PER_REQUEST if on_demand else dynamodb.BillingMode.PROVISIONED
        ),
        encryption=(
            dynamodb.TableEncryption.AWS_MANAGED if encrypted else dynamodb.TableEncryption.DEFAULT
        ),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=spec.TTL_ATTRIBUTE,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    # the incident memory's vector index (the L2 construct has no property for it yet)
    cfn = table.node.default_child
    assert isinstance(cfn, dynamodb.CfnTable)
    cfn.add_property_override("VectorIndexes", [spec.MEMORY_VECTOR_INDEX])
    return table


class IncidentInvestigatorStack(cdk.Stack):
    """Checkpoint table, Lambda, EventBridge rule, SQS queue with its dead-letter queue,
    dashboard, alarms, least-privilege IAM.

    Args:
        scope: The CDK app.
        construct_id: Stack id.
        code: The Lambda code (``cdk_app.py`` bundles ``examples/`` with its requirements).
        telemetry: ``fixtures`` or ``aws``.
        changes_table_name: Change-records table the function may read.
        runbooks_table_name: Runbooks table the function may read.
        budget_usd: Cost budget of one investigation.
        service_name: The ``service`` of logs and metrics.
        metric_namespace: The CloudWatch namespace of the function's metrics.
        **kwargs: Passed to ``cdk.Stack``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        telemetry: str = "fixtures",
        changes_table_name: str = "incident-changes",
        runbooks_table_name: str = "incident-runbooks",
        budget_usd: float = 0.10,
        service_name: str = obs.SERVICE,
        metric_namespace: str = obs.NAMESPACE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.service_name = service_name
        self.metric_namespace = metric_namespace
        self.table = checkpoint_table(self, "CheckpointTable")

        log_group = logs.LogGroup(
            self, "InvestigatorLogGroup", retention=logs.RetentionDays.ONE_MONTH
        )
        self.function = lambda_.Function(
            self,
            "InvestigatorFunction",
            description="Investigates incident events (read-only; recommends, never acts)",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler=spec.HANDLER,
            code=code,
            timeout=cdk.Duration.seconds(spec.TIMEOUT_S),
            memory_size=spec.MEMORY_MB,
            log_group=log_group,
            environment={
                **spec.environment(self.table.table_name, service_name, metric_namespace),
                "TELEMETRY_PROVIDER": telemetry,
                "CHANGES_TABLE": changes_table_name,
                "RUNBOOKS_TABLE": runbooks_table_name,
                "INCIDENT_BUDGET_USD": f"{budget_usd:g}",
            },
        )
        self._grant(changes_table_name, runbooks_table_name)
        self._deliver()
        self._observe()
        cdk.CfnOutput(self, "CheckpointTableName", value=self.table.table_name)
        cdk.CfnOutput(self, "FunctionArn", value=self.function.function_arn)

    def _deliver(self) -> None:
        """EventBridge -> SQS -> Lambda: a failed investigation is delivered again, then
        kept in the dead-letter queue (see the handler's docstring)."""
        self.dead_letters = sqs.Queue(
            self,
            "IncidentDeadLetters",
            retention_period=cdk.Duration.seconds(spec.DEAD_LETTER_RETENTION_S),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        self.queue = sqs.Queue(
            self,
            "IncidentQueue",
            visibility_timeout=cdk.Duration.seconds(spec.QUEUE_VISIBILITY_S),
            retention_period=cdk.Duration.seconds(spec.QUEUE_RETENTION_S),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=spec.QUEUE_MAX_RECEIVES, queue=self.dead_letters
            ),
        )
        self.rule = events.Rule(
            self,
            "IncidentDetected",
            event_pattern=events.EventPattern(
                source=spec.EVENT_PATTERN["source"],
                detail_type=spec.EVENT_PATTERN["detail-type"],
            ),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    retry_attempts=spec.RULE_RETRY_ATTEMPTS,
                    max_event_age=cdk.Duration.seconds(spec.RULE_MAX_EVENT_AGE_S),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
        self.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=spec.QUEUE_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=spec.MAX_CONCURRENCY,
            )
        )
        cdk.CfnOutput(self, "IncidentQueueUrl", value=self.queue.queue_url)
        cdk.CfnOutput(self, "DeadLetterQueueUrl", value=self.dead_letters.queue_url)

    def _metric(
        self, name: str, statistic: str, period_s: int, **dimensions: str
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.metric_namespace,
            metric_name=name,
            dimensions_map={"service": self.service_name, **dimensions},
            statistic=statistic,
            period=cdk.Duration.seconds(period_s),
        )

    def _grant(self, changes_table_name: str, runbooks_table_name: str) -> None:
        fn = self.function
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="CheckpointTableReadWrite",
                actions=list(spec.CHECKPOINT_TABLE_ACTIONS),
                resources=[self.table.table_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="MemoryVectorSearch",
                actions=list(spec.MEMORY_SEARCH_ACTIONS),
                resources=[f"{self.table.table_arn}/index/{spec.MEMORY_VECTOR_INDEX['IndexName']}"],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="TelemetryRead", actions=list(spec.TELEMETRY_ACTIONS), resources=["*"]
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="LogsRead",
                actions=list(spec.LOGS_ACTIONS),
                resources=[
                    cdk.Stack.of(self).format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="LookupTablesRead",
                actions=list(spec.LOOKUP_ACTIONS),
                resources=[
                    cdk.Stack.of(self).format_arn(
                        service="dynamodb", resource="table", resource_name=name
                    )
                    for name in (changes_table_name, runbooks_table_name)
                ],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="DenyWritesOutsideCheckpointTable",
                effect=iam.Effect.DENY,
                actions=list(spec.DENIED_WRITE_ACTIONS),
                not_resources=[self.table.table_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="DenyInfrastructureChanges",
                effect=iam.Effect.DENY,
                actions=list(spec.DENIED_ANYWHERE),
                resources=["*"],
            )
        )

    def _observe(self) -> None:
        cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description=(
                "An incident event failed every delivery and waits in the dead-letter queue"
            ),
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for name, alarm in spec.ALARMS.items():
            cloudwatch.Alarm(
                self,
                f"{name}Alarm",
                alarm_description=alarm["description"],
                metric=self._metric(alarm["metric"], alarm["statistic"], alarm["period_s"]),
                threshold=alarm["threshold"],
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    self._metric(obs.EXECUTION_COUNT, "Sum", 300),
                    self._metric(obs.REPLAY_COUNT, "Sum", 300),
                    self._metric(obs.EXECUTION_FAILURES, "Sum", 300),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Agent performance (ms)",
                view=cloudwatch.GraphWidgetView.BAR,
                left=[
                    self._metric(obs.AGENT_DURATION, "Average", 300, **{obs.AGENT_DIMENSION: a})
                    for a in AGENTS
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Cost (USD)", left=[self._metric(obs.COST_TOTAL, "Sum", 3600)], width=12
            ),
            cloudwatch.GaugeWidget(
                title="Agent failure rate (%)",
                metrics=[self._metric(obs.AGENT_FAILURE_RATE, "Average", 300)],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=12,
            ),
        )
