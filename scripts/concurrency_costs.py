"""Where the CPU of workload (e) goes: per ainvoke, the client's, DynamoDB Local's and the
bench proxies', and the requests an ainvoke sends, by operation, for each saver asked.

The bench's (e) gives runs per second and the client's CPU only; on a machine where
DynamoDB Local and the bench's proxies share the cores with the client, the runs per
second are bounded by everyone's CPU. This script starts DynamoDB Local, the vector-index
emulator and the counting proxy (each proxy in a process of its own, so its CPU is its
own), then runs the (e) graph (the chat turn for a checkpointer, the memory agent for a
store) ``--runs`` at once, ``--repeats`` times after ``--warm`` discarded rounds, in each
saver's own venv (as ``python -m bench`` does), and reads every process's CPU time from
``/proc`` around each round (Linux only)::

    python scripts/concurrency_costs.py --only ours,amazon --runs 32 --repeats 10
    python scripts/concurrency_costs.py --only ours-store,aws-store --runs 32,256
    python scripts/concurrency_costs.py --only ours,ours:pool=10,amazon
    python scripts/concurrency_costs.py --only ours,ours:freeze,amazon,amazon:freeze --runs 256

A variant after a colon, ``+`` between two: ``ours:pool=N`` (or ``ours-store:pool=N``) is
ours with a pool of N connections (:data:`langgraph_dynamodb.limits.MAX_POOL_CONNECTIONS`)
instead of the default; ``<any spec>:freeze`` calls ``gc.freeze()`` after one ainvoke,
before the rounds (what docs/async.md suggests to a service), e.g. ``amazon:freeze``.

A saver named twice is measured twice, in that order (the second column numbered): the
first saver to run pays for DynamoDB Local's warm-up, so alternate them. Peers' venvs come
from ``bench/.venvs`` (``--venvs`` elsewhere; ``python -m bench`` makes them). Every figure
is per ainvoke: the median over the repeats of a round's figure over its runs. CPU times
come in clock ticks (10 ms), a third of a millisecond per ainvoke in a round of 32.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


# --- the child: one saver, in its venv --------------------------------------------------
def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def child(args: argparse.Namespace) -> None:
    """Run the rounds on one saver and print their figures as JSON."""
    runner = _load("runner")  # loads the bench's modules by path, as in a bench runner
    instrument, savers, workloads = runner.instrument, runner.savers, runner.workloads
    instrument.install_http_tagging()
    pids = {"java": args.java_pid, "proxy": args.proxy_pid, "emulator": args.emulator_pid}
    table = f"costs-{args.saver}-{os.getpid()}"
    if args.pool is not None:  # a variant of ours: another pool size
        from langgraph_dynamodb import limits

        limits.MAX_POOL_CONNECTIONS = args.pool
    is_store = args.saver in savers.STORES
    saver = instrument.instrument(savers.make_saver(args.saver, table, args.endpoint, "us-east-1"))
    if is_store:
        graph = workloads.build_memory_graph().compile(store=saver)
    else:
        graph = workloads.build_chat_graph().compile(checkpointer=saver)

    def run_input(i: int, tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
        config = {"configurable": {"thread_id": f"{tag}-{i}"}}
        if is_store:
            return {"user": f"user-{i % 32:02d}", "turn": i, "recalled": 0}, config
        return workloads.chat_input(i), config

    async def rounds() -> list[dict[str, Any]]:
        out = []
        if args.freeze:  # what the application does once its saver and graph are built
            await graph.ainvoke(*run_input(0, f"costs/{args.saver}/{os.getpid()}/freeze"))
            gc.freeze()
        instrument.STATE.api = "async"
        instrument.STATE.delay_ms = args.rtt
        for n in args.runs:
            for rep in range(args.warm + args.repeats):
                tag = f"costs/{args.saver}/{os.getpid()}/{n}/{rep}"
                instrument.STATE.scope = tag
                before = {k: cpu_s(p) for k, p in pids.items()} | {"client": time.process_time()}
                started = time.perf_counter()
                done = await asyncio.gather(
                    *(graph.ainvoke(*run_input(i, tag)) for i in range(n)), return_exceptions=True
                )
                wall = time.perf_counter() - started
                after = {k: cpu_s(p) for k, p in pids.items()} | {"client": time.process_time()}
                stats = runner.fetch_stats(args.endpoint, tag).get(tag, {})
                targets: dict[str, int] = {}
                for op in stats.values():
                    for target, count in op.get("targets", {}).items():
                        targets[target] = targets.get(target, 0) + count
                if rep < args.warm:
                    continue
                out.append(
                    {
                        "runs": n,
                        "wall_s": wall,
                        "errors": sum(isinstance(r, BaseException) for r in done),
                        "cpu_s": {k: after[k] - before[k] for k in after},
                        "requests": targets,
                        "upstream_ms": sum(op.get("upstream_ms", 0.0) for op in stats.values()),
                        "request_bytes": sum(op.get("request_bytes", 0) for op in stats.values()),
                        "response_bytes": sum(op.get("response_bytes", 0) for op in stats.values()),
                    }
                )
        await savers.aclose_saver(saver)
        return out

    print(json.dumps(asyncio.run(rounds())))


# --- the parent: servers, one child per saver, the table --------------------------------
def _serve(kind: str, upstream: str, conn: Any) -> None:
    """A proxy in a process of its own; sends back its endpoint, serves until killed."""
    if kind == "proxy":
        from bench.proxy import CountingProxy as Server
    else:
        from langgraph_dynamodb.vector_emulator import VectorSearchEmulator as Server
    server = Server(upstream).start()
    conn.send(server.endpoint_url)
    import threading

    threading.Event().wait()


def _python(spec: Any, venvs: Path) -> str:
    if spec.venv is None:
        return sys.executable
    python = venvs / spec.venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"no venv for {spec.name} at {python}: run python -m bench once first")
    return str(python)


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per ainvoke figures of one saver at one number of runs (medians over the rounds)."""
    n = rounds[0]["runs"]
    med = statistics.median

    def per_run_ms(key: str) -> float:
        return med(r["cpu_s"][key] for r in rounds) * 1000 / n

    kinds = sorted({t for r in rounds for t in r["requests"]})
    return {
        "runs": n,
        "ainvokes_per_s": n / med(r["wall_s"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "cpu_ms": {k: per_run_ms(k) for k in ("client", "java", "proxy", "emulator")},
        "requests": {
            k.removeprefix("DynamoDB_20120810."): med(r["requests"].get(k, 0) for r in rounds) / n
            for k in kinds
        },
        "upstream_ms": med(r["upstream_ms"] / max(sum(r["requests"].values()), 1) for r in rounds),
        "kb_sent": med(r["request_bytes"] for r in rounds) / n / 1000,
        "kb_received": med(r["response_bytes"] for r in rounds) / n / 1000,
    }


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    """The Markdown table of every saver's summaries."""
    cols = [(name, s) for name, sums in results.items() for s in sums]
    head = "| per ainvoke | " + " | ".join(f"{name} @{s['runs']}" for name, s in cols) + " |"
    rows = [
        ("ainvokes/s", lambda s: f"{s['ainvokes_per_s']:.1f}"),
        ("client CPU ms", lambda s: f"{s['cpu_ms']['client']:.2f}"),
        ("DynamoDB Local CPU ms", lambda s: f"{s['cpu_ms']['java']:.2f}"),
        ("counting proxy CPU ms", lambda s: f"{s['cpu_ms']['proxy']:.2f}"),
        ("vector emulator CPU ms", lambda s: f"{s['cpu_ms']['emulator']:.2f}"),
        ("all CPU ms", lambda s: f"{sum(s['cpu_ms'].values()):.2f}"),
        (
            "requests",
            lambda s: ", ".join(f"{v:g} {k}" for k, v in s["requests"].items()),
        ),
        ("KB sent / received", lambda s: f"{s['kb_sent']:.2f} / {s['kb_received']:.2f}"),
        ("ms a request upstream of the counting proxy", lambda s: f"{s['upstream_ms']:.2f}"),
        ("runs that raised", lambda s: str(s["errors"])),
    ]
    lines = [head, "|---" * (len(cols) + 1) + "|"]
    lines += ["| " + name + " | " + " | ".join(f(s) for _, s in cols) + " |" for name, f in rows]
    return "\n".join(lines)


def parent(args: argparse.Namespace) -> None:
    import multiprocessing

    sys.path.insert(0, str(ROOT))
    from bench.cli import runner_env, warm_up
    from bench.savers import resolve

    from langgraph_dynamodb.local import DynamoDBLocal

    names = args.only.split(",")
    specs = [resolve(name.partition(":")[0]) for name in names]
    pythons = {spec.name: _python(spec, args.venvs) for spec in specs}
    results: dict[str, list[dict[str, Any]]] = {}
    raw: dict[str, list[dict[str, Any]]] = {}
    ctx = multiprocessing.get_context("spawn")
    with DynamoDBLocal() as ddb:
        assert ddb.process is not None
        servers = []
        upstream = ddb.endpoint_url
        for kind in ("emulator", "proxy"):
            here, there = ctx.Pipe()
            process = ctx.Process(target=_serve, args=(kind, upstream, there), daemon=True)
            process.start()
            upstream = here.recv()
            servers.append(process)
        emulator, proxy = servers
        try:
            warm_up(ddb.endpoint_url, args.warm_s)
            for name, spec in zip(names, specs, strict=True):
                variant = dict(
                    v.partition("=")[::2] for v in name.partition(":")[2].split("+") if v
                )
                command = [
                    pythons[spec.name],
                    __file__,
                    "--child",
                    "--saver",
                    spec.name,
                    "--endpoint",
                    upstream,
                    "--java-pid",
                    str(ddb.process.pid),
                    "--proxy-pid",
                    str(proxy.pid),
                    "--emulator-pid",
                    str(emulator.pid),
                    "--runs",
                    ",".join(map(str, args.runs)),
                    "--repeats",
                    str(args.repeats),
                    "--warm",
                    str(args.warm),
                    "--rtt",
                    str(args.rtt),
                    *(["--pool", variant["pool"]] if "pool" in variant else []),
                    *(["--freeze"] if "freeze" in variant else []),
                ]
                print(f"{name} ...", file=sys.stderr, flush=True)
                done = subprocess.run(
                    command, env=runner_env(), capture_output=True, text=True, check=False
                )
                if done.returncode:
                    raise SystemExit(f"{spec.name} failed:\n{done.stderr[-3000:]}")
                rounds = json.loads(done.stdout.strip().splitlines()[-1])
                key = name if name not in results else f"{name} ({len(results)})"
                raw[key] = rounds
                results[key] = [summarize([r for r in rounds if r["runs"] == n]) for n in args.runs]
        finally:
            for process in servers:
                process.kill()
                process.join()
    print(f"{args.rtt:g} ms simulated round trip; {args.repeats} rounds each (medians)")
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": results, "rounds": raw}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="ours,amazon", help="comma-separated bench specs")
    parser.add_argument("--runs", default="32", help="comma-separated runs at once")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warm", type=int, default=3, help="rounds discarded first")
    parser.add_argument("--rtt", type=float, default=0.0, help="simulated round trip, ms")
    parser.add_argument("--warm-s", type=float, default=20.0, help="DynamoDB Local's warm-up")
    parser.add_argument("--venvs", type=Path, default=ROOT / "bench" / ".venvs")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--freeze", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--saver", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    for name in ("java", "proxy", "emulator"):
        parser.add_argument(f"--{name}-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.runs = [int(n) for n in str(args.runs).split(",")]
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
