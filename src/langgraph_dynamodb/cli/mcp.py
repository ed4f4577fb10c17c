"""The ``mcp`` command: the replay model (threads, checkpoints, diffs, finds, memories,
the node cache) served read-only over MCP on stdio, for coding assistants."""

from __future__ import annotations

from typing import Any

from langgraph_dynamodb.cli.connect import (
    Settings,
    UsageError,
    load_index,
    make_cache,
    make_saver,
    make_store,
)
from langgraph_dynamodb.cli.ui import UI

MCP_EXTRA = "pip install 'langgraph-dynamodb[mcp]'"
"""What the ``mcp`` command needs beyond the command line (the MCP SDK, deepdiff)."""


def mcp(settings: Settings, args: Any, ui: UI) -> int:
    """Serve until the client closes stdin; stdout carries the protocol only."""
    try:
        from langgraph_dynamodb.replay.mcp import serve
    except ImportError as exc:
        raise UsageError(f"the mcp command needs the MCP SDK ({exc}): {MCP_EXTRA}") from exc
    from langgraph_dynamodb.replay.model import ReplayModel

    with make_saver(settings) as saver, make_store(settings, load_index(args.index)) as store:
        with make_cache(settings) as node_cache:
            model = ReplayModel(saver, store=store, cache=node_cache, redact=args.redact)
            ui.note(f"langgraph-dynamodb mcp: serving table {settings.table} on stdio (read-only)")
            serve(model)
    return 0
