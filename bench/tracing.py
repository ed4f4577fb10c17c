"""``python -m bench --workloads tracing``: the CPU cost of observability per saver call.

Runs the same calls (``put`` of a small checkpoint, then ``get_tuple`` of the latest) on
DynamoDB Local in one process per mode, and prints the calling thread's CPU time per call
(median of rounds), side by side:

- ``absent``: OpenTelemetry cannot be imported (what a user without the extra runs);
- ``api``: ``opentelemetry-api`` installed, no tracer provider set (spans are no-ops);
- ``sdk``: the SDK's tracer provider, every span recorded and batched to an exporter that
  drops it (the cost of tracing itself, without any network);
- ``sdk+metrics``: the same, plus :class:`~langgraph_dynamodb.otel.OpenTelemetryMetrics`;
- ``baseline`` (with ``--baseline REV``): mode ``absent`` on the library as it was at
  git revision ``REV``, e.g. the commit before the instrumentation.

It writes ``bench/results/tracing.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
MODES = ("absent", "api", "sdk", "sdk+metrics")
REGION = "us-east-1"


def _child(mode: str, endpoint: str, calls: int, rounds: int) -> dict[str, Any]:
    """Measure in this process (run as ``python bench/tracing.py --child MODE``)."""
    if mode in ("absent", "baseline"):
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]  # import fails
    from langgraph.checkpoint.base import empty_checkpoint

    from langgraph_dynamodb import DynamoDBSaver

    if mode.startswith("sdk"):
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Drop(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        trace.set_tracer_provider(provider)
    table = f"tracing-{uuid.uuid4().hex[:8]}"
    saver = DynamoDBSaver(table_name=table, endpoint_url=endpoint, region_name=REGION)
    saver.setup(prepare_async=False)
    if mode == "sdk+metrics":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from langgraph_dynamodb.otel import OpenTelemetryMetrics

        OpenTelemetryMetrics(MeterProvider(metric_readers=[InMemoryMetricReader()])).attach(saver)
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    per_round: list[float] = []
    for r in range(rounds + 1):  # round 0 warms up and is dropped
        cpu = 0.0
        for i in range(calls):
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"messages": [f"message {r}-{i}"]}
            start = time.thread_time()
            config = saver.put(config, checkpoint, {"step": i}, {})
            saver.get_tuple(config)
            cpu += time.thread_time() - start
        if r:
            per_round.append(cpu / (2 * calls) * 1e6)
    saver.close()
    import langgraph_dynamodb

    return {"mode": mode, "us_per_call": per_round, "library": langgraph_dynamodb.__file__}


def _run_mode(
    mode: str, endpoint: str, calls: int, rounds: int, src: Path | None = None
) -> dict[str, Any]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, str(Path(__file__)), "--child", mode, "--endpoint", endpoint]
    cmd += ["--calls", str(calls), "--rounds", str(rounds)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _baseline_src(rev: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT.parent), "worktree", "add", "--detach", str(into), rev],
        check=True,
        capture_output=True,
    )
    return into / "src"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --workloads tracing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=300, help="calls of each kind per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", help="also measure this git revision (mode absent)")
    parser.add_argument("--quick", action="store_true")
    args, _ = parser.parse_known_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.endpoint, args.calls, args.rounds)))
        return 0
    if args.quick:
        args.calls, args.rounds = 100, 3
    from langgraph_dynamodb.local import DynamoDBLocal

    results: list[dict[str, Any]] = []
    with DynamoDBLocal() as ddb, tempfile.TemporaryDirectory() as tmp:
        baseline = _baseline_src(args.baseline, Path(tmp) / "base") if args.baseline else None
        try:
            order = [*MODES, *(["baseline"] if baseline else [])]
            # Two passes in alternating order, so drift of the machine bills every mode.
            for pass_ in range(2):
                for mode in order if pass_ == 0 else reversed(order):
                    src = baseline if mode == "baseline" else None
                    print(f"[tracing] {mode} ...", file=sys.stderr, flush=True)
                    results.append(_run_mode(mode, ddb.endpoint_url, args.calls, args.rounds, src))
        finally:
            if baseline is not None:
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT.parent),
                        "worktree",
                        "remove",
                        "--force",
                        str(baseline.parent),
                    ],
                    check=False,
                    capture_output=True,
                )
    by_mode: dict[str, list[float]] = {}
    for r in results:
        by_mode.setdefault(r["mode"], []).extend(r["us_per_call"])
    ref = statistics.median(by_mode["baseline" if "baseline" in by_mode else "absent"])
    command = "python -m bench --workloads tracing"
    if args.baseline:
        command += f" --baseline {args.baseline}"
    lines = [
        "# CPU per saver call (put + get_tuple on DynamoDB Local, calling thread)",
        "",
        f"`{command}`, {args.calls} calls of each kind x {args.rounds} rounds x 2 passes per mode.",
        "",
        "| mode | median µs/call | min | max | vs reference |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, values in by_mode.items():
        med = statistics.median(values)
        lines.append(
            f"| {mode} | {med:.0f} | {min(values):.0f} | {max(values):.0f} | {med / ref:.3f}x |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tracing.json").write_text(
        json.dumps({"args": vars(args), "runs": results}, indent=1)
    )
    (RESULTS / "tracing.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT.parent))
    raise SystemExit(main())
