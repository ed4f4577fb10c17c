"""The tables of the run-deletion workload (r, ``runs``): ``delete_for_runs`` at 1x and
100x table size beside the Scan it replaced, and what the run markers cost to write.

Per call of a phase (``delete_for_runs`` calls, Scans or marker look-ups): requests by
DynamoDB operation and capacity from the counting proxy, p50 / p95 of the calls. Per run
of a fill phase: requests, capacity and the items and bytes written by item kind (sized
by DynamoDB's rules); stored by kind from a Scan of the table after the fill.
"""

from __future__ import annotations

from typing import Any

SPEC = "ours-runs"
CASES = ("rollback", "batch")
"""A rollback deletes the latest run of one thread; a batch, the latest runs of several."""
KINDS = {"run_marker": "run markers", "checkpoint": "checkpoints", "writes": "writes"}
"""Item kinds (``bench/ddbsize.py``'s labels) and what the table calls them."""


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.4g}"


def _bytes(n: float) -> str:
    return (
        f"{n:,.0f} B" if n < 10_000 else f"{n / 1e6:,.2f} MB" if n >= 1e6 else f"{n / 1000:,.1f} KB"
    )


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary or summary.get("p50_ms") is None:
        return "–"
    return f"{summary['p50_ms']:,.1f} / {summary['p95_ms']:,.1f} ms"


def per_call(p: dict[str, Any] | None, calls: int) -> dict[str, Any] | None:
    """Requests (and by operation), RCU, WCU and DynamoDB Local's time (the proxy's wait
    for its answers, ``upstream_ms``) per call of a phase of ``calls`` calls."""
    if p is None or p.get("error") or calls <= 0:
        return None
    totals = p.get("totals", {})
    upstream = sum(e.get("upstream_ms", 0.0) for e in p.get("ops", {}).values())
    return {
        "calls": calls,
        "upstream_ms": upstream / calls,
        "requests": totals.get("requests", 0) / calls,
        "targets": {k: v / calls for k, v in sorted(totals.get("targets", {}).items())},
        "rcu": totals.get("rcu", 0.0) / calls,
        "wcu": totals.get("wcu", 0.0) / calls,
    }


def costs(phases: dict[str, Any], case: str, n: int) -> dict[str, Any]:
    """The three ways of one case at one size, each per call with its latency:
    ``delete`` (``delete_for_runs``, whole), ``find`` (the markers' Queries), ``scan``
    (the old Scan, paginated)."""
    out: dict[str, Any] = {}
    p = phases.get(f"{case}@{n}")
    op = (p or {}).get("ops", {}).get("delete_for_runs", {})
    found = per_call(p, int(op.get("calls", 0)))
    if found is not None:
        out["delete"] = {**found, "latency": op.get("latency")}
    for way, sample in (("find", "find"), ("scan", "scan")):
        p = phases.get(f"{case}_{way}@{n}")
        latency = (p or {}).get("samples", {}).get(sample)
        found = per_call(p, int((latency or {}).get("n", 0)))
        if found is not None:
            out[way] = {**found, "latency": latency}
    return out


def written_per_run(p: dict[str, Any] | None, runs: int) -> dict[str, Any] | None:
    """Per run of a fill phase: requests (and by operation), RCU, WCU, and the items and
    bytes written by item kind (every saver operation of the phase)."""
    found = per_call(p, runs)
    if found is None or p is None:
        return None
    kinds: dict[str, dict[str, float]] = {}
    for entry in p.get("ops", {}).values():
        for kind, w in entry.get("written_by_kind", {}).items():
            slot = kinds.setdefault(kind, {"items": 0.0, "bytes": 0.0})
            slot["items"] += w["items"] / runs
            slot["bytes"] += w["bytes"] / runs
    return {**found, "written": kinds}


def stored_per_run(stored: dict[str, Any] | None, runs: int) -> dict[str, dict[str, float]]:
    """Items and bytes stored by item kind per run (and with DynamoDB's 100 B an item)."""
    if not stored or runs <= 0:
        return {}
    return {
        kind: {
            "items": s["items"] / runs,
            "bytes": s["bytes"] / runs,
            "bytes_with_overhead": (s["bytes"] + 100 * s["items"]) / runs,
        }
        for kind, s in sorted(stored.get("by_kind", {}).items())
    }


def marker_cost(with_id: dict[str, Any] | None, without: dict[str, Any] | None) -> dict[str, Any]:
    """What a run's ``run_id`` adds per run: requests, WCU (all of it: the marker's and
    any head that the ``rid`` attribute takes over a 1 KB step), the marker items and
    their bytes, and the bytes its heads gain (``rid``, and the id in their metadata)."""
    if with_id is None or without is None:
        return {}
    none = {"items": 0.0, "bytes": 0.0}
    marker = with_id["written"].get("run_marker", none)
    heads = with_id["written"].get("checkpoint", none)
    plain_heads = without["written"].get("checkpoint", none)
    return {
        "requests": with_id["requests"] - without["requests"],
        "wcu": with_id["wcu"] - without["wcu"],
        "marker_items": marker["items"],
        "marker_bytes": marker["bytes"],
        "head_bytes": heads["bytes"] - plain_heads["bytes"],
        "heads": heads["items"],
    }


# --- cells ------------------------------------------------------------------------------------
def _requests_cell(c: dict[str, Any] | None) -> str:
    if c is None:
        return "–"
    inner = ", ".join(f"{k} {_num(v)}" for k, v in c["targets"].items())
    return f"{_num(c['requests'])} ({inner})" if inner else _num(c["requests"])


def _latency_cell(c: dict[str, Any] | None) -> str:
    if c is None:
        return "–"
    return f"{_ms(c.get('latency'))} ({c['upstream_ms']:,.1f})"


def _capacity_cell(c: dict[str, Any] | None) -> str:
    return "–" if c is None else f"{_num(c['rcu'])} / {_num(c['wcu'])}"


def _kind_cell(found: dict[str, dict[str, float]], kind: str, overhead: bool = False) -> str:
    k = found.get(kind)
    if not k or not k["items"]:
        return "–"
    text = f"{_num(k['items'])} ({_bytes(k['bytes'])}"
    if overhead:
        text += f"; {_bytes(k['bytes_with_overhead'])} with the 100 B an item"
    return text + ")"


def _calls(n: Any) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _table_cell(n: int, notes: dict[str, Any]) -> str:
    stored = notes.get(f"stored@{n}") or {}
    items, size = stored.get("items"), stored.get("bytes")
    if items is None or size is None:
        return f"{n:,} threads"
    return f"{n:,} threads: {items:,} items, {_bytes(size)}"


def _pages_line(notes: dict[str, Any], points: list[int], sizes: list[str]) -> str:
    """The Scan's pages and what one page took (the first rollback's Scan), per size."""
    parts = []
    for n, size in zip(points, sizes, strict=True):
        pages, times = (
            notes.get(f"rollback_scan@{n}_pages"),
            notes.get(f"rollback_scan@{n}_page_ms"),
        )
        if not pages or not times:
            continue
        first, median, last = times
        if pages[0] == 1:
            parts.append(f"{size}: 1 page, {first:,.0f} ms")
        else:
            parts.append(
                f"{size}: {pages[0]:,} pages, the first {first:,.0f} ms, the median "
                f"{median:,.0f} ms, the last {last:,.0f} ms"
            )
    if not parts:
        return ""
    return (
        "The Scan's pages, one after another (the first rollback's Scan): " + "; ".join(parts) + "."
    )


def _checks_cell(notes: dict[str, Any], points: list[int]) -> str:
    parts = []
    for n in points:
        for case in CASES:
            c = notes.get(f"{case}@{n}_checks")
            if not c:
                continue
            parts.append(
                f"{case}@{n:,}: {_calls(c['calls'])}, {c['runs']} runs; the Scan found the "
                f"marked threads in {c['scan_found_the_marked_threads']}/{c['calls']}; "
                f"{c['threads_rolled_back']}/{c['runs']} threads lost their latest run; "
                f"{c['markers_left']} markers left"
            )
    return "; ".join(parts) or "–"


# --- tables -----------------------------------------------------------------------------------
def tables(results: dict[str, Any]) -> list[str]:
    """The Markdown tables, when the workload ran."""
    entry = results.get("savers", {}).get(SPEC, {})
    w = entry.get("workloads", {}).get("runs")
    if not w:
        return []
    phases, notes = w.get("phases", {}), w.get("notes", {})
    points = list(notes.get("threads", []))
    if not points:
        return [f"(r) delete_for_runs: no result ({str(w.get('error') or '?')[:200]})."]
    base = points[0]
    sizes = [f"{n // base:,}x" for n in points]
    out = [
        f"Each thread: {notes.get('runs_per_thread', '?')} runs of the chat graph of (a), each "
        "an `invoke` with its `run_id` in the config's metadata (as the Agent Server sends "
        "it). Tables: "
        + "; ".join(f"{s} = {_table_cell(n, notes)}" for s, n in zip(sizes, points, strict=True))
        + f". A rollback deletes the latest run of one thread: {_calls(notes.get('rollbacks'))}"
        f" of one run each; a batch the latest runs of {notes.get('batch', '?')} threads: "
        f"{_calls(notes.get('batches'))} of {notes.get('batch', '?')} runs each; on threads "
        "filled at that size. The Scan is the old `delete_for_runs`'s first request, exactly "
        "(`FilterExpression: #rid IN (...)`, `ProjectionExpression: #pk, #sk, #tid`, "
        "`ConsistentRead`), paginated to the end: only the finding of the threads, the part "
        "the markers replace; the Queries and deletes of each thread came after it as they "
        "do now. Per call; p50 / p95 over the calls, and in brackets the mean time per call "
        "DynamoDB Local took to answer its requests (from the proxy: the rest is the client)."
    ]
    head = ["(r) delete_for_runs, per call"]
    for s in sizes:
        head += [f"{s}: requests", f"{s}: RCU / WCU", f"{s}: p50 / p95"]
    rows = []
    for case in CASES:
        found = {n: costs(phases, case, n) for n in points}
        for way, what in (
            ("delete", "`delete_for_runs` (ours, the whole call)"),
            ("find", "finding the threads, ours: the Query of each run's markers"),
            ("scan", "finding the threads the old way: the Scan"),
        ):
            cells = []
            for n in points:
                c = found[n].get(way)
                cells += [_requests_cell(c), _capacity_cell(c), _latency_cell(c)]
            rows.append([f"{case}: {what}", *cells])
    table = [
        "| " + " | ".join(head) + " |",
        "|---" * len(head) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "| checks | " + _checks_cell(notes, points) + " |" + " |" * (len(head) - 2),
    ]
    if w.get("error"):
        table.append(f"| error | {str(w['error'])[:120]} |" + " |" * (len(head) - 2))
    out.append("\n".join(table))
    pages = _pages_line(notes, points, sizes)
    if pages:
        out.append(pages)
    out.append(_write_table(phases, notes, base))
    return out


def _write_table(phases: dict[str, Any], notes: dict[str, Any], base: int) -> str:
    """The markers' write cost: the 1x fill with run ids and its twin without."""
    runs = int(notes.get(f"fill@{base}_runs") or 0)
    plain_runs = int(notes.get("fill_no_run_id_runs") or 0)
    with_id = written_per_run(phases.get(f"fill@{base}"), runs)
    without = written_per_run(phases.get("fill_no_run_id"), plain_runs)
    stored_with = stored_per_run(notes.get(f"stored@{base}"), runs)
    stored_without = stored_per_run(notes.get("stored_no_run_id"), plain_runs)
    extra = marker_cost(with_id, without)
    rows = [
        ["requests (by operation)", _requests_cell(with_id), _requests_cell(without)],
        ["RCU / WCU", _capacity_cell(with_id), _capacity_cell(without)],
    ]
    for kind, label in KINDS.items():
        rows.append(
            [
                f"written: {label}, items (bytes)",
                _kind_cell((with_id or {}).get("written", {}), kind),
                _kind_cell((without or {}).get("written", {}), kind),
            ]
        )
    for kind, label in KINDS.items():
        rows.append(
            [
                f"stored: {label}, items (bytes)",
                _kind_cell(stored_with, kind, overhead=True),
                _kind_cell(stored_without, kind, overhead=True),
            ]
        )
    if extra:
        rows.append(
            [
                "**what the run_id adds**",
                f"{_num(extra['requests'])} requests, {_num(extra['wcu'])} WCU; "
                f"{_num(extra['marker_items'])} marker item of {_bytes(extra['marker_bytes'])}, "
                f"and {_bytes(extra['head_bytes'])} on its {_num(extra['heads'])} checkpoints "
                "(`rid` and the id in their metadata)",
                "–",
            ]
        )
    return "\n".join(
        [
            f"| (r) per run, {runs:,} runs on {base:,} threads | with a `run_id` "
            f"(markers) | without ({plain_runs:,} runs) |",
            "|---|---|---|",
            *("| " + " | ".join(r) + " |" for r in rows),
        ]
    )
