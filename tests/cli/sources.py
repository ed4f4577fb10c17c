"""Factories ``import --from`` calls in the migration tests (``tests.cli.sources:NAME``)."""

from __future__ import annotations

import os
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from tests.cli import threads as th

MEMORY = InMemorySaver()
"""Filled by the in-process test before it runs the command (it compares against it)."""


def memory_saver() -> InMemorySaver:
    """The module's InMemorySaver, as filled by the test."""
    return MEMORY


def filled_memory_saver() -> InMemorySaver:
    """A fresh InMemorySaver filled by the graphs (for a run of the console script)."""
    saver = InMemorySaver()
    th.fill(saver)
    return saver


def sqlite_saver() -> Any:
    """langgraph's SQLite saver on the file the test names (a context manager)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver.from_conn_string(os.environ["CLI_TEST_SQLITE"])


def not_a_saver() -> dict[str, str]:
    return {"hello": "world"}
