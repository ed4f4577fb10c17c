"""The cold-start workload's (i) figures, table and goals (see bench/coldstart.py)."""

from __future__ import annotations

from typing import Any

TIMED = (
    ("import", "import: LangGraph + the saver's package"),
    ("import_saver", "  of which the saver's package"),
    ("init", "init: saver + compiled graph"),
    ("first", "first invoke (a chat turn)"),
    ("cold", "cold start: import + init + first invoke"),
    ("cold_cpu", "CPU of the cold start (process time)"),
    ("second", "second invoke (warm)"),
)


def figures(saver: dict[str, Any]) -> dict[str, Any]:
    """``coldstart.*`` figures of one saver (none if it did not run the workload)."""
    w = saver.get("workloads", {}).get("coldstart")
    if not isinstance(w, dict):
        return {}
    summary = w.get("summary", {})
    f: dict[str, Any] = {"coldstart.error": w.get("error"), "coldstart.n": summary.get("n")}
    for key, _ in TIMED:
        for stat in ("median", "min"):
            f[f"coldstart.{key}.{stat}_ms"] = summary.get(f"{key}.{stat}_ms")
    f["coldstart.peak_rss_mb"] = summary.get("peak_rss_mb.median")
    for phase in ("init", "first", "second"):
        f[f"coldstart.{phase}.requests"] = summary.get(f"{phase}.requests")
        f[f"coldstart.{phase}.targets"] = summary.get(f"{phase}.targets")
    return f


def _ms(f: dict[str, Any], key: str) -> str:
    median, low = f.get(f"coldstart.{key}.median_ms"), f.get(f"coldstart.{key}.min_ms")
    return "–" if median is None else f"{median:,.0f} ({low:,.0f}) ms"


def _requests(f: dict[str, Any], phase: str) -> str:
    count, targets = f.get(f"coldstart.{phase}.requests"), f.get(f"coldstart.{phase}.targets")
    if count is None:
        return "–"
    inner = ", ".join(f"{k} {v}" for k, v in (targets or {}).items())
    return f"{count} ({inner})" if inner else str(count)


def table(savers: list[str], labels: dict[str, str], figs: dict[str, dict[str, Any]]) -> str:
    """The side-by-side table (Markdown); empty if no saver ran the workload."""
    ran = [s for s in savers if "coldstart.error" in figs[s]]
    if not ran:
        return ""
    n = max((figs[s].get("coldstart.n") or 0) for s in ran)
    rows = [(title, [_ms(figs[s], key) for s in ran]) for key, title in TIMED]
    for phase, title in (("init", "requests of init"), ("first", "requests of the first invoke")):
        rows.append((title, [_requests(figs[s], phase) for s in ran]))
    rows.append(("peak RSS", [_mb(figs[s].get("coldstart.peak_rss_mb")) for s in ran]))
    rows.append(("errors", [str(figs[s].get("coldstart.error") or "")[:60] for s in ran]))
    head = "| (i) cold start, a fresh process per sample: median (min) of " + f"{n} | "
    lines = [head + " | ".join(labels[s] for s in ran) + " |", "|---" * (len(ran) + 1) + "|"]
    lines += ["| " + name + " | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def _mb(value: Any) -> str:
    return "–" if value is None else f"{value:,.0f} MB"


def goals(figs: dict[str, dict[str, Any]], peers: list[str]) -> list[dict[str, Any]]:
    """Issue 24's Must 4: each cold-start figure of ours at or below the best peer's."""
    ours = figs.get("ours", {})
    out: list[dict[str, Any]] = []
    for key, goal in (
        ("coldstart.cold.median_ms", "cold start (import + init + first invoke), median"),
        ("coldstart.cold_cpu.median_ms", "CPU of the cold start, median"),
        ("coldstart.import_saver.median_ms", "import of the saver's package, median"),
        ("coldstart.first.median_ms", "first invoke, median"),
        ("coldstart.peak_rss_mb", "peak RSS of a cold start"),
    ):
        value = ours.get(key)
        seen = [(figs[s][key], s) for s in peers if figs[s].get(key) is not None]
        if value is None or not seen:
            continue
        best, name = min(seen)
        out.append(
            {
                "goal": goal,
                "ours": value,
                "best_peer": name,
                "best_peer_value": best,
                "ratio": value / best if best else None,
                "target": "<= 1x",
                "met": value <= best,
                "unit": "MB" if key.endswith("rss_mb") else "ms",
            }
        )
    return out
