"""The command line's entry: parse, run the command, turn what went wrong into one line
and an exit code (0 ok, 1 problems found or an error, 2 usage; 130 on Ctrl-C)."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from langgraph_dynamodb.cli import admin, inspect, transfer
from langgraph_dynamodb.cli import args as grammar
from langgraph_dynamodb.cli.cache import cache
from langgraph_dynamodb.cli.connect import Settings, UsageError
from langgraph_dynamodb.cli.mcp import mcp
from langgraph_dynamodb.cli.records import ExportFormatError
from langgraph_dynamodb.cli.ui import UI
from langgraph_dynamodb.cli.webui import ui
from langgraph_dynamodb.errors import DynamoDBSaverError

OK, PROBLEMS, USAGE, INTERRUPTED = 0, 1, 2, 130

COMMANDS: dict[str, Callable[[Settings, Any, UI], int]] = {
    "setup": admin.setup,
    "doctor": admin.doctor,
    "threads": inspect.threads,
    "history": inspect.history,
    "show": inspect.show,
    "diff": inspect.diff,
    "delete": admin.delete,
    "prune": admin.prune,
    "copy": admin.copy,
    "export": transfer.export,
    "import": transfer.import_,
    "index-threads": admin.index_threads,
    "stats": admin.stats,
    "local": admin.local,
    "cache": cache,
    "mcp": mcp,
    "ui": ui,
}


def _library_warnings(ui: UI) -> None:
    """The library's warnings (a checkpoint left out...) printed as the command line's."""

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            ui.warn(record.getMessage())

    logger = logging.getLogger("langgraph_dynamodb")
    logger.handlers = [Handler(level=logging.WARNING)]
    logger.propagate = False


def _application_types() -> None:
    """Values of the application's types decode when the command runs in its project
    (the working directory is on the import path, as with ``python -m``); LangGraph's
    notice that such types are not on its allow-list is for applications, not for a
    tool that shows them."""
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    logging.getLogger("langgraph.checkpoint.serde.jsonplus").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code."""
    parsed = grammar.parse(argv)
    _application_types()
    ui = UI(json_mode=bool(getattr(parsed, "json", False)))
    _library_warnings(ui)
    debug = bool(getattr(parsed, "debug", False))
    try:
        return COMMANDS[parsed.command](Settings.of(parsed), parsed, ui)
    except KeyboardInterrupt:
        ui.error("interrupted: what was written is whole; run the command again to continue")
        return INTERRUPTED
    except UsageError as exc:
        ui.error(str(exc))
        return USAGE
    except (inspect.NotFound, ExportFormatError, DynamoDBSaverError) as exc:
        if debug:
            traceback.print_exc()
        ui.error(str(exc))
        return PROBLEMS
    except BrokenPipeError:  # | head
        return OK
    except Exception as exc:  # noqa: BLE001 - one line, the traceback with --debug
        if debug:
            traceback.print_exc()
        ui.error(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return PROBLEMS
