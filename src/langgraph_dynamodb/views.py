"""Checkpoints as people are shown them, as plain JSON-able data: decoded values
(messages, pydantic models, dataclasses, Sends, Interrupts), the time in a checkpoint id,
the next tasks, interrupts and failed tasks a checkpoint holds, a history row, a detail,
a channel-by-channel diff. Pure. What the command line (``history``, ``show``, ``diff``)
and the replay UI and MCP server (:mod:`langgraph_dynamodb.replay`) both show."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import difflib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple

from langgraph_dynamodb import schema

INTERRUPT = "__interrupt__"
ERROR = "__error__"
TASKS = "__pregel_tasks"
BRANCH_TO = "branch:to:"
"""LangGraph's channel that triggers a node (``branch:to:<node>``)."""
JOIN = "join:"
"""LangGraph's barrier before a node with several incoming edges (``join:<a>+<b>:<node>``)."""
PULL_PATH = "~__pregel_pull, "
"""How a task path (LangGraph's ``task_path_str``) of a node's own task starts; its name follows."""
PUSH_PATH = "~__pregel_push, "
"""How the task path of a ``Send``'s task starts; its index in ``__pregel_tasks`` follows."""


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-able rendering of a decoded value (never raises; ``repr`` as a last resort)."""
    if depth > 64:
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [plain(v, depth + 1) for v in items]
    if isinstance(value, (bytes, bytearray)):
        return {"bytes_base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return plain(dump(), depth + 1)
        except Exception:  # noqa: BLE001 - show what can be shown
            return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name, None), depth + 1)
            for f in dataclasses.fields(value)
        }
    if type(value).__name__ == "Send":
        return {
            "node": getattr(value, "node", None),
            "arg": plain(getattr(value, "arg", None), depth + 1),
        }
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and fields:
        return {"type": type(value).__name__, **{k: plain(v, depth + 1) for k, v in fields.items()}}
    return repr(value)


def id_time(checkpoint_id: str) -> dt.datetime | None:
    """The time in a LangGraph checkpoint id (a UUID v6, or v1), else ``None``."""
    seconds = schema.id_seconds(checkpoint_id)
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def when(t: CheckpointTuple) -> str:
    """The checkpoint's time (its ``ts``, else its id's), ISO 8601 to the second."""
    ts = t.checkpoint.get("ts")
    if isinstance(ts, str) and ts:
        try:
            return dt.datetime.fromisoformat(ts).isoformat(timespec="seconds")
        except ValueError:
            return ts
    found = id_time(str(t.checkpoint.get("id", "")))
    return found.isoformat(timespec="seconds") if found else ""


def _newer(version: Any, seen: Any) -> bool:
    return version is not None and (
        seen is None or (type(seen) is type(version) and version > seen)
    )


def next_tasks(t: CheckpointTuple, child: CheckpointTuple | None = None) -> list[str]:
    """The nodes that run after this checkpoint.

    With its ``child`` (the next checkpoint of the run), exactly: the nodes whose
    ``versions_seen`` changed. Without (the latest), as LangGraph triggers them: a
    ``branch:to:<node>`` channel holding a value newer than the node saw, a
    ``join:<a>+<b>:<node>`` barrier that every sender reached, and pending ``Send``s."""
    seen = t.checkpoint.get("versions_seen", {})
    if child is not None:
        after = child.checkpoint.get("versions_seen", {})
        return sorted(
            node
            for node, versions in after.items()
            if not node.startswith("__") and versions != seen.get(node)
        )
    versions = t.checkpoint.get("channel_versions", {})
    available = t.checkpoint.get("channel_values", {})
    found: list[str] = []
    for ch, v in versions.items():
        if ch not in available:
            continue  # a consumed trigger is emptied
        if ch.startswith(BRANCH_TO):
            node = ch[len(BRANCH_TO) :]
        elif ch.startswith(JOIN):
            starts, _, node = ch[len(JOIN) :].rpartition(":")
            if set(available[ch] or ()) != set(starts.split("+")):
                continue
        else:
            continue
        if _newer(v, seen.get(node, {}).get(ch)):
            found.append(node)
    for send in available.get(TASKS, []) or []:
        target = getattr(send, "node", None)
        if isinstance(target, str):
            found.append(target)
    return sorted(set(found))


def interrupts(t: CheckpointTuple) -> list[dict[str, Any]]:
    """The interrupts waiting in a checkpoint's pending writes (task, id, value)."""
    out: list[dict[str, Any]] = []
    for task, ch, value in t.pending_writes or []:
        if ch != INTERRUPT:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            out.append(
                {
                    "task_id": task,
                    "id": getattr(item, "id", None),
                    "value": plain(getattr(item, "value", item)),
                }
            )
    return out


def task_node(task_path: str, t: CheckpointTuple) -> str | None:
    """The node a task of checkpoint ``t`` runs, from its task path (LangGraph's
    ``PregelTask.path`` as ``put_writes`` stores it): ``"~__pregel_pull, write"`` is the
    node ``write``; ``"~__pregel_push, 0000000002, ..."`` the target of the checkpoint's
    third ``Send``. ``None`` for a path that names neither (a functional API call, none)."""
    if task_path.startswith(PULL_PATH):
        return task_path[len(PULL_PATH) :] or None
    if task_path.startswith(PUSH_PATH):
        index, _, _ = task_path[len(PUSH_PATH) :].partition(", ")
        sends = t.checkpoint.get("channel_values", {}).get(TASKS) or []
        if index.isdigit() and int(index) < len(sends):
            target = getattr(sends[int(index)], "node", None)
            return target if isinstance(target, str) else None
    return None


def errors(t: CheckpointTuple, task_paths: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The failed tasks in a checkpoint's pending writes (task id, node, the error as
    text), as LangGraph's ``StateSnapshot.tasks`` names them: the node from the task's path
    (``task_paths``: task id -> task path, as the saver stores them), else the checkpoint's
    one next node when it has exactly one, else ``None``."""
    nexts = next_tasks(t)
    out = []
    for task, ch, value in t.pending_writes or []:
        if ch != ERROR:
            continue
        node = task_node((task_paths or {}).get(task, ""), t)
        if node is None and len(nexts) == 1:
            node = nexts[0]
        out.append(
            {"task": task, "node": node, "error": value if isinstance(value, str) else repr(value)}
        )
    return out


def summary(t: CheckpointTuple, child: CheckpointTuple | None = None) -> dict[str, Any]:
    """One checkpoint as a row of ``history`` (``child``: the checkpoint after it)."""
    conf = t.config["configurable"]
    meta = t.metadata or {}
    return {
        "checkpoint_id": conf["checkpoint_id"],
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "parent_checkpoint_id": (
            t.parent_config["configurable"].get("checkpoint_id") if t.parent_config else None
        ),
        "time": when(t),
        "step": meta.get("step"),
        "source": meta.get("source"),
        "writes": len(t.pending_writes or []),
        "next": next_tasks(t, child),
        "interrupts": len(interrupts(t)),
    }


def detail(t: CheckpointTuple, child: CheckpointTuple | None = None) -> dict[str, Any]:
    """Everything ``show`` prints of one checkpoint."""
    return {
        **summary(t, child),
        "thread_id": t.config["configurable"]["thread_id"],
        "metadata": plain(t.metadata or {}),
        "channel_versions": plain(t.checkpoint.get("channel_versions", {})),
        "values": plain(t.checkpoint.get("channel_values", {})),
        "pending_writes": [
            {"task_id": task, "channel": ch, "value": plain(v)}
            for task, ch, v in t.pending_writes or []
        ],
        "interrupts": interrupts(t),
    }


def text(value: Any) -> str:
    """A plain value as indented JSON text (what diffs compare)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr)


def diff(a: CheckpointTuple, b: CheckpointTuple, *, context: int = 2) -> dict[str, Any]:
    """Channel by channel, what changed from ``a`` to ``b``: status (added, removed,
    changed, same), both versions, and for a change, a unified diff of the values."""
    va, vb = a.checkpoint.get("channel_values", {}), b.checkpoint.get("channel_values", {})
    ra, rb = a.checkpoint.get("channel_versions", {}), b.checkpoint.get("channel_versions", {})
    channels: dict[str, Any] = {}
    for ch in sorted(set(va) | set(vb) | set(ra) | set(rb)):
        pa, pb = plain(va.get(ch)), plain(vb.get(ch))
        if ch not in va and ch not in vb:
            status = "same" if ra.get(ch) == rb.get(ch) else "changed"
        elif ch not in va:
            status = "added"
        elif ch not in vb:
            status = "removed"
        else:
            status = "same" if pa == pb else "changed"
        row: dict[str, Any] = {"status": status, "version_a": ra.get(ch), "version_b": rb.get(ch)}
        if status != "same":
            row["a"], row["b"] = pa, pb
            row["diff"] = list(
                difflib.unified_diff(
                    text(pa).splitlines() if ch in va else [],
                    text(pb).splitlines() if ch in vb else [],
                    fromfile=f"{ch} @ a",
                    tofile=f"{ch} @ b",
                    lineterm="",
                    n=context,
                )
            )
        channels[ch] = row
    meta_a, meta_b = plain(a.metadata or {}), plain(b.metadata or {})
    return {
        "a": a.config["configurable"]["checkpoint_id"],
        "b": b.config["configurable"]["checkpoint_id"],
        "channels": channels,
        "metadata": {
            k: {"a": meta_a.get(k), "b": meta_b.get(k)}
            for k in sorted(set(meta_a) | set(meta_b))
            if meta_a.get(k) != meta_b.get(k)
        },
    }
