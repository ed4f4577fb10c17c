"""The terminal side of the command line, on rich: results on stdout (tables with
colour on a terminal, or JSON with ``--json``), progress, notes and errors on stderr,
confirmation before destructive work."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from langgraph_dynamodb.cli.connect import UsageError

PIPE_WIDTH = 200
"""Width of tables written to a pipe or a file (a terminal's own width otherwise)."""

STATUS_STYLE = {"ok": "green", "warn": "yellow", "problem": "bold red", "skip": "dim"}


def _default(value: Any) -> Any:
    return repr(value)


class UI:
    """Where a command prints.

    Args:
        json_mode: Print results as JSON (for scripts) instead of tables.
    """

    def __init__(self, *, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.out = Console(highlight=False, soft_wrap=False)
        if not self.out.is_terminal and "COLUMNS" not in os.environ:
            self.out = Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH)
        self.err = Console(stderr=True, highlight=False)

    # --- results ------------------------------------------------------------------------
    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        title: str | None = None,
        justify: Sequence[str] | None = None,
    ) -> None:
        """A table of rows (cells shown with ``str``, never as markup; ``None`` empty; a
        ``rich.text.Text`` as it is styled)."""
        table = Table(title=title, title_justify="left", header_style="bold cyan")
        for i, name in enumerate(columns):
            just = justify[i] if justify else "left"
            table.add_column(name, justify=just, overflow="fold")  # type: ignore[arg-type]
        for row in rows:
            table.add_row(
                *[c if isinstance(c, Text) else Text("" if c is None else str(c)) for c in row]
            )
        self.out.print(table)

    def line(self, text: str = "", style: str | None = None) -> None:
        """A line of the result (rich markup is not interpreted)."""
        self.out.print(text, style=style, markup=False)

    def json(self, value: Any) -> None:
        """One JSON document on stdout."""
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=_default) + "\n")

    def json_rows(self, rows: Iterable[Any]) -> int:
        """A JSON array, a row a line, written as the rows come (flat memory)."""
        count = 0
        sys.stdout.write("[")
        for row in rows:
            sys.stdout.write(
                ("\n" if count == 0 else ",\n")
                + json.dumps(row, ensure_ascii=False, default=_default)
            )
            count += 1
        sys.stdout.write("\n]\n" if count else "]\n")
        return count

    # --- around the results ---------------------------------------------------------------
    def note(self, text: str) -> None:
        """A remark on stderr (not part of the result)."""
        self.err.print(text, style="dim", markup=False)

    def warn(self, text: str) -> None:
        """A warning on stderr."""
        self.err.print(f"warning: {text}", style="yellow", markup=False)

    def error(self, text: str) -> None:
        """One line saying what went wrong and what to do."""
        self.err.print(f"error: {text}", style="bold red", markup=False, soft_wrap=True)

    @contextmanager
    def progress(self, what: str, total: int | None = None) -> Iterator[Any]:
        """A progress bar on stderr (when it is a terminal); yields ``advance(n=1)``."""
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        else:
            columns += [TextColumn("{task.completed:,}")]
        columns.append(TimeElapsedColumn())
        bar = Progress(*columns, console=self.err, disable=not self.err.is_terminal, transient=True)
        with bar:
            task = bar.add_task(what, total=total)

            def advance(n: int = 1, description: str | None = None) -> None:
                bar.update(task, advance=n, description=description or what)

            yield advance

    def confirm(self, question: str, *, yes: bool) -> bool:
        """Ask before destructive work (``--yes`` answers for scripts)."""
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"{question} Refusing without --yes: stdin is not a terminal")
        answer = self.err.input(f"{question} [y/N] ")
        return answer.strip().lower() in ("y", "yes")
