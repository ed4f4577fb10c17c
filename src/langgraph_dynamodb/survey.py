"""Reading a whole table fast and in flat memory: a parallel Scan (one thread per
segment, pages handed over through a bounded queue), the threads it finds (a thread's
items are all in one segment, in order), per-thread summaries read from keys alone, and
item sizes as DynamoDB counts them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langgraph_dynamodb import schema
from langgraph_dynamodb.flows.maintenance import thread_of
from langgraph_dynamodb.saver import DynamoDBSaver
from langgraph_dynamodb.schema import AttrMap, get_s
from langgraph_dynamodb.storage import requests

DEFAULT_SEGMENTS = 4
"""Parallel Scan segments (and threads) when ``--segments`` is not given."""

QUEUE_PAGES_PER_SEGMENT = 2
"""Pages a segment may read ahead of the consumer: memory stays a few pages."""

ITEM_OVERHEAD_BYTES = 100
"""Per-item overhead DynamoDB adds to the table's storage size (not to capacity)."""


Page = tuple[int, list[AttrMap], bool]
"""A segment's page: the segment, its items, whether it was the segment's last."""


def pages(
    saver: DynamoDBSaver,
    make_params: Callable[[int, int, AttrMap | None], dict[str, Any]],
    segments: int,
) -> Iterator[Page]:
    """Every page of a parallel Scan, as the segments read them (each segment's in order).

    A failing segment raises its error here; leaving the loop early stops the others."""
    box: queue.Queue[Page | BaseException] = queue.Queue(maxsize=segments * QUEUE_PAGES_PER_SEGMENT)
    stop = threading.Event()

    def put(x: Page | BaseException) -> bool:
        while not stop.is_set():
            try:
                box.put(x, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run(segment: int) -> None:
        start: AttrMap | None = None
        try:
            while not stop.is_set():
                resp = saver.request("scan", **make_params(segment, segments, start))
                start = resp.get("LastEvaluatedKey")
                if not put((segment, resp.get("Items", []), start is None)) or start is None:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(segments)]
    for w in workers:
        w.start()
    done = 0
    try:
        while done < segments:
            got = box.get()
            if isinstance(got, BaseException):
                raise got
            if got[2]:
                done += 1
            yield got
    finally:
        stop.set()


@dataclass
class ThreadSummary:
    """What ``threads`` shows of a thread, from its keys: checkpoints, namespaces, writes,
    the newest checkpoint id."""

    thread_id: str
    checkpoints: int = 0
    writes: int = 0
    chunks: int = 0
    namespaces: set[str] = field(default_factory=set)
    latest_id: str = ""

    def add(self, sk: str) -> None:
        """Count one item of the thread by its sort key."""
        parsed = schema.parse_sk(sk)
        if parsed is None:
            if sk.startswith(schema.CHUNK_PREFIX):
                self.chunks += 1
            return
        if parsed.kind == schema.KIND_CHECKPOINT:
            self.checkpoints += 1
            self.namespaces.add(parsed.ns_component)
            self.latest_id = max(self.latest_id, parsed.checkpoint_id)
        else:
            self.writes += 1


def threads(saver: DynamoDBSaver, segments: int) -> Iterator[ThreadSummary]:
    """Every thread of the table, summarised from a keys-only parallel Scan (no payload
    is read or sent); each as soon as its segment has moved past it."""
    current: dict[int, ThreadSummary] = {}

    def params(segment: int, total: int, start: AttrMap | None) -> dict[str, Any]:
        return requests.scan_segment(segment, total, keys_only=True, start=start)

    for segment, items, last in pages(saver, params, segments):
        for item in items:
            thread_id = thread_of(item)
            sk = get_s(item, schema.SK)
            if thread_id is None or sk is None:
                continue
            summary = current.get(segment)
            if summary is None or summary.thread_id != thread_id:
                if summary is not None and summary.checkpoints:
                    yield summary
                summary = current[segment] = ThreadSummary(thread_id)
            summary.add(sk)
        if last:
            summary = current.pop(segment, None)
            if summary is not None and summary.checkpoints:
                yield summary


def merged_threads(
    saver: DynamoDBSaver, segments: int, advance: Callable[[], Any] | None = None
) -> dict[str, ThreadSummary]:
    """Every thread of the table by id, from :func:`threads` (a thread met twice, which
    its contiguous items make unexpected, counted once); ``advance`` is called per thread."""
    merged: dict[str, ThreadSummary] = {}
    for found in threads(saver, segments):
        have = merged.get(found.thread_id)
        if have is None:
            merged[found.thread_id] = found
        else:
            have.checkpoints += found.checkpoints
            have.writes += found.writes
            have.namespaces |= found.namespaces
            have.latest_id = max(have.latest_id, found.latest_id)
        if advance is not None:
            advance()
    return merged


# --- sizes ------------------------------------------------------------------------------------
def _number_len(text: str) -> int:
    digits = text.strip().lstrip("+-").lower().split("e")[0].replace(".", "")
    return (len(digits.strip("0") or "0") + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    """Size of one AttributeValue as botocore returns it (DynamoDB's rules)."""
    (kind, payload), *_ = value.items()
    if kind == "S":
        return len(str(payload).encode("utf-8"))
    if kind == "N":
        return _number_len(str(payload))
    if kind == "B":
        return len(payload)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: v}) for v in payload)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in payload)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in payload.items())
    return 0


def item_size(item: AttrMap) -> int:
    """An item's size as capacity counts it (storage adds :data:`ITEM_OVERHEAD_BYTES`)."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def item_kind(item: AttrMap) -> str:
    """``checkpoint``, ``writes``, ``chunk``, ``memory``, ``directory`` (the store's),
    ``cache`` (a node cache entry), ``run marker``, ``fence``, ``tombstone``, ``thread
    directory`` or ``other``."""
    kind = get_s(item, schema.KIND)
    return {
        schema.KIND_CHECKPOINT: "checkpoint",
        schema.KIND_WRITES: "writes",
        schema.KIND_CHUNK: "chunk",
        schema.KIND_MEMORY: "memory",
        schema.KIND_DIRECTORY: "directory",
        schema.KIND_CACHE: "cache",
        schema.KIND_RUN: "run marker",
        schema.KIND_FENCE: "fence",
        schema.KIND_TOMBSTONE: "tombstone",
        schema.KIND_ACTIVITY: "thread directory",
    }.get(kind or "", "other")
