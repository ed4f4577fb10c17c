"""Factories ``import --from`` calls in the migration tests (``tests.cli.sources:NAME``)."""

from __future__ import annotations

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


def not_a_saver() -> dict[str, str]:
    return {"hello": "world"}
