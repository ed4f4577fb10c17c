"""Ready-made ``import --from`` factories for the savers people migrate from. Each reads
where its data is from ``LANGGRAPH_DYNAMODB_SOURCE`` (a path, a connection string or a
table name), and the usual AWS variables for the endpoint and region::

    LANGGRAPH_DYNAMODB_SOURCE=checkpoints.sqlite langgraph-dynamodb --table T \\
        import --from langgraph_dynamodb.cli.sources:sqlite
    LANGGRAPH_DYNAMODB_SOURCE=old-table langgraph-dynamodb --table T \\
        import --from langgraph_dynamodb.cli.sources:langgraph_checkpoint_aws

Any other saver: write a function that returns it (or a context manager of it, or a
``(saver, thread_ids)`` pair when its ``list(None)`` cannot list every thread).
"""

from __future__ import annotations

import os
from typing import Any

ENV_SOURCE = "LANGGRAPH_DYNAMODB_SOURCE"
"""Where the source's data is."""

AWS_THREAD_PREFIX = "CHECKPOINT_"
"""langgraph-checkpoint-aws's partition key of a thread's checkpoints: ``CHECKPOINT_<id>``."""


def _source(what: str) -> str:
    found = os.environ.get(ENV_SOURCE)
    if not found:
        from langgraph_dynamodb.cli.connect import UsageError

        raise UsageError(f"set {ENV_SOURCE} to {what}")
    return found


def sqlite() -> Any:
    """langgraph's ``SqliteSaver`` on the file ``LANGGRAPH_DYNAMODB_SOURCE`` names
    (``pip install langgraph-checkpoint-sqlite``)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver.from_conn_string(_source("the SQLite file"))


def postgres() -> Any:
    """langgraph's ``PostgresSaver`` on the connection string ``LANGGRAPH_DYNAMODB_SOURCE``
    holds (``pip install langgraph-checkpoint-postgres``)."""
    from langgraph.checkpoint.postgres import PostgresSaver  # type: ignore[import-not-found]

    return PostgresSaver.from_conn_string(_source("the Postgres connection string"))


def langgraph_checkpoint_aws() -> tuple[Any, list[str]]:
    """langgraph-checkpoint-aws's ``DynamoDBSaver`` on the table ``LANGGRAPH_DYNAMODB_SOURCE``
    names, and its threads (its ``list`` needs a thread id: they are found by a Scan of
    its keys). Its S3 offloading, if used, needs the same options: write your own factory."""
    import boto3
    from langgraph_checkpoint_aws import DynamoDBSaver as AwsSaver  # type: ignore[import-not-found]

    table = _source("the langgraph-checkpoint-aws table")
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    threads: dict[str, None] = {}
    for page in client.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression="PK",
        FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": AWS_THREAD_PREFIX}},
    ):
        for item in page.get("Items", []):
            threads[item["PK"]["S"][len(AWS_THREAD_PREFIX) :]] = None
    saver = AwsSaver(table_name=table, endpoint_url=endpoint)
    return saver, list(threads)
