"""``langgraph-dynamodb``, the command line: see, repair, export/import and migrate what a
``DynamoDBSaver`` stores. Installed with the ``cli`` extra
(``pip install 'langgraph-dynamodb[cli]'``: rich, for tables and progress bars).

============  ==================================================================
``app``       the entry: parse, run, one line per error, exit codes
``args``      the grammar: global options, commands, arguments
``connect``   settings from options and environment, the saver, ``module:factory``
``ui``        tables, JSON, progress, confirmation (rich)
``inspect``   ``threads``, ``history``, ``show``, ``diff``
``admin``     ``setup``, ``doctor``, ``stats``, ``delete``, ``prune``, ``copy``, ``local``
``transfer``  ``export``, ``import``
``cache``     ``cache``: the node cache by node, and clearing it
``mcp``       ``mcp``: the replay model as read-only MCP tools (``replay.mcp``)
``webui``     ``ui``: the replay UI served on 127.0.0.1 (:mod:`langgraph_dynamodb.replay`)
``records``   the export format (pure)
``doctor``    the table's checks (pure)
============  ==================================================================

What a checkpoint shows as (:mod:`langgraph_dynamodb.views`) and the table's parallel
Scans (:mod:`langgraph_dynamodb.survey`) live beside the package's other modules: the
replay UI and MCP server read them too.
"""

from __future__ import annotations

import sys

CLI_EXTRA = "pip install 'langgraph-dynamodb[cli]'"
"""What the command line needs beyond the library."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``); its exit code."""
    try:
        import rich  # noqa: F401
    except ImportError:
        print(
            f"error: the langgraph-dynamodb command line needs rich: {CLI_EXTRA}",
            file=sys.stderr,
        )
        return 2
    from langgraph_dynamodb.cli.app import main as run

    return run(argv)


def console_script() -> None:
    """The ``langgraph-dynamodb`` console script."""
    sys.exit(main())
