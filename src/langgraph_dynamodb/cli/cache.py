"""The ``cache`` command: what a ``DynamoDBCache`` holds, by node (entries, expired
share, bytes), and clearing it by node or whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph_dynamodb.cache import CacheNamespaceSummary, DynamoDBCache
from langgraph_dynamodb.cli.connect import Settings, UsageError, make_cache
from langgraph_dynamodb.cli.inspect import NotFound
from langgraph_dynamodb.cli.ui import UI

PREGEL_NAMESPACE = "__pregel_ns_writes"
"""The first label of LangGraph's node cache namespaces: ``(it, function, node)``."""

DIGESTED_LABEL = "<digest>"
"""How a label the table keeps only as a digest (a very long one) is shown."""


def node_and_function(summary: CacheNamespaceSummary) -> tuple[str, str]:
    """The node and function a namespace caches for (LangGraph's ``(__pregel_ns_writes,
    function, node)``); another namespace is shown whole, labels joined by ``/``, with no
    function."""
    labels = [DIGESTED_LABEL if label is None else label for label in summary.namespace]
    if len(labels) == 3 and labels[0] == PREGEL_NAMESPACE:
        return labels[2], labels[1]
    return "/".join(labels), ""


def matching(
    summaries: Sequence[CacheNamespaceSummary], nodes: Sequence[str]
) -> tuple[list[CacheNamespaceSummary], list[str]]:
    """The namespaces of the named nodes (a node name, or a namespace as the table shows
    it), and the names that matched none."""
    chosen: dict[tuple[str | None, ...], CacheNamespaceSummary] = {}
    unmatched = []
    for name in nodes:
        hits = [s for s in summaries if node_and_function(s)[0] == name]
        unmatched += [] if hits else [name]
        chosen.update((s.namespace, s) for s in hits)
    return list(chosen.values()), unmatched


def _row(summary: CacheNamespaceSummary) -> dict[str, Any]:
    node, function = node_and_function(summary)
    return {
        "node": node,
        "function": function,
        "namespace": list(summary.namespace),
        "entries": summary.entries,
        "expired": summary.expired,
        "bytes": summary.bytes,
    }


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _show(settings: Settings, summaries: list[CacheNamespaceSummary], ui: UI) -> None:
    rows = sorted((_row(s) for s in summaries), key=lambda r: (-r["bytes"], r["node"]))
    entries = sum(r["entries"] for r in rows)
    expired = sum(r["expired"] for r in rows)
    size = sum(r["bytes"] for r in rows)
    functions = any(r["function"] for r in rows)  # a column only when a node has one
    ui.table(
        ["node", *(["function"] if functions else []), "entries", "expired", "bytes"],
        [
            [
                r["node"],
                *([r["function"]] if functions else []),
                f"{r['entries']:,}",
                _share(r["expired"], r["entries"]),
                f"{r['bytes']:,}",
            ]
            for r in rows
        ]
        + [
            [
                "all",
                *([""] if functions else []),
                f"{entries:,}",
                _share(expired, entries),
                f"{size:,}",
            ]
        ],
        justify=["left", *(["left"] if functions else []), "right", "right", "right"],
        title=f"node cache in {settings.table}: {len(rows)} namespace(s)",
    )


def _clear(
    cache: DynamoDBCache[Any],
    summaries: list[CacheNamespaceSummary],
    args: Any,
    ui: UI,
) -> int:
    unmatched: list[str] = []
    if args.clear_all:
        doomed = summaries
    else:
        doomed, unmatched = matching(summaries, args.clear)
    for name in unmatched:
        ui.warn(f"no cache namespace for {name!r} (see `langgraph-dynamodb cache`)")
    if not doomed:
        raise NotFound("nothing to clear: the cache has no entries for these nodes")
    digested = [s for s in doomed if None in s.namespace]
    if digested and not args.clear_all:
        raise UsageError(
            f"{node_and_function(digested[0])[0]!r} has a label kept only as a digest; "
            "clear it with --clear-all"
        )
    entries = sum(s.entries for s in doomed)
    if not ui.confirm(
        f"Clear {entries:,} cached entries of {len(doomed)} namespace(s) in {cache.table_name}?",
        yes=args.yes,
    ):
        ui.line("nothing cleared")
        return 1
    if args.clear_all:
        cache.clear()
    else:
        cache.clear([tuple(str(label) for label in s.namespace) for s in doomed])
    ui.line(f"cleared {entries:,} entries of {len(doomed)} namespace(s)", style="green")
    return 1 if unmatched else 0


def cache(settings: Settings, args: Any, ui: UI) -> int:
    """Show the node cache by node, or clear it (``--clear NODE...``, ``--clear-all``)."""
    with make_cache(settings) as node_cache:
        summaries = [s for s in node_cache.summarize() if s.bytes]  # cleared ones: none
        if args.clear or args.clear_all:
            return _clear(node_cache, summaries, args, ui)
    if args.json:
        ui.json([_row(s) for s in summaries])
    elif not summaries:
        ui.line(f"no node cache entries in {settings.table}")
    else:
        _show(settings, summaries, ui)
    return 0
