"""The command line's grammar: global options (before or after the command), the
commands and their arguments. Parsing errors exit with code 2, as argparse does."""

from __future__ import annotations

import argparse
from typing import Any

from langgraph_dynamodb.cli.connect import ENV_TABLE
from langgraph_dynamodb.survey import DEFAULT_SEGMENTS

PROG = "langgraph-dynamodb"

EPILOG = f"""\
The table, endpoint and region also come from the environment: {ENV_TABLE},
AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL), AWS_REGION / AWS_DEFAULT_REGION,
AWS_PROFILE. Exit codes: 0 ok, 1 problems found (or an error), 2 usage.
"""


def _globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("table and connection")
    g.add_argument("--table", metavar="T", default=default, help=f"the table (or {ENV_TABLE})")
    g.add_argument("--endpoint-url", metavar="URL", default=default, help="e.g. DynamoDB Local's")
    g.add_argument("--region", metavar="R", default=default)
    g.add_argument("--profile", metavar="P", default=default)
    g.add_argument(
        "--serde",
        metavar="MODULE:FACTORY",
        default=default,
        help="the serializer the saver uses (default: LangGraph's JsonPlusSerializer)",
    )
    g.add_argument(
        "--key-env",
        metavar="VAR",
        default=default,
        help="an encrypted table: VAR holds KEY_ID:BASE64_KEY[,...] (the first is active)",
    )
    g.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="show tracebacks",
    )


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")


def _segments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--segments",
        type=int,
        default=DEFAULT_SEGMENTS,
        metavar="N",
        help=f"parallel Scan segments (default {DEFAULT_SEGMENTS})",
    )


def _replay(p: argparse.ArgumentParser) -> None:
    """The options of the commands on the replay model (``ui``, ``mcp``)."""
    p.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="PATTERN",
        help="show values (and values under keys) matching this regex as [redacted] (repeat)",
    )
    p.add_argument(
        "--index",
        metavar="MODULE:NAME",
        help="the store's IndexConfig (dims, embed, fields), or a factory of it: semantic search",
    )


def parser() -> argparse.ArgumentParser:
    """The whole command line."""
    root = argparse.ArgumentParser(
        prog=PROG,
        description="See, repair, export/import and migrate LangGraph checkpoints in DynamoDB.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from langgraph_dynamodb import __version__

    root.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _globals(root, suppress=False)
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        _globals(p, suppress=True)
        return p

    p = command("setup", "create the table, or check it, as DynamoDBSaver.setup()")
    p.add_argument("--ttl", action="store_true", help="also enable TTL on the 'ttl' attribute")

    p = command("doctor", "check keys, TTL, point-in-time recovery, encryption, billing")
    _json(p)

    p = command("threads", "threads with their checkpoint count and last update")
    p.add_argument("--limit", type=int, metavar="N", help="the N most recently updated")
    _json(p)
    _segments(p)

    p = command("history", "a thread's checkpoints, newest first")
    p.add_argument("thread")
    p.add_argument("--ns", metavar="NS", help="one namespace ('' is the root graph)")
    p.add_argument("--limit", type=int, metavar="N")
    _json(p)

    p = command("show", "a checkpoint decoded: values, metadata, pending writes, next, interrupts")
    p.add_argument("thread")
    p.add_argument("checkpoint", nargs="?", help="its id (default: the latest)")
    p.add_argument("--ns", metavar="NS", default="", help="namespace (default: the root graph)")
    _json(p)

    p = command("diff", "what changed between two checkpoints, channel by channel")
    p.add_argument("thread")
    p.add_argument("a", help="a checkpoint id ('latest', 'parent' of latest)")
    p.add_argument("b", help="a checkpoint id ('latest', 'parent' of latest)")
    p.add_argument("--ns", metavar="NS", default="")
    _json(p)

    p = command("delete", "delete threads, every checkpoint and write")
    p.add_argument("threads", nargs="+", metavar="THREAD")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")

    p = command("prune", "keep only the latest checkpoint of threads, or delete them")
    p.add_argument("threads", nargs="+", metavar="THREAD")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--keep-latest", action="store_true")
    how.add_argument("--delete", action="store_true")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")

    p = command("copy", "copy a thread to a new thread id")
    p.add_argument("src")
    p.add_argument("dst")

    p = command("export", "threads as JSON Lines (every thread when none is named)")
    p.add_argument("threads", nargs="*", metavar="THREAD")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="default: stdout")
    _segments(p)

    p = command("import", "threads from an export, or from another saver")
    p.add_argument("file", nargs="?", metavar="FILE", help="an export ('-' or none: stdin)")
    p.add_argument(
        "--from",
        dest="source",
        metavar="MODULE:FACTORY",
        help="read from the BaseCheckpointSaver this returns (a saver, or a context manager)",
    )
    p.add_argument(
        "--thread",
        dest="only",
        action="append",
        metavar="THREAD",
        help="only this thread (repeat; needed when the source cannot list its threads)",
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_SEGMENTS,
        metavar="N",
        help=f"threads of an export written at a time (default {DEFAULT_SEGMENTS})",
    )

    p = command(
        "index-threads",
        "write the thread directory of a table written before it (once): ui pages fast",
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_SEGMENTS * 4,
        metavar="N",
        help=f"threads indexed at a time (default {DEFAULT_SEGMENTS * 4})",
    )
    _segments(p)

    p = command("stats", "items, bytes, average checkpoint, estimated monthly cost")
    _json(p)
    _segments(p)

    p = command("cache", "the node cache (DynamoDBCache) by node: entries, expired, bytes")
    clear = p.add_mutually_exclusive_group()
    clear.add_argument(
        "--clear",
        nargs="+",
        default=[],
        metavar="NODE",
        help="clear these nodes' entries (a node name, or a namespace as listed)",
    )
    clear.add_argument("--clear-all", action="store_true", help="clear every entry")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    _json(p)

    p = command("ui", "a local web UI: threads, checkpoints, diffs, memories; time travel")
    p.add_argument("--port", type=int, metavar="N", help="default: a free one")
    p.add_argument(
        "--graph",
        metavar="MODULE:ATTR",
        help="the application's graph (a StateGraph builder or a compiled graph), for time travel",
    )
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="with --graph: fork, resume and answer interrupts (read-only otherwise)",
    )
    _replay(p)

    p = command(
        "mcp",
        "serve threads, checkpoints, diffs, finds and memories as read-only MCP tools over "
        "stdio (for coding assistants)",
    )
    _replay(p)

    p = command(
        "local",
        "run DynamoDB Local for development (persistent, shared), vector indexes emulated",
    )
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--db-path",
        metavar="DIR",
        default=".dynamodb-local",
        help="where the tables are kept (default .dynamodb-local; ':memory:' for none)",
    )
    p.add_argument(
        "--no-vector-emulator",
        action="store_true",
        help="DynamoDB Local alone, without the emulator of vector indexes and SearchVectors",
    )
    return root


def parse(argv: list[str] | None) -> Any:
    """Parsed arguments (exits with 2 and a usage line on a mistake)."""
    return parser().parse_args(argv)
