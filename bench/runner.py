"""Run workloads on one saver, inside that saver's virtualenv; write the figures as JSON.

Started by ``python -m bench`` (one process per saver), never imported: it loads its
sibling modules by path, because a peer's venv does not have this project installed::

    <venv>/bin/python bench/runner.py --saver aws --workloads chat,fanout --sizes full \\
        --endpoint http://127.0.0.1:PROXY --direct http://127.0.0.1:DDB --out out.json

``--endpoint`` is the counting proxy (every saver request goes through it); ``--direct``
is DynamoDB Local itself, used only to scan and drop the tables afterwards (uncounted).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent

VERSION_PACKAGES = (
    "langgraph",
    "langgraph-checkpoint",
    "langchain-core",
    "boto3",
    "botocore",
    "aioboto3",
    "aiobotocore",
    "ormsgpack",
    "zstandard",
    "pydantic",
    "langgraph-dynamodb",
    "langgraph-checkpoint-aws",
    "langgraph-checkpoint-amazon-dynamodb",
    "langgraph_dynamodb_checkpoint",
    "langgraph-store-dynamodb",
    "langgraph-dynamodb-store",
    "numpy",
)


def load(name: str) -> ModuleType:
    """Load ``bench/<name>.py`` by path, registered as ``bench_<name>``."""
    module_name = f"bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # LangGraph resolves state annotations by module
    spec.loader.exec_module(module)
    return module


ddbsize = load("ddbsize")
instrument = load("instrument")
savers = load("savers")
workloads = load("workloads")
store_workloads = load("store_workloads")
cli_workloads = load("cli_workloads")
coldstart = load("coldstart")
cache_workloads = load("cache_workloads")
runs_workloads = load("runs_workloads")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 3),
        "p95_ms": round(percentile(values, 0.95) or 0.0, 3),
        "mean_ms": round(statistics.fmean(values), 3),
        "min_ms": round(min(values), 3),
        "max_ms": round(max(values), 3),
        "total_ms": round(sum(values), 3),
    }


class Harness:
    """What a workload function sees as ``h``."""

    def __init__(self, args: argparse.Namespace, workload: str, on_phase: Any = None) -> None:
        self.args = args
        self.on_phase = on_phase
        self.workload = workload
        self.saver: Any = None
        self.extra: list[Any] = []
        self.sizes = workloads.SIZES[args.sizes]
        self.result: dict[str, Any] = {"phases": {}, "notes": {}}
        self._samples: dict[str, list[float]] = {}
        self._started = time.monotonic()
        self._phase: str | None = None
        # Counters of traffic that does not go to DynamoDB (the Redis proxy of the cache
        # workload): ``take(scope)`` gives a phase's, kept as the phase's ``wire``.
        self.wire: Any = None

    state = instrument.STATE
    """The running phase's scope and simulated delay (for an in-process proxy)."""

    @staticmethod
    def load(name: str) -> ModuleType:
        """Another module of the bench, ``bench/<name>.py`` (loaded by path)."""
        return load(name)

    def table_bytes(self, table: str) -> dict[str, Any]:
        """Items and bytes of ``table`` now, every item sized as DynamoDB does (a Scan of
        DynamoDB Local itself, not counted)."""
        return table_bytes(_client(self.args.direct, self.args.region), [table])

    # --- sizes, time, facts --------------------------------------------------------------
    def size(self, key: str) -> Any:
        if key == "scale_points" and self.args.saver != "ours":
            key = "scale_points_peers"
        return self.sizes[key]

    def time_left(self) -> float:
        budget = self.sizes.get(f"{self.workload}_budget_s")
        if budget is None:
            return math.inf
        return float(budget) - (time.monotonic() - self._started)

    def note(self, key: str, value: Any) -> None:
        self.result["notes"][key] = value

    def sample(self, name: str, ms: float) -> None:
        self._samples.setdefault(name, []).append(ms)

    @contextmanager
    def spans(self) -> Iterator[list[tuple[float, float]]]:
        """Record the start and end of every request made inside (any thread or task)."""
        got: list[tuple[float, float]] = []
        instrument.STATE.spans = got
        try:
            yield got
        finally:
            instrument.STATE.spans = None

    def in_sequence(self, spans: list[tuple[float, float]]) -> int:
        return instrument.in_sequence(spans)

    def overrides(self, method: str) -> bool:
        return bool(instrument.overrides(self.saver, method))

    async def aclose_saver(self) -> None:
        await savers.aclose_saver(self.saver)

    def make_store(self, index: Any, table: str | None = None, **options: Any) -> Any:
        """Another store of this spec, with ``index``: on a table of its own, or on
        ``table`` (another store's ``table_name``), with ``options`` (ours only)."""
        if table is None:
            table = f"bench-{self.args.saver}-{self.workload}-{self.args.run_id}-{len(self.extra)}"
        store = savers.make_store(
            self.args.saver, table, self.args.endpoint, self.args.region, index, **options
        )
        self.extra.append(store)
        return store

    # --- phases ---------------------------------------------------------------------------
    def scope(self, phase: str) -> str:
        return f"{self.args.run_id}/{self.args.saver}/{self.workload}/{phase}"

    @contextmanager
    def phase(self, name: str, api: str = "sync", rtt_ms: float = 0.0) -> Iterator[None]:
        """Count and time what runs inside as phase ``name``; ``api`` is the family of
        saver methods that count as calls; ``rtt_ms`` delays every request in the proxy."""
        scope = self.scope(name)
        instrument.STATE.scope = scope
        instrument.STATE.api = api
        instrument.STATE.delay_ms = rtt_ms
        self._phase = name
        self._samples = {}
        started = time.perf_counter()
        cpu_started = time.process_time()
        error = None
        try:
            yield
        except BaseException as exc:
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise
        finally:
            wall = time.perf_counter() - started
            process_cpu = time.process_time() - cpu_started
            instrument.STATE.scope = self.scope("-")
            instrument.STATE.api = "sync"
            instrument.STATE.delay_ms = 0.0
            self.result["phases"][name] = self._collect(scope, api, wall, error)
            self.result["phases"][name]["rtt_ms"] = rtt_ms
            # All of this process's CPU in the phase: LangGraph, the saver, botocore.
            self.result["phases"][name]["process_cpu_s"] = round(process_cpu, 4)
            self._phase = None
            if self.on_phase is not None:
                self.on_phase(self.result)

    def _collect(self, scope: str, api: str, wall: float, error: str | None) -> dict[str, Any]:
        calls = instrument.CALLS.take(scope)
        proxy = fetch_stats(self.args.endpoint, scope).get(scope, {})
        ops: dict[str, Any] = {}
        for op in sorted(set(calls) | set(proxy)):
            c = calls.get(op, {"calls": 0, "ms": [], "cpu_ms": [], "rows": 0, "errors": {}})
            p = proxy.get(op, {})
            histogram = dict(p.get("requests_per_call", {}))
            zero = c["calls"] - int(p.get("calls_seen", 0))
            if zero > 0:
                histogram = {"0": zero, **histogram}
            ops[op] = {
                "calls": c["calls"],
                "rows": c["rows"],
                "call_errors": c["errors"],
                "latency": summarize(c["ms"]),
                "cpu": summarize(c.get("cpu_ms", [])),
                "requests": p.get("requests", 0),
                "requests_per_call": histogram,
                "rcu": p.get("rcu", 0.0),
                "wcu": p.get("wcu", 0.0),
                "vector_bytes": p.get("vector_bytes", 0.0),
                "targets": p.get("targets", {}),
                "errors": p.get("errors", {}),
                "items_written": p.get("items_written", 0),
                "bytes_written": p.get("bytes_written", 0),
                "written_by_kind": p.get("written_by_kind", {}),
                "items_read": p.get("items_read", 0),
                "bytes_read": p.get("bytes_read", 0),
                "request_bytes": p.get("request_bytes", 0),
                "response_bytes": p.get("response_bytes", 0),
                "upstream_ms": p.get("upstream_ms", 0.0),
            }
        wire = self.wire.take(scope) if self.wire is not None else None
        targets: dict[str, int] = {}
        for entry in ops.values():
            for target, n in entry["targets"].items():
                targets[target] = targets.get(target, 0) + n
        return {
            "api": api,
            "wall_s": round(wall, 4),
            "error": error,
            **({"wire": wire} if wire is not None else {}),
            "ops": ops,
            "samples": {k: summarize(v) for k, v in self._samples.items()},
            "totals": {
                "calls": sum(e["calls"] for o, e in ops.items() if o != "-"),
                "requests": sum(e["requests"] for e in ops.values()),
                "rcu": round(sum(e["rcu"] for e in ops.values()), 3),
                "wcu": round(sum(e["wcu"] for e in ops.values()), 3),
                "vector_bytes": round(sum(e["vector_bytes"] for e in ops.values()), 1),
                "bytes_written": sum(e["bytes_written"] for e in ops.values()),
                "bytes_read": sum(e["bytes_read"] for e in ops.values()),
                "targets": targets,
            },
        }


def fetch_stats(endpoint: str, scope: str) -> dict[str, Any]:
    url = f"{endpoint}/__bench/stats?scope={urllib.request.quote(scope)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


# --- tables -----------------------------------------------------------------------------------
def _client(endpoint: str, region: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)


def list_tables(client: Any) -> set[str]:
    names: set[str] = set()
    for page in client.get_paginator("list_tables").paginate():
        names.update(page.get("TableNames", []))
    return names


def table_bytes(client: Any, tables: list[str]) -> dict[str, Any]:
    """Scan ``tables`` and size every item as DynamoDB does."""
    items = size = 0
    by_kind: dict[str, dict[str, int]] = {}
    by_attr: dict[str, int] = {}
    largest = 0
    by_table: dict[str, dict[str, int]] = {}
    for table in tables:
        mine = by_table.setdefault(table, {"items": 0, "bytes": 0})
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                s = ddbsize.item_size(item)
                items += 1
                size += s
                mine["items"] += 1
                mine["bytes"] += s
                largest = max(largest, s)
                kind = ddbsize.item_kind(item)
                slot = by_kind.setdefault(kind, {"items": 0, "bytes": 0})
                slot["items"] += 1
                slot["bytes"] += s
                for attr, n in ddbsize.attribute_sizes(item).items():
                    by_attr[attr] = by_attr.get(attr, 0) + n
    top_attrs = dict(sorted(by_attr.items(), key=lambda kv: -kv[1])[:10])
    return {
        "tables": tables,
        "by_table": by_table,
        "items": items,
        "bytes": size,
        "bytes_with_overhead": size + ddbsize.ITEM_OVERHEAD_BYTES * items,
        "largest_item": largest,
        "by_kind": by_kind,
        "by_attribute": top_attrs,
    }


def drop_tables(client: Any, tables: list[str]) -> None:
    for table in tables:
        try:
            client.delete_table(TableName=table)
        except Exception:  # noqa: BLE001 - best effort clean-up
            pass


# --- main -------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    found = {}
    for name in VERSION_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def run_workload(
    args: argparse.Namespace, name: str, direct: Any, on_phase: Any = None
) -> dict[str, Any]:
    h = Harness(args, name, on_phase)
    table = f"bench-{args.saver}-{name}-{args.run_id}"
    h.result["table"] = table
    before = list_tables(direct)
    started = time.perf_counter()
    try:
        with h.phase("setup"):
            if args.saver in savers.CACHES:
                saver = cache_workloads.make_cache(h, table)
            else:
                saver = savers.make_saver(args.saver, table, args.endpoint, args.region)
        h.saver = instrument.instrument(saver)
        run = (
            workloads.WORKLOADS.get(name)
            or store_workloads.WORKLOADS.get(name)
            or cache_workloads.WORKLOADS.get(name)
            or runs_workloads.WORKLOADS.get(name)
            or coldstart.WORKLOADS.get(name)
            or cli_workloads.WORKLOADS[name]
        )
        run(h)
    except Exception as exc:  # noqa: BLE001 - a failing saver is a result, not a crash
        h.result["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        h.result["traceback"] = traceback.format_exc()[-3000:]
        log(f"[{args.saver}] {name}: {h.result['error']}")
    finally:
        h.result["wall_s"] = round(time.perf_counter() - started, 3)
        for opened in [h.saver, *h.extra]:
            if opened is not None:
                savers.close_saver(opened)
        if h.wire is not None:
            h.wire.close()
    created = sorted(list_tables(direct) - before)
    try:
        h.result["storage"] = table_bytes(direct, created)
    except Exception as exc:  # noqa: BLE001
        h.result["storage"] = {"error": f"{type(exc).__name__}: {exc}"}
    if not args.keep_tables:
        drop_tables(direct, created)
    return h.result


def main() -> None:
    parser = argparse.ArgumentParser(description="Run benchmark workloads on one saver.")
    parser.add_argument("--saver", required=True)
    parser.add_argument("--workloads", required=True, help="comma-separated names")
    parser.add_argument("--sizes", default="full", choices=sorted(workloads.SIZES))
    parser.add_argument("--endpoint", required=True, help="the counting proxy")
    parser.add_argument("--direct", required=True, help="DynamoDB Local itself")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--run-id", default=workloads.new_run_id())
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep-tables", action="store_true")
    args = parser.parse_args()

    patched = instrument.install_http_tagging()
    direct = _client(args.direct, args.region)
    out: dict[str, Any] = {
        "saver": args.saver,
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": versions(),
        "patched": patched,
        "sizes": args.sizes,
        "workloads": {},
    }

    def save() -> None:
        tmp = Path(args.out + ".part")
        tmp.write_text(json.dumps(out, indent=1, default=str))
        tmp.replace(args.out)

    for name in args.workloads.split(","):
        log(f"[{args.saver}] {name} ...")
        started = time.perf_counter()

        def partial(result: dict[str, Any], name: str = name) -> None:
            # So that a workload stopped for taking too long keeps its finished phases.
            out["workloads"][name] = {**result, "partial": True}
            save()

        out["workloads"][name] = run_workload(args, name, direct, partial)
        log(f"[{args.saver}] {name} done in {time.perf_counter() - started:.1f} s")
        save()


if __name__ == "__main__":
    os.environ.setdefault("AGENTSTATE_QUIET", "1")
    main()
