"""The report of workload (e), concurrent runs: one table for the checkpointers (a chat
turn a run) and one for the stores (the memory agent a run), each at every number of
runs at once and with and without the simulated round trip, and the goals of issue 24
(ours at least 1.2x the best peer's runs per second in each of those cells)."""

from __future__ import annotations

import statistics
from typing import Any

TARGET = 1.2
"""Ours over the best peer, in concurrent runs per second (issue 24)."""

NOTE_KEYS = ("sequential_per_s", "concurrent_per_s", "speedup", "cpu_ms", "errors", "peak_rss_mb")
"""The notes of the workload that become figures (``concurrent.<note>``)."""


def figures(workload: dict[str, Any]) -> dict[str, Any]:
    """The figures of one saver's (e) workload, as ``concurrent.<note>[_rtt][@runs]``."""
    notes = workload.get("notes", {})
    f: dict[str, Any] = {
        "concurrent.error": workload.get("error"),
        "concurrent.invokes": notes.get("invokes"),
        "concurrent.runs": notes.get("runs")
        or ([notes["invokes"]] if notes.get("invokes") else []),
        "concurrent.rtt_ms": notes.get("rtt_ms"),
    }
    for key, value in notes.items():
        if key.startswith(NOTE_KEYS):
            f[f"concurrent.{key}"] = value
    for phase in ("sequential", "concurrent"):  # results of the bench before issue 24
        p = workload.get("phases", {}).get(phase)
        if p is not None and p.get("process_cpu_s") is not None and notes.get("invokes"):
            f[f"concurrent.{phase}_cpu_ms"] = p["process_cpu_s"] * 1000 / notes["invokes"]
    return f


FIRST_SIZE_KEYS = ("concurrent_s", "concurrent_per_s", "speedup")
"""Figures of the first number of runs also noted without ``@<runs>`` (the names of the
bench before issue 24)."""


def sequential_per_s(runs: int, times: list[float]) -> float:
    """Runs a second one after another, over the median of the repeats' times."""
    return round(runs / statistics.median(times), 2)


def cell_figures(
    runs: int, walls: list[float], cpus: list[float], sequential: float | None
) -> dict[str, float]:
    """The figures of one cell from its rounds: runs a second over the median wall time,
    the client's CPU per run (median), and the speed-up over one after another."""
    wall = statistics.median(walls)
    out = {"concurrent_per_s": round(runs / wall, 2)}
    if cpus:
        out["cpu_ms"] = round(statistics.median(cpus) * 1000 / runs, 2)
    if sequential:
        out["speedup"] = round(runs / wall / sequential, 2)
    return out


def merge_passes(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The notes of two passes of (e) on one saver as one: every measured round of both
    (their wall and CPU times), and each figure again from all of them (medians, errors
    summed, the higher peak). ``python -m bench`` runs (e) a second time after every
    saver ran, in the reverse order, so that a drift of the shared machine over the run,
    or DynamoDB Local warming up, favours no saver."""
    out = {**first}
    runs = first.get("runs") or []
    seq_n = first.get("sequential_runs") or first.get("invokes")
    for suffix in ("", "_rtt"):
        times = first.get(f"sequential_s{suffix}", []) + second.get(f"sequential_s{suffix}", [])
        if times and seq_n:
            out[f"sequential_s{suffix}"] = times
            out[f"sequential_per_s{suffix}"] = sequential_per_s(seq_n, times)
        for n in runs:
            at = f"{suffix}@{n}"
            walls = first.get(f"concurrent_s{at}", []) + second.get(f"concurrent_s{at}", [])
            if not walls:
                continue
            cpus = first.get(f"cpu_s{at}", []) + second.get(f"cpu_s{at}", [])
            out[f"concurrent_s{at}"] = walls
            if cpus:
                out[f"cpu_s{at}"] = cpus
            seq = out.get(f"sequential_per_s{suffix}")
            for key, value in cell_figures(n, walls, cpus, seq).items():
                out[f"{key}{at}"] = value
            out[f"errors{at}"] = first.get(f"errors{at}", 0) + second.get(f"errors{at}", 0)
            peaks = [
                p for p in (first.get(f"peak_rss_mb{at}"), second.get(f"peak_rss_mb{at}")) if p
            ]
            out[f"peak_rss_mb{at}"] = max(peaks) if peaks else None
            if n == runs[0]:
                for key in FIRST_SIZE_KEYS:
                    if f"{key}{at}" in out:
                        out[f"{key}{suffix}"] = out[f"{key}{at}"]
        for key, value in second.items():
            if key.startswith("error@") and key not in out:
                out[key] = value
    out["passes"] = first.get("passes", 1) + second.get("passes", 1)
    return out


def _num(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _pair(f: dict[str, Any], key: str, digits: int = 1, unit: str = "") -> str:
    """``<loopback> / <RTT>`` of one figure."""
    a, b = f.get(f"concurrent.{key}"), f.get(f"concurrent.{key.replace('@', '_rtt@', 1)}")
    if "@" not in key:
        b = f.get(f"concurrent.{key}_rtt")
    if a is None and b is None:
        return "–"
    return f"{_num(a, digits)} / {_num(b, digits)}{unit}"


def _ran(results: dict[str, Any], figs: dict[str, dict[str, Any]], kind: str) -> list[str]:
    """The specs of one kind (``"saver"`` or ``"store"``) that ran (e)."""
    from bench.savers import STORES

    return [
        s
        for s in results["savers"]
        if "concurrent.error" in figs[s] and (s in STORES) == (kind == "store")
    ]


def tables(results: dict[str, Any], figs: dict[str, dict[str, Any]]) -> list[str]:
    """The Markdown tables of (e), for the savers and for the stores that ran it."""
    out = []
    rtt = next(
        (f.get("concurrent.rtt_ms") for f in figs.values() if f.get("concurrent.rtt_ms")), "?"
    )
    for kind, title, what in (
        ("saver", "concurrent ainvokes on one saver (a chat turn each)", "ainvokes"),
        ("store", "concurrent ainvokes on one store (aget, asearch, aput each)", "ainvokes"),
    ):
        ran = _ran(results, figs, kind)
        if not ran:
            continue
        runs = list(dict.fromkeys(n for s in ran for n in figs[s].get("concurrent.runs") or []))
        rows: list[tuple[str, list[str]]] = [
            (
                f"one after another: {what}/s, loopback / {rtt} ms RTT",
                [_pair(figs[s], "sequential_per_s") for s in ran],
            ),
        ]
        for n in runs:
            rows += [
                (
                    f"**{n} at once: {what}/s, loopback / {rtt} ms RTT**",
                    [_pair(figs[s], f"concurrent_per_s@{n}") for s in ran],
                ),
                (
                    f"{n} at once: speed-up over one after another",
                    [_pair(figs[s], f"speedup@{n}", 2, "x") for s in ran],
                ),
                (
                    f"{n} at once: client CPU per ainvoke (whole process)",
                    [_pair(figs[s], f"cpu_ms@{n}", 2, " ms") for s in ran],
                ),
                (
                    f"{n} at once: peak RSS of the process",
                    [_pair(figs[s], f"peak_rss_mb@{n}", 0, " MB") for s in ran],
                ),
                (f"{n} at once: runs that raised", [_pair(figs[s], f"errors@{n}", 0) for s in ran]),
            ]
        rows.append(("errors", [str(figs[s].get("concurrent.error") or "")[:60] for s in ran]))
        labels = [results["savers"][s].get("label", s) for s in ran]
        head = f"| (e) {title} | " + " | ".join(labels) + " |"
        lines = [head, "|---" * (len(ran) + 1) + "|"]
        lines += ["| " + name + " | " + " | ".join(cells) + " |" for name, cells in rows]
        out.append("\n".join(lines))
    return out


def goals(results: dict[str, Any], figs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours against the best peer in each cell of (e): saver and store, every number of
    runs at once, loopback and the simulated round trip."""
    out = []
    for mine, kind in (("ours", "saver"), ("ours-store", "store")):
        if mine not in figs or "concurrent.error" not in figs[mine]:
            continue
        peers = [s for s in _ran(results, figs, kind) if not s.startswith("ours")]
        rtt = figs[mine].get("concurrent.rtt_ms") or "?"
        for n in figs[mine].get("concurrent.runs") or []:
            for suffix, how in (("", "loopback"), ("_rtt", f"{rtt} ms RTT")):
                key = f"concurrent.concurrent_per_s{suffix}@{n}"
                value = figs[mine].get(key)
                best, best_value = None, None
                for s in peers:
                    v = figs[s].get(key)
                    if v is not None and (best_value is None or v > best_value):
                        best, best_value = s, v
                ratio = value / best_value if value is not None and best_value else None
                out.append(
                    {
                        "goal": f"{n} concurrent ainvokes/s on one {kind} ({how})",
                        "ours": value,
                        "best_peer": best,
                        "best_peer_value": best_value,
                        "ratio": ratio,
                        "target": f">= {TARGET}x best peer",
                        "met": None if ratio is None else ratio >= TARGET,
                        "unit": "/s",
                    }
                )
    return out
