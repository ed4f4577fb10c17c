"""What a saver remembers of the heads it wrote or read: one bounded, thread-safe cache per
job. Stateful, outside the pure core. A miss costs a request, never correctness, and never
changes what is stored (a writer that misses its parent's index reads it).

- :class:`IndexCache`: a head's channel index, for the writer of its child.
- :class:`ReadHints`: which items a read of a head brings (its writes, the heads its values
  need), so that the read is one Query with the right ``Limit``.
- :class:`StoredWrites`: the regular pending writes of heads, as stored (written here, or
  read), so that a child's tail can refer to them rather than store them again.
- :class:`WritesInFlight`: the ``put_writes`` calls still running, per head, so that the
  ``put`` of its child can wait for them (LangGraph stores a step's writes and its next
  checkpoint concurrently) and refer to them once they are stored.
- :class:`Watermarks`: the tombstone watermark of namespaces this saver read.
- :class:`RunMarks`: the runs whose marker this saver wrote in a thread, and until when
  it lasts, so that a run's later ``put`` in the thread writes only its head.
- :class:`GroupDirectory`: the store's groups whose directory entries this store wrote
  (entries are never deleted, so a group noted once stays listed).
- :class:`VectorIndexState`: whether the store's table has a usable vector index, as
  last seen (DescribeTable, or a SearchVectors that failed), and since when.

The caches of heads hold their values as plain tuples of strings, numbers and bytes, and
rebuild the :class:`~.storage.index.ChannelRef` and :class:`~.storage.items.StoredWrite`
objects when asked: CPython's garbage collector stops tracking such a tuple once it has
seen it, but never a dataclass instance, a named tuple, a list or a set. A full cache is
thousands of heads for as long as the process runs, and every full collection walks each
object it tracks: held as objects, a full cache (about 45,000 of them) made a full
collection of a process that had run 2,048 chat turns take 85 ms instead of 49; held as
tuples (about 4,000 tracked), 51 ms.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any, Generic, TypeVar

from langgraph_dynamodb import limits
from langgraph_dynamodb.schema import WriteEntry
from langgraph_dynamodb.storage.deltas import in_order
from langgraph_dynamodb.storage.index import ChannelIndex, ChannelRef, ListShape
from langgraph_dynamodb.storage.items import StoredWrite

HeadKey = tuple[str, str, str]
"""(thread id, namespace, checkpoint id)."""

V = TypeVar("V")


# --- values as plain tuples (the module docstring says why) -------------------------------
_REF_FIELDS = tuple(f.name for f in fields(ChannelRef))
_SHAPE_AT = _REF_FIELDS.index("shape")

PackedIndex = tuple[tuple[str, tuple[Any, ...]], ...]
"""A channel index as ``(channel, the entry's fields)`` pairs, the shape's as a tuple."""

PackedWrite = tuple[str, str, int, str, tuple[str, bytes]]
"""A stored write as ``(task path, task id, index, channel, typed value)``."""


def pack_index(index: ChannelIndex) -> PackedIndex:
    """An index as plain tuples."""
    packed = []
    for ch, ref in index.items():
        values = [getattr(ref, name) for name in _REF_FIELDS]
        shape = ref.shape
        if shape is not None:
            values[_SHAPE_AT] = (shape.length, shape.digest, shape.body_bytes)
        packed.append((ch, tuple(values)))
    return tuple(packed)


def unpack_index(packed: PackedIndex) -> ChannelIndex:
    """The index :func:`pack_index` packed."""
    index: ChannelIndex = {}
    for ch, values in packed:
        shape = values[_SHAPE_AT]
        if shape is not None:
            values = (*values[:_SHAPE_AT], ListShape(*shape), *values[_SHAPE_AT + 1 :])
        index[ch] = ChannelRef(*values)
    return index


def pack_write(write: StoredWrite) -> PackedWrite:
    """A stored write as a plain tuple."""
    entry = write.entry
    return (write.task_path, write.task_id, entry.idx, entry.channel, entry.value)


def unpack_write(packed: PackedWrite) -> StoredWrite:
    """The write :func:`pack_write` packed."""
    task_path, task_id, idx, channel, value = packed
    return StoredWrite(task_path, task_id, WriteEntry(idx, channel, value))


class _Lru(Generic[V]):
    """A bounded LRU map of heads, with the lock its users share."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[HeadKey, V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: HeadKey) -> V | None:
        found = self.data.get(key)
        if found is not None:
            self.data.move_to_end(key)
        return found

    def put(self, key: HeadKey, value: V) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)

    def discard_thread(self, thread_id: str) -> None:
        for key in [k for k in self.data if k[0] == thread_id]:
            del self.data[key]


class IndexCache:
    """Channel indexes of heads this saver wrote or read whole (``get_tuple``), with each
    head's lineage (what its children inherit)."""

    def __init__(self, size: int = limits.CHANNEL_INDEX_CACHE_SIZE) -> None:
        self._lru: _Lru[tuple[PackedIndex, str]] = _Lru(size)

    def get(self, key: HeadKey) -> ChannelIndex | None:
        """The index of a head, if remembered."""
        with self._lru.lock:
            found = self._lru.get(key)
        return None if found is None else unpack_index(found[0])

    def lineage(self, key: HeadKey) -> str | None:
        """The lineage of a head, if remembered (with its index)."""
        with self._lru.lock:
            found = self._lru.get(key)
        return None if found is None else found[1]

    def put(self, key: HeadKey, index: ChannelIndex, lineage: str) -> None:
        """Remember the index and the lineage of a head."""
        with self._lru.lock:
            self._lru.put(key, (pack_index(index), lineage))

    def discard_thread(self, thread_id: str) -> None:
        """Forget every head of a thread (deleted or pruned)."""
        with self._lru.lock:
            self._lru.discard_thread(thread_id)


class StoredWrites:
    """Regular pending writes known to be stored with no expiry, per head: the ones this
    saver wrote (as the table kept them) or read. Bounded by heads and by bytes; a head
    whose writes are not all known here gets its tails stored in it instead."""

    def __init__(
        self,
        size: int = limits.CHANNEL_INDEX_CACHE_SIZE,
        max_bytes: int = limits.STORED_WRITES_CACHE_BYTES,
    ) -> None:
        self._lru: _Lru[tuple[PackedWrite, ...]] = _Lru(size)
        self._max_bytes = max_bytes
        self._bytes = 0

    @staticmethod
    def _size(writes: tuple[PackedWrite, ...]) -> int:
        return sum(len(w[4][1]) for w in writes)

    def get(self, key: HeadKey) -> list[StoredWrite]:
        """A head's writes noted here, in ``writes_sort_key`` order."""
        with self._lru.lock:
            found = self._lru.get(key)
        return in_order(unpack_write(w) for w in found) if found is not None else []

    def add(self, key: HeadKey, writes: Iterable[StoredWrite], *, replace: bool = False) -> None:
        """Note writes of a head (``replace``: they are all of its writes, as read)."""
        with self._lru.lock:
            known = self._lru.data.pop(key, None)
            if known is not None:
                self._bytes -= self._size(known)
            merged = {} if replace or known is None else {(w[1], w[2]): w for w in known}
            for w in writes:
                merged.setdefault((w.task_id, w.entry.idx), pack_write(w))
            packed = tuple(merged.values())
            self._bytes += self._size(packed)
            self._lru.data[key] = packed
            while self._lru.data and (
                self._bytes > self._max_bytes or len(self._lru.data) > self._lru.size
            ):
                _, evicted = self._lru.data.popitem(last=False)
                self._bytes -= self._size(evicted)

    def discard_thread(self, thread_id: str) -> None:
        """Forget every head of a thread (deleted or pruned)."""
        with self._lru.lock:
            for key in [k for k in self._lru.data if k[0] == thread_id]:
                self._bytes -= self._size(self._lru.data.pop(key))


class WritesInFlight:
    """The ``put_writes`` calls of one saver still running, per head; thread-safe, and
    awaitable from any event loop."""

    def __init__(self) -> None:
        self._running: dict[HeadKey, int] = {}
        self._idle = threading.Condition()
        self._waiters: dict[HeadKey, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]]
        self._waiters = {}

    @contextmanager
    def writing(self, key: HeadKey) -> Iterator[None]:
        """Count a ``put_writes`` of the head ``key`` as running while the block runs."""
        with self._idle:
            self._running[key] = self._running.get(key, 0) + 1
        try:
            yield
        finally:
            with self._idle:
                left = self._running.pop(key) - 1
                waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
                if left:
                    self._running[key] = left
                else:
                    self._idle.notify_all()
                    waiters = self._waiters.pop(key, [])
            for loop, future in waiters:
                loop.call_soon_threadsafe(_finish, future)

    def wait(self, key: HeadKey, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no ``put_writes`` of ``key`` runs."""
        with self._idle:
            self._idle.wait_for(lambda: key not in self._running, timeout)

    async def await_idle(self, key: HeadKey, timeout: float) -> None:
        """Async :meth:`wait`."""
        loop = asyncio.get_running_loop()
        with self._idle:
            if key not in self._running:
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(key, []).append((loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass  # the child stores the elements itself


def _finish(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Watermarks:
    """Namespaces' tombstone watermarks as this saver last read (or wrote) them: a root it
    writes then starts a lineage above the watermark, and a read of part of a namespace
    that does not reach its tombstone still leaves the deleted lineages out."""

    def __init__(self, size: int = limits.CHANNEL_INDEX_CACHE_SIZE) -> None:
        self._size = size
        self._marks: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, thread_id: str, checkpoint_ns: str) -> str | None:
        """The watermark of a namespace's tombstone (``None``: none seen)."""
        with self._lock:
            return self._marks.get((thread_id, checkpoint_ns))

    def note(self, thread_id: str, checkpoint_ns: str, watermark: str) -> None:
        """Remember a namespace's tombstone watermark (the higher one of two)."""
        with self._lock:
            ns_key = (thread_id, checkpoint_ns)
            self._marks[ns_key] = max(watermark, self._marks.get(ns_key, watermark))
            self._marks.move_to_end(ns_key)
            while len(self._marks) > self._size:
                self._marks.popitem(last=False)


class RunMarks:
    """Run markers this saver wrote: ``(run id, thread id)`` and the marker's expiry
    (``None``: it never expires). A miss writes the marker again (the same item)."""

    def __init__(self, size: int = limits.CHANNEL_INDEX_CACHE_SIZE) -> None:
        self._marks: OrderedDict[tuple[str, str], int | None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def needed(self, run_id: str, thread_id: str, expires_at: int | None) -> bool:
        """Whether a ``put`` of the run in the thread must (re)write the marker: never
        written here, or it would expire before the new head (``expires_at``)."""
        with self._lock:
            if (run_id, thread_id) not in self._marks:
                return True
            self._marks.move_to_end((run_id, thread_id))
            marked = self._marks[(run_id, thread_id)]
        return expires_at is not None and marked is not None and marked < expires_at

    def note(self, run_id: str, thread_id: str, expires_at: int | None) -> None:
        """Remember a marker written (or extended) until ``expires_at`` (its own)."""
        with self._lock:
            self._marks[(run_id, thread_id)] = expires_at
            self._marks.move_to_end((run_id, thread_id))
            while len(self._marks) > self._size:
                self._marks.popitem(last=False)

    def discard_thread(self, thread_id: str) -> None:
        """Forget the markers of a thread (deleted: its markers are gone too)."""
        with self._lock:
            for mark in [m for m in self._marks if m[1] == thread_id]:
                del self._marks[mark]


_UNKNOWN_PARENT = "\x00unknown"
"""The parent of a head whose writes were noted before its ``put`` finished."""


def _sks(sks: Iterable[str]) -> tuple[str, ...]:
    """Sort keys of writes items, each once (a tuple: see the module docstring)."""
    return tuple(sorted(set(sks)))


class ReadHints:
    """Which items a read of a head brings: its parent and its writes items, per head, and
    the latest head per namespace."""

    def __init__(self, size: int = limits.CHANNEL_INDEX_CACHE_SIZE) -> None:
        self._heads: _Lru[tuple[str, tuple[str, ...]]] = _Lru(size)
        self._latest: OrderedDict[tuple[str, str], str] = OrderedDict()

    def note_head(
        self, key: HeadKey, parent: str | None, writes: Iterable[str] | None = None
    ) -> None:
        """A head this saver wrote (``writes`` None: keep the writes items already noted,
        as LangGraph may store a step's writes before its checkpoint) or read (the writes
        items read replace what was known)."""
        with self._heads.lock:
            known = self._heads.get(key)
            kept = known[1] if known is not None and writes is None else _sks(writes or ())
            self._heads.put(key, (parent or "", kept))
            ns_key = (key[0], key[1])
            if key[2] >= self._latest.get(ns_key, ""):
                self._latest[ns_key] = key[2]
                self._latest.move_to_end(ns_key)
                while len(self._latest) > self._heads.size:
                    self._latest.popitem(last=False)

    def note_writes(self, key: HeadKey, sks: Iterable[str]) -> None:
        """Writes items this saver stored for a head."""
        with self._heads.lock:
            known = self._heads.get(key)
            if known is None:  # the head's put has not finished yet
                known = (_UNKNOWN_PARENT, ())
            self._heads.put(key, (known[0], _sks((*known[1], *sks))))

    def expected_items(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str | None,
        index_of: Callable[[HeadKey], ChannelIndex | None],
    ) -> int | None:
        """How many items a read of this head (latest if no id) should ask for, if known:
        the head and its writes, every older head (with its writes) down to the last one
        its values need, and one item that shows the writes are complete."""
        with self._heads.lock:
            cp = checkpoint_id or self._latest.get((thread_id, checkpoint_ns))
            if cp is None:
                return None
            entries = index_of((thread_id, checkpoint_ns, cp)) or {}
            needed = {h for entry in entries.values() for h in entry.heads()}
            count = 0
            cursor = cp
            for _ in range(limits.MAX_HINT_WALK):
                if not cursor:
                    return count + 1
                known = self._heads.get((thread_id, checkpoint_ns, cursor))
                if known is None or known[0] == _UNKNOWN_PARENT:
                    return None
                count += 1 + len(known[1])
                needed.discard(cursor)
                if not needed:
                    return count + 1
                cursor = known[0]
            return None

    def discard_thread(self, thread_id: str) -> None:
        """Forget every head of a thread (deleted or pruned)."""
        with self._heads.lock:
            self._heads.discard_thread(thread_id)
            for ns_key in [k for k in self._latest if k[0] == thread_id]:
                del self._latest[ns_key]


class GroupDirectory:
    """Store groups whose directory entries this store has written."""

    def __init__(self, size: int = limits.CHANNEL_INDEX_CACHE_SIZE) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._lock = threading.Lock()

    def unknown(self, groups: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """The groups not noted yet, sorted."""
        with self._lock:
            return sorted(g for g in set(groups) if g not in self._known)

    def note(self, groups: Iterable[tuple[str, ...]]) -> None:
        """Groups whose directory entries were written."""
        with self._lock:
            for group in groups:
                self._known[group] = None
                self._known.move_to_end(group)
            while len(self._known) > self._size:
                self._known.popitem(last=False)


class VectorIndexState:
    """What the store last learned of its table's vector index: usable or not (and why),
    and when it learned it. ``on_change(usable, reason)`` is called when that flips (the
    store logs it), outside the lock.

    Args:
        required: The store was told ``vector_search="native"``: an unusable index is an
            error, not a reason to rank on the client.
        unsupported: Why this process can never search an index (an old botocore): then
            it is never usable and never looked at.
    """

    def __init__(
        self,
        *,
        required: bool,
        on_change: Callable[[bool, str], None] | None = None,
        unsupported: str | None = None,
    ) -> None:
        self.required = required
        self._on_change = on_change
        self._unsupported = unsupported
        self._usable: bool | None = False if unsupported else None
        self._reason = unsupported or "not checked yet"
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def supported(self) -> bool:
        """Whether this process can search an index at all."""
        return self._unsupported is None

    @property
    def usable(self) -> bool:
        """Whether the last look found the index ACTIVE, filled and as declared."""
        return bool(self._usable)

    @property
    def reason(self) -> str:
        """Why not, when it is not usable."""
        return self._reason

    def due(self, now: float) -> bool:
        """Whether to look again: never looked, the last look is old, or (``required``)
        the index was not usable (every search looks until it is)."""
        with self._lock:
            if self._unsupported is not None:
                return False
            if self._usable is None or (self.required and not self._usable):
                return True
            wait = (
                limits.STORE_VECTOR_RECHECK_USABLE_S
                if self._usable
                else limits.STORE_VECTOR_RECHECK_UNUSABLE_S
            )
            return now - self._checked_at >= wait

    def record(self, usable: bool, reason: str, now: float) -> None:
        """What a look found (ignored where it can never be usable)."""
        with self._lock:
            if self._unsupported is not None:
                return
            changed = usable != self._usable
            self._usable, self._reason, self._checked_at = usable, reason, now
        if changed and self._on_change is not None:
            self._on_change(usable, reason)
