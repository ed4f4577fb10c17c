"""The store tables of the report: (s) the store workload side by side, the semantic
search limit (ours, client path) and (v) 100,000 memories on both paths (ours). Columns
are the store specs only."""

from __future__ import annotations

from typing import Any

PHASES = (
    ("put", "put: 1,000 memories, 20 batches of 50", "put_batch"),
    ("get", "get: 20 batches of 10, 50 single", "get_batch"),
    ("search_prefix", "search a user's namespace (x20)", "search_prefix"),
    ("search_filter", "filtered search across users (x6)", "search_filter"),
    ("list_namespaces", "list_namespaces under a prefix (x5)", "list_namespaces"),
    ("search_prefix_grown", "table 5x larger: search a user's namespace (x20)", "search_prefix"),
    ("search_filter_grown", "table 5x larger: filtered search across users (x3)", "search_filter"),
    ("list_namespaces_grown", "table 5x larger: list_namespaces (x5)", "list_namespaces"),
    (
        "search_prefix_grown25",
        "table 25x larger: search a user's namespace (x20)",
        "search_prefix",
    ),
    (
        "search_filter_grown25",
        "table 25x larger: filtered search across users (x3)",
        "search_filter",
    ),
    ("list_namespaces_grown25", "table 25x larger: list_namespaces (x5)", "list_namespaces"),
    ("semantic", "semantic search under one user, top 10 (x20)", "semantic_user"),
    ("semantic_all", "semantic search under all users, top 10 (x3)", "semantic_all"),
)


def _phase(saver: dict[str, Any], name: str) -> dict[str, Any] | None:
    w = saver.get("workloads", {}).get("store") or {}
    p = w.get("phases", {}).get(name)
    return p if isinstance(p, dict) else None


def _cell(p: dict[str, Any] | None, sample: str, *, per_search: bool = False) -> str:
    """A phase's requests, capacity, vector bytes examined and latency: totals, or (with
    ``per_search``) per sample of ``sample``, with p95 too."""
    if p is None:
        return "–"
    if p.get("error"):
        return "error: " + str(p["error"])[:50]
    t = p["totals"]
    s = p.get("samples", {}).get(sample, {})
    latency = f"p50 {s['p50_ms']:.1f} ms" if s.get("p50_ms") is not None else "p50 –"
    if not per_search:
        vector = f", {t['vector_bytes'] / 1e6:.2f} MB vectors" if t.get("vector_bytes") else ""
        return f"{t['requests']} req, {t['rcu']:g} RCU / {t['wcu']:g} WCU{vector}, {latency}"
    n = max(1, int(s.get("n") or 1))
    vector = f", {t['vector_bytes'] / n / 1e3:.0f} KB vectors" if t.get("vector_bytes") else ""
    return (
        f"{t['requests'] / n:g} req, {t['rcu'] / n:.1f} RCU{vector}, {latency}, "
        f"p95 {s.get('p95_ms', 0):.1f} ms"
    )


def _rows(saver: dict[str, Any]) -> dict[str, str]:
    w = saver.get("workloads", {}).get("store") or {}
    notes = w.get("notes", {})
    storage = w.get("storage", {})
    out = {label: _cell(_phase(saver, phase), sample) for phase, label, sample in PHASES}
    phases = w.get("phases", {}).values()
    out["Scans"] = str(
        sum(e.get("targets", {}).get("Scan", 0) for p in phases for e in p.get("ops", {}).values())
    )

    def got(name: str, expected: str) -> str:
        return f"{notes.get(name, '?')}/{notes.get(expected, '?')}"

    out["results right"] = (
        f"prefix {got('search_prefix_rows', 'search_prefix_rows_expected')}, "
        f"filter {got('search_filter_rows', 'search_filter_rows_expected')}, "
        f"namespaces {got('namespaces_listed', 'namespaces_expected')}"
    )
    if "semantic_error" in notes:
        semantic = str(notes["semantic_error"])[:100]
    elif "semantic_top_hits" in notes:
        semantic = (
            f"recall@10 {notes.get('semantic_recall_user', '?')} (one user), "
            f"{notes.get('semantic_recall_all', '?')} (all users); top 5 right: "
            f"{notes['semantic_top_hits']}/{notes.get('semantic_top_hits_expected', '?')} "
            "green-tea memories"
        )
    else:
        semantic = "not reached"
    out["semantic search"] = semantic
    tables = storage.get("by_table") or {}
    plain = tables.get(w.get("table", ""), {})
    indexed = [t for name, t in tables.items() if name != w.get("table") and t.get("items")]
    out["bytes stored, 25,000 memories (after the growth)"] = (
        f"{plain['bytes'] / 1e6:.3f} MB in {plain['items']} items" if plain.get("items") else "–"
    )
    out["bytes stored, 1,000 memories with 64-dim embeddings"] = (
        f"{indexed[0]['bytes'] / 1e6:.3f} MB in {indexed[0]['items']} items" if indexed else "–"
    )
    if w.get("error"):
        out["errors"] = str(w["error"])[:80]
    return out


def tables(results: dict[str, Any], stores: tuple[str, ...]) -> list[str]:
    """The Markdown tables of the store workloads, for the store specs that ran."""
    present = [s for s in stores if s in results["savers"]]
    out: list[str] = []
    ran = [s for s in present if "store" in results["savers"][s].get("workloads", {})]
    if ran:
        labels = [results["savers"][s].get("label", s) for s in ran]
        by_saver = {s: _rows(results["savers"][s]) for s in ran}
        names = list(dict.fromkeys(k for s in ran for k in by_saver[s]))
        lines = [
            "| (s) store: 1,000 memories in 50 namespaces | " + " | ".join(labels) + " |",
            "|---" * (len(ran) + 1) + "|",
        ]
        for name in names:
            lines.append(
                f"| {name} | " + " | ".join(by_saver[s].get(name, "–") for s in ran) + " |"
            )
        out.append("\n".join(lines))
    for s in present:
        w = results["savers"][s].get("workloads", {}).get("memory_scale")
        if w:
            out.append(_scale_table(w))
    for s in present:
        w = results["savers"][s].get("workloads", {}).get("semantic_limit")
        if not w:
            continue
        lines = [
            "| (l) semantic search under one prefix, top 5 (ours) | vectors | client path: "
            "p50, RCU per search | vector index: p50, requests and RCU per search |",
            "|---|---|---|---|",
        ]
        phases = w.get("phases", {})
        for phase, p in sorted(phases.items(), key=lambda kv: _order(kv[0])):
            if not phase.startswith("d") or phase.endswith("_native"):
                continue
            dims, count = phase.removesuffix("_native")[1:].split("_n")
            lines.append(
                f"| {dims} dimensions | {count} | {_limit_cell(p)} | "
                f"{_limit_cell(phases.get(phase + '_native'), requests=True)} |"
            )
        out.append("\n".join(lines))
    return out


def _limit_cell(p: dict[str, Any] | None, *, requests: bool = False) -> str:
    if p is None:
        return "–"
    samples = p.get("samples", {}).get("semantic", {})
    searches = max(1, samples.get("n", 1))
    t = p["totals"]
    asked = f"{t['requests'] / searches:g} req, " if requests else ""
    return f"{samples.get('p50_ms', 0):.1f} ms, {asked}{t['rcu'] / searches:.1f} RCU"


def _order(phase: str) -> tuple[int, int]:
    if not phase.startswith("d") or "_n" not in phase:
        return (0, 0)
    dims, count = phase.removesuffix("_native")[1:].split("_n")
    return (int(dims), int(count))


SCALE_ROWS = (
    ("semantic search under one user, top 10 (x100)", "scale_user", "semantic_user"),
    ("semantic search under all users, top 10", "scale_all", "semantic_all"),
    (
        "filtered semantic search under all users, top 5",
        "scale_filtered_semantic",
        "semantic_filtered",
    ),
)


def _scale_table(w: dict[str, Any]) -> str:
    phases = w.get("phases", {})
    notes = w.get("notes", {})
    lines = [
        "| (v) 100,000 memories, 1,000 users, 128 dimensions (ours), per search | "
        "vector index | client path |",
        "|---|---|---|",
    ]
    for label, phase, sample in SCALE_ROWS:
        lines.append(
            f"| {label} | {_cell(phases.get(phase + '_native'), sample, per_search=True)} | "
            f"{_cell(phases.get(phase + '_client'), sample, per_search=True)} |"
        )
    for label, phase, sample in (
        ("filtered search across users, 100 results (no query)", "scale_filter", "search_filter"),
        ("list_namespaces under ('memories',), 100", "scale_list_namespaces", "list_namespaces"),
    ):
        cell = _cell(phases.get(phase), sample, per_search=True)
        lines.append(f"| {label} | {cell} | (the same path) |")
    lines.append(
        f"| recall@10 against the exact ranking | one user {notes.get('scale_recall_user', '?')}, "
        f"all users {notes.get('scale_recall_all', '?')} | 1 (exact) |"
    )
    put = phases.get("scale_put")
    if put:
        t = put["totals"]
        lines.append(
            f"| loading 100,000 memories | {t['requests']} req, {t['wcu']:g} WCU, "
            f"{put['wall_s']:.0f} s | |"
        )
    return "\n".join(lines)
