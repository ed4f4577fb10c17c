"""One cold start of one saver, in a fresh Python process: what a Lambda's first request pays.

Run by :mod:`bench.coldstart` (never imported), with the python of the saver's virtualenv::

    <venv>/bin/python bench/coldstart_sample.py --saver ours --table T \\
        --endpoint http://127.0.0.1:PROXY --region us-east-1 --scope run/ours/coldstart/3

It times, one after another, as a Lambda function's module and its first two requests do:

1. ``import``: LangGraph (``langgraph.graph``, ``langchain_core.messages``), then the
   saver's package;
2. ``init``: the saver as its README makes it on a table that exists, and the bench's chat
   graph compiled on it (the init phase of a Lambda);
3. ``first``: the first ``invoke`` of a chat turn on a new thread;
4. ``second``: the next turn on that thread (warm).

Each phase's requests go through the counting proxy under ``<scope>/<phase>`` (the proxy
counts them; the orchestrator reads its counters). Prints one line of JSON: the phases'
milliseconds, the peak RSS and the RSS after the imports. Nothing but the standard library
is imported before the clock starts, so every saver pays for the same things.

``--setup`` instead makes the saver's table (as ``bench/savers.py`` does for the other
workloads) and exits.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent

PACKAGES = {
    "ours": "langgraph_dynamodb",
    "aws": "langgraph_checkpoint_aws",
    "amazon": "langgraph_checkpoint_dynamodb",
    "ddbcp": "langgraph_dynamodb_checkpoint",
}
"""The package each saver's users import (timed in the ``import`` phase)."""

SCOPE_HEADER = "X-Bench-Scope"  # what bench/instrument.py sends and the proxy reads
CURRENT = {"scope": "-"}


def _tag_requests(endpoint_module: ModuleType) -> None:
    """Add the running phase's scope to every request botocore sends."""
    cls = endpoint_module.Endpoint
    original = cls._send

    def _send(self: Any, request: Any) -> Any:
        request.headers[SCOPE_HEADER] = CURRENT["scope"]
        return original(self, request)

    cls._send = _send


class _TagOnImport(importlib.abc.MetaPathFinder):
    """Patches ``botocore.endpoint`` when (and if) the saver imports it: importing it here
    would take botocore's import out of the saver's timings."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "botocore.endpoint":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            _tag_requests(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _load(name: str) -> ModuleType:
    """``bench/<name>.py`` by path (a peer's venv does not have the bench installed)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # LangGraph resolves state annotations by module
    spec.loader.exec_module(module)
    return module


def _rss_mb(field: str = "VmRSS") -> float | None:
    """This process's resident memory now (``VmRSS``) or at its peak (``VmHWM``), in MiB.
    Not ``getrusage``: its ``ru_maxrss`` keeps the parent's peak across ``fork`` and
    ``exec``, so every sample showed the orchestrator's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def make_saver(name: str, table: str, endpoint: str, region: str) -> Any:
    """The saver as its documentation makes it in a Lambda's init, on a table that exists."""
    if name == "ours":
        from langgraph_dynamodb import DynamoDBSaver

        # The README's Lambda advice for a sync handler: make it and call setup() in the
        # init phase, without loading the async client's model (no-op without the extra).
        saver = DynamoDBSaver(table_name=table, endpoint_url=endpoint, region_name=region)
        saver.setup(prepare_async=False)
        return saver
    if name == "aws":
        from langgraph_checkpoint_aws import DynamoDBSaver as AwsSaver

        return AwsSaver(table_name=table, region_name=region, endpoint_url=endpoint)
    # The others make (or find) their table themselves, with their defaults.
    return _load("savers").make_saver(name, table, endpoint, region)


def main() -> None:
    parser = argparse.ArgumentParser(description="One cold start of one saver.")
    parser.add_argument("--saver", required=True, choices=sorted(PACKAGES))
    parser.add_argument("--table", required=True)
    parser.add_argument("--endpoint", required=True, help="the counting proxy")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--scope", default="-", help="prefix of the phases' proxy scopes")
    parser.add_argument("--setup", action="store_true", help="only make the table")
    args = parser.parse_args()
    if args.saver == "ddbcp":
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = args.endpoint  # it takes no endpoint
    sys.meta_path.insert(0, _TagOnImport())
    if args.setup:
        _load("savers").make_saver(args.saver, args.table, args.endpoint, args.region)
        print(json.dumps({"versions": _load("runner").versions()}))
        return

    ms: dict[str, float] = {}
    cpu: dict[str, float] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    importlib.import_module("langgraph.graph")
    importlib.import_module("langgraph.graph.message")
    importlib.import_module("langchain_core.messages")
    ms["import_langgraph"] = (time.perf_counter() - started) * 1000
    mark = time.perf_counter()
    importlib.import_module(PACKAGES[args.saver])
    ms["import_saver"] = (time.perf_counter() - mark) * 1000
    ms["import"] = (time.perf_counter() - started) * 1000
    cpu["import"] = (time.process_time() - cpu_started) * 1000
    rss_import = _rss_mb()

    workloads = _load("workloads")  # the chat graph (its own imports are not timed)
    config = {"configurable": {"thread_id": f"cold-{args.scope.rsplit('/', 1)[-1]}"}}

    CURRENT["scope"] = f"{args.scope}/init"
    mark, cpu_mark = time.perf_counter(), time.process_time()
    saver = make_saver(args.saver, args.table, args.endpoint, args.region)
    graph = workloads.build_chat_graph().compile(checkpointer=saver)
    ms["init"] = (time.perf_counter() - mark) * 1000
    cpu["init"] = (time.process_time() - cpu_mark) * 1000

    for turn, phase in enumerate(("first", "second")):
        CURRENT["scope"] = f"{args.scope}/{phase}"
        mark, cpu_mark = time.perf_counter(), time.process_time()
        graph.invoke(workloads.chat_input(turn), config)
        ms[phase] = (time.perf_counter() - mark) * 1000
        cpu[phase] = (time.process_time() - cpu_mark) * 1000
    CURRENT["scope"] = "-"
    peak = _rss_mb("VmHWM")
    print(
        json.dumps(
            {
                "ms": {k: round(v, 2) for k, v in ms.items()},
                "cold_ms": round(ms["import"] + ms["init"] + ms["first"], 2),
                "cpu_ms": {k: round(v, 2) for k, v in cpu.items()},
                "cold_cpu_ms": round(cpu["import"] + cpu["init"] + cpu["first"], 2),
                "peak_rss_mb": None if peak is None else round(peak, 1),
                "rss_after_import_mb": None if rss_import is None else round(rss_import, 1),
                "modules": len(sys.modules),
            }
        )
    )


if __name__ == "__main__":
    main()
