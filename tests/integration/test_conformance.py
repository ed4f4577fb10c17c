"""The public langgraph-checkpoint-conformance suite, every capability, on DynamoDB Local."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION

pytestmark = pytest.mark.integration


async def test_conformance_all_capabilities(ddb_endpoint: str, table_name: str) -> None:
    @checkpointer_test(name="DynamoDBSaver")
    async def factory() -> AsyncIterator[DynamoDBSaver]:
        async with DynamoDBSaver.from_table(
            table_name, endpoint_url=ddb_endpoint, region_name=REGION
        ) as saver:
            yield saver

    report = await validate(factory, progress=ProgressCallbacks.verbose())
    failures = [f for r in report.results.values() for f in r.failures]
    passed = sum(r.tests_passed for r in report.results.values())
    failed = sum(r.tests_failed for r in report.results.values())
    undetected = [name for name, r in report.results.items() if not r.detected]
    print(f"conformance: {passed} passed, {failed} failed; not detected: {undetected}")
    assert not undetected, undetected
    assert not failures, "\n".join(failures)
    assert passed == 81, passed
