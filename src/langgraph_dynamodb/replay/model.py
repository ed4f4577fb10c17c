"""The replay read model: what the web UI (``langgraph-dynamodb ui``) and the MCP server
(``langgraph-dynamodb mcp``) show of a table, as plain JSON-able data, already redacted:
threads, a thread's checkpoints, one checkpoint decoded, diffs, the first checkpoint
where a condition holds, the store's memories and the node cache. Reads only."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple

from langgraph_dynamodb import limits, schema, survey, views
from langgraph_dynamodb.cache import DynamoDBCache
from langgraph_dynamodb.errors import ConfigurationError, InvalidInputError, NotFoundError
from langgraph_dynamodb.flows.threads import is_current
from langgraph_dynamodb.replay.redact import Redactor
from langgraph_dynamodb.saver import DynamoDBSaver
from langgraph_dynamodb.schema import DirectoryEntry
from langgraph_dynamodb.stats import capacity_units
from langgraph_dynamodb.storage import requests
from langgraph_dynamodb.store import DynamoDBStore

REPLAY_EXTRAS = "pip install 'langgraph-dynamodb[mcp]' or 'langgraph-dynamodb[ui]'"
"""What the replay model needs beyond the library (deepdiff), as either command's extra."""

logger = logging.getLogger("langgraph_dynamodb")

READ_UNIT_BYTES = 4096
"""Bytes one strongly consistent read unit covers: a Query's capacity is the size of the
items it read, summed and rounded up to this (how ``threads`` sizes a thread)."""

TRUNCATED = "__truncated__"
"""The key of the marker that stands for the cut part of a long value."""

_MISSING = object()


# --- paths --------------------------------------------------------------------------------
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]|\.")


def parse_path(path: str) -> list[str | int]:
    """``"messages[-1].content"`` as ``["messages", -1, "content"]``: names (dict keys,
    fields) and list indexes; the first is a channel.

    Raises:
        InvalidInputError: The path is empty or malformed.
    """
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            raise InvalidInputError(
                f"path {path!r} is malformed at {path[pos:]!r}: write channel names and keys "
                "with dots and list indexes in brackets, e.g. 'messages[-1].content'"
            )
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        pos = m.end()
    if not out or not isinstance(out[0], str):
        raise InvalidInputError(f"path {path!r} must start with a channel name")
    return out


def at_path(value: Any, path: Sequence[str | int]) -> Any:
    """The part of a plain value a parsed path names; ``_MISSING`` if there is none."""
    for step in path:
        if isinstance(step, int) and isinstance(value, list):
            if not -len(value) <= step < len(value):
                return _MISSING
            value = value[step]
        elif isinstance(value, dict) and str(step) in value:
            value = value[str(step)]
        else:
            return _MISSING
    return value


def _path_text(path: Sequence[Any]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


# --- pure shaping -------------------------------------------------------------------------
def truncate(value: Any, max_chars: int, max_items: int = limits.REPLAY_MAX_ITEMS) -> Any:
    """A plain value with long strings and lists cut: a string over ``max_chars`` becomes
    ``{"text": its head, "__truncated__": true, "length": n}``; a list over ``max_items``
    keeps its head and ends with ``{"__truncated__": true, "length": n}``."""
    if isinstance(value, str) and len(value) > max_chars:
        return {"text": value[:max_chars], TRUNCATED: True, "length": len(value)}
    if isinstance(value, list):
        head = [truncate(v, max_chars, max_items) for v in value[:max_items]]
        if len(value) > max_items:
            head.append({TRUNCATED: True, "length": len(value)})
        return head
    if isinstance(value, dict):
        return {k: truncate(v, max_chars, max_items) for k, v in value.items()}
    return value


def _id(config: RunnableConfig | None) -> str | None:
    if not config:
        return None
    found = config["configurable"].get("checkpoint_id")
    return str(found) if found is not None else None


def _ns(t: CheckpointTuple) -> str:
    return str(t.config["configurable"].get("checkpoint_ns", ""))


def status_of(t: CheckpointTuple) -> str:
    """``interrupted`` (waiting on an interrupt), ``error`` (a task failed), ``running``
    (tasks to run: in progress, or stopped between steps), or ``finished``."""
    if any(ch == views.INTERRUPT for _, ch, _ in t.pending_writes or []):
        return "interrupted"
    if any(ch == views.ERROR for _, ch, _ in t.pending_writes or []):
        return "error"
    return "running" if views.next_tasks(t) else "finished"


def _iso(checkpoint_id: str) -> str | None:
    found = views.id_time(checkpoint_id)
    return found.isoformat(timespec="seconds") if found else None


def _encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, n: int) -> list[str]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"cursor {cursor!r} is not one this model gave; start again without a cursor"
        ) from exc
    if not isinstance(parts, list) or len(parts) != n or not all(isinstance(p, str) for p in parts):
        raise InvalidInputError(
            f"cursor {cursor!r} is not one this model gave; start again without a cursor"
        )
    return parts


# --- the listing of threads ---------------------------------------------------------------
@dataclass(frozen=True)
class _Listing:
    """Every thread of the table from one keys-only Scan, newest activity first."""

    threads: list[survey.ThreadSummary]
    made_at: float
    took: float
    listed_at: dt.datetime


@dataclass(frozen=True)
class _Namespace:
    """A namespace of a thread, found by key: its name and its oldest checkpoint id."""

    checkpoint_ns: str
    oldest_id: str


class ReplayModel:
    """What a table holds, read for people and tools: threads, checkpoints, diffs,
    searches, memories. Everything returned is JSON-able and already redacted.

    Args:
        saver: The checkpointer of the table.
        store: The table's store (memories), if any.
        cache: The table's node cache, if any.
        redact: Regular expressions: any string value that matches one, and the value
            under any key that matches one, is shown as ``"[redacted]"``.
        scan: List threads by a keys-only Scan even when the table's thread directory is
            complete (exact order, at the cost of reading every key of the table).

    Raises:
        InvalidInputError: A redaction pattern is not a regular expression.
    """

    def __init__(
        self,
        saver: DynamoDBSaver,
        *,
        store: DynamoDBStore | None = None,
        cache: DynamoDBCache[Any] | None = None,
        redact: Sequence[str] = (),
        scan: bool = False,
    ) -> None:
        self.saver = saver
        self.store = store
        self.cache = cache
        self.redact = Redactor(redact)
        self._listing: _Listing | None = None
        self._directory: bool | None = False if scan else None
        self._scan_only = scan
        self._scanning: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- threads --------------------------------------------------------------------------
    def _scan(self, segments: int = limits.REPLAY_SCAN_SEGMENTS) -> _Listing:
        """A new listing of every thread (the keys-only parallel Scan), kept."""
        started = time.monotonic()
        found = survey.merged_threads(self.saver, segments)
        ordered = sorted(found.values(), key=lambda t: (t.latest_id, t.thread_id), reverse=True)
        now = time.monotonic()
        listing = _Listing(ordered, now, now - started, dt.datetime.now(dt.timezone.utc))
        with self._lock:
            self._listing = listing
        return listing

    def _scan_in_background(self) -> None:
        def run() -> None:
            try:
                self._scan(limits.REPLAY_RENEW_SEGMENTS)
            except Exception as exc:  # noqa: BLE001 - said; the listing kept is served
                logger.warning("listing the threads failed (%s); the last listing is shown", exc)

        with self._lock:
            if self._scanning is not None and self._scanning.is_alive():
                return
            self._scanning = threading.Thread(target=run, name="replay-threads", daemon=True)
            self._scanning.start()

    def warm(self) -> None:
        """Get the first page's listing ready (a server calls it as it starts): whether
        the thread directory lists every thread, and if not, the Scan, in the background."""
        if self._listing is None and not self.uses_directory():
            self._scan_in_background()

    def _threads_listing(self, *, first_page: bool, refresh: bool) -> _Listing:
        """The listing pages come from: a new one with ``refresh``, when there is none
        (waiting for one under way), or for a first page when the last Scan was quick (a
        small table); else the one kept, a first page asking for a new one in the
        background once it is ``limits.REPLAY_THREAD_LISTING_S`` old."""
        if refresh:
            return self._scan()
        with self._lock:
            listing, scanning = self._listing, self._scanning
        if listing is None:
            if scanning is not None:
                scanning.join()
            return self._listing or self._scan()
        if first_page and listing.took <= limits.REPLAY_SCAN_INLINE_S:
            return self._scan()
        if first_page and time.monotonic() - listing.made_at > limits.REPLAY_THREAD_LISTING_S:
            self._scan_in_background()
        return listing

    def _latest(self, thread_id: str) -> CheckpointTuple | None:
        return self.saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})

    def uses_directory(self, *, recheck: bool = False) -> bool:
        """Whether threads are listed from the table's thread directory (it lists every
        thread: one GetItem, remembered) rather than by a Scan."""
        if not self._scan_only and (self._directory is None or recheck):
            self._directory = self.saver.directory_is_complete()
        return bool(self._directory)

    def thread_keys(self, thread_id: str) -> tuple[survey.ThreadSummary, int]:
        """A thread's summary from its keys (checkpoints, namespaces, the newest id) and
        the size of its items (checkpoints, writes, chunks), from one keys-only Query's
        read capacity: exact to the 4 KB DynamoDB rounds a read up to."""
        pk = schema.thread_pk(thread_id)
        summary = survey.ThreadSummary(thread_id)
        start: schema.AttrMap | None = None
        units = 0.0
        while True:
            resp = self.saver.request(
                "query", **requests.query(pk, keys_only=True, consistent=True, start=start)
            )
            units += capacity_units(resp)
            for item in resp.get("Items", []):
                summary.add(schema.sk_of(item))
            start = resp.get("LastEvaluatedKey")
            if not start:
                return summary, int(units * READ_UNIT_BYTES)

    def _thread_row(
        self,
        thread_id: str,
        latest: CheckpointTuple | None,
        listed: survey.ThreadSummary | None = None,
    ) -> dict[str, Any]:
        """A thread's row: its keys are read for its size, and for its summary unless the
        Scan's listing gives it (``listed``)."""
        keys, size = self.thread_keys(thread_id)
        summary = listed if listed is not None else keys
        meta = (latest.metadata or {}) if latest else {}
        return {
            "thread_id": summary.thread_id,
            "status": status_of(latest) if latest else "finished",
            "steps": meta.get("step", 0) if isinstance(meta.get("step"), int) else 0,
            "checkpoints": summary.checkpoints,
            "namespaces": len(summary.namespaces),
            "last_activity": _iso(summary.latest_id),
            "latest_checkpoint_id": summary.latest_id,
            "bytes": size,
            "metadata": self.redact(views.plain(meta)),
        }

    def threads(
        self,
        *,
        query: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        refresh: bool = False,
    ) -> dict[str, Any]:
        """A page of threads, newest activity first.

        From the table's thread directory when it lists every thread (a table that
        ``setup()`` created, or that ``langgraph-dynamodb index-threads`` filled): a page
        costs one keys-only Query per directory shard, whatever the table's size; threads
        come in the order of the quarter hour they last wrote in, and within it, on each
        page, of their latest checkpoint (a quarter hour with more threads than a page
        is split across pages by thread id). Otherwise from
        a keys-only Scan of the table, kept: pages are cut from the listing kept, and a
        first page (no cursor) asks for a new listing in the background once the kept one
        is ``limits.REPLAY_THREAD_LISTING_S`` old (the page after next shows it). Either
        way only the page's own threads are read further: their latest root checkpoint
        (status, steps, metadata) and their keys (size, checkpoints).

        Args:
            query: Only threads whose id contains it, or whose latest checkpoint's
                metadata has a value (as text) that contains it. A page examines at most
                ``limits.REPLAY_SEARCH_THREADS_PER_PAGE`` threads, so it may hold fewer
                than ``limit`` with a cursor to go on.
            cursor: Where the previous page stopped.
            limit: Threads per page.
            refresh: Check again whether the directory is complete; without it, list
                the threads anew first (wait for the Scan).

        Returns:
            ``{"threads": [...], "cursor": str | None, "listing": "directory" or "scan",
            "total": threads listed (``None`` from the directory), "listed_at": when the
            listing was made (ISO 8601, UTC), "notice": what to do for a faster listing,
            or ``None``}``.
        """
        if limit <= 0:
            raise InvalidInputError(f"limit must be a positive number, got {limit}")
        if self.uses_directory(recheck=refresh):
            return self._threads_from_directory(query, cursor, limit)
        page = self._threads_from_scan(query, cursor, limit, refresh)
        page["notice"] = (
            None
            if self._scan_only
            else (
                "This table's thread directory is not complete (its threads were written before "
                "langgraph-dynamodb kept one), so threads are listed by a Scan of the whole table. "
                "Run `langgraph-dynamodb --table "
                f"{self.saver.table_name} index-threads` once to list them fast at any size."
            )
        )
        return page

    def _threads_from_directory(
        self, query: str | None, cursor: str | None, limit: int
    ) -> dict[str, Any]:
        """A page from the thread directory: its entries newest first, each thread at its
        current entry (its latest root checkpoint's period; stale entries are skipped)."""
        below = _decode_cursor(cursor, 1)[0] if cursor is not None else None
        budget = limits.REPLAY_SEARCH_THREADS_PER_PAGE
        picked: list[tuple[DirectoryEntry, CheckpointTuple]] = []
        more = True
        with ThreadPoolExecutor(limits.REPLAY_PARALLEL_READS) as pool:
            while more and len(picked) < limit and budget > 0:
                page = self.saver.directory_page(below=below, limit=min(limit, budget))
                more = page.next_below is not None
                latest = pool.map(lambda e: self._latest(e.thread_id), page.entries)
                for entry, found in zip(page.entries, latest, strict=True):
                    below, budget = entry.sk, budget - 1
                    if found is None or not is_current(entry, _id(found.config)):
                        continue  # deleted, expired, or the thread wrote since: stale
                    if query and not self._matches(query, entry.thread_id, found):
                        continue
                    picked.append((entry, found))
                    if len(picked) >= limit:
                        more = more or entry is not page.entries[-1]
                        break
            # the directory orders by quarter hour; within one, a page by latest checkpoint
            picked.sort(key=lambda p: (p[0].period, _id(p[1].config) or ""), reverse=True)
            rows = list(pool.map(lambda p: self._thread_row(p[0].thread_id, p[1]), picked))
        return {
            "threads": rows,
            "cursor": _encode_cursor(below) if more and below is not None else None,
            "listing": "directory",
            "total": None,
            "listed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "notice": None,
        }

    def _threads_from_scan(
        self, query: str | None, cursor: str | None, limit: int, refresh: bool
    ) -> dict[str, Any]:
        """A page cut from the listing of a keys-only Scan (see :meth:`threads`)."""
        listing = self._threads_listing(first_page=cursor is None, refresh=refresh)
        ordered = listing.threads
        start = 0
        if cursor is not None:
            after = tuple(_decode_cursor(cursor, 2))
            lo, hi = 0, len(ordered)  # first index whose key is below the cursor's
            while lo < hi:
                mid = (lo + hi) // 2
                if (ordered[mid].latest_id, ordered[mid].thread_id) >= after:
                    lo = mid + 1
                else:
                    hi = mid
            start = lo
        picked: list[tuple[survey.ThreadSummary, CheckpointTuple | None]] = []
        end = start
        with ThreadPoolExecutor(limits.REPLAY_PARALLEL_READS) as pool:
            if not query:
                end = min(len(ordered), start + limit)
                chosen = ordered[start:end]
                picked = list(
                    zip(chosen, pool.map(lambda s: self._latest(s.thread_id), chosen), strict=True)
                )
            else:
                budget = limits.REPLAY_SEARCH_THREADS_PER_PAGE
                while end < len(ordered) and len(picked) < limit and budget > 0:
                    batch = ordered[end : end + min(limit, budget)]
                    for summary, latest in zip(
                        batch, pool.map(lambda s: self._latest(s.thread_id), batch), strict=True
                    ):
                        end += 1
                        budget -= 1
                        if self._matches(query, summary.thread_id, latest):
                            picked.append((summary, latest))
                            if len(picked) >= limit:
                                break
            rows = list(pool.map(lambda p: self._thread_row(p[0].thread_id, p[1], p[0]), picked))
        last = ordered[end - 1] if end > start else None
        return {
            "threads": rows,
            "cursor": (
                _encode_cursor(last.latest_id, last.thread_id)
                if last is not None and end < len(ordered)
                else None
            ),
            "listing": "scan",
            "total": len(ordered),
            "listed_at": listing.listed_at.isoformat(timespec="seconds"),
        }

    def _matches(self, query: str, thread_id: str, latest: CheckpointTuple | None) -> bool:
        if query in thread_id:
            return True
        meta = self.redact(views.plain((latest.metadata or {}) if latest else {}))
        return any(query in (v if isinstance(v, str) else views.text(v)) for v in meta.values())

    # --- one thread -------------------------------------------------------------------------
    def _namespaces(self, thread_id: str) -> list[_Namespace]:
        """The thread's namespaces, root first, each found by one Query of a single key
        (it skips over the namespace before it)."""
        pk = schema.thread_pk(thread_id)
        end = schema.range_end(schema.CHECKPOINT_PREFIX)
        lo = schema.CHECKPOINT_PREFIX
        found: list[_Namespace] = []
        while True:
            params = requests.query(
                pk,
                between=(lo, end),
                limit=1,
                consistent=True,
                keys_only=True,
                also=(schema.N_NAMESPACE,),
            )
            items = self.saver.request("query", **params).get("Items", [])
            if not items:
                return found
            sk = schema.sk_of(items[0])
            if schema.is_tombstone_sk(sk):
                component = schema.tombstone_ns_component(sk)
                oldest = None
            else:
                parsed = schema.parse_sk(sk)
                if parsed is None:
                    return found
                component, oldest = parsed.ns_component, parsed.checkpoint_id
            ns = schema.decode_component(component)
            if ns is None:
                ns = schema.get_s(items[0], schema.NAMESPACE)
            if ns is not None and oldest is not None:
                found.append(_Namespace(ns, oldest))
            lo = schema.range_end(schema.CHECKPOINT_PREFIX + component + schema.TERMINATOR)

    def _list(
        self, thread_id: str, ns: str, *, before: str | None = None, limit: int | None = None
    ) -> list[CheckpointTuple]:
        config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
        before_config: RunnableConfig | None = (
            {"configurable": {"checkpoint_id": before}} if before else None
        )
        return list(self.saver.list(config, before=before_config, limit=limit))

    def thread(
        self, thread_id: str, *, cursor: str | None = None, limit: int = 200
    ) -> dict[str, Any]:
        """A page of a thread's checkpoints, newest first: ``limit`` checkpoints of the
        root graph and those of the subgraphs that ran under them (``checkpoint_ns`` not
        ``""``; ``parents`` names the checkpoint of the graph above).

        Each: its ids, step and source, the node(s) that ran to produce it, its next
        tasks, interrupts, errors and how many pending writes it has.

        Raises:
            NotFoundError: The thread has no checkpoints.
        """
        if limit <= 0:
            raise InvalidInputError(f"limit must be a positive number, got {limit}")
        before = _decode_cursor(cursor, 1)[0] if cursor is not None else None
        namespaces = self._namespaces(thread_id)
        if not namespaces:
            raise NotFoundError(
                f"thread {thread_id!r} has no checkpoints in {self.saver.table_name}"
            )
        root = self._list(thread_id, "", before=before, limit=limit + 1)
        more = len(root) > limit
        page = root[:limit]
        oldest = _id(page[-1].config) or "" if more and page else ""
        found = list(page)
        for ns in namespaces:
            if (
                ns.checkpoint_ns
                and oldest < ns.oldest_id
                and (before is None or ns.oldest_id < before)
            ):
                found.extend(self._list(thread_id, ns.checkpoint_ns))
        found.sort(key=lambda t: _id(t.config) or "", reverse=True)
        by_id = {(_ns(t), _id(t.config)): t for t in [*found, *root[limit:]]}
        children = {
            (_ns(t), _id(t.parent_config)): t
            for t in found
            if t.parent_config is not None and (t.metadata or {}).get("source") == "loop"
        }
        rows = [self._row(t, by_id, children.get((_ns(t), _id(t.config)))) for t in found]
        return {
            "thread_id": thread_id,
            "checkpoints": rows,
            "cursor": _encode_cursor(_id(page[-1].config) or "") if more else None,
        }

    def _row(
        self,
        t: CheckpointTuple,
        by_id: Mapping[tuple[str, str | None], CheckpointTuple],
        child: CheckpointTuple | None,
    ) -> dict[str, Any]:
        meta = t.metadata or {}
        parent_id = _id(t.parent_config)
        parent = by_id.get((_ns(t), parent_id)) if parent_id else None
        if parent is None and parent_id is not None:
            parent = self.saver.get_tuple(t.parent_config)  # type: ignore[arg-type]
        return {
            "checkpoint_ns": _ns(t),
            "checkpoint_id": _id(t.config),
            "parent_id": parent_id,
            "parents": views.plain(meta.get("parents") or {}),
            "step": meta.get("step"),
            "source": meta.get("source"),
            "nodes": views.next_tasks(parent, t) if parent is not None else [],
            "next": views.next_tasks(t, child),
            "interrupts": self._interrupts(t),
            "errors": self._errors(t),
            "pending_writes": len(t.pending_writes or []),
            "created": views.when(t),
        }

    def _errors(self, t: CheckpointTuple) -> list[dict[str, Any]]:
        """The checkpoint's failed tasks, each with its node (from the task paths its
        writes were stored with: one more read, for a checkpoint with an error only)."""
        if not any(ch == views.ERROR for _, ch, _ in t.pending_writes or []):
            return []
        return self.redact(views.errors(t, self.saver.task_paths(t.config)))  # type: ignore[no-any-return]

    def _interrupts(self, t: CheckpointTuple) -> list[dict[str, Any]]:
        return [
            {"id": i["id"], "task": i["task_id"], "value": self.redact(i["value"])}
            for i in views.interrupts(t)
        ]

    # --- one checkpoint --------------------------------------------------------------------------
    def _get(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> CheckpointTuple:
        found = self.saver.get_tuple(
            {
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint_ns,
                    "checkpoint_id": checkpoint_id,
                }
            }
        )
        if found is None:
            where = f" in namespace {checkpoint_ns!r}" if checkpoint_ns else ""
            raise NotFoundError(
                f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}{where} in "
                f"{self.saver.table_name}"
            )
        return found

    def latest_id(self, thread_id: str, checkpoint_ns: str = "") -> str:
        """The id of a namespace's latest checkpoint (default: the root graph's).

        Raises:
            NotFoundError: The thread has no checkpoint there.
        """
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
        }
        found = self.saver.get_tuple(config)
        if found is None:
            where = f" in namespace {checkpoint_ns!r}" if checkpoint_ns else ""
            raise NotFoundError(
                f"thread {thread_id!r} has no checkpoints{where} in {self.saver.table_name}"
            )
        return str(found.config["configurable"]["checkpoint_id"])

    def checkpoint(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        *,
        max_chars: int = limits.REPLAY_MAX_CHARS,
    ) -> dict[str, Any]:
        """One checkpoint decoded: its state (strings over ``max_chars`` and lists over
        ``limits.REPLAY_MAX_ITEMS`` cut, with a ``{"__truncated__": true, "length": n}``
        marker), metadata, ``parents`` (a subgraph's: the checkpoint of each graph above
        it, by namespace), next tasks, interrupts, errors and pending writes.

        Raises:
            NotFoundError: No such checkpoint.
        """
        t = self._get(thread_id, checkpoint_ns, checkpoint_id)
        state = self.redact(views.plain(t.checkpoint.get("channel_values", {})))
        return {
            "config": views.plain(t.config),
            "parent_id": _id(t.parent_config),
            "parents": views.plain((t.metadata or {}).get("parents") or {}),
            "metadata": self.redact(views.plain(t.metadata or {})),
            "created": views.when(t),
            "state": truncate(state, max_chars),
            "next": views.next_tasks(t),
            "interrupts": self._interrupts(t),
            "errors": self._errors(t),
            "pending_writes": [
                {
                    "task": task,
                    "channel": ch,
                    "value": truncate(self.redact(views.plain(v)), max_chars),
                }
                for task, ch, v in t.pending_writes or []
            ],
        }

    def value(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str, channel: str) -> Any:
        """The whole (redacted) value of one channel of a checkpoint ("show all").

        Raises:
            NotFoundError: No such checkpoint, or it has no value in that channel.
        """
        t = self._get(thread_id, checkpoint_ns, checkpoint_id)
        found = t.checkpoint.get("channel_values", {})
        if channel not in found:
            raise NotFoundError(
                f"checkpoint {checkpoint_id!r} of thread {thread_id!r} has no value in channel "
                f"{channel!r}; it has: {', '.join(sorted(found)) or 'none'}"
            )
        return self.redact(views.plain(found[channel]))

    def diff(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        *,
        against: str | None = None,
    ) -> dict[str, Any]:
        """What changed from ``against`` (default: the checkpoint's parent; none for a
        first checkpoint) to the checkpoint, channel by channel, each change a deep diff
        (``deepdiff``): ``{"path", "kind", "old", "new"}``, on redacted values.

        Raises:
            NotFoundError: No such checkpoint.
        """
        b = self._get(thread_id, checkpoint_ns, checkpoint_id)
        a_id = against if against is not None else _id(b.parent_config)
        a = self._get(thread_id, checkpoint_ns, a_id) if a_id is not None else None
        va = self.redact(views.plain(a.checkpoint.get("channel_values", {}))) if a else {}
        vb = self.redact(views.plain(b.checkpoint.get("channel_values", {})))
        channels = []
        for ch in sorted(set(va) | set(vb)):
            if ch not in va:
                change, steps = "added", [{"path": ch, "kind": "added", "old": None, "new": vb[ch]}]
            elif ch not in vb:
                change, steps = (
                    "removed",
                    [{"path": ch, "kind": "removed", "old": va[ch], "new": None}],
                )
            else:
                steps = deep_diff(va[ch], vb[ch], ch)
                change = "changed" if steps else "same"
            channels.append({"channel": ch, "change": change, "diff": steps})
        return {"a": a_id, "b": checkpoint_id, "channels": channels}

    # --- find ---------------------------------------------------------------------------------
    def find(
        self,
        thread_id: str,
        *,
        path: str,
        equals: Any = _MISSING,
        regex: str | None = None,
        predicate: Callable[[Any], bool] | None = None,
        checkpoint_ns: str = "",
    ) -> dict[str, Any] | None:
        """The first (oldest) checkpoint of a namespace of the thread where the value at
        ``path`` (``"messages[-1].content"``, ``"report.status"``) equals ``equals``,
        matches ``regex`` (searched, on its text for a non-string) or satisfies
        ``predicate``; exactly one of the three. Values are looked at redacted.

        Returns:
            ``{"checkpoint_id", "checkpoint_ns", "step", "value"}``, or ``None``.

        Raises:
            InvalidInputError: Not exactly one condition, a malformed path or regex.
            NotFoundError: The thread has no checkpoints in that namespace.
        """
        given = sum([equals is not _MISSING, regex is not None, predicate is not None])
        if given != 1:
            raise InvalidInputError("find needs exactly one of equals=, regex= or predicate=")
        steps = parse_path(path)
        test = self._condition(equals, regex, predicate)
        first: dict[str, Any] | None = None
        seen = False
        for t in self._iterate(thread_id, checkpoint_ns):
            seen = True
            state = self.redact(views.plain(t.checkpoint.get("channel_values", {})))
            found = at_path(state, steps)
            if found is not _MISSING and test(found):
                first = {
                    "checkpoint_id": _id(t.config),
                    "checkpoint_ns": checkpoint_ns,
                    "step": (t.metadata or {}).get("step"),
                    "value": found,
                }
        if not seen:
            where = f" in namespace {checkpoint_ns!r}" if checkpoint_ns else ""
            raise NotFoundError(f"thread {thread_id!r} has no checkpoints{where}")
        return first

    def _iterate(self, thread_id: str, checkpoint_ns: str) -> Iterator[CheckpointTuple]:
        """Every checkpoint of a namespace, newest first (the list pages itself)."""
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
        }
        return self.saver.list(config)

    @staticmethod
    def _condition(
        equals: Any, regex: str | None, predicate: Callable[[Any], bool] | None
    ) -> Callable[[Any], bool]:
        if predicate is not None:
            return predicate
        if regex is not None:
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                raise InvalidInputError(
                    f"regex {regex!r} is not a regular expression ({exc})"
                ) from exc
            return lambda v: bool(pattern.search(v if isinstance(v, str) else views.text(v)))
        return lambda v: bool(v == equals)

    # --- memories ----------------------------------------------------------------------------
    def _require_store(self) -> DynamoDBStore:
        if self.store is None:
            raise InvalidInputError("this model has no store: memories need one (store=)")
        return self.store

    def namespaces(self, prefix: Sequence[str] = ()) -> list[list[str]]:
        """The store's namespaces, those under ``prefix`` when given."""
        store = self._require_store()
        found = store.list_namespaces(prefix=tuple(prefix) or None, limit=10_000)
        return [list(ns) for ns in found]

    def items(
        self,
        namespace: Sequence[str],
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The store's items under a namespace prefix: with ``query``, ranked by semantic
        search when the store has an index (``semantic`` true), else unranked; ``filter``:
        exact values of top-level fields, as ``BaseStore.search``."""
        store = self._require_store()
        semantic = bool(query) and store.index_config is not None
        found = store.search(
            tuple(namespace),
            query=query if semantic else None,
            filter=filter,
            limit=limit,
            offset=offset,
        )
        return {
            "items": [
                {
                    "namespace": list(i.namespace),
                    "key": i.key,
                    "value": self.redact(views.plain(i.value)),
                    "created_at": i.created_at.isoformat(),
                    "updated_at": i.updated_at.isoformat(),
                    "score": i.score,
                }
                for i in found
            ],
            "semantic": semantic,
        }

    def cache_entries(self) -> list[dict[str, Any]]:
        """The node cache by namespace (``DynamoDBCache.summarize()``): its labels,
        entries, expired entries, bytes; empty without a cache."""
        if self.cache is None:
            return []
        return [
            {
                "namespace": list(s.namespace),
                "entries": s.entries,
                "expired": s.expired,
                "bytes": s.bytes,
            }
            for s in self.cache.summarize()
        ]


def deep_diff(old: Any, new: Any, root: str) -> list[dict[str, Any]]:
    """The changes from ``old`` to ``new`` (plain values), by path under ``root``, from
    deepdiff's tree view: ``kind`` is ``changed``, ``type_changed``, ``added`` or
    ``removed``."""
    if old == new:
        return []
    try:
        from deepdiff import DeepDiff
    except ImportError as exc:  # the ui and mcp extras bring it
        raise ConfigurationError(
            f"diffs need deepdiff: {REPLAY_EXTRAS} (or pip install 'deepdiff>=8')"
        ) from exc

    kinds = {
        "values_changed": "changed",
        "type_changes": "changed",
        "dictionary_item_added": "added",
        "iterable_item_added": "added",
        "dictionary_item_removed": "removed",
        "iterable_item_removed": "removed",
    }
    tree = DeepDiff(old, new, view="tree", verbose_level=2)
    out: list[dict[str, Any]] = []
    for report, kind in kinds.items():
        for level in tree.get(report, ()):
            where = level.path(output_format="list")
            out.append(
                {
                    "path": _path_text([root, *where]),
                    "kind": kind,
                    "old": None if kind == "added" else level.t1,
                    "new": None if kind == "removed" else level.t2,
                }
            )
    out.sort(key=lambda d: d["path"])
    return out
