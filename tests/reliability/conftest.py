"""Fixtures of the reliability tests: fast retry waits, fresh ids, the session's counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from . import tally

#: Scale of botocore's retry waits in the fault tests. Which errors are retried and how
#: often is botocore's standard mode, unchanged; only the (jittered, exponential) waits
#: are shortened, or 20% of requests failing would make each graph run take minutes.
BACKOFF_SCALE = 0.05


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten botocore's retry waits and the saver's UnprocessedItems waits."""
    from botocore.retries import standard

    from langgraph_dynamodb.flows import bulk

    original = standard.ExponentialBackoff.delay_amount
    original_unprocessed = bulk.backoff

    def scaled(self: Any, context: Any) -> float:
        return float(original(self, context)) * BACKOFF_SCALE

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", scaled)
    monkeypatch.setattr(bulk, "backoff", lambda attempt: original_unprocessed(attempt) * 0.2)


@pytest.fixture
def thread_id() -> str:
    """A fresh thread id."""
    return f"rel-{uuid.uuid4()}"


@pytest.fixture(scope="session", autouse=True)
def _write_tally() -> Iterator[None]:
    yield
    tally.write_report()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = tally.report_lines()
    if lines:
        terminalreporter.section("reliability counts")
        for line in lines:
            terminalreporter.write_line(line)
