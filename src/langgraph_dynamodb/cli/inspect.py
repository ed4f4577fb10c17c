"""The commands that look: ``threads``, ``history``, ``show``, ``diff``."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple

from langgraph_dynamodb import survey, views
from langgraph_dynamodb.cli.connect import Settings, UsageError, make_saver
from langgraph_dynamodb.cli.ui import UI
from langgraph_dynamodb.saver import DynamoDBSaver

MAX_CELL = 120
"""Characters of a value shown in a table cell (``--json`` shows everything)."""


class NotFound(Exception):
    """What a command was asked to show is not in the table (exit code 1)."""


def _short(value: Any, width: int = MAX_CELL) -> str:
    text = views.text(value).replace("\n", " ") if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def threads(settings: Settings, args: Any, ui: UI) -> int:
    """Threads, most recently updated first, from a keys-only parallel Scan."""
    if args.limit is not None and args.limit <= 0:
        raise UsageError("--limit must be a positive number")
    with make_saver(settings) as saver:
        with ui.progress("scanning threads") as advance:
            merged = survey.merged_threads(saver, args.segments, advance)
    rows = list(merged.values())
    key = lambda t: (t.latest_id, t.thread_id)  # noqa: E731
    ordered = (
        heapq.nlargest(args.limit, rows, key=key)
        if args.limit
        else sorted(rows, key=key, reverse=True)
    )
    out = [
        {
            "thread_id": t.thread_id,
            "checkpoints": t.checkpoints,
            "namespaces": len(t.namespaces),
            "pending_writes": t.writes,
            "latest_checkpoint_id": t.latest_id,
            "last_update": _iso(t.latest_id, json_mode=args.json),
        }
        for t in ordered
    ]
    if args.json:
        ui.json_rows(out)
        return 0
    ui.table(
        ["thread", "checkpoints", "namespaces", "last update (UTC)", "latest checkpoint"],
        [
            [
                r["thread_id"],
                f"{r['checkpoints']:,}",
                r["namespaces"],
                r["last_update"],
                r["latest_checkpoint_id"],
            ]
            for r in out
        ],
        justify=["left", "right", "right", "left", "left"],
        title=f"{len(out):,} of {len(rows):,} threads in {settings.table}",
    )
    return 0


def _iso(checkpoint_id: str, *, json_mode: bool = False) -> str:
    found = views.id_time(checkpoint_id)
    if found is None:
        return ""
    return found.strftime("%Y-%m-%dT%H:%M:%SZ" if json_mode else "%Y-%m-%d %H:%M:%S")


def _thread_config(thread: str, ns: str | None, checkpoint_id: str | None = None) -> RunnableConfig:
    conf: dict[str, Any] = {"thread_id": thread}
    if ns is not None:
        conf["checkpoint_ns"] = ns
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def history(settings: Settings, args: Any, ui: UI) -> int:
    """A thread's checkpoints newest first (one namespace with ``--ns``)."""
    if args.limit is not None and args.limit <= 0:
        raise UsageError("--limit must be a positive number")
    with make_saver(settings) as saver:
        found = saver.list(_thread_config(args.thread, args.ns), limit=args.limit)
        rows = _with_children(found)
        if args.json:
            if ui.json_rows(rows) == 0:
                raise NotFound(f"thread {args.thread!r} has no checkpoints in {settings.table}")
            return 0
        listed = list(rows)
    if not listed:
        raise NotFound(f"thread {args.thread!r} has no checkpoints in {settings.table}")
    show_ns = any(r["checkpoint_ns"] for r in listed)
    columns = [
        "checkpoint",
        *(["namespace"] if show_ns else []),
        "time (UTC)",
        "step",
        "source",
        "writes",
        "next",
    ]
    ui.table(
        columns,
        [
            [
                r["checkpoint_id"] + (" ⏸" if r["interrupts"] else ""),
                *([r["checkpoint_ns"]] if show_ns else []),
                r["time"].replace("T", " ").split("+")[0],
                r["step"],
                r["source"],
                r["writes"],
                ", ".join(r["next"]),
            ]
            for r in listed
        ],
        title=f"thread {args.thread}: {len(listed)} checkpoints, newest first"
        + (" (⏸ waiting on an interrupt)" if any(r["interrupts"] for r in listed) else ""),
    )
    return 0


def _with_children(found: Iterable[CheckpointTuple]) -> Iterator[dict[str, Any]]:
    """History rows, each checkpoint's next tasks read from the checkpoint the run wrote
    after it (newest first: a child comes before its parent)."""
    children: dict[tuple[str, str], CheckpointTuple] = {}
    for t in found:
        conf = t.config["configurable"]
        ns = str(conf.get("checkpoint_ns", ""))
        yield views.summary(t, children.pop((ns, str(conf["checkpoint_id"])), None))
        if t.parent_config is not None and (t.metadata or {}).get("source") == "loop":
            children[(ns, str(t.parent_config["configurable"]["checkpoint_id"]))] = t


def _get(saver: DynamoDBSaver, thread: str, ns: str, checkpoint_id: str | None) -> CheckpointTuple:
    found = saver.get_tuple(_thread_config(thread, ns, checkpoint_id))
    if found is None:
        what = f"checkpoint {checkpoint_id!r}" if checkpoint_id else "a checkpoint"
        where = f" in namespace {ns!r}" if ns else ""
        raise NotFound(
            f"thread {thread!r} has no {what}{where}: "
            f"'langgraph-dynamodb history {thread}' lists them"
        )
    return found


def show(settings: Settings, args: Any, ui: UI) -> int:
    """One checkpoint, decoded."""
    with make_saver(settings) as saver:
        t = _get(saver, args.thread, args.ns, args.checkpoint)
    d = views.detail(t)
    if args.json:
        ui.json(d)
        return 0
    ui.table(
        ["", ""],
        [
            ["thread", d["thread_id"]],
            ["namespace", d["checkpoint_ns"] or "(root)"],
            ["checkpoint", d["checkpoint_id"]],
            ["parent", d["parent_checkpoint_id"] or ""],
            ["time (UTC)", d["time"]],
            ["step / source", f"{d['step']} / {d['source']}"],
            ["next", ", ".join(d["next"]) or "(none: the run is done)"],
        ],
        title="checkpoint",
    )
    ui.table(
        ["channel", "version", "value"],
        [
            [ch, _short(d["channel_versions"].get(ch, ""), 40), _short(v)]
            for ch, v in d["values"].items()
        ],
        title=f"values ({len(d['values'])} channels)",
    )
    meta = {k: v for k, v in d["metadata"].items()}
    ui.table(["key", "value"], [[k, _short(v)] for k, v in meta.items()], title="metadata")
    if d["pending_writes"]:
        ui.table(
            ["task", "channel", "value"],
            [[w["task_id"], w["channel"], _short(w["value"])] for w in d["pending_writes"]],
            title=f"pending writes ({len(d['pending_writes'])})",
        )
    for i in d["interrupts"]:
        ui.line(
            f"⏸ interrupt {i['id']} (task {i['task_id']}): {_short(i['value'])}", style="yellow"
        )
    return 0


def _resolve(saver: DynamoDBSaver, thread: str, ns: str, ref: str) -> CheckpointTuple:
    if ref == "latest":
        return _get(saver, thread, ns, None)
    if ref == "parent":
        latest = _get(saver, thread, ns, None)
        if latest.parent_config is None:
            raise NotFound(f"the latest checkpoint of thread {thread!r} has no parent")
        return _get(saver, thread, ns, latest.parent_config["configurable"]["checkpoint_id"])
    return _get(saver, thread, ns, ref)


def diff(settings: Settings, args: Any, ui: UI) -> int:
    """Two checkpoints of a thread, channel by channel."""
    with make_saver(settings) as saver:
        a = _resolve(saver, args.thread, args.ns, args.a)
        b = _resolve(saver, args.thread, args.ns, args.b)
    d = views.diff(a, b)
    if args.json:
        ui.json(d)
        return 0
    changed = {ch: r for ch, r in d["channels"].items() if r["status"] != "same"}
    ui.table(
        ["channel", "status", "version a", "version b"],
        [
            [ch, r["status"], _short(r["version_a"], 36), _short(r["version_b"], 36)]
            for ch, r in d["channels"].items()
        ],
        title=f"a = {d['a']}\nb = {d['b']}: {len(changed)} of {len(d['channels'])} channels differ",
    )
    for _ch, r in changed.items():
        for line in r["diff"]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            ui.line(line, style=style)
    if d["metadata"]:
        ui.table(
            ["metadata", "a", "b"],
            [[k, _short(v["a"], 50), _short(v["b"], 50)] for k, v in d["metadata"].items()],
        )
    return 0
