"""The cold-start workload (i): a Lambda's first request, a fresh process per sample.

Each sample is ``bench/coldstart_sample.py`` in a new process of the saver's venv: the
imports, the init (saver and compiled graph), the first ``invoke`` of a chat turn and the
second, timed, with the requests of each counted by the proxy and the peak RSS. Samples
of all the savers alternate (round ``k`` runs every saver once, each round in a rotated
order) after one discarded sample each (it fills the page cache and writes the bytecode
the installed packages ship), so a change in the machine's load touches every saver alike.

Two ways in: ``python -m bench --workloads coldstart`` runs :func:`run` from the
orchestrator over every saver's python (alternating); ``bench/runner.py --workloads
coldstart`` runs :data:`WORKLOADS` for one saver (its samples one after another). Stdlib
only at import time: the runner loads this file by path inside a peer's venv.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "coldstart_sample.py"
SAMPLES = {"full": 7, "quick": 3}
"""Measured samples per saver (after the discarded one)."""
SAMPLE_TIMEOUT_S = 120
PHASES = ("init", "first", "second")
"""The phases whose requests the proxy counts (the imports make none)."""
TIMES = ("import", "import_langgraph", "import_saver", "init", "first", "second")


def deployed_ours(root: Path, log: Callable[[str], None] = print) -> Path:
    """The python of a venv holding what a Lambda deployment of ours holds: this project
    (editable: the code under test) and ``langgraph``, none of the development extras
    (aiobotocore, OpenTelemetry, rich, ...), as the peers' venvs hold theirs. Made once
    under ``root``, like theirs."""
    from bench.savers import SaverSpec
    from bench.venvs import ensure

    spec = SaverSpec(
        "ours",
        "langgraph-dynamodb (ours), deployed",
        None,
        ("-e", str(HERE.parent), "langgraph"),
        "ours-deployed",
    )
    return ensure(spec, root=root, log=log).python


def sample_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a sample: the runner's, with bytecode caching on (a deployed
    package has its ``.pyc`` files; compiling every module would be most of the time)."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def sample(
    python: Path,
    saver: str,
    table: str,
    endpoint: str,
    region: str,
    scope: str,
    env: dict[str, str],
    setup: bool = False,
) -> dict[str, Any]:
    """One sample (or, with ``setup``, the table): the child's JSON, or its error."""
    cmd = [str(python), str(SAMPLE), "--saver", saver, "--table", table]
    cmd += ["--endpoint", endpoint, "--region", region, "--scope", scope]
    if setup:
        cmd.append("--setup")
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {SAMPLE_TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": "no output"}


def counted(endpoint: str, scope: str) -> dict[str, dict[str, Any]]:
    """The requests the proxy counted under ``<scope>/<phase>``, per phase and target."""
    url = f"{endpoint}/__bench/stats?scope={urllib.parse.quote(scope + '/')}"
    with urllib.request.urlopen(url, timeout=30) as response:
        stats = json.loads(response.read())
    out: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        targets: dict[str, int] = {}
        for op in stats.get(f"{scope}/{phase}", {}).values():
            for target, n in op["targets"].items():
                targets[target] = targets.get(target, 0) + n
        out[phase] = {"requests": sum(targets.values()), "targets": dict(sorted(targets.items()))}
    return out


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and min of every time, the peak RSS, and the requests of each phase (the
    same in every sample, or all the distinct counts)."""
    good = [s for s in samples if "error" not in s]
    out: dict[str, Any] = {"n": len(good), "errors": len(samples) - len(good)}
    if not good:
        return out
    series = {k: [s["ms"][k] for s in good if k in s["ms"]] for k in TIMES}
    series["cold"] = [s["cold_ms"] for s in good]
    series["cold_cpu"] = [s["cold_cpu_ms"] for s in good]
    for key in ("import", "init", "first"):
        series[f"{key}_cpu"] = [s["cpu_ms"][key] for s in good]
    for key, values in series.items():
        if values:
            out[f"{key}.median_ms"] = round(statistics.median(values), 1)
            out[f"{key}.min_ms"] = round(min(values), 1)
    rss = [s["peak_rss_mb"] for s in good]
    out["peak_rss_mb.median"] = round(statistics.median(rss), 1)
    out["peak_rss_mb.min"] = min(rss)
    for phase in PHASES:
        counts = sorted({s["requests"][phase]["requests"] for s in good if "requests" in s})
        out[f"{phase}.requests"] = counts[0] if len(counts) == 1 else counts
        out[f"{phase}.targets"] = good[-1].get("requests", {}).get(phase, {}).get("targets")
    return out


def run(
    savers: list[tuple[str, Path]],
    endpoint: str,
    region: str,
    run_id: str,
    sizes: str,
    env: dict[str, str],
    log: Callable[[str], None] = print,
    direct: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Cold starts of ``savers`` (name, python of its venv), alternating: each saver's
    workload result (its samples and their summary). With ``direct`` (DynamoDB Local
    itself), the savers' tables are made first and dropped after; without, they exist."""
    n = SAMPLES[sizes]
    env = sample_env(env)
    tables = {name: f"bench-{name}-coldstart-{run_id}" for name, _ in savers}
    results: dict[str, dict[str, Any]] = {}
    for name, python in savers:
        results[name] = {"table": tables[name], "phases": {}, "notes": {}, "samples": []}
        if direct is not None:
            made = sample(python, name, tables[name], endpoint, region, "-", env, setup=True)
            if "error" in made:
                results[name]["error"] = f"table set-up: {made['error']}"
            results[name]["versions"] = made.get("versions", {})
    live = [(name, python) for name, python in savers if "error" not in results[name]]
    started = time.monotonic()
    for round_ in range(n + 1):  # round 0: discarded
        shift = round_ % max(1, len(live))
        for name, python in live[shift:] + live[:shift]:
            scope = f"{run_id}/{name}/coldstart/{round_}"
            got = sample(python, name, tables[name], endpoint, region, scope, env)
            if "error" not in got:
                got["requests"] = counted(endpoint, scope)
            if round_ == 0:
                results[name]["notes"]["discarded"] = got
                continue
            results[name]["samples"].append(got)
            if "error" in got:
                log(f"  [{name}] coldstart sample {round_}: {got['error'][:300]}")
        log(f"  coldstart round {round_}/{n} ({time.monotonic() - started:.0f} s)")
    for name, _ in live:
        results[name]["summary"] = summarize(results[name]["samples"])
        results[name]["notes"]["order"] = "alternating with " + ", ".join(s for s, _ in live)
        if not results[name]["summary"]["n"]:
            results[name]["error"] = results[name]["samples"][0].get("error", "no sample")
    if direct is not None:
        _drop(direct, region, list(tables.values()))
    return results


def _drop(direct: str, region: str, tables: list[str]) -> None:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=direct,
        region_name=region,
        aws_access_key_id="local",  # placeholders: DynamoDB Local checks no credentials
        aws_secret_access_key="local",
    )
    for table in tables:
        try:
            client.delete_table(TableName=table)
        except client.exceptions.ResourceNotFoundException:
            pass
    client.close()


def workload(h: Any) -> None:
    """The runner's way in: this saver's samples one after another, on the workload's
    table (made by the runner's set-up phase)."""
    args = h.args
    got = run(
        [(args.saver, Path(sys.executable))],
        args.endpoint,
        args.region,
        args.run_id,
        args.sizes,
        dict(os.environ),
    )[args.saver]
    h.result.update({k: v for k, v in got.items() if k != "table"})


WORKLOADS = {"coldstart": workload}
