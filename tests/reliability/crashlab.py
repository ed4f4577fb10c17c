"""Crash-consistency lab: give a thread a history, run one saver operation in another
process, SIGKILL that process at a chosen request, and check what a fresh reader sees.

Used by ``test_crash.py`` (a bounded set of kill points) and ``scripts/crash_soak.py``
(every kill point, many rounds).

The history of a :class:`Case` has two namespaces, references to unchanged large values
(some of them chunked), append-only list deltas, chunked pending writes and special
writes, and two run ids. The operation under test runs in a child forked from a
pre-imported worker (``crash_worker.py --serve``), through a :class:`FaultProxy` that
holds request N (before or after forwarding it, or after forwarding part of a batch) and
tells the lab, which kills the child with SIGKILL.

After the kill, a fresh saver must see, for each checkpoint, the old or the new value,
whole; then the operation, run again, must reach the new state exactly; then ``prune``
removes every leftover and ``delete_thread`` leaves no item in the partition.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver, Checkpoint, empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_dynamodb import DynamoDBSaver, schema

from .faultproxy import WRITE_OPS, FaultProxy
from .model import (
    by_namespace,
    is_oldest_prefix,
    key_of,
    model_copy_thread,
    model_delete_for_runs,
    model_prune,
    normalize,
    orphans,
    raw_items,
    snapshot,
)

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crash_worker.py")
REGION = "us-east-1"
OPS = ("put", "put_writes", "delete_thread", "prune", "copy_thread", "delete_for_runs")
WORKER_TIMEOUT_S = 60
"""A worker running one operation (a few seconds at most) is hung after this long."""


# --- the history ------------------------------------------------------------------------------
def cid(i: int) -> str:
    """Checkpoint id number ``i`` (ordered like LangGraph's uuid6 ids)."""
    return f"1f000000-0000-6000-8000-{i:012d}"


def version(n: int) -> str:
    """Channel version ``n``, in the format of the saver's ``get_next_version``."""
    return f"{n:032}.{0:016}"


def noise(seed: int, size: int) -> bytes:
    """Incompressible bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def cfg(thread: str, ns: str = "", cp: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if cp is not None:
        conf["checkpoint_id"] = cp
    return {"configurable": conf}


@dataclass(frozen=True)
class Case:
    """One thread's scenario; every value is derived from the thread id and sizes."""

    thread: str
    blob_bytes: int = 500_000
    """A chunked channel value (over 350 KB); unchanged ones are stored by reference."""
    new_blob_bytes: int = 2_200_000
    """The multi-MB value of the checkpoint ``put`` adds."""

    @property
    def run_a(self) -> str:
        return f"{self.thread}/run-a"

    @property
    def run_b(self) -> str:
        return f"{self.thread}/run-b"

    @property
    def copy_target(self) -> str:
        return f"{self.thread}-copy"

    @property
    def threads(self) -> tuple[str, str]:
        return (self.thread, self.copy_target)

    def job(self, op: str, mode: str, endpoint: str, table: str) -> dict[str, Any]:
        return {
            "op": op,
            "mode": mode,
            "endpoint": endpoint,
            "table": table,
            "thread": self.thread,
            "blob_bytes": self.blob_bytes,
            "new_blob_bytes": self.new_blob_bytes,
        }

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> Case:
        return cls(job["thread"], job["blob_bytes"], job["new_blob_bytes"])


@dataclass
class _Chain:
    values: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    last: str | None = None


class History:
    """The actions that build a case's history, and the inputs of its operations."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.actions: list[tuple[Any, ...]] = []
        self._n = 0
        self._chains: dict[str, _Chain] = {}
        big = noise(1, 3000)
        self._put("", 0, {"big": big, "blob": noise(2, case.blob_bytes), "msgs": ["m0"], "n": 0})
        self._put("", 1, {"msgs": ["m0", "m1"], "n": 1})
        self._writes("", 1, [("msgs", "w1"), ("n", 5)], "t1")
        self._put("", 2, {"msgs": ["m0", "m1", "m2", "m2b"], "n": 2})
        self._writes("", 2, [("payload", noise(3, 450_000)), ("x", 1)], "t2")
        self._put("", 3, {"blob": noise(4, case.blob_bytes), "msgs": self._msgs("m3"), "n": 3})
        self._writes("", 3, [("__error__", "boom")], "t3")
        self._put("", 4, {"msgs": self._msgs("m4"), "n": 4})
        self._put("", 5, {"msgs": self._msgs("m5"), "n": 5})
        self._writes("", 5, [("n", 6)], "t5")
        self._writes("", 5, [("__interrupt__", [{"value": "ask", "id": "i5"}])], "t5i")
        self._put("child:1", 6, {"c": noise(5, 2000), "k": 0})
        self._put("child:1", 7, {"k": 1})
        # the operations' inputs
        self.new_put = self._make("", 100, {"msgs": self._msgs("new"), "blob": None, "n": 6})
        self.new_put[1]["channel_values"]["blob"] = noise(6, case.new_blob_bytes)
        self.new_writes = [("a", noise(7, 600_000)), ("b", "small"), ("__error__", "late")]

    def _msgs(self, extra: str) -> list[str]:
        return [*self._chains[""].values["msgs"], extra]

    def _make(self, ns: str, idx: int, changes: dict[str, Any]) -> tuple[Any, ...]:
        chain = self._chains.setdefault(ns, _Chain())
        values, versions = dict(chain.values), dict(chain.versions)
        for ch, value in changes.items():
            self._n += 1
            versions[ch] = version(self._n)
            values[ch] = value
        cp: Checkpoint = empty_checkpoint()
        cp["id"] = cid(idx)
        cp["ts"] = f"2025-01-01T00:{idx // 60:02d}:{idx % 60:02d}+00:00"
        cp["channel_values"] = values
        cp["channel_versions"] = versions
        cp["updated_channels"] = sorted(changes)
        run = self.case.run_a if idx in (0, 1, 2, 6) else self.case.run_b
        if idx >= 100:
            run = f"{self.case.thread}/run-c"
        metadata = {"source": "loop", "step": idx, "run_id": run, "parents": {}}
        new_versions = {ch: versions[ch] for ch in changes}
        return (chain.last, cp, metadata, new_versions, ns)

    def _put(self, ns: str, idx: int, changes: dict[str, Any]) -> None:
        parent, cp, metadata, new_versions, _ = self._make(ns, idx, changes)
        self.actions.append(("put", ns, parent, cp, metadata, new_versions))
        chain = self._chains[ns]
        chain.values, chain.versions, chain.last = (
            dict(cp["channel_values"]),
            dict(cp["channel_versions"]),
            cp["id"],
        )

    def _writes(self, ns: str, idx: int, writes: list[tuple[str, Any]], task: str) -> None:
        self.actions.append(("writes", ns, cid(idx), writes, task, f"path-{task}"))

    def build(self, saver: BaseCheckpointSaver, thread: str | None = None) -> None:
        """Apply the history to a saver (sync API)."""
        thread = thread or self.case.thread
        for action in self.actions:
            if action[0] == "put":
                _, ns, parent, cp, metadata, new_versions = action
                saver.put(cfg(thread, ns, parent), cp, metadata, new_versions)
            else:
                _, ns, cp_id, writes, task, path = action
                saver.put_writes(cfg(thread, ns, cp_id), writes, task, path)


class _Call:
    """Calls a saver method through its sync or its async twin."""

    def __init__(self, saver: BaseCheckpointSaver, mode: str) -> None:
        self.saver = saver
        self.mode = mode

    async def __call__(self, name: str, *args: Any) -> Any:
        if self.mode == "sync":
            return getattr(self.saver, name)(*args)
        return await getattr(self.saver, "a" + name)(*args)


async def _perform(call: _Call, history: History, op: str) -> None:
    case = history.case
    if op == "put":
        parent, cp, metadata, new_versions, ns = history.new_put
        found = await call("get_tuple", cfg(case.thread, ns, parent))  # learns the layout
        assert found is not None, "the parent checkpoint is not readable"
        await call("put", found.config, cp, metadata, new_versions)
    elif op == "put_writes":
        await call("put_writes", cfg(case.thread, "", cid(5)), history.new_writes, "tw", "path-tw")
    elif op == "delete_thread":
        await call("delete_thread", case.thread)
    elif op == "prune":
        await call("prune", [case.thread])
    elif op == "copy_thread":
        await call("copy_thread", case.thread, case.copy_target)
    elif op == "delete_for_runs":
        await call("delete_for_runs", [case.run_a])
    else:
        raise ValueError(f"unknown operation {op!r}")


def run_op(saver: DynamoDBSaver, history: History, op: str, mode: str) -> None:
    """Run the operation under test through the sync or the async API."""

    async def main() -> None:
        try:
            await _perform(_Call(saver, mode), history, op)
        finally:
            if mode == "async":
                await saver.aclose()

    asyncio.run(main())


def model_op(model: InMemorySaver, history: History, op: str) -> None:
    """The operation under test, on the model."""
    case = history.case
    if op == "put":
        parent, cp, metadata, new_versions, ns = history.new_put
        model.put(cfg(case.thread, ns, parent), cp, metadata, new_versions)
    elif op == "put_writes":
        model.put_writes(cfg(case.thread, "", cid(5)), history.new_writes, "tw", "path-tw")
    elif op == "delete_thread":
        model.delete_thread(case.thread)
    elif op == "prune":
        model_prune(model, [case.thread], "keep_latest")
    elif op == "copy_thread":
        model_copy_thread(model, case.thread, case.copy_target)
    elif op == "delete_for_runs":
        model_delete_for_runs(model, [case.run_a])


def execute_job(job: Mapping[str, Any]) -> None:
    """What a worker process does: run one operation against ``job["endpoint"]``."""
    case = Case.from_job(job)
    saver = DynamoDBSaver(table_name=job["table"], endpoint_url=job["endpoint"], region_name=REGION)
    run_op(saver, History(case), job["op"], job["mode"])
    saver.close()


# --- the forking worker -------------------------------------------------------------------------
class Zygote:
    """``crash_worker.py --serve``: a pre-imported Python that forks one child per job,
    so a kill point costs a fork, not an interpreter start (about 1.5 s of imports)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=str(ROOT),
            env=env,
        )
        self._pids: queue.Queue[int] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(60):
            self.close()
            raise RuntimeError("crash worker did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, *rest = line.split()
            if word == "ready":
                self._ready.set()
            elif word == "pid":
                self._pids.put(int(rest[0]))
            elif word == "exit":
                with self._cond:
                    self._exits[int(rest[0])] = int(rest[1])
                    self._cond.notify_all()

    def spawn(self, job: Mapping[str, Any]) -> int:
        """Fork a child that runs ``job``; returns its PID."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._pids.get(timeout=30)

    def exited(self, pid: int) -> int | None:
        """The child's wait status if it has exited."""
        with self._cond:
            return self._exits.get(pid)

    def wait(self, pid: int, timeout: float) -> int | None:
        """Wait for the child to exit; its wait status, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while pid not in self._exits:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._exits[pid]

    def close(self) -> None:
        """Stop the worker (it exits on end of input), by PID if it does not."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


# --- one crash and its check --------------------------------------------------------------------
@dataclass
class Kill:
    """Where to kill: at request ``at`` (``phase`` before/after/partial), or ``after_s``
    seconds after the start (``plain``: in a new ``python`` process, not a fork)."""

    at: int | None = None
    phase: str = "before"
    after_s: float | None = None
    plain: bool = False

    def __str__(self) -> str:
        if self.at is not None:
            return f"request {self.at} ({self.phase})"
        if self.after_s is not None:
            return f"{'python ' if self.plain else ''}{self.after_s:.3f} s"
        return "no kill"


@dataclass
class Outcome:
    op: str
    mode: str
    kill: Kill
    killed: bool = False
    held_op: str | None = None
    visible: int = 0
    lost: int = 0
    leftovers: int = 0
    seconds: float = 0.0


class Lab:
    """Runs crash experiments against one table, through one proxy and one worker."""

    def __init__(self, endpoint: str, table: str, *, blob_bytes: int = 500_000) -> None:
        import boto3

        self.endpoint = endpoint
        self.table = table
        self.blob_bytes = blob_bytes
        self.client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
        self.proxy = FaultProxy(endpoint).start()
        self.zygote = Zygote()
        self._seq = 0
        self._journals: dict[str, tuple[list[str], float]] = {}

    def close(self) -> None:
        self.zygote.close()
        self.proxy.stop()
        self.client.close()

    def fresh_saver(self) -> DynamoDBSaver:
        """A saver that knows nothing (empty layout cache), straight to DynamoDB Local."""
        return DynamoDBSaver(table_name=self.table, client=self.client)

    def new_case(self, tag: str) -> Case:
        self._seq += 1
        return Case(f"crash-{tag}-{os.getpid()}-{self._seq}-{time.time_ns()}", self.blob_bytes)

    def prepare(self, op: str, tag: str) -> tuple[History, InMemorySaver, InMemorySaver]:
        """A case with its history in DynamoDB; the model before and after ``op``."""
        history = History(self.new_case(tag))
        history.build(self.fresh_saver())
        old, new = InMemorySaver(), InMemorySaver()
        history.build(old)
        history.build(new)
        model_op(new, history, op)
        return history, old, new

    def journal(self, op: str, mode: str) -> tuple[list[str], float]:
        """The requests ``op`` makes, in order, and how long it takes (a fault-free run
        in a worker, checked against the model)."""
        history, _, new = self.prepare(op, "dry")
        with self.proxy.journal() as ops:
            started = time.monotonic()
            pid = self.zygote.spawn(history.case.job(op, mode, self.proxy.endpoint_url, self.table))
            status = self.zygote.wait(pid, WORKER_TIMEOUT_S)
            seconds = time.monotonic() - started
        if status is None:
            os.kill(pid, signal.SIGKILL)
            self.zygote.wait(pid, 10)
        if status != 0:
            raise AssertionError(f"{op} ({mode}) failed in the worker: wait status {status}")
        self.check_recovered(history, new)
        self.cleanup(history, new)
        return list(ops), seconds

    def journal_once(self, op: str) -> tuple[list[str], float]:
        """:meth:`journal` of ``op`` (sync), run once per lab."""
        if op not in self._journals:
            self._journals[op] = self.journal(op, "sync")
        return self._journals[op]

    def _plain(self, job: dict[str, Any], after_s: float) -> bool:
        """Run a job in a new ``python`` process; SIGKILL it after ``after_s`` seconds
        if it is still running. Returns whether it was killed."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH")] if p)
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--job", json.dumps(job)], cwd=str(ROOT), env=env
        )
        try:
            proc.wait(timeout=after_s)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
        code = proc.wait(timeout=120)
        if not killed and code != 0:
            raise AssertionError(f"{job['op']} failed in a python worker: exit code {code}")
        return killed

    def crash(self, op: str, mode: str, kill: Kill) -> Outcome:
        """Kill ``op`` once and check everything a reader can see afterwards."""
        started = time.monotonic()
        history, old, new = self.prepare(op, op)
        outcome = Outcome(op, mode, kill)
        hold = self.proxy.hold(kill.at, kill.phase) if kill.at is not None else None
        job = history.case.job(op, mode, self.proxy.endpoint_url, self.table)
        if kill.plain:
            assert kill.after_s is not None
            outcome.killed = self._plain(job, kill.after_s)
            return self._check(history, old, new, outcome, started)
        pid = self.zygote.spawn(job)
        try:
            if hold is not None:
                while not hold.held.wait(0.005):
                    if self.zygote.exited(pid) is not None:
                        break
                if hold.held.is_set():
                    outcome.held_op = hold.op
                    os.kill(pid, signal.SIGKILL)
                    outcome.killed = True
            elif kill.after_s is not None:
                if self.zygote.wait(pid, kill.after_s) is None:
                    os.kill(pid, signal.SIGKILL)
                    outcome.killed = True
            status = self.zygote.wait(pid, WORKER_TIMEOUT_S)
        finally:
            self.proxy.disarm()
        if status is None:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"{op} ({mode}) did not finish in {WORKER_TIMEOUT_S} s")
        if not outcome.killed and status != 0:
            raise AssertionError(f"{op} ({mode}) failed in the worker: wait status {status}")
        return self._check(history, old, new, outcome, started)

    def _check(
        self,
        history: History,
        old: InMemorySaver,
        new: InMemorySaver,
        outcome: Outcome,
        started: float,
    ) -> Outcome:
        op = outcome.op
        partial = outcome.kill.phase == "partial" and outcome.held_op == "BatchWriteItem"
        outcome.visible, outcome.lost = self.check_after_crash(history, old, new, op, partial)
        outcome.leftovers = self.check_recovery_and_cleanup(history, new, op)
        outcome.seconds = time.monotonic() - started
        return outcome

    # --- checks ------------------------------------------------------------------------------
    def check_after_crash(
        self, history: History, old: InMemorySaver, new: InMemorySaver, op: str, partial: bool
    ) -> tuple[int, int]:
        """What a fresh reader sees right after the kill. Returns (visible, lost)."""
        case = history.case
        reader = self.fresh_saver()
        before = snapshot(old, case.threads)
        after = snapshot(new, case.threads)
        seen = snapshot(reader, case.threads)
        # get_tuple by id and list agree; the latest is the highest visible id
        for key, value in seen.items():
            got = reader.get_tuple(cfg(*key))
            assert got is not None and normalize(got) == value, f"get_tuple({key}) != list"
        for (thread, ns), ids in by_namespace(seen).items():
            latest = reader.get_tuple(cfg(thread, ns))
            assert latest is not None and key_of(latest) == (thread, ns, ids[-1])
        # every visible checkpoint is whole and equals its old or its new value; the
        # pending writes of put_writes' target, and of checkpoints being deleted when the
        # kill split a batch, may be any subset of their items (each item whole)
        target = (case.thread, "", cid(5))
        must_survive = {k for k in before if k in after}
        lost = [k for k in must_survive if k not in seen]
        for key, value in seen.items():
            options = [v for v in (before.get(key), after.get(key)) if v is not None]
            assert options, f"{key} is visible but exists neither before nor after {op}"
            loose = (op == "put_writes" and key == target) or (partial and key not in must_survive)
            if not any(_same(value, o, loose) for o in options):
                lost.append(key)
        assert not lost, f"{op}: checkpoints lost or not equal to their old or new value: {lost}"
        if op == "put_writes":
            groups = seen[target]["writes"]
            assert before[target]["writes"].items() <= groups.items(), "old writes lost"
        # which checkpoints are visible
        visible, old_keys, new_keys = set(seen), set(before), set(after)
        if op == "put":
            assert visible in (old_keys, new_keys)
        elif op == "put_writes":
            assert visible == old_keys == new_keys
        elif op == "copy_thread":
            source = {k for k in old_keys if k[0] == case.thread}
            assert {k for k in visible if k[0] == case.thread} == source
            copied = {k for k in visible if k[0] == case.copy_target}
            assert copied <= new_keys
            if not partial:  # heads are copied oldest first
                expected_target = {k for k in new_keys if k[0] == case.copy_target}
                assert is_oldest_prefix(copied, expected_target), sorted(copied)
        else:  # delete_thread, prune, delete_for_runs
            assert new_keys <= visible <= old_keys
            if not partial:  # heads are deleted newest first
                assert is_oldest_prefix(visible - new_keys, old_keys - new_keys), sorted(visible)
        return len(seen), len(lost)

    def check_recovered(self, history: History, new: InMemorySaver) -> None:
        seen = snapshot(self.fresh_saver(), history.case.threads)
        assert seen == snapshot(new, history.case.threads), "state differs from the model"

    def check_recovery_and_cleanup(self, history: History, new: InMemorySaver, op: str) -> int:
        """Run the operation again to completion: the new state, exactly. Then prune
        removes every leftover and delete_thread every item. Returns the leftovers."""
        run_op(self.fresh_saver(), history, op, "sync")
        self.check_recovered(history, new)
        return self.cleanup(history, new)

    def cleanup(self, history: History, new: InMemorySaver) -> int:
        case = history.case
        leftovers = sum(len(orphans(raw_items(self.client, self.table, t))) for t in case.threads)
        saver = self.fresh_saver()
        saver.prune(list(case.threads))
        model_prune(new, list(case.threads), "keep_latest")
        assert snapshot(saver, case.threads) == snapshot(new, case.threads), "prune differs"
        for thread in case.threads:
            left = orphans(raw_items(self.client, self.table, thread))
            assert not left, f"prune left invisible leftovers {left}"
            saver.delete_thread(thread)
            remaining = [  # a tombstone per namespace stays (late writes stay deleted)
                i
                for i in raw_items(self.client, self.table, thread)
                if not schema.is_tombstone_sk(i["sk"]["S"])
            ]
            assert not remaining, f"delete_thread left {[i['sk']['S'] for i in remaining]}"
        return leftovers


def _same(seen: Mapping[str, Any], expected: Mapping[str, Any], loose_writes: bool) -> bool:
    """Equal checkpoints; with ``loose_writes``, the visible pending writes may be any
    subset of the expected ones, item by item (each item whole)."""
    for part in ("checkpoint", "metadata", "parent"):
        if seen[part] != expected[part]:
            return False
    if not loose_writes:
        return seen["writes"] == expected["writes"] and seen["order"] == expected["order"]
    return all(expected["writes"].get(unit) == group for unit, group in seen["writes"].items())


def spread(points: list[Kill], at_most: int | None) -> list[Kill]:
    """At most ``at_most`` of the points, evenly spread (first and last included)."""
    if at_most is None or len(points) <= at_most:
        return points
    if at_most == 1:
        return points[:1]
    step = (len(points) - 1) / (at_most - 1)
    return [points[round(i * step)] for i in range(at_most)]


def kill_points(ops: list[str], *, every_read: bool = False) -> Iterator[Kill]:
    """Kill points for a journal: each write request before and after it reaches
    DynamoDB (and, for batches, after part of it did); the first read (or every read)."""
    first_read = True
    for i, op in enumerate(ops, start=1):
        if op in WRITE_OPS:
            yield Kill(i, "before")
            yield Kill(i, "after")
            if op == "BatchWriteItem":
                yield Kill(i, "partial")
        elif first_read or every_read:
            first_read = False
            yield Kill(i, "before")
