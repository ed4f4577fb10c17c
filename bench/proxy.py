"""A counting HTTP proxy in front of DynamoDB Local (stdlib only).

Every DynamoDB JSON request is forwarded unchanged except for one field: operations that
accept ``ReturnConsumedCapacity`` get ``"TOTAL"`` (unless the client asked for ``TOTAL``
or ``INDEXES`` already), so DynamoDB's own capacity figures are known for every saver,
whether or not it asks. DynamoDB Local does not check request signatures (verified:
a request whose body no longer matches its SigV4 signature, or with ``Signature=0``, is
served), so editing the body is safe; it does partition data by access key id and region,
so every client of one run must use the same ones.

Responses are passed back byte for byte (their ``x-amz-crc32`` stays valid). From each
response the proxy reads ``ConsumedCapacity`` and the sizes of the items returned; from
each write request the sizes of the items written.

Counters are kept per *scope* and per *saver operation*, which the benchmark's runner
sends in two headers the proxy strips before forwarding:

- ``X-Bench-Scope``: the saver, workload and phase (e.g. ``ours/chat/graph``);
- ``X-Bench-Op``: ``<operation>#<call id>`` of the outermost saver method on the stack
  (``put#17``), so requests are attributed to the saver call that made them, even
  when calls overlap in threads or tasks.

A third header, ``X-Bench-Delay-Ms``, makes the proxy wait that long before forwarding,
to simulate a network round trip (DynamoDB in the same region answers in a few ms; on
loopback the "wait" would otherwise be the JVM's CPU time, competing with the client).

``GET /__bench/stats?scope=<prefix>`` returns the counters of every scope starting with
the prefix as JSON; ``POST /__bench/reset`` clears them.

Run standalone: ``python -m bench.proxy --upstream http://127.0.0.1:8000 --port 8001``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.parse
from collections import defaultdict
from typing import Any

from langgraph_dynamodb._loopback import LoopbackHandler, LoopbackServer, Upstream

try:  # imported as part of the ``bench`` package or run as a script
    from bench.ddbsize import item_kind, item_size
except ImportError:  # pragma: no cover - script mode
    from ddbsize import item_kind, item_size  # type: ignore[no-redef]

SCOPE_HEADER = "X-Bench-Scope"
OP_HEADER = "X-Bench-Op"
DELAY_HEADER = "X-Bench-Delay-Ms"
TARGET_PREFIX = "DynamoDB_20120810."

CAPACITY_OPS = frozenset(
    {
        "BatchGetItem",
        "BatchWriteItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
        "UpdateItem",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
        "SearchVectors",
    }
)
"""Operations that accept ``ReturnConsumedCapacity``."""

READ_OPS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
WRITE_OPS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "server", "date"}
)


def _new_op() -> dict[str, Any]:
    return {
        "requests": 0,
        "rcu": 0.0,
        "wcu": 0.0,
        "vector_bytes": 0.0,
        "targets": defaultdict(int),
        "errors": defaultdict(int),
        "items_written": 0,
        "bytes_written": 0,
        "items_read": 0,
        "bytes_read": 0,
        "request_bytes": 0,
        "response_bytes": 0,
        "upstream_ms": 0.0,
        "per_call": defaultdict(int),
        "written_by_kind": defaultdict(lambda: [0, 0]),
    }


class Counters:
    """Thread-safe counters per scope and per saver operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, dict[str, dict[str, Any]]] = {}

    def reset(self) -> None:
        with self._lock:
            self._scopes.clear()

    def record(
        self,
        scope: str,
        op_tag: str,
        target: str,
        status: int,
        request: dict[str, Any] | None,
        response: dict[str, Any] | None,
        request_bytes: int,
        response_bytes: int,
        upstream_ms: float,
    ) -> None:
        op, _, call_id = op_tag.partition("#")
        rcu, wcu = _capacity(target, response)
        written = _written_items(target, request)
        read = _read_items(target, response) if status == 200 else []
        with self._lock:
            ops = self._scopes.setdefault(scope, {})
            entry = ops.get(op)
            if entry is None:
                entry = ops[op] = _new_op()
            entry["requests"] += 1
            entry["targets"][target] += 1
            entry["rcu"] += rcu
            entry["wcu"] += wcu
            entry["vector_bytes"] += _vector_bytes(response)
            entry["request_bytes"] += request_bytes
            entry["response_bytes"] += response_bytes
            entry["upstream_ms"] += upstream_ms
            if status != 200:
                code = (response or {}).get("__type", str(status))
                entry["errors"][str(code).rsplit("#", 1)[-1]] += 1
            if status == 200:
                for kind, size in written:
                    entry["items_written"] += 1
                    entry["bytes_written"] += size
                    slot = entry["written_by_kind"][kind]
                    slot[0] += 1
                    slot[1] += size
            for size in read:
                entry["items_read"] += 1
                entry["bytes_read"] += size
            if call_id:
                entry["per_call"][call_id] += 1

    def snapshot(self, prefix: str = "") -> dict[str, Any]:
        """Counters of every scope starting with ``prefix``, as plain JSON data.

        ``per_call`` becomes a histogram: requests per call -> number of calls (calls
        that made no request are not seen here; the runner adds them).
        """
        with self._lock:
            out: dict[str, Any] = {}
            for scope, ops in self._scopes.items():
                if not scope.startswith(prefix):
                    continue
                out[scope] = {}
                for op, e in ops.items():
                    histogram: dict[int, int] = defaultdict(int)
                    for n in e["per_call"].values():
                        histogram[n] += 1
                    out[scope][op] = {
                        "requests": e["requests"],
                        "rcu": round(e["rcu"], 3),
                        "wcu": round(e["wcu"], 3),
                        "vector_bytes": round(e["vector_bytes"], 1),
                        "targets": dict(e["targets"]),
                        "errors": dict(e["errors"]),
                        "items_written": e["items_written"],
                        "bytes_written": e["bytes_written"],
                        "items_read": e["items_read"],
                        "bytes_read": e["bytes_read"],
                        "request_bytes": e["request_bytes"],
                        "response_bytes": e["response_bytes"],
                        "upstream_ms": round(e["upstream_ms"], 2),
                        "calls_seen": len(e["per_call"]),
                        "requests_per_call": {str(k): v for k, v in sorted(histogram.items())},
                        "written_by_kind": {
                            k: {"items": v[0], "bytes": v[1]}
                            for k, v in e["written_by_kind"].items()
                        },
                    }
            return out


def _capacity(target: str, response: dict[str, Any] | None) -> tuple[float, float]:
    if not response:
        return 0.0, 0.0
    consumed = response.get("ConsumedCapacity")
    if consumed is None:
        return 0.0, 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    rcu = wcu = 0.0
    for entry in entries:
        if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
            rcu += float(entry.get("ReadCapacityUnits", 0.0))
            wcu += float(entry.get("WriteCapacityUnits", 0.0))
        elif target in READ_OPS:
            rcu += float(entry.get("CapacityUnits", 0.0))
        elif target in WRITE_OPS:
            wcu += float(entry.get("CapacityUnits", 0.0))
    return rcu, wcu


def _vector_bytes(response: dict[str, Any] | None) -> float:
    """What a SearchVectors answer says it examined (``VectorSearchRequestBytes``)."""
    consumed = (response or {}).get("ConsumedCapacity")
    if not isinstance(consumed, dict):
        return 0.0
    return float(consumed.get("VectorSearchRequestBytes", 0.0) or 0.0)


def _written_items(target: str, request: dict[str, Any] | None) -> list[tuple[str, int]]:
    if not request:
        return []
    items: list[dict[str, Any]] = []
    if target == "PutItem" and "Item" in request:
        items.append(request["Item"])
    elif target == "BatchWriteItem":
        for writes in (request.get("RequestItems") or {}).values():
            for write in writes:
                if "PutRequest" in write:
                    items.append(write["PutRequest"]["Item"])
    elif target == "TransactWriteItems":
        for write in request.get("TransactItems") or []:
            if "Put" in write:
                items.append(write["Put"]["Item"])
    return [(item_kind(item), item_size(item)) for item in items]


def _read_items(target: str, response: dict[str, Any] | None) -> list[int]:
    if not response:
        return []
    if target in ("Query", "Scan"):
        return [item_size(i) for i in response.get("Items") or []]
    if target == "GetItem":
        return [item_size(response["Item"])] if response.get("Item") else []
    if target == "BatchGetItem":
        return [item_size(i) for items in (response.get("Responses") or {}).values() for i in items]
    if target == "TransactGetItems":
        return [item_size(r["Item"]) for r in response.get("Responses") or [] if r.get("Item")]
    return []


def _inject_capacity(target: str, body: dict[str, Any]) -> bool:
    """Ask for ``TOTAL`` capacity if the client did not ask; True if the body changed."""
    if target not in CAPACITY_OPS:
        return False
    if body.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        return False
    body["ReturnConsumedCapacity"] = "TOTAL"
    return True


class _Handler(LoopbackHandler):
    @property
    def proxy(self) -> CountingProxy:
        found: CountingProxy = self.owner
        return found

    # --- control endpoints ----------------------------------------------------------------
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__bench/stats":
            query = urllib.parse.parse_qs(url.query)
            prefix = query.get("scope", [""])[0]
            self._reply(200, json.dumps(self.proxy.counters.snapshot(prefix)).encode())
        elif url.path == "/__bench/ping":
            self._reply(200, b'{"ok":true}')
        else:
            self._reply(404, b'{"error":"unknown path"}')

    # --- DynamoDB traffic -------------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path.startswith("/__bench/reset"):
            self.proxy.counters.reset()
            self._reply(200, b'{"ok":true}')
            return
        target_header = self.headers.get("X-Amz-Target", "")
        target = target_header.removeprefix(TARGET_PREFIX)
        scope = self.headers.get(SCOPE_HEADER, "-")
        op_tag = self.headers.get(OP_HEADER, "-")
        request: dict[str, Any] | None = None
        body = raw
        try:
            request = json.loads(raw) if raw else {}
        except ValueError:
            request = None
        if isinstance(request, dict) and _inject_capacity(target, request):
            body = json.dumps(request, separators=(",", ":")).encode()
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in _HOP_BY_HOP
            and k.lower()
            not in (
                "content-length",
                "host",
                SCOPE_HEADER.lower(),
                OP_HEADER.lower(),
                DELAY_HEADER.lower(),
            )
        }
        delay = float(self.headers.get(DELAY_HEADER) or 0)
        if delay > 0:
            time.sleep(delay / 1000)
        headers["Content-Length"] = str(len(body))
        started = time.perf_counter()
        try:
            status, resp_headers, resp_body = self.proxy.upstream.send(self.path, body, headers)
        except OSError as exc:
            self._reply(
                502, json.dumps({"__type": "BenchProxyError", "message": str(exc)}).encode()
            )
            return
        upstream_ms = (time.perf_counter() - started) * 1000
        response: dict[str, Any] | None
        try:
            response = json.loads(resp_body) if resp_body else {}
        except ValueError:
            response = None
        self.proxy.counters.record(
            scope,
            op_tag,
            target,
            status,
            request if isinstance(request, dict) else None,
            response if isinstance(response, dict) else None,
            len(body),
            len(resp_body),
            upstream_ms,
        )
        headers_out = [
            (k, v)
            for k, v in resp_headers
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
        ]
        self.write(status, headers_out, resp_body)

    def _reply(self, status: int, body: bytes) -> None:
        self.write(status, [("Content-Type", "application/json")], body)


class CountingProxy(LoopbackServer):
    """The proxy on a loopback port, served by a background thread.

    Example:
        ```python
        with DynamoDBLocal() as ddb, CountingProxy(ddb.endpoint_url) as proxy:
            client = boto3.client("dynamodb", endpoint_url=proxy.endpoint_url, ...)
            ...
            print(proxy.counters.snapshot())
        ```
    """

    handler = _Handler
    thread_name = "bench-proxy"

    def __init__(self, upstream: str, port: int = 0) -> None:
        super().__init__(port)
        self.upstream = Upstream(upstream)
        self.counters = Counters()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--upstream", required=True, help="DynamoDB endpoint to forward to")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with CountingProxy(args.upstream, args.port) as proxy:
        print(f"counting proxy on {proxy.endpoint_url} -> {args.upstream}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
