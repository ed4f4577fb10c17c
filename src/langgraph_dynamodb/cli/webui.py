"""The ``ui`` command: the replay UI (:mod:`langgraph_dynamodb.replay.web`) served by
uvicorn on 127.0.0.1, behind a random token, read-only unless ``--allow-writes``. It prints
the URL, token included, as soon as the port listens."""

from __future__ import annotations

import socket
import sys
from typing import Any

from langgraph_dynamodb.cli.connect import (
    Settings,
    UsageError,
    load_index,
    load_object,
    make_cache,
    make_saver,
    make_store,
)
from langgraph_dynamodb.cli.ui import UI

UI_EXTRA = "pip install 'langgraph-dynamodb[ui]'"
"""What the ``ui`` command needs beyond the command line (starlette, uvicorn)."""

HOST = "127.0.0.1"
"""Only this machine reaches the UI."""


def listening_socket(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1 (``port`` 0: a free one), or a usage error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"--port {port}: {exc.strerror or exc} (pass another, or none)") from exc
    return sock


def ui(settings: Settings, args: Any, out: UI) -> int:
    """Serve the replay UI until Ctrl-C."""
    try:
        import uvicorn

        from langgraph_dynamodb.replay.web import make_app, new_token
    except ImportError as exc:
        raise UsageError(f"langgraph-dynamodb ui needs starlette and uvicorn: {UI_EXTRA}") from exc
    from langgraph_dynamodb.replay.actions import TimeTravel, compiled_graph
    from langgraph_dynamodb.replay.model import ReplayModel

    if args.allow_writes and not args.graph:
        raise UsageError("--allow-writes needs --graph MODULE:ATTR (the graph that writes)")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    table = settings.require_table()
    index = load_index(args.index)
    graph = load_object(args.graph, "--graph") if args.graph else None
    with (
        make_saver(settings) as saver,
        make_store(settings, index) as store,
        make_cache(settings) as cache,
    ):
        time_travel = TimeTravel(compiled_graph(graph, saver)) if graph is not None else None
        model = ReplayModel(saver, store=store, cache=cache, redact=args.redact)
        model.warm()  # the threads' listing, while the browser opens
        token = new_token()
        app = make_app(
            model,
            token=token,
            time_travel=time_travel,
            allow_writes=args.allow_writes,
            info={"table": table, "graph": args.graph, "redact": len(args.redact)},
        )
        sock = listening_socket(args.port or 0)
        sys.stdout.write(f"http://{HOST}:{sock.getsockname()[1]}/?token={token}\n")
        sys.stdout.flush()
        mode = "writes allowed" if time_travel and args.allow_writes else "read-only"
        out.note(f"serving {table} ({mode}); Ctrl-C stops")
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(
            sockets=[sock]
        )
    return 0
