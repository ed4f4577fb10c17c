"""A fault-injecting HTTP proxy in front of DynamoDB Local (stdlib only).

The saver talks to ``proxy.endpoint_url`` instead of DynamoDB Local. Each request is either
forwarded unchanged or, with probability ``rate``, answered with a fault:

- ``throttle_provisioned``: 400 ``ProvisionedThroughputExceededException``;
- ``throttle_throttling``: 400 ``ThrottlingException``;
- ``throttle_request_limit``: 400 ``RequestLimitExceeded``;
- ``http_500``: 500 ``InternalServerError``;
- ``http_503``: 503 ``ServiceUnavailable``;
- ``reset``: the connection is reset (RST) before the request is forwarded;
- ``drop``: the request is forwarded, DynamoDB applies it, and the connection is reset
  instead of answering (**the request took effect**, the client never learns it);
- ``stall``: forwarded, then no answer for ``stall_seconds`` (a read timeout), then a
  reset (**took effect**);
- ``unprocessed``: BatchWriteItem / BatchGetItem only: a random part of the batch is
  forwarded, the rest comes back as ``UnprocessedItems`` / ``UnprocessedKeys``.

``drop`` and ``stall`` make the client retry a request that already took effect, which
is what tests the idempotency of every request the saver sends. Error answers carry the
JSON ``__type`` and the ``x-amzn-ErrorType`` header, as DynamoDB's do, and a valid
``x-amz-crc32``.

Rewriting a request body (``unprocessed``) breaks its SigV4 signature; DynamoDB Local
does not check signatures (verified by ``test_faults.py::test_local_ignores_signatures``).

Decisions are deterministic: request number ``i`` (in arrival order) draws from
``random.Random(f"{seed}/{i}")``, so one seed gives one sequence of faults.

For crash tests, :meth:`FaultProxy.hold` arms a *hold at request N*: the N-th request
from then on is held (``before`` forwarding it, ``after`` forwarding it, or ``partial``:
after forwarding part of a BatchWriteItem); the proxy sets :attr:`Hold.held`, waits for
:attr:`Hold.release` (the test kills the client meanwhile) and resets the connection.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langgraph_dynamodb._loopback import LoopbackHandler, LoopbackServer, Upstream

TARGET_PREFIX = "DynamoDB_20120810."
BATCH_OPS = frozenset({"BatchWriteItem", "BatchGetItem"})
WRITE_OPS = frozenset({"PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem"})

_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttle_provisioned": (
        400,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "throttle_throttling": (
        400,
        "com.amazon.coral.availability#ThrottlingException",
        "Rate of requests exceeds the allowed throughput.",
    ),
    "throttle_request_limit": (
        400,
        "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account.",
    ),
    "http_500": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal error"),
    "http_503": (
        503,
        "com.amazon.coral.availability#ServiceUnavailableException",
        "Service unavailable",
    ),
}
ERROR_KINDS = tuple(_ERRORS)
KINDS = (*ERROR_KINDS, "reset", "drop", "stall", "unprocessed")

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "throttle_provisioned": 1.0,
    "throttle_throttling": 1.0,
    "throttle_request_limit": 1.0,
    "http_500": 1.0,
    "http_503": 1.0,
    "reset": 1.5,
    "drop": 2.0,
    "stall": 0.0,  # opt in: each one costs the client a read timeout
    "unprocessed": 3.0,  # only drawn for batch requests
}

_SKIP_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "expect"}
)
_SKIP_RESPONSE_HEADERS = frozenset(
    {"content-length", "connection", "transfer-encoding", "server", "date", "keep-alive"}
)


@dataclass
class Hold:
    """A request the proxy holds so that a test can kill its client at that moment."""

    at: int
    phase: str
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    op: str | None = None
    forwarded: bool = False
    """Whether (all or part of) the held request reached DynamoDB."""


@dataclass
class _Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class FaultProxy(LoopbackServer):
    """An HTTP proxy on a free loopback port that injects DynamoDB faults.

    Args:
        upstream: DynamoDB Local's endpoint, e.g. ``http://127.0.0.1:8000``.
        rate: Probability that a request gets a fault (0 disables injection).
        seed: Seed of the fault sequence.
        weights: Relative weight of each fault kind (see the module docstring).
        stall_seconds: How long a ``stall`` withholds the answer; make it longer than
            the client's read timeout.
        ops: Only these DynamoDB operations get faults (default: all).

    Example:
        ```python
        with FaultProxy(ddb_endpoint, rate=0.2, seed=1) as proxy:
            saver = DynamoDBSaver(table_name=t, endpoint_url=proxy.endpoint_url, ...)
            ...
        print(proxy.injected)  # Counter of faults by kind
        ```
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int | str = 0,
        weights: Mapping[str, float] | None = None,
        stall_seconds: float = 2.5,
        ops: frozenset[str] | None = None,
    ) -> None:
        super().__init__()
        self.upstream = Upstream(upstream)
        self.rate = rate
        self.seed = seed
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(self.weights) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {KINDS}")
        self.stall_seconds = stall_seconds
        self.ops = ops
        self.injected: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._seq = 0
        self._hold: Hold | None = None
        self._hold_count = 0
        self._journal: list[str] | None = None
        self._stopping = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------
    def stop(self) -> None:
        """Stop serving; held and stalled requests are released."""
        self._stopping.set()
        with self._lock:
            if self._hold is not None:
                self._hold.release.set()
        super().stop()

    # --- controls ----------------------------------------------------------------------
    @property
    def total_injected(self) -> int:
        """Faults injected so far, all kinds."""
        return sum(self.injected.values())

    @property
    def total_requests(self) -> int:
        """Requests received so far."""
        return sum(self.requests.values())

    def hold(self, at: int, phase: str) -> Hold:
        """Hold the ``at``-th request (1-based) received from now on.

        ``phase``: ``"before"`` (never forwarded), ``"after"`` (forwarded, answer
        withheld) or ``"partial"`` (a BatchWriteItem of two or more items: its first half
        is forwarded; other requests are handled as ``"after"``).
        """
        if phase not in ("before", "after", "partial"):
            raise ValueError(f"unknown hold phase {phase!r}")
        if at < 1:
            raise ValueError("requests are counted from 1")
        hold = Hold(at, phase)
        with self._lock:
            self._hold = hold
            self._hold_count = 0
        return hold

    def disarm(self) -> None:
        """Forget the armed hold (a held request is released)."""
        with self._lock:
            if self._hold is not None:
                self._hold.release.set()
            self._hold = None

    @contextmanager
    def journal(self) -> Iterator[list[str]]:
        """Record the operation name of every request received inside the block."""
        ops: list[str] = []
        with self._lock:
            self._journal = ops
        try:
            yield ops
        finally:
            with self._lock:
                self._journal = None

    # --- request handling --------------------------------------------------------------
    def _admit(self, op: str) -> tuple[Hold | None, str | None, random.Random]:
        """Count the request; decide whether it is held, faulted or forwarded."""
        with self._lock:
            self.requests[op] += 1
            if self._journal is not None:
                self._journal.append(op)
            seq = self._seq
            self._seq += 1
            hold = self._hold
            if hold is not None:
                self._hold_count += 1
                if self._hold_count == hold.at:
                    self._hold = None
                    return hold, None, random.Random(f"{self.seed}/{seq}")
        rng = random.Random(f"{self.seed}/{seq}")
        if self.rate <= 0 or (self.ops is not None and op not in self.ops):
            return None, None, rng
        if rng.random() >= self.rate:
            return None, None, rng
        kinds = [
            k for k, w in self.weights.items() if w > 0 and (k != "unprocessed" or op in BATCH_OPS)
        ]
        if not kinds:
            return None, None, rng
        kind = rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]
        with self._lock:
            self.injected[kind] += 1
        return None, kind, rng

    def handle(self, handler: _Handler, op: str, body: bytes) -> None:
        hold, kind, rng = self._admit(op)
        if hold is not None:
            self._hold_request(handler, op, body, hold)
        elif kind is None:
            self._send(handler, self._forward(handler, body))
        elif kind in _ERRORS:
            status, code, message = _ERRORS[kind]
            self._send(handler, _error_reply(status, code, message))
        elif kind == "reset":
            _reset(handler)
        elif kind == "drop":
            self._forward(handler, body)
            _reset(handler)
        elif kind == "stall":
            self._forward(handler, body)
            self._stopping.wait(self.stall_seconds)
            _reset(handler)
        else:  # unprocessed
            self._send(handler, self._partial(handler, op, body, rng))

    def _hold_request(self, handler: _Handler, op: str, body: bytes, hold: Hold) -> None:
        hold.op = op
        if hold.phase == "partial" and op == "BatchWriteItem":
            request = json.loads(body)
            table, entries = next(iter(request["RequestItems"].items()))
            if len(entries) >= 2:
                request["RequestItems"][table] = entries[: len(entries) // 2]
                body = json.dumps(request).encode()
            self._forward(handler, body)
            hold.forwarded = True
        elif hold.phase in ("after", "partial"):
            self._forward(handler, body)
            hold.forwarded = True
        hold.held.set()
        while not hold.release.wait(0.05):
            if self._stopping.is_set():
                break
        _reset(handler)

    def _partial(self, handler: _Handler, op: str, body: bytes, rng: random.Random) -> _Reply:
        """Forward a random part of a batch; hand the rest back as unprocessed."""
        request = json.loads(body)
        items = request["RequestItems"]
        table = next(iter(items))
        if op == "BatchWriteItem":
            entries = items[table]
        else:
            entries = items[table]["Keys"]
        order = list(range(len(entries)))
        rng.shuffle(order)
        keep = set(order[: rng.randrange(len(entries))])  # 0 .. len-1 entries go through
        sent = [e for i, e in enumerate(entries) if i in keep]
        rest = [e for i, e in enumerate(entries) if i not in keep]
        others = {t: v for t, v in items.items() if t != table}
        if sent or others:
            sub = dict(request)
            sub["RequestItems"] = dict(others)
            if sent:
                sub["RequestItems"][table] = (
                    sent if op == "BatchWriteItem" else {**items[table], "Keys": sent}
                )
            reply = self._forward(handler, json.dumps(sub).encode())
            if reply.status != 200:
                return reply
            answer = json.loads(reply.body or b"{}")
        else:
            answer = {}
        if op == "BatchWriteItem":
            unprocessed = answer.setdefault("UnprocessedItems", {})
            unprocessed.setdefault(table, []).extend(rest)
        else:
            answer.setdefault("Responses", {}).setdefault(table, [])
            unprocessed = answer.setdefault("UnprocessedKeys", {})
            previous = unprocessed.get(table, {}).get("Keys", [])
            unprocessed[table] = {**items[table], "Keys": previous + rest}
        return _json_reply(200, answer)

    def _forward(self, handler: _Handler, body: bytes) -> _Reply:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _SKIP_HEADERS}
        headers["Content-Length"] = str(len(body))
        return _Reply(*self.upstream.send(handler.path, body, headers))

    @staticmethod
    def _send(handler: _Handler, reply: _Reply) -> None:
        headers = [(k, v) for k, v in reply.headers if k.lower() not in _SKIP_RESPONSE_HEADERS]
        handler.write(reply.status, headers, reply.body)


def _json_reply(status: int, payload: Any, extra: list[tuple[str, str]] | None = None) -> _Reply:
    body = json.dumps(payload).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-RequestId", uuid.uuid4().hex),
        ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)),
        *(extra or []),
    ]
    return _Reply(status, headers, body)


def _error_reply(status: int, code: str, message: str) -> _Reply:
    short = code.rsplit("#", 1)[-1]
    return _json_reply(
        status, {"__type": code, "message": message}, [("x-amzn-ErrorType", f"{short}:")]
    )


def _reset(handler: _Handler) -> None:
    """Abort the client's connection with a TCP reset (SO_LINGER 0, then close)."""
    handler.close_connection = True
    sock = handler.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        fd = sock.detach()
    except OSError:
        return
    if fd >= 0:
        os.close(fd)


class _Handler(LoopbackHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        op = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target
        proxy: FaultProxy = self.owner
        try:
            proxy.handle(self, op or "?", body)
        except OSError:
            self.close_connection = True

    do_GET = do_POST  # noqa: N815 - stdlib name


FaultProxy.handler = _Handler  # the class its server runs, defined after it
