"""Runner-side instrumentation: attribute every DynamoDB request to the saver call that made it.

Loaded by path inside every saver's virtualenv (it needs botocore, and aiobotocore only
if installed). Two pieces:

- :func:`install_http_tagging` patches botocore's (and aiobotocore's) ``Endpoint._send``
  to add two headers to each HTTP request: the current scope (saver/workload/phase) and
  ``<operation>#<call id>`` of the outermost saver call on the stack. The counting proxy
  strips them. The patch sits below signing, so the headers are not signed (DynamoDB Local
  does not check signatures).
- :func:`instrument` swaps a saver's class for a subclass whose checkpointer methods set
  that call id (a ``ContextVar``) and time each call. Only the outermost call counts: a
  peer's ``list`` calling its own ``get_tuple`` is one ``list`` call. Only methods of the
  API family of the current phase (sync or async) count as calls: when a peer's ``aput``
  runs its ``put`` in a worker thread, the context is lost, so the inner ``put`` tags the
  requests but is not counted again. Swapping the class (not wrapping bound methods)
  survives LangGraph's ``with_allowlist`` copies. A node cache (LangGraph's ``BaseCache``)
  gets its ``get``, ``set`` and ``clear`` (and their async twins) wrapped instead.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

SCOPE_HEADER = "X-Bench-Scope"
OP_HEADER = "X-Bench-Op"
DELAY_HEADER = "X-Bench-Delay-Ms"

_current_op: ContextVar[str | None] = ContextVar("bench_current_op", default=None)
_call_ids = itertools.count(1)


class _State:
    scope = "-"
    api = "sync"
    delay_ms = 0.0
    spans: list[tuple[float, float]] | None = None


STATE = _State()
"""The scope, API family and simulated round-trip delay of the running phase (phases run
one after another), and where to record each request's start and end (``perf_counter``)
while :func:`in_sequence` is wanted."""

METHODS: dict[str, tuple[str, str]] = {
    "get_tuple": ("get_tuple", "sync"),
    "aget_tuple": ("get_tuple", "async"),
    "put": ("put", "sync"),
    "aput": ("put", "async"),
    "put_writes": ("put_writes", "sync"),
    "aput_writes": ("put_writes", "async"),
    "list": ("list", "sync"),
    "alist": ("list", "async"),
    "get_delta_channel_history": ("get_delta_channel_history", "sync"),
    "aget_delta_channel_history": ("get_delta_channel_history", "async"),
    "delete_thread": ("delete_thread", "sync"),
    "adelete_thread": ("delete_thread", "async"),
    "copy_thread": ("copy_thread", "sync"),
    "acopy_thread": ("copy_thread", "async"),
    "prune": ("prune", "sync"),
    "aprune": ("prune", "async"),
    "delete_for_runs": ("delete_for_runs", "sync"),
    "adelete_for_runs": ("delete_for_runs", "async"),
}
"""Saver method -> (operation name in the report, API family)."""

CACHE_METHODS: dict[str, tuple[str, str]] = {
    "get": ("get", "sync"),
    "aget": ("get", "async"),
    "set": ("set", "sync"),
    "aset": ("set", "async"),
    "clear": ("clear", "sync"),
    "aclear": ("clear", "async"),
}
"""The same for LangGraph's node caches (``BaseCache``): what the cache workload counts."""


class CallStats:
    """Calls, durations and rows per (scope, operation), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.data: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def record(
        self,
        op: str,
        ms: float,
        rows: int | None = None,
        error: str | None = None,
        cpu_ms: float | None = None,
    ) -> None:
        with self._lock:
            entry = self.data[STATE.scope].setdefault(
                op, {"calls": 0, "ms": [], "cpu_ms": [], "rows": 0, "errors": {}}
            )
            entry["calls"] += 1
            entry["ms"].append(ms)
            if cpu_ms is not None:
                entry["cpu_ms"].append(cpu_ms)
            if rows is not None:
                entry["rows"] += rows
            if error is not None:
                entry["errors"][error] = entry["errors"].get(error, 0) + 1

    def take(self, scope: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return self.data.pop(scope, {})


CALLS = CallStats()


# --- HTTP tagging -------------------------------------------------------------------------
def _tag(request: Any) -> None:
    op = _current_op.get()
    request.headers[SCOPE_HEADER] = STATE.scope
    request.headers[OP_HEADER] = op if op is not None else "-"
    if STATE.delay_ms:
        request.headers[DELAY_HEADER] = str(STATE.delay_ms)


def install_http_tagging() -> list[str]:
    """Patch botocore/aiobotocore so every request carries the scope and call headers.

    Returns the patched classes, for the record.
    """
    patched = []
    from botocore.endpoint import Endpoint

    if not getattr(Endpoint._send, "_bench", False):
        original = Endpoint._send

        def _send(self: Any, request: Any) -> Any:
            _tag(request)
            spans, started = STATE.spans, time.perf_counter()
            try:
                return original(self, request)
            finally:
                if spans is not None:
                    spans.append((started, time.perf_counter()))

        _send._bench = True  # type: ignore[attr-defined]
        Endpoint._send = _send  # type: ignore[method-assign]
    patched.append("botocore.endpoint.Endpoint")
    try:
        from aiobotocore.endpoint import AioEndpoint
    except ImportError:
        return patched
    if not getattr(AioEndpoint._send, "_bench", False):
        aoriginal = AioEndpoint._send

        async def _asend(self: Any, request: Any) -> Any:
            _tag(request)
            spans, started = STATE.spans, time.perf_counter()
            try:
                return await aoriginal(self, request)
            finally:
                if spans is not None:
                    spans.append((started, time.perf_counter()))

        _asend._bench = True  # type: ignore[attr-defined]
        AioEndpoint._send = _asend  # type: ignore[method-assign]
    patched.append("aiobotocore.endpoint.AioEndpoint")
    return patched


def in_sequence(spans: list[tuple[float, float]]) -> int:
    """The most requests among ``spans`` that ran one after another, none overlapping
    the next: the round trips the work had to wait for, whatever ran beside them.
    (Greedy by end time, which finds the longest such chain of intervals.)"""
    count, last_end = 0, float("-inf")
    for started, ended in sorted(spans, key=lambda span: span[1]):
        if started >= last_end:
            count += 1
            last_end = ended
    return count


# --- saver method wrapping ----------------------------------------------------------------
def _error_name(exc: BaseException) -> str:
    return type(exc).__name__


def _wrap(fn: Callable[..., Any], op: str, family: str) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _current_op.get() is not None:
                async for item in fn(self, *args, **kwargs):
                    yield item
                return
            counts = STATE.api == family
            tag = f"{op}#{next(_call_ids)}"
            iterator = fn(self, *args, **kwargs)
            elapsed = 0.0
            rows = 0
            error = None
            try:
                while True:
                    token = _current_op.set(tag)
                    started = time.perf_counter()
                    try:
                        item = await iterator.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        elapsed += time.perf_counter() - started
                        _current_op.reset(token)
                    rows += 1
                    yield item
            except BaseException as exc:
                error = _error_name(exc)
                raise
            finally:
                await iterator.aclose()
                if counts:
                    CALLS.record(op, elapsed * 1000, rows, error)

        return agen

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _current_op.get() is not None:
                yield from fn(self, *args, **kwargs)
                return
            counts = STATE.api == family
            tag = f"{op}#{next(_call_ids)}"
            iterator = fn(self, *args, **kwargs)
            elapsed = 0.0
            rows = 0
            error = None
            try:
                while True:
                    token = _current_op.set(tag)
                    started = time.perf_counter()
                    try:
                        item = next(iterator)
                    except StopIteration:
                        break
                    finally:
                        elapsed += time.perf_counter() - started
                        _current_op.reset(token)
                    rows += 1
                    yield item
            except BaseException as exc:
                error = _error_name(exc)
                raise
            finally:
                iterator.close()
                if counts:
                    CALLS.record(op, elapsed * 1000, rows, error)

        return gen

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coro(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _current_op.get() is not None:
                return await fn(self, *args, **kwargs)
            counts = STATE.api == family
            token = _current_op.set(f"{op}#{next(_call_ids)}")
            started = time.perf_counter()
            error = None
            try:
                return await fn(self, *args, **kwargs)
            except BaseException as exc:
                error = _error_name(exc)
                raise
            finally:
                _current_op.reset(token)
                if counts:
                    CALLS.record(op, (time.perf_counter() - started) * 1000, None, error)

        return coro

    @functools.wraps(fn)
    def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _current_op.get() is not None:
            return fn(self, *args, **kwargs)
        counts = STATE.api == family
        token = _current_op.set(f"{op}#{next(_call_ids)}")
        started = time.perf_counter()
        cpu_started = time.thread_time()
        error = None
        try:
            return fn(self, *args, **kwargs)
        except BaseException as exc:
            error = _error_name(exc)
            raise
        finally:
            # A sync call runs in one thread: its thread CPU time is the saver's own CPU
            # (serializing, compressing, botocore), without the wait for DynamoDB.
            cpu_ms = (time.thread_time() - cpu_started) * 1000
            _current_op.reset(token)
            if counts:
                CALLS.record(op, (time.perf_counter() - started) * 1000, None, error, cpu_ms)

    return plain


_SUBCLASSES: dict[type, type] = {}


def _methods(cls: type) -> dict[str, tuple[str, str]]:
    """The methods to wrap: a node cache's, or a checkpointer's (and a store's)."""
    try:
        from langgraph.cache.base import BaseCache
    except ImportError:  # pragma: no cover - every venv has langgraph
        return METHODS
    return CACHE_METHODS if issubclass(cls, BaseCache) else METHODS


def instrument(saver: Any) -> Any:
    """Make ``saver`` an instance of an instrumented subclass of its class; returns it."""
    cls = type(saver)
    if getattr(cls, "_bench_instrumented", False):
        return saver
    sub = _SUBCLASSES.get(cls)
    if sub is None:
        namespace: dict[str, Any] = {"_bench_instrumented": True}
        for name, (op, family) in _methods(cls).items():
            fn = getattr(cls, name, None)
            if fn is not None and callable(fn):
                namespace[name] = _wrap(fn, op, family)
        sub = type(cls.__name__, (cls,), namespace)
        sub.__module__ = cls.__module__
        sub.__qualname__ = cls.__qualname__
        _SUBCLASSES[cls] = sub
    saver.__class__ = sub
    return saver


def overrides(saver_or_cls: Any, name: str) -> bool:
    """Whether the saver's own class (not ``BaseCheckpointSaver``) defines ``name``."""
    from langgraph.checkpoint.base import BaseCheckpointSaver

    cls = saver_or_cls if isinstance(saver_or_cls, type) else type(saver_or_cls)
    while getattr(cls, "_bench_instrumented", False):
        cls = cls.__mro__[1]
    base = getattr(BaseCheckpointSaver, name, None)
    return getattr(cls, name, None) is not base
