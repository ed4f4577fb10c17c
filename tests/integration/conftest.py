"""Fixtures for integration tests: a saver per test, exercised through sync or async."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION


class Driver:
    """Calls a saver method through its sync or its async twin, so one test covers both."""

    def __init__(self, saver: DynamoDBSaver, mode: str) -> None:
        self.saver = saver
        self.mode = mode

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "list":
            if self.mode == "sync":
                return await asyncio.to_thread(lambda: list(self.saver.list(*args, **kwargs)))
            return [t async for t in self.saver.alist(*args, **kwargs)]
        if self.mode == "sync":
            return await asyncio.to_thread(getattr(self.saver, name), *args, **kwargs)
        return await getattr(self.saver, "a" + name)(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run the test through the sync API and through the async API."""
    return str(request.param)


@pytest.fixture
async def saver(ddb_endpoint: str, table_name: str) -> AsyncIterator[DynamoDBSaver]:
    """A saver on the session table, closed after the test."""
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as s:
        yield s


@pytest.fixture
def drive(saver: DynamoDBSaver, mode: str) -> Driver:
    """The saver, called through the API the ``mode`` names."""
    return Driver(saver, mode)


@pytest.fixture
def thread_id() -> str:
    """A fresh thread id."""
    return f"thread-{uuid.uuid4()}"
