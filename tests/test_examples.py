"""The examples run end to end (on the session's DynamoDB Local)."""

from __future__ import annotations

import uuid

import pytest

from examples import quickstart

pytestmark = pytest.mark.integration


async def test_quickstart(ddb_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    await quickstart.main(
        ["--endpoint-url", ddb_endpoint, "--table", f"quickstart-{uuid.uuid4().hex[:6]}"]
    )
    out = capsys.readouterr().out
    assert "final messages: ['hello', 'echo: hello'" in out
    assert "forked from the first turn: ['hello', 'echo: hello', 'fork!', 'echo: fork!']" in out
