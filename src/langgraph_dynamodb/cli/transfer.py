"""The commands that move threads: ``export`` (JSON Lines, every thread by a parallel
Scan), ``import`` (from an export, or from any ``BaseCheckpointSaver``).

Crash- and Ctrl-C-safe: an export is written to ``FILE.partial`` and renamed when whole;
an import writes a checkpoint's pending writes before its head, each one atomically, and a
re-run skips the checkpoints that are there, so an interrupted import resumes. An export
file is imported ``--parallel`` threads at a time (a thread's checkpoints in order)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import schema, survey
from langgraph_dynamodb.cli import records
from langgraph_dynamodb.cli.connect import (
    Settings,
    UsageError,
    call_factory,
    make_saver,
    moving_serde,
)
from langgraph_dynamodb.cli.inspect import NotFound
from langgraph_dynamodb.cli.ui import UI
from langgraph_dynamodb.saver import DynamoDBSaver
from langgraph_dynamodb.schema import get_s

IN_FLIGHT_PER_WORKER = 2
"""Threads an export reads ahead per worker (memory: a few threads' lines)."""


@dataclass
class Dumped:
    """One thread's export lines."""

    thread_id: str
    lines: list[str] = field(default_factory=list)
    skipped: int = 0


# --- export -------------------------------------------------------------------------------
class _Workers:
    """A saver per worker thread, sharing the main saver's client (boto3 clients are
    thread-safe; a saver's caches are its own)."""

    def __init__(self, saver: DynamoDBSaver) -> None:
        self.saver = saver
        self.local = threading.local()
        self.made: list[DynamoDBSaver] = []
        self.lock = threading.Lock()

    def get(self) -> DynamoDBSaver:
        found: DynamoDBSaver | None = getattr(self.local, "saver", None)
        if found is None:
            found = DynamoDBSaver(
                table_name=self.saver.table_name,
                client=self.saver.client,
                serde=self.saver.serde,
            )
            self.local.saver = found
            with self.lock:
                self.made.append(found)
        return found

    def skipped(self) -> int:
        return sum(s.stats.skipped_checkpoints for s in self.made)


def _dump(workers: _Workers, serde: SerializerProtocol, thread_id: str) -> Dumped:
    saver = workers.get()
    before = saver.stats.skipped_checkpoints
    dumped = saver.dump_thread(thread_id)
    tuples: list[CheckpointTuple] = []
    paths: dict[str, dict[str, str]] = {}
    for t, task_paths in dumped:
        tuples.append(t)
        paths[str(t.config["configurable"]["checkpoint_id"])] = task_paths
    lines = [records.dumps(r) for r in records.encode_thread(serde, tuples, paths)]
    return Dumped(thread_id, lines, saver.stats.skipped_checkpoints - before)


@contextlib.contextmanager
def _output(path: str) -> Iterator[IO[str]]:
    """stdout, or ``path`` written as ``path.partial`` and renamed once whole."""
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = path + ".partial"
    try:
        with open(partial, "w", encoding="utf-8") as f:
            yield f
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(partial)
        raise


def _thread_ids(saver: DynamoDBSaver, named: list[str], segments: int) -> Iterator[str]:
    seen: set[str] = set()
    source: Iterable[str] = named or (s.thread_id for s in survey.threads(saver, segments))
    for thread_id in source:
        if thread_id not in seen:
            seen.add(thread_id)
            yield thread_id


def export(settings: Settings, args: Any, ui: UI) -> int:
    """Threads as JSON Lines: named ones, or every thread (a keys-only parallel Scan finds
    them, ``--segments`` workers read them)."""
    if args.segments < 1:
        raise UsageError("--segments must be at least 1")
    serde = moving_serde(settings)
    threads = checkpoints = 0
    with make_saver(settings, preserve=True) as saver:
        workers = _Workers(saver)
        source = {"table": settings.table, "threads": args.threads or "all"}
        with _output(args.output) as out, ui.progress("exporting") as advance:
            out.write(records.dumps(records.header(source)) + "\n")
            window: deque[Future[Dumped]] = deque()
            with ThreadPoolExecutor(max_workers=args.segments) as pool:

                def drain(keep: int) -> None:
                    nonlocal threads, checkpoints
                    while len(window) > keep:
                        done = window.popleft().result()
                        if not done.lines and args.threads:
                            ui.warn(f"thread {done.thread_id!r} has no checkpoints")
                        for line in done.lines:
                            out.write(line + "\n")
                        threads += bool(done.lines)
                        checkpoints += len(done.lines)
                        advance(len(done.lines), f"exporting: {threads:,} threads")

                try:
                    for thread_id in _thread_ids(saver, list(args.threads), args.segments):
                        window.append(pool.submit(_dump, workers, serde, thread_id))
                        drain(args.segments * IN_FLIGHT_PER_WORKER)
                    drain(0)
                except BaseException:
                    for f in window:
                        f.cancel()
                    raise
            out.write(records.dumps(records.footer(threads, checkpoints)) + "\n")
        skipped = workers.skipped()
    where = "stdout" if args.output == "-" else args.output
    ui.note(f"exported {threads:,} threads, {checkpoints:,} checkpoints to {where}")
    if skipped:
        ui.warn(f"{skipped} checkpoint(s) could not be read and are not in the export")
        return 1
    if args.threads and threads < len(set(args.threads)):
        return 1
    return 0


# --- import -------------------------------------------------------------------------------
class Importer:
    """Writes restored checkpoints into our table, skipping those already there."""

    def __init__(self, saver: DynamoDBSaver) -> None:
        self.saver = saver
        self.thread_id: str | None = None
        self.present: set[str] = set()
        """Sort keys of the current thread's items."""
        self.written = self.skipped = 0
        self.threads: set[str] = set()

    def _start(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.threads.add(thread_id)
        self.present = {
            get_s(item, schema.SK) or ""
            for item in self.saver.thread_items(thread_id, keys_only=True)
        }

    def write(self, r: records.Restored) -> bool:
        """Put one checkpoint (its writes first); False if it was already there."""
        if r.thread_id != self.thread_id:
            self._start(r.thread_id)
        if schema.head_sk(r.checkpoint_ns, r.checkpoint_id) in self.present:
            self.skipped += 1
            return False
        for task_id, task_path, group in records.task_groups(r.writes):
            self.saver.put_writes(r.config(), group, task_id, task_path)
        self.saver.put(r.parent_config(), r.checkpoint, r.metadata, r.new_versions)
        self.written += 1
        return True


def _lines(path: str | None) -> Iterator[str]:
    if path in (None, "-"):
        yield from sys.stdin
        return
    assert path is not None
    try:
        with open(path, encoding="utf-8") as f:
            yield from f
    except FileNotFoundError as exc:
        raise UsageError(f"no such file: {path}") from exc


class _Blocks:
    """An export read as threads: ``(thread id, [(line, record)...])`` per thread, in
    file order; ``whole`` once the footer was read."""

    def __init__(self, path: str | None, only: set[str] | None) -> None:
        self.path, self.only, self.whole = path, only, False

    def __iter__(self) -> Iterator[tuple[str, list[tuple[int, dict[str, Any]]]]]:
        thread: str | None = None
        block: list[tuple[int, dict[str, Any]]] = []
        for n, text in enumerate(_lines(self.path), start=1):
            if not text.strip():
                continue
            record = records.parse_line(text, n)
            if n == 1:
                records.check_header(record)
                continue
            if records.is_footer(record):
                self.whole = True
                continue
            found = record.get(records.F_THREAD)
            if not isinstance(found, str):
                raise records.ExportFormatError(f"line {n}: thread_id must be a string")
            if self.only is not None and found not in self.only:
                continue
            if found != thread and block:
                assert thread is not None
                yield thread, block
                block = []
            thread = found
            block.append((n, record))
        if block:
            assert thread is not None
            yield thread, block


def _import_block(
    workers: _Workers,
    serde: SerializerProtocol,
    block: list[tuple[int, dict[str, Any]]],
    stop: threading.Event,
) -> tuple[int, int]:
    """One thread's records into the table (its own decoder); (written, skipped)."""
    importer = Importer(workers.get())
    decoder = records.ThreadDecoder(serde)
    for n, record in block:
        if stop.is_set():
            break
        importer.write(decoder.decode(record, n))
    return importer.written, importer.skipped


def _import_file(
    saver: DynamoDBSaver,
    blocks: _Blocks,
    serde: SerializerProtocol,
    parallel: int,
    advance: Any,
) -> tuple[int, int, int]:
    """An export, ``parallel`` threads at a time; (threads, written, skipped)."""
    workers = _Workers(saver)
    stop = threading.Event()
    window: deque[Future[tuple[int, int]]] = deque()
    threads = written = skipped = 0
    with ThreadPoolExecutor(max_workers=parallel) as pool:

        def drain(keep: int) -> None:
            nonlocal threads, written, skipped
            while len(window) > keep:
                w, s = window.popleft().result()
                threads, written, skipped = threads + 1, written + w, skipped + s
                advance(w + s, f"importing: {threads:,} threads")

        try:
            for _, block in blocks:
                window.append(pool.submit(_import_block, workers, serde, block, stop))
                drain(parallel * IN_FLIGHT_PER_WORKER)
            drain(0)
        except BaseException:
            stop.set()  # the workers finish the checkpoint they are writing, then stop
            for f in window:
                f.cancel()
            raise
    return threads, written, skipped


def _source(
    spec: str, stack: contextlib.ExitStack
) -> tuple[BaseCheckpointSaver[Any], list[str] | None]:
    made = call_factory(spec, "--from")
    threads: list[str] | None = None
    if isinstance(made, tuple) and len(made) == 2:
        made, listed = made
        threads = [str(t) for t in listed]
    if not isinstance(made, BaseCheckpointSaver) and hasattr(made, "__enter__"):
        made = stack.enter_context(made)
    if not isinstance(made, BaseCheckpointSaver):
        raise UsageError(
            f"--from {spec} gave {type(made).__name__}, not a BaseCheckpointSaver (nor a "
            "context manager of one, nor a (saver, thread_ids) pair)"
        )
    return made, threads


def _source_threads(src: BaseCheckpointSaver[Any], spec: str) -> list[str]:
    try:
        return list(
            dict.fromkeys(str(t.config["configurable"]["thread_id"]) for t in src.list(None))
        )
    except Exception as exc:  # noqa: BLE001 - any saver, any error: say what to do
        raise UsageError(
            f"{type(src).__name__} cannot list every thread (list(None) raised "
            f"{type(exc).__name__}: {exc}); name them with --thread, or make {spec} "
            "return (saver, thread_ids)"
        ) from exc


def _key(t: CheckpointTuple) -> tuple[str, str]:
    conf = t.config["configurable"]
    return str(conf.get("checkpoint_ns", "")), str(conf["checkpoint_id"])


def _import_saver(
    importer: Importer, src: BaseCheckpointSaver[Any], threads: list[str], advance: Any
) -> None:
    for thread_id in threads:
        listed = sorted(src.list({"configurable": {"thread_id": thread_id}}), key=_key)
        versions = {_key(t): t.checkpoint.get("channel_versions", {}) for t in listed}
        for t in listed:
            if t.pending_writes is None:
                t = src.get_tuple(t.config) or t
            ns = _key(t)[0]
            parent = (
                t.parent_config["configurable"].get("checkpoint_id") if t.parent_config else None
            )
            importer.write(records.restore(t, versions.get((ns, parent)) if parent else None))
            advance(1, f"importing: {len(importer.threads):,} threads")


def import_(settings: Settings, args: Any, ui: UI) -> int:
    """From an export file (or stdin), or from another saver (``--from``)."""
    if args.source and args.file:
        raise UsageError("import takes a FILE or --from MODULE:FACTORY, not both")
    if args.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    # From a file, values move undecoded; from another saver, they are its objects.
    preserve = args.source is None
    with make_saver(settings, preserve=preserve) as saver, contextlib.ExitStack() as stack:
        with ui.progress("importing") as advance:
            if args.source:
                src, listed = _source(args.source, stack)
                names = list(args.only or listed or _source_threads(src, args.source))
                importer = Importer(saver)
                _import_saver(importer, src, names, advance)
                threads, written, skipped = (
                    len(importer.threads),
                    importer.written,
                    importer.skipped,
                )
                whole = True
            else:
                blocks = _Blocks(args.file, set(args.only) if args.only else None)
                serde = moving_serde(settings)
                threads, written, skipped = _import_file(
                    saver, blocks, serde, args.parallel, advance
                )
                whole = blocks.whole
    ui.note(
        f"imported {written:,} checkpoints of {threads:,} threads"
        + (f"; {skipped:,} were there already" if skipped else "")
    )
    if not whole:
        ui.warn("the export has no footer: it was cut short; what it held is imported")
        return 1
    if args.source is None and not threads:
        raise NotFound("the export holds no checkpoints")
    return 0
