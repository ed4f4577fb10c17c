"""``python -m bench``: run the workloads on our saver and the peers, side by side.

Starts DynamoDB Local and the counting proxy, makes (once) a venv per peer, runs each
saver's workloads in its own process (one saver after another, so they do not compete
for the 2 cores), then prints the tables, writes ``bench/results/latest.json`` and draws
``bench/results/latest.png``.

Examples::

    python -m bench                         # everything, full sizes (~15-20 min on 2 cores)
    python -m bench --quick                 # smaller sizes, a few minutes
    python -m bench --only ours --workloads a,b
    python -m bench --only aws,ours --workloads chat,scale --out /tmp/x.json
    python -m bench --workloads tracing     # CPU per call with and without OpenTelemetry
    python -m bench --workloads cache --out bench/results/cache.json   # the node caches
    python -m bench --workloads runs --out bench/results/runs.json     # delete_for_runs
    python -m bench --only ours,aws,amazon,ddbcp --workloads i      # Lambda cold starts
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.proxy import CountingProxy
from bench.savers import CACHES, OPTIONAL, RUNS, SAVERS, STORES, SaverSpec, resolve

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
REGION = "us-east-1"
CHECKPOINT_WORKLOADS = (
    "chat",
    "fanout",
    "scale",
    "large",
    "concurrent",
    "delta",
    "cpu",
    "rtt",
    "coldstart",
)
ALL_WORKLOADS = (
    *CHECKPOINT_WORKLOADS,
    "store",
    "semantic_limit",
    "memory_scale",
    "cli",
    "cache",
    "runs",
)
LETTERS = {
    "a": "chat",
    "b": "fanout",
    "c": "scale",
    "d": "large",
    "e": "concurrent",
    "f": "delta",
    "g": "cpu",
    "h": "rtt",
    "i": "coldstart",
    "s": "store",
    "l": "semantic_limit",
    "v": "memory_scale",
    "k": "cli",
    "n": "cache",
    "r": "runs",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_workloads(text: str | None) -> list[str]:
    if not text:
        return list(ALL_WORKLOADS)
    names = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        name = LETTERS.get(part, part)
        if name not in ALL_WORKLOADS:
            raise SystemExit(
                f"unknown workload {part!r}; use letters a-i, s, l, v, k, n, r or "
                f"{', '.join(ALL_WORKLOADS)}"
            )
        if name not in names:
            names.append(name)
    return names


def parse_savers(text: str | None) -> list[SaverSpec]:
    if not text:
        return list(SAVERS.values())
    try:
        specs = [resolve(part) for part in text.split(",") if part.strip()]
    except KeyError as exc:
        raise SystemExit(str(exc.args[0])) from None
    return list({spec.name: spec for spec in specs}.values())


# --- machine ---------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
        info["memory_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, AttributeError):
        pass
    try:
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        if cpu:
            info["cpu"] = cpu.group(1).strip()
    except OSError:
        pass
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
        info["java"] = (java.stderr or java.stdout).splitlines()[0]
    except (OSError, IndexError):
        pass
    return info


def _loadavg() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine skews timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def dynamodb_local_version() -> str:
    from langgraph_dynamodb.local import find_jar_dir, install

    jar_dir = find_jar_dir() or install()
    readme = jar_dir / "README.txt"
    if readme.is_file():
        found = re.search(r"\d{4}-\d{2}-\d{2} \((\d+\.\d+\.\d+)\)", readme.read_text())
        if found:
            return found.group(1)
    return jar_dir.name


def git_revision() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return rev + ("+dirty(src)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _size_table(name: str) -> dict[str, Any]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_workloads_sizes", ROOT / "workloads.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return dict(module.SIZES[name])


# --- DynamoDB Local warm-up -------------------------------------------------------------------
def warm_up(endpoint: str, seconds: float) -> None:
    """Exercise DynamoDB Local's JIT before the first saver runs, so it does not pay for it."""
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",  # placeholders: DynamoDB Local checks no credentials
        aws_secret_access_key="local",
    )
    table = "bench-warmup"
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    deadline = time.monotonic() + seconds
    key = {"pk": {"S": "w"}}
    i = 0
    while time.monotonic() < deadline:
        sk = {"S": f"{i:06}"}
        client.put_item(TableName=table, Item={**key, "sk": sk, "v": {"B": b"x" * 3000}})
        client.put_item(
            TableName=table,
            Item={**key, "sk": {"S": f"c{i:06}"}, "v": {"B": b"y" * 900}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnConsumedCapacity="TOTAL",
        )
        client.get_item(TableName=table, Key={**key, "sk": sk}, ConsistentRead=True)
        client.query(
            TableName=table,
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": {"S": "w"}, ":s": {"S": "0"}},
            ScanIndexForward=False,
            Limit=4,
            ConsistentRead=True,
        )
        client.update_item(
            TableName=table,
            Key={**key, "sk": sk},
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": str(i)}},
        )
        if i % 10 == 0:
            client.batch_write_item(
                RequestItems={
                    table: [
                        {"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"S": f"{i}-{j}"}}}}
                        for j in range(25)
                    ]
                }
            )
            client.batch_get_item(
                RequestItems={
                    table: {
                        "Keys": [
                            {**key, "sk": {"S": f"{j:06}"}} for j in range(max(0, i - 20), i + 1)
                        ]
                    }
                }
            )
            client.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "w"}},
            )
        i += 1
    client.delete_table(TableName=table)
    client.close()


# --- programs some specs need -----------------------------------------------------------------
def _optional(
    plan: list[tuple[SaverSpec, list[str]]], root: Path
) -> tuple[list[tuple[SaverSpec, list[str]]], dict[str, str], dict[str, Any]]:
    """``plan`` without the specs that cannot run here (their program is missing or their
    venv cannot be made), the reasons for those, and the venvs made for the others."""
    from bench.venvs import ensure

    kept: list[tuple[SaverSpec, list[str]]] = []
    skipped: dict[str, str] = {}
    venvs: dict[str, Any] = {}
    for spec, wls in plan:
        program = OPTIONAL.get(spec.name)
        if program is None:
            kept.append((spec, wls))
            continue
        if shutil.which(program) is None:
            skipped[spec.name] = f"no {program} on this machine (Debian: apt-get install {program})"
        elif spec.venv is not None:
            try:
                venvs[spec.venv] = ensure(spec, root=root, log=log)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
                skipped[spec.name] = f"its venv could not be made: {str(exc)[:300]}"
        if spec.name in skipped:
            log(f"skipping {spec.name}: {skipped[spec.name]}")
        else:
            kept.append((spec, wls))
    return kept, skipped, venvs


def _start_redis(
    plan: list[tuple[SaverSpec, list[str]]],
    servers: contextlib.ExitStack,
    results: dict[str, Any],
) -> list[tuple[SaverSpec, list[str]]]:
    """Start a redis-server (in ``servers``, stopped by its PID on exit) if the plan has
    ``RedisCache``; its URL goes to the runners in the environment. Without a server, the
    plan without it (the reason in ``results["skipped"]``)."""
    if not any(spec.name == "redis-cache" for spec, _ in plan):
        return plan
    from bench.cache_workloads import REDIS_URL_ENV
    from bench.redis_wire import RedisServer, find_redis_server

    try:
        server = servers.enter_context(RedisServer(find_redis_server() or "redis-server"))
    except (OSError, RuntimeError) as exc:
        results["skipped"]["redis-cache"] = f"redis-server did not start: {exc}"
        log(f"skipping redis-cache: {results['skipped']['redis-cache']}")
        return [(spec, wls) for spec, wls in plan if spec.name != "redis-cache"]
    os.environ[REDIS_URL_ENV] = server.url
    servers.callback(os.environ.pop, REDIS_URL_ENV, None)
    results["meta"]["redis_server"] = server.version
    pid = server.process.pid if server.process else "?"
    log(f"{server.version} on {server.url} (PID {pid})")
    return plan


# --- runners -----------------------------------------------------------------------------------
DOCS = ROOT.parent / "docs" / "performance.md"
DOCS_BEGIN = "<!-- bench:begin (generated by python -m bench --update-docs) -->"
DOCS_END = "<!-- bench:end -->"


STORE_DOCS_BEGIN = "<!-- bench:store:begin (generated by python -m bench --update-docs) -->"
STORE_DOCS_END = "<!-- bench:store:end -->"
CACHE_DOCS_BEGIN = "<!-- bench:cache:begin (generated by python -m bench --update-docs) -->"
CACHE_DOCS_END = "<!-- bench:cache:end -->"
RUNS_DOCS_BEGIN = "<!-- bench:runs:begin (generated by python -m bench --update-docs) -->"
RUNS_DOCS_END = "<!-- bench:runs:end -->"


def kind(spec: str) -> str:
    """What spec ``spec`` is: ``"checkpointer"``, ``"store"``, ``"cache"`` or ``"runs"``
    (the run-deletion workload's, which has a section of its own)."""
    if spec in STORES:
        return "store"
    if spec in CACHES:
        return "cache"
    return "runs" if spec in RUNS else "checkpointer"


def _replace(text: str, begin: str, end: str, block: str) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + block + "\n" + text[stop:]


def update_docs(results: dict[str, Any]) -> None:
    """Rewrite the generated blocks of docs/performance.md (between their markers): the
    checkpointers' results in one, the stores' in another, the node caches' in a third,
    the run deletion's in a fourth, each only if it ran."""
    text = DOCS.read_text()
    for part_kind, begin, end in (
        ("checkpointer", DOCS_BEGIN, DOCS_END),
        ("store", STORE_DOCS_BEGIN, STORE_DOCS_END),
        ("cache", CACHE_DOCS_BEGIN, CACHE_DOCS_END),
        ("runs", RUNS_DOCS_BEGIN, RUNS_DOCS_END),
    ):
        names = {s: e for s, e in results["savers"].items() if kind(s) == part_kind}
        if names:
            skipped = {s: r for s, r in results.get("skipped", {}).items() if kind(s) == part_kind}
            part = {
                **results,
                "savers": names,
                "skipped": skipped,
                **({} if part_kind == "checkpointer" else {"goals": None}),
            }
            text = _replace(text, begin, end, report.markdown(part))
    DOCS.write_text(text)
    log(f"updated {DOCS}")


WORKLOAD_TIMEOUT_S = {
    "chat": 300,
    "fanout": 180,
    "scale": 600,
    "large": 240,
    "concurrent": 600,
    "delta": 240,
    "cpu": 180,
    "coldstart": 900,
    "store": 1800,
    "semantic_limit": 300,
    "memory_scale": 2400,
    "cli": 1200,
    "cache": 600,
    "runs": 1200,
}
"""A workload running longer is stopped (its runner killed by PID) and reported as timed
out with the phases it finished; the saver's remaining workloads run in a new runner.
Halved with ``--quick``."""


def runner_env() -> dict[str, str]:
    """The environment of a runner (and of a cold-start sample): DynamoDB Local's keys and
    region, no endpoint from the caller's environment."""
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="local",  # DynamoDB Local keys its data by access key and region
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AGENTSTATE_QUIET="1",
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    return env


def run_coldstart(
    plan: list[tuple[SaverSpec, list[str]]],
    pythons: dict[str, Path],
    results: dict[str, Any],
    args: argparse.Namespace,
    proxy_url: str,
    direct_url: str,
    run_id: str,
) -> None:
    """The cold-start workload of every saver that has it, samples alternating between
    the savers (see bench/coldstart.py), merged into each saver's entry of ``results``."""
    from bench import coldstart

    names = [spec.name for spec, wls in plan if "coldstart" in wls]
    if not names:
        return
    log(f"cold starts, alternating: {', '.join(names)}")
    if "ours" in names:  # as deployed: the project and langgraph, none of the dev extras
        pythons = {**pythons, "ours": coldstart.deployed_ours(args.venvs, log)}
    got = coldstart.run(
        [(name, pythons[name]) for name in names],
        proxy_url,
        REGION,
        run_id,
        "quick" if args.quick else "full",
        runner_env(),
        log,
        direct=direct_url,
    )
    for name in names:
        entry = results["savers"][name]
        entry.setdefault("versions", got[name].pop("versions", {}))
        entry["workloads"]["coldstart"] = got[name]
        entry["figures"] = report.figures(entry)


def run_concurrent_again(
    plan: list[tuple[SaverSpec, list[str]]],
    pythons: dict[str, Path],
    results: dict[str, Any],
    args: argparse.Namespace,
    proxy_url: str,
    direct_url: str,
    run_id: str,
) -> None:
    """Workload (e) a second time on every saver that ran it, in the reverse order, each
    merged into its first pass (:func:`bench.concurrent_report.merge_passes`): the first
    pass runs ours first, the second last. Not with ``--quick``."""
    from bench import concurrent_report

    ran = {
        name: entry["workloads"]["concurrent"]
        for name, entry in results["savers"].items()
        if "concurrent" in entry.get("workloads", {})
    }
    specs = [
        spec
        for spec, wls in plan
        if "concurrent" in wls and spec.name in ran and not ran[spec.name].get("error")
    ]
    if args.quick or len(specs) < 2:
        return
    log(f"concurrent again, in the reverse order: {', '.join(s.name for s in reversed(specs))}")
    for spec in reversed(specs):
        entry, first = results["savers"][spec.name], ran[spec.name]
        raw = run_saver(
            spec, pythons[spec.name], ["concurrent"], args, proxy_url, direct_url, f"{run_id}-e2"
        )
        second = raw["workloads"].get("concurrent") or {"error": raw.get("error", "no result")}
        if second.get("error"):
            first["notes"]["second_pass_error"] = str(second["error"])[:300]
            continue
        first["notes"] = concurrent_report.merge_passes(first["notes"], second["notes"])
        entry["figures"] = report.figures(entry)
    results["meta"]["concurrent_passes"] = (
        "(e) ran twice on each saver: once in the plan's order, once in the reverse order "
        "after every saver; each figure is the median over the rounds of both"
    )


def run_saver(
    spec: SaverSpec,
    python: Path,
    workloads: list[str],
    args: argparse.Namespace,
    proxy_url: str,
    direct_url: str,
    run_id: str,
) -> dict[str, Any]:
    """Run ``workloads`` on one saver; one runner process, restarted after a timeout."""
    env = runner_env()
    merged: dict[str, Any] = {"workloads": {}, "runs": []}
    remaining = list(workloads)
    started = time.monotonic()
    attempt = 0
    while remaining:
        attempt += 1
        out_path = RESULTS / f"{spec.name}.{run_id}.{attempt}.tmp"
        cmd = [
            str(python),
            str(ROOT / "runner.py"),
            *("--saver", spec.name, "--workloads", ",".join(remaining)),
            *("--sizes", "quick" if args.quick else "full"),
            *("--endpoint", proxy_url, "--direct", direct_url, "--region", REGION),
            *("--run-id", f"{run_id}.{attempt}", "--out", str(out_path)),
        ]
        if args.keep_tables:
            cmd.append("--keep-tables")
        progress: dict[str, Any] = {"current": None, "since": time.monotonic(), "done": []}
        proc = subprocess.Popen(
            cmd, env=env, stderr=subprocess.PIPE, text=True, cwd=str(ROOT.parent)
        )

        def pump(proc: subprocess.Popen[str] = proc, progress: dict[str, Any] = progress) -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                line = line.rstrip()
                found = re.match(r"\[[^\]]+\] (\w+) (\.\.\.|done in)", line)
                if found:
                    if found.group(2) == "...":
                        progress["current"], progress["since"] = found.group(1), time.monotonic()
                    else:
                        progress["done"].append(found.group(1))
                        progress["current"] = None
                if line.startswith("[") and not line.startswith("[20"):
                    log("  " + line)
                elif args.verbose:
                    log(f"  [{spec.name} stderr] {line}")

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out: str | None = None
        try:
            while proc.poll() is None:
                current = progress["current"]
                if current is not None:
                    limit = _timeout(current, args)
                    if time.monotonic() - progress["since"] > limit:
                        timed_out = current
                        log(
                            f"  [{spec.name}] {current} over {limit:.0f} s: stopping PID {proc.pid}"
                        )
                        proc.kill()  # the runner we started, by its PID
                        break
                time.sleep(0.5)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        reader.join(timeout=5)
        result: dict[str, Any] = {}
        if out_path.is_file():
            result = json.loads(out_path.read_text())
            out_path.unlink()
        for key in ("saver", "python", "executable", "versions", "patched", "sizes"):
            if key in result:
                merged[key] = result[key]
        merged["workloads"].update(result.get("workloads", {}))
        merged["runs"].append({"workloads": list(remaining), "returncode": proc.returncode})
        finished = [w for w in remaining if w in progress["done"]]
        stopped = timed_out or progress["current"]
        if stopped is not None:
            entry = merged["workloads"].setdefault(stopped, {"phases": {}, "notes": {}})
            if timed_out:
                entry["error"] = f"timed out after {_timeout(stopped, args):.0f} s (runner stopped)"
            else:
                entry["error"] = entry.get("error") or f"runner exited with {proc.returncode}"
            finished.append(stopped)
        elif proc.returncode != 0:
            merged["error"] = f"runner exited with {proc.returncode}"
            break
        remaining = [w for w in remaining if w not in finished]
    merged["runner_wall_s"] = round(time.monotonic() - started, 2)
    return merged


def _timeout(workload: str, args: argparse.Namespace) -> float:
    if args.timeout:
        return float(args.timeout)
    limit = WORKLOAD_TIMEOUT_S.get(workload, 300)
    return limit / 2 if args.quick else limit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark langgraph-dynamodb against the peers on DynamoDB Local.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument(
        "--only",
        help="comma-separated savers: " + ", ".join(SAVERS) + " (or their PyPI names)",
    )
    parser.add_argument(
        "--workloads",
        help=(
            "comma-separated: a chat, b fanout, c scale, d large, e concurrent, f delta, "
            "g cpu, h rtt, i coldstart, s store, l semantic_limit, v memory_scale, k cli, "
            "n cache, r runs"
        ),
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--png", type=Path, default=None, help="default: --out with .png")
    parser.add_argument("--venvs", type=Path, default=ROOT / ".venvs", help="peer venv cache")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per workload (default: per workload)"
    )
    parser.add_argument("--keep-tables", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="show the runners' stderr")
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help=f"rewrite the generated block of {DOCS.relative_to(ROOT.parent)} with this run",
    )
    if "tracing" in (argv if argv is not None else sys.argv[1:]):
        from bench import tracing  # ours only, one process per mode: see bench/tracing.py

        rest = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "tracing"]
        return tracing.main([a for a in rest if a != "--workloads"])
    args = parser.parse_args(argv)
    # A plain ``kill`` should still stop DynamoDB Local and the runner (context managers).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    specs = parse_savers(args.only)
    requested = parse_workloads(args.workloads)
    plan: list[tuple[SaverSpec, list[str]]] = []
    for spec in specs:
        allowed = spec.default_workloads or CHECKPOINT_WORKLOADS
        wls = [w for w in requested if w in allowed]
        if wls:
            plan.append((spec, wls))
    if not plan:
        raise SystemExit("nothing to run")

    started = time.monotonic()
    from bench.venvs import ensure_all

    plan, skipped, venvs = _optional(plan, args.venvs)
    if not plan:
        raise SystemExit("nothing to run: " + "; ".join(f"{s}: {r}" for s, r in skipped.items()))
    venvs.update(
        ensure_all(
            [s for s, _ in plan if s.venv and s.name not in OPTIONAL], root=args.venvs, log=log
        )
    )
    run_id = dt.datetime.now().strftime("%H%M%S")
    from langgraph_dynamodb.local import NPM_PACKAGE, DynamoDBLocal

    results: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
            "sizes": "quick" if args.quick else "full",
            "size_table": _size_table("quick" if args.quick else "full"),
            "workloads": requested,
            "dynamodb_local": dynamodb_local_version(),
            "dynamodb_local_npm": NPM_PACKAGE,
            "vector_indexes": "langgraph_dynamodb.vector_emulator in front of DynamoDB Local "
            "(exact k-NN; VectorSearchRequestBytes is its own model)",
            "git": git_revision(),
            "loadavg_start": _loadavg(),
            **machine(),
        },
        "savers": {},
        "skipped": skipped,
    }
    log(
        f"DynamoDB Local {results['meta']['dynamodb_local']}, {results['meta']['nproc']} cores; "
        f"savers: {', '.join(s.name for s, _ in plan)}; workloads: {', '.join(requested)}"
    )
    from langgraph_dynamodb.vector_emulator import VectorSearchEmulator

    with (
        DynamoDBLocal() as ddb,
        VectorSearchEmulator(ddb.endpoint_url) as emulator,
        CountingProxy(emulator.endpoint_url) as proxy,
        contextlib.ExitStack() as servers,
    ):
        pid = ddb.process.pid if ddb.process else "?"
        log(
            f"DynamoDB Local on {ddb.endpoint_url} (PID {pid}), its vector-index emulator on "
            f"{emulator.endpoint_url}, the counting proxy on {proxy.endpoint_url}"
        )
        plan = _start_redis(plan, servers, results)
        warm_s = 8.0 if args.quick else 20.0
        warm_up(ddb.endpoint_url, warm_s)
        # The JIT of DynamoDB Local (and the proxy's first requests) would otherwise bill
        # whichever saver runs first: the same code ran a third slower as the first saver
        # than as the second. So a short chat and fan-out go through the proxy first, on
        # the first saver of the plan, and are thrown away.
        pythons = {
            spec.name: Path(sys.executable) if spec.venv is None else venvs[spec.venv].python
            for spec, _ in plan
        }
        quick_args = argparse.Namespace(**{**vars(args), "quick": True, "keep_tables": False})
        first, first_wls = plan[0]
        warm_wls = [w for w in ("chat", "fanout") if w in first_wls] or first_wls[:1]
        if warm_wls == ["coldstart"]:
            warm_wls = ["chat"]
        log(f"warm-up through the proxy: quick {', '.join(warm_wls)} on {first.label} (discarded)")
        run_saver(
            first,
            pythons[first.name],
            warm_wls,
            quick_args,
            proxy.endpoint_url,
            ddb.endpoint_url,
            f"{run_id}-warmup",
        )
        results["meta"]["warm_up"] = (
            f"{warm_s:g} s of requests to DynamoDB Local, then a quick "
            f"{' and '.join(warm_wls)} through the proxy on {first.name}, discarded"
        )
        # The stores' requests (BatchGetItem, GetItem, UpdateItem, a Query per namespace)
        # are not the checkpointers': without this, the first store to run (e) paid for
        # their JIT (ours-store 0.204 s a round of 32 before aws-store, 0.134 s after it;
        # aws-store 0.127 s first, 0.170 s second), more than the two stores differ by.
        warm_stores = [
            spec
            for spec, wls in plan
            if spec.name in STORES and "concurrent" in wls and spec is not first
        ]
        for spec in warm_stores:
            log(f"warm-up through the proxy: quick concurrent on {spec.label} (discarded)")
            run_saver(
                spec,
                pythons[spec.name],
                ["concurrent"],
                quick_args,
                proxy.endpoint_url,
                ddb.endpoint_url,
                f"{run_id}-warmup",
            )
        if warm_stores:
            results["meta"]["warm_up"] += (
                f"; a quick concurrent on {', '.join(s.name for s in warm_stores)}, discarded"
            )
        for spec, wls in plan:
            python = pythons[spec.name]
            log(f"{spec.label}: {', '.join(wls)}")
            own = [w for w in wls if w != "coldstart"]  # run alternating, below
            raw = (
                run_saver(spec, python, own, args, proxy.endpoint_url, ddb.endpoint_url, run_id)
                if own
                else {"workloads": {}, "runs": []}
            )
            entry = {
                "label": spec.label,
                "note": spec.note,
                "requirements": list(spec.requirements)
                if spec.requirements
                else "this project (editable)",
                **raw,
            }
            if spec.venv is not None:
                entry["venv"] = {
                    "path": str(venvs[spec.venv].python.parent.parent),
                    "pip_installed": {
                        k: v
                        for k, v in venvs[spec.venv].installed.items()
                        if any(
                            w in k.lower()
                            for w in ("lang", "boto", "pydantic", "ormsgpack", "msgpack")
                        )
                    },
                }
            entry["figures"] = report.figures(entry)
            results["savers"][spec.name] = entry
            log(
                f"  {spec.name}: {entry.get('runner_wall_s')} s"
                + (f" ({entry['error']})" if entry.get("error") else "")
            )
        run_concurrent_again(
            plan, pythons, results, args, proxy.endpoint_url, ddb.endpoint_url, run_id
        )
        run_coldstart(plan, pythons, results, args, proxy.endpoint_url, ddb.endpoint_url, run_id)
    results["meta"]["total_wall_s"] = round(time.monotonic() - started, 1)
    results["meta"]["loadavg_end"] = _loadavg()
    results["goals"] = report.goals(results)

    labels = {s: results["savers"][s]["label"] for s in results["savers"]}
    text = report.tables(results)
    print(text)
    if results["goals"]:
        print()
        print(report.goals_table(results["goals"], labels))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=str))
    tmp.replace(args.out)
    md = args.out.with_suffix(".md")
    md.write_text(report.markdown(results) + "\n")
    if args.update_docs:
        update_docs(results)
    if all(kind(s) in ("cache", "runs") for s in results["savers"]):
        log(f"\nwrote {args.out} and {md} (the chart is the checkpointers': none ran)")
    else:
        png = args.png or args.out.with_suffix(".png")
        drawn = report.chart(results, png)
        log(
            f"\nwrote {args.out}, {md}"
            + (f" and {drawn}" if drawn else " (no chart: pip install -e '.[bench]')")
        )
    log(f"total {results['meta']['total_wall_s']} s")
    return 0
