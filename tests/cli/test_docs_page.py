"""docs/cli.md is a real session: ``scripts/cli_docs.py --check`` runs it again (DynamoDB
Local through ``langgraph-dynamodb local``, the incident example, every command) and
compares each command's exit code and first line with the page."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_page_is_what_the_commands_print() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/cli_docs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "docs/cli.md matches the session" in done.stdout
