"""``setup()`` and ``doctor`` agree: a table that ``setup()`` made has no problem in doctor's
eyes (what setup leaves to the deployment, point-in-time recovery and deletion
protection, is advice), judged as on AWS from what DynamoDB Local describes."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.cli import doctor

from ..conftest import REGION

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("ttl", [None, 3600])
def test_a_table_setup_made_passes_doctor(ddb_endpoint: str, ttl: int | None) -> None:
    name = f"doctor-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(
        table_name=name, endpoint_url=ddb_endpoint, region_name=REGION, ttl=ttl
    ) as saver:
        saver.setup(prepare_async=False)
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    described = client.describe_table(TableName=name)["Table"]
    # What AWS describes of a table made with SSESpecification Enabled (DynamoDB Local
    # describes no encryption): the AWS managed KMS key.
    described.setdefault("SSEDescription", {"Status": "ENABLED", "SSEType": "KMS"})
    ttl_desc = client.describe_time_to_live(TableName=name)
    try:
        backups = client.describe_continuous_backups(TableName=name)
    except ClientError:  # an older DynamoDB Local: AWS answers PITR disabled
        backups = None
    backups = backups or {
        "ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
        }
    }
    found = {c.name: c for c in doctor.checks(name, described, ttl_desc, backups, local=False)}
    client.delete_table(TableName=name)
    assert [c.name for c in found.values() if c.status == doctor.PROBLEM] == []
    pitr = found["point-in-time recovery"]
    assert pitr.status == doctor.WARN and "update-continuous-backups" in pitr.fix
    assert found["deletion protection"].status == doctor.WARN
    assert found["TTL"].status == (doctor.OK if ttl else doctor.WARN)
    assert found["key schema"].status == found["billing"].status == doctor.OK
