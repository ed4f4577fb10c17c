"""The tables of the node-cache workload (n): one per answer size, a column per cache.

Counts are per run (a phase's totals over its runs: one cached step each), from the
counting proxy for ours (requests by DynamoDB operation, capacity, bytes of the HTTP
bodies) and from the Redis proxy for ``RedisCache`` (round trips, commands by name,
bytes); the in-process caches make no requests. Times are p50 / p95 over the runs of a
phase, of each cache call and of each run.

**Latency saved on a hit** = the node's work a hit avoids (p50 of the node's own time,
measured inside it on the runs without a cache) minus the cache's overhead on a hit (p50
of the ``get`` call on the hits). Beside it, as a check, the runs themselves: p50 of a
run without a cache and of a run on a hit. **Latency a miss adds** = p50 of a run on a
miss minus p50 of a run without a cache (the ``get`` that missed and the ``set``).
"""

from __future__ import annotations

from typing import Any

SIZES = (("1kb", "1 KB answer (text)"), ("600kb", "600 KB answer (a base64 image: chunks)"))
LOCAL = ("memory-cache", "sqlite-cache")


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.4g}"


def _bytes(n: float) -> str:
    return f"{n:,.0f} B" if n < 10_000 else f"{n / 1000:,.1f} KB"


def _ms(summary: dict[str, Any] | None) -> str:
    if not summary or summary.get("p50_ms") is None:
        return "–"
    return f"{summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} ms"


def _p50(summary: dict[str, Any] | None) -> float | None:
    value = (summary or {}).get("p50_ms")
    return float(value) if value is not None else None


def _runs(p: dict[str, Any]) -> int:
    return max(1, int(p.get("samples", {}).get("run", {}).get("n") or 1))


def calls_per_run(p: dict[str, Any]) -> dict[str, float]:
    """Cache calls per run of a phase, by method (``get``, ``set``)."""
    runs = _runs(p)
    return {
        op: e["calls"] / runs
        for op, e in sorted(p.get("ops", {}).items())
        if op != "-" and e.get("calls")
    }


def requests_per_run(p: dict[str, Any]) -> tuple[float, dict[str, float]] | None:
    """Requests per run and, by operation, per run: DynamoDB's (from the counting proxy)
    or Redis's (round trips, and commands by name); ``None`` in the process."""
    runs = _runs(p)
    wire = p.get("wire")
    if wire is not None:
        commands = {k: v / runs for k, v in wire.get("commands", {}).items()}
        return wire.get("round_trips", 0) / runs, commands
    totals = p.get("totals", {})
    if not totals.get("requests"):
        return None
    targets = {k: v / runs for k, v in sorted(totals.get("targets", {}).items())}
    return totals["requests"] / runs, targets


def bytes_per_run(p: dict[str, Any]) -> tuple[float, float] | None:
    """Bytes sent and received per run (HTTP bodies to DynamoDB, or Redis's protocol)."""
    runs = _runs(p)
    wire = p.get("wire")
    if wire is not None:
        return wire.get("bytes_sent", 0) / runs, wire.get("bytes_received", 0) / runs
    ops = p.get("ops", {}).values()
    sent = sum(e.get("request_bytes", 0) for e in ops)
    received = sum(e.get("response_bytes", 0) for e in ops)
    if not sent and not received:
        return None
    return sent / runs, received / runs


def capacity_per_run(p: dict[str, Any]) -> tuple[float, float] | None:
    """RCU and WCU per run (DynamoDB's ``ConsumedCapacity``), ``None`` without requests."""
    totals = p.get("totals", {})
    if not totals.get("requests") or p.get("wire") is not None:
        return None
    runs = _runs(p)
    return totals.get("rcu", 0.0) / runs, totals.get("wcu", 0.0) / runs


def latency_saved(none: dict[str, Any], hit: dict[str, Any]) -> dict[str, float] | None:
    """What a hit saves: the node's work (p50, measured inside it without a cache) minus
    the ``get`` on a hit (p50); and the runs' p50 without a cache and on a hit."""
    work = _p50(none.get("samples", {}).get("work"))
    get = _p50(hit.get("ops", {}).get("get", {}).get("latency"))
    run_none = _p50(none.get("samples", {}).get("run"))
    run_hit = _p50(hit.get("samples", {}).get("run"))
    if work is None or get is None or run_none is None or run_hit is None:
        return None
    return {
        "saved_ms": work - get,
        "work_ms": work,
        "get_ms": get,
        "run_none_ms": run_none,
        "run_hit_ms": run_hit,
        "run_saved_ms": run_none - run_hit,
    }


def miss_cost(none: dict[str, Any], miss: dict[str, Any]) -> float | None:
    """What a miss adds to a run: p50 of a run on a miss minus p50 of one without a cache."""
    run_none = _p50(none.get("samples", {}).get("run"))
    run_miss = _p50(miss.get("samples", {}).get("run"))
    if run_none is None or run_miss is None:
        return None
    return run_miss - run_none


# --- cells ------------------------------------------------------------------------------------
def _requests_cell(p: dict[str, Any] | None, spec: str) -> str:
    if p is None:
        return "–"
    found = requests_per_run(p)
    if found is None:
        return "none (in the process)" if spec in LOCAL else "0"
    total, by_op = found
    if p.get("wire") is not None:
        inner = ", ".join(f"{k} {_num(v)}" for k, v in by_op.items())
        unit = "round trip" if total == 1 else "round trips"
        return f"{_num(total)} {unit} (commands: {inner})"
    inner = ", ".join(f"{k} {_num(v)}" for k, v in by_op.items())
    return f"{_num(total)} ({inner})"


def _capacity_cell(p: dict[str, Any] | None) -> str:
    if p is None:
        return "–"
    found = capacity_per_run(p)
    return "–" if found is None else f"{_num(found[0])} RCU / {_num(found[1])} WCU"


def _bytes_cell(p: dict[str, Any] | None) -> str:
    if p is None:
        return "–"
    found = bytes_per_run(p)
    return "–" if found is None else f"{_bytes(found[0])} / {_bytes(found[1])}"


def _calls_cell(miss: dict[str, Any] | None, hit: dict[str, Any] | None) -> str:
    if miss is None or hit is None:
        return "–"

    def show(p: dict[str, Any]) -> str:
        return ", ".join(f"{op} {_num(n)}" for op, n in calls_per_run(p).items()) or "none"

    return f"{show(miss)} / {show(hit)}"


def _stored_cell(notes: dict[str, Any], size: str, spec: str) -> str:
    found = notes.get(f"{size}_stored")
    if not found or not found.get("entries"):
        return "–"
    per = found["bytes"] / found["entries"]
    items = found["items"] / found["entries"]
    what = "item" if spec == "ours-cache" else "key" if spec == "redis-cache" else "row"
    if spec == "memory-cache":
        return _bytes(per)
    return f"{_bytes(per)} ({_num(items)} {what}{'' if items == 1 else 's'})"


def _saved_cell(none: dict[str, Any] | None, hit: dict[str, Any] | None) -> str:
    if none is None or hit is None:
        return "–"
    found = latency_saved(none, hit)
    if found is None:
        return "–"
    return (
        f"**{found['saved_ms']:.1f} ms** (work {found['work_ms']:.1f} − get "
        f"{found['get_ms']:.1f}); runs {found['run_none_ms']:.1f} → {found['run_hit_ms']:.1f} ms"
    )


def _miss_cell(none: dict[str, Any] | None, miss: dict[str, Any] | None) -> str:
    if none is None or miss is None:
        return "–"
    found = miss_cost(none, miss)
    return "–" if found is None else f"{found:+.1f} ms"


def _checks_cell(notes: dict[str, Any], size: str, tags: list[str]) -> str:
    parts = []
    for tag in tags:
        c = notes.get(f"{size}_{tag}_checks")
        if not c:
            continue
        parts.append(
            f"{tag}: ran {c['node_runs_on_misses']} on misses, {c['node_runs_on_hits']} on "
            f"hits; {c['answers_right']}/{c['runs']} answers right"
        )
    return "; ".join(parts) or "–"


# --- tables -----------------------------------------------------------------------------------
def _phases(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    w = entry.get("workloads", {}).get("cache") or {}
    return w.get("phases", {}), w.get("notes", {})


def tables(results: dict[str, Any], caches: tuple[str, ...]) -> list[str]:
    """The Markdown tables of the cache workload, for the specs among ``caches`` that ran
    it (and a line for each one skipped)."""
    ran = [s for s in caches if "cache" in results["savers"].get(s, {}).get("workloads", {})]
    skipped = {s: r for s, r in (results.get("skipped") or {}).items() if s in caches}
    if not ran:
        return [f"{spec} not run: {reason}." for spec, reason in skipped.items()]
    labels = [results["savers"][s].get("label", s) for s in ran]
    first = _phases(results["savers"][ran[0]])[1]
    rtts = max((_phases(results["savers"][s])[1].get("rtts_ms", [0]) for s in ran), key=len)
    tags = ["loopback" if not r else f"rtt{r:g}" for r in rtts]
    out = [
        f"Each phase: {first.get('runs', '?')} runs of distinct questions; the cached node "
        f"works {first.get('work_ms', '?'):g} ms (a sleep, for an LLM or tool call). A miss "
        "is a question's first run, a hit its second. Per run; p50 / p95."
    ]
    for size, title in SIZES:
        out.append(_size_table(results, ran, labels, size, title, tags))
    for spec, reason in skipped.items():
        out.append(f"{spec} not run: {reason}.")
    return out


def _size_table(
    results: dict[str, Any],
    ran: list[str],
    labels: list[str],
    size: str,
    title: str,
    tags: list[str],
) -> str:
    """The table of one answer size."""
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, cell: Any) -> None:
        rows.append((name, [cell(s, *_phases(results["savers"][s])) for s in ran]))

    def ph(phases: dict[str, Any], name: str) -> dict[str, Any] | None:
        p = phases.get(name)
        return p if isinstance(p, dict) and not p.get("error") else None

    base = tags[0]
    row(
        "cache calls per run: miss / hit",
        lambda s, ps, n: _calls_cell(ph(ps, f"{size}_miss_{base}"), ph(ps, f"{size}_hit_{base}")),
    )
    for kind in ("miss", "hit"):
        row(
            f"requests per run, {kind}",
            lambda s, ps, n, kind=kind: _requests_cell(ph(ps, f"{size}_{kind}_{base}"), s),
        )
    for kind in ("miss", "hit"):
        row(
            f"capacity per run, {kind}",
            lambda s, ps, n, kind=kind: _capacity_cell(ph(ps, f"{size}_{kind}_{base}")),
        )
    for kind in ("miss", "hit"):
        row(
            f"bytes per run sent / received, {kind}",
            lambda s, ps, n, kind=kind: _bytes_cell(ph(ps, f"{size}_{kind}_{base}")),
        )
    row("stored per entry", lambda s, ps, n: _stored_cell(n, size, s))
    row("run without a cache", lambda s, ps, n: _ms(_sample(ph(ps, f"{size}_none"), "run")))
    for tag in tags:
        where = "loopback" if tag == "loopback" else f"{tag[3:]} ms round trip"

        def at(s: str, cell: str, tag: str = tag) -> str:
            if s in LOCAL and tag != "loopback":
                return "as on loopback (in the process)"
            return cell

        def miss(ps: dict[str, Any], tag: str = tag) -> dict[str, Any] | None:
            return ph(ps, f"{size}_miss_{tag}")

        def hit(ps: dict[str, Any], tag: str = tag) -> dict[str, Any] | None:
            return ph(ps, f"{size}_hit_{tag}")

        def none(ps: dict[str, Any]) -> dict[str, Any] | None:
            return ph(ps, f"{size}_none")

        row(f"{where}: get on a miss", lambda s, ps, n, m=miss: at(s, _ms(_op(m(ps), "get"))))
        row(f"{where}: set", lambda s, ps, n, m=miss: at(s, _ms(_op(m(ps), "set"))))
        row(f"{where}: get on a hit", lambda s, ps, n, h=hit: at(s, _ms(_op(h(ps), "get"))))
        row(f"{where}: run on a miss", lambda s, ps, n, m=miss: at(s, _ms(_sample(m(ps), "run"))))
        row(f"{where}: run on a hit", lambda s, ps, n, h=hit: at(s, _ms(_sample(h(ps), "run"))))
        row(
            f"{where}: latency a miss adds",
            lambda s, ps, n, m=miss: at(s, _miss_cell(none(ps), m(ps))),
        )
        row(
            f"{where}: **latency saved on a hit**",
            lambda s, ps, n, h=hit: at(s, _saved_cell(none(ps), h(ps))),
        )
    row("checks", lambda s, ps, n: _checks_cell(n, size, tags))
    errors = [str(results["savers"][s]["workloads"]["cache"].get("error") or "")[:80] for s in ran]
    if any(errors):
        rows.append(("errors", [e or "–" for e in errors]))
    return "\n".join(
        [
            f"| (n) node cache, {title}, per run | " + " | ".join(labels) + " |",
            "|---" * (len(ran) + 1) + "|",
            *("| " + name + " | " + " | ".join(cells) + " |" for name, cells in rows),
        ]
    )


def _op(p: dict[str, Any] | None, op: str) -> dict[str, Any] | None:
    if p is None:
        return None
    found = p.get("ops", {}).get(op, {}).get("latency")
    return found if isinstance(found, dict) else None


def _sample(p: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if p is None:
        return None
    found = p.get("samples", {}).get(name)
    return found if isinstance(found, dict) else None
