"""Turn the runners' raw figures into the side-by-side tables, the goal ratios and the chart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

OPS = ("get_tuple", "put", "put_writes", "list", "get_delta_channel_history")


# --- extraction -----------------------------------------------------------------------------
def _wl(saver: dict[str, Any], name: str) -> dict[str, Any] | None:
    w = saver.get("workloads", {}).get(name)
    return w if isinstance(w, dict) else None


def _phase(saver: dict[str, Any], wl: str, phase: str) -> dict[str, Any] | None:
    w = _wl(saver, wl)
    if w is None:
        return None
    p = w.get("phases", {}).get(phase)
    return p if isinstance(p, dict) else None


def _ok(saver: dict[str, Any], wl: str) -> bool:
    w = _wl(saver, wl)
    return w is not None and not w.get("error")


def _sample(p: dict[str, Any] | None, name: str, key: str = "p50_ms") -> float | None:
    if p is None:
        return None
    value = p.get("samples", {}).get(name, {}).get(key)
    return float(value) if value is not None else None


def _per_call(p: dict[str, Any] | None, op: str) -> tuple[float | None, int | None]:
    """Mean and max requests per call of ``op`` in a phase."""
    if p is None or op not in p.get("ops", {}):
        return None, None
    e = p["ops"][op]
    if not e["calls"]:
        return None, None
    worst = max((int(k) for k in e.get("requests_per_call", {})), default=0)
    return e["requests"] / e["calls"], worst


def _wcu_per_turn(f: dict[str, Any]) -> str:
    """A chat turn's write units, by call, beside the floor: one unit per write call
    (what a turn costs when every item it writes fits in one unit)."""
    turns = f.get("chat.turns")
    parts = [f.get(f"chat.{op}.wcu") for op in ("put", "put_writes")]
    calls = [f.get(f"chat.{op}.calls") for op in ("put", "put_writes")]
    if not turns or None in parts or None in calls:
        return "–"
    put, writes = (p / turns for p in parts)  # type: ignore[operator]
    floor = sum(calls) / turns  # type: ignore[arg-type]
    return f"{put:.2f} + {writes:.2f} = {put + writes:.2f} ({floor:.0f})"


def figures(saver: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one saver (``None`` where it has none)."""
    f: dict[str, Any] = {}
    for wl in ("chat", "fanout"):
        g = _phase(saver, wl, "graph")
        w = _wl(saver, wl)
        ok = _ok(saver, wl)
        f[f"{wl}.ok"] = ok
        f[f"{wl}.error"] = (w or {}).get("error")
        if g is None:
            continue
        t = g["totals"]
        f[f"{wl}.calls"] = t["calls"]
        f[f"{wl}.requests"] = t["requests"]
        f[f"{wl}.wcu"] = t["wcu"]
        f[f"{wl}.rcu"] = t["rcu"]
        f[f"{wl}.wall_s"] = g["wall_s"]
        f[f"{wl}.calls_per_s"] = t["calls"] / g["wall_s"] if g["wall_s"] else None
        f[f"{wl}.bytes_written"] = t["bytes_written"]
        for op in OPS:
            mean, worst = _per_call(g, op)
            f[f"{wl}.{op}.req_per_call"] = mean
            f[f"{wl}.{op}.req_max"] = worst
            lat = g.get("ops", {}).get(op, {}).get("latency", {})
            f[f"{wl}.{op}.p50_ms"] = lat.get("p50_ms")
            f[f"{wl}.{op}.p95_ms"] = lat.get("p95_ms")
            f[f"{wl}.{op}.cpu_p50_ms"] = g.get("ops", {}).get(op, {}).get("cpu", {}).get("p50_ms")
            f[f"{wl}.{op}.wcu"] = g.get("ops", {}).get(op, {}).get("wcu")
            f[f"{wl}.{op}.calls"] = g.get("ops", {}).get(op, {}).get("calls")
        expected = ((w or {}).get("notes") or {}).get("messages_expected")
        if wl == "chat" and expected:
            f["chat.turns"] = expected / 2
        storage = (w or {}).get("storage", {})
        f[f"{wl}.bytes"] = storage.get("bytes")
        f[f"{wl}.items"] = storage.get("items")
    gs = _phase(saver, "chat", "get_state")
    f["get_state.p50_ms"] = _sample(gs, "get_state")
    f["get_state.p95_ms"] = _sample(gs, "get_state", "p95_ms")
    if gs is not None:
        n = gs["samples"].get("get_state", {}).get("n") or 1
        f["get_state.requests"] = gs["totals"]["requests"] / n
        f["get_state.rcu"] = gs["totals"]["rcu"] / n
    hist = _phase(saver, "chat", "history")
    notes = (_wl(saver, "chat") or {}).get("notes", {})
    if hist is not None:
        f["history.requests"] = hist["totals"]["requests"]
        f["history.rcu"] = hist["totals"]["rcu"]
        f["history.wall_s"] = hist["wall_s"]
        f["history.rows"] = notes.get("history_rows")
        f["history.rows_expected"] = notes.get("history_rows_expected")
    lp = _phase(saver, "chat", "list_page")
    f["list10.p50_ms"] = _sample(lp, "list_limit_10")
    f["list10.req_per_call"] = _per_call(lp, "list")[0]
    if f.get("chat.ok") and f.get("fanout.ok"):
        for key in ("requests", "calls", "wcu", "rcu", "bytes", "wall_s"):
            a, b = f.get(f"chat.{key}"), f.get(f"fanout.{key}")
            f[f"both.{key}"] = a + b if a is not None and b is not None else None
    # (c) scale
    sc = _wl(saver, "scale")
    if sc is not None:
        f["scale.error"] = sc.get("error")
        f["scale.checkpoints"] = sc.get("notes", {}).get("checkpoints")
        points = sorted(
            int(k.split("@")[1]) for k in sc.get("phases", {}) if k.startswith("get_tuple@")
        )
        f["scale.points"] = points
        for n in points:
            p = sc["phases"][f"get_tuple@{n}"]
            f[f"scale.get_tuple@{n}.p50_ms"] = _sample(p, "get_tuple_latest")
            f[f"scale.get_tuple@{n}.req"] = _per_call(p, "get_tuple")[0]
            f[f"scale.get_tuple@{n}.rcu"] = p["totals"]["rcu"] / max(
                1, p["ops"].get("get_tuple", {}).get("calls", 1)
            )
            p = sc["phases"].get(f"get_tuple_oldest@{n}")
            f[f"scale.get_tuple_by_id@{n}.p50_ms"] = _sample(p, "get_tuple_by_id")
            f[f"scale.get_tuple_by_id@{n}.req"] = _per_call(p, "get_tuple")[0]
            f[f"scale.get_tuple_by_id@{n}.rcu"] = (p["totals"]["rcu"] / 5) if p else None
            p = sc["phases"].get(f"list10@{n}")
            f[f"scale.list10@{n}.p50_ms"] = _sample(p, "list_limit_10")
            f[f"scale.list10@{n}.req"] = _per_call(p, "list")[0]
            f[f"scale.list10@{n}.rcu"] = (p["totals"]["rcu"] / 5) if p else None
        builds = [v for k, v in sc.get("phases", {}).items() if k.startswith("build@")]
        put_ms = [v["ops"].get("put", {}).get("latency", {}).get("p50_ms") for v in builds]
        f["scale.put.p50_ms"] = put_ms[-1] if put_ms else None
        for op in ("copy_thread", "prune", "delete_thread"):
            p = sc.get("phases", {}).get(op)
            note = sc.get("notes", {}).get(op)
            if p is not None and note is None:
                f[f"scale.{op}.requests"] = p["totals"]["requests"]
                f[f"scale.{op}.targets"] = p["totals"]["targets"]
                f[f"scale.{op}.wall_s"] = p["wall_s"]
            else:
                f[f"scale.{op}.note"] = note
        f["scale.prune_left"] = sc.get("notes", {}).get("prune_left_checkpoints")
    # (d) large
    lg = _wl(saver, "large")
    if lg is not None:
        g = lg.get("phases", {}).get("graph")
        f["large.error"] = lg.get("error")
        if g is not None:
            f["large.requests"] = g["totals"]["requests"]
            f["large.wcu"] = g["totals"]["wcu"]
            f["large.rcu"] = g["totals"]["rcu"]
            f["large.wall_s"] = g["wall_s"]
            f["large.put.p50_ms"] = g["ops"].get("put", {}).get("latency", {}).get("p50_ms")
        f["large.get_state.p50_ms"] = _sample(lg.get("phases", {}).get("get_state"), "get_state")
        f["large.bytes"] = lg.get("storage", {}).get("bytes")
        f["large.state_chars"] = lg.get("notes", {}).get("state_chars")
    # (e) concurrent
    cc = _wl(saver, "concurrent")
    if cc is not None:
        from bench import concurrent_report

        f.update(concurrent_report.figures(cc))
    # (f) delta
    dl = _wl(saver, "delta")
    if dl is not None:
        n = dl.get("notes", {})
        f["delta.error"] = dl.get("error")
        f["delta.skipped"] = n.get("skipped")
        f["delta.overrides"] = n.get("overrides_get_delta_channel_history")
        gs = dl.get("phases", {}).get("get_state")
        mean, worst = _per_call(gs, "get_delta_channel_history")
        f["delta.req_per_call"] = mean
        f["delta.req_max"] = worst
        f["delta.p50_ms"] = (
            gs["ops"].get("get_delta_channel_history", {}).get("latency", {}).get("p50_ms")
            if gs
            else None
        )
        f["delta.get_state.p50_ms"] = _sample(gs, "get_state")
        f["delta.correct"] = (
            n.get("messages_latest") == n.get("messages_expected")
            if "messages_latest" in n
            else None
        )
    # (h) the chat with a simulated round trip
    rt = _wl(saver, "rtt")
    if rt is not None:
        n = rt.get("notes", {})
        f["rtt.error"] = rt.get("error")
        f["rtt.rtt_ms"] = n.get("rtt_ms")
        g = rt.get("phases", {}).get("graph")
        if g is not None:
            turns = n.get("turns") or 1
            f["rtt.calls_per_turn"] = g["totals"]["calls"] / turns
            f["rtt.requests_per_turn"] = g["totals"]["requests"] / turns
            f["rtt.turn.p50_ms"] = _sample(g, "turn")
            f["rtt.turn.p95_ms"] = _sample(g, "turn", "p95_ms")
            f["rtt.in_sequence.p50"] = _sample(g, "in_sequence")
            f["rtt.wall_s"] = g["wall_s"]
        gs = rt.get("phases", {}).get("get_state")
        f["rtt.get_state.p50_ms"] = _sample(gs, "get_state")
        f["rtt.get_state.p95_ms"] = _sample(gs, "get_state", "p95_ms")
        if gs is not None:
            samples = gs["samples"].get("get_state", {}).get("n") or 1
            f["rtt.get_state.requests"] = gs["totals"]["requests"] / samples
    # (g) cpu
    cp = _wl(saver, "cpu")
    if cp is not None:
        p = cp.get("phases", {}).get("put")
        f["cpu.error"] = cp.get("error")
        f["cpu.put_cpu.p50_ms"] = _sample(p, "put_cpu")
        f["cpu.put_wall.p50_ms"] = _sample(p, "put_wall")
        f["cpu.put.wcu"] = (p["totals"]["wcu"] / max(1, p["totals"]["calls"])) if p else None
        f["cpu.serde_dumps_cpu.p50_ms"] = _sample(
            cp.get("phases", {}).get("serde"), "serde_dumps_cpu"
        )
    # (i) cold start
    from bench import coldstart_report

    f.update(coldstart_report.figures(saver))
    return f


# --- formatting ---------------------------------------------------------------------------------
def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "–"
        if digits == 0:
            return f"{round(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


def _mb(value: Any) -> str:
    return "–" if value is None else f"{value / 1e6:.3f} MB"


def _ms(value: Any) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def _req(mean: Any, worst: Any) -> str:
    if mean is None:
        return "–"
    text = f"{mean:.2f}"
    if worst is not None and worst > mean + 1e-9:
        text += f" (max {worst})"
    return text


def _p50_p95(key: str) -> Any:
    """A cell showing ``<key>.p50_ms / <key>.p95_ms`` of a saver's figures."""

    def cell(f: dict[str, Any]) -> str:
        if f.get(f"{key}.p50_ms") is None:
            return "–"
        return f"{f[f'{key}.p50_ms']:.1f} / {f[f'{key}.p95_ms']:.1f} ms"

    return cell


def _table(
    title: str, savers: list[str], labels: dict[str, str], rows: list[tuple[str, list[str]]]
) -> str:
    head = "| " + title + " | " + " | ".join(labels[s] for s in savers) + " |"
    sep = "|---" * (len(savers) + 1) + "|"
    body = ["| " + name + " | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join([head, sep, *body])


def tables(results: dict[str, Any]) -> str:
    """The side-by-side tables in Markdown, one per workload."""
    from bench import savers as saver_specs

    savers = [
        s for s in results["savers"] if s not in saver_specs.CACHES and s not in saver_specs.RUNS
    ]
    labels = {s: results["savers"][s].get("label", s) for s in savers}
    figs = {s: results["savers"][s].get("figures") or figures(results["savers"][s]) for s in savers}
    out: list[str] = []

    def row(name: str, fn: Any) -> tuple[str, list[str]]:
        return name, [fn(figs[s]) for s in savers]

    def err(wl: str) -> Any:
        return lambda f: (
            ("error: " + str(f.get(f"{wl}.error"))[:60]) if f.get(f"{wl}.error") else ""
        )

    sizes = _sizes(results)
    for wl, title in (
        ("chat", f"(a) chat, {sizes.get('chat_turns', '?')} turns"),
        (
            "fanout",
            f"(b) fan-out, {sizes.get('fanout_runs', '?')} runs"
            f" x {sizes.get('fanout_agents', '?')} agents",
        ),
    ):
        if not any(f"{wl}.calls" in figs[s] for s in savers):
            continue
        rows = [
            row("saver calls", lambda f, wl=wl: _num(f.get(f"{wl}.calls"))),
            row("requests", lambda f, wl=wl: _num(f.get(f"{wl}.requests"))),
        ]
        for op in ("get_tuple", "put", "put_writes"):
            rows.append(
                row(
                    f"requests per {op} (mean, max)",
                    lambda f, wl=wl, op=op: _req(
                        f.get(f"{wl}.{op}.req_per_call"), f.get(f"{wl}.{op}.req_max")
                    ),
                )
            )
        if wl == "chat":
            rows.append(row("WCU per turn: put + put_writes (floor)", _wcu_per_turn))
        rows += [
            row("WCU", lambda f, wl=wl: _num(f.get(f"{wl}.wcu"), 1)),
            row("RCU", lambda f, wl=wl: _num(f.get(f"{wl}.rcu"), 1)),
            row("bytes stored after", lambda f, wl=wl: _mb(f.get(f"{wl}.bytes"))),
            row("items stored", lambda f, wl=wl: _num(f.get(f"{wl}.items"))),
        ]
        for op in ("get_tuple", "put", "put_writes"):
            rows.append(
                row(f"{op} p50 / p95", _p50_p95(f"{wl}.{op}")),
            )
        rows.append(
            row(
                "client CPU per call p50: get_tuple / put / put_writes",
                lambda f, wl=wl: (
                    " / ".join(
                        _num(f.get(f"{wl}.{op}.cpu_p50_ms"), 1)
                        for op in ("get_tuple", "put", "put_writes")
                    )
                    + " ms"
                ),
            )
        )
        rows += [
            row("wall time", lambda f, wl=wl: _num(f.get(f"{wl}.wall_s"), 2) + " s"),
            row("throughput (saver calls/s)", lambda f, wl=wl: _num(f.get(f"{wl}.calls_per_s"), 1)),
        ]
        if wl == "chat":
            rows += [
                row("get_state (latest) p50 / p95", _p50_p95("get_state")),
                row(
                    "get_state requests / RCU",
                    lambda f: (
                        f"{_num(f.get('get_state.requests'), 1)}"
                        f" / {_num(f.get('get_state.rcu'), 1)}"
                    ),
                ),
                row(
                    "history: rows returned",
                    lambda f: (
                        f"{_num(f.get('history.rows'))} of {_num(f.get('history.rows_expected'))}"
                        + (
                            " **(short)**"
                            if f.get("history.rows") is not None
                            and f.get("history.rows") != f.get("history.rows_expected")
                            else ""
                        )
                    ),
                ),
                row("history: requests", lambda f: _num(f.get("history.requests"))),
                row("history: RCU", lambda f: _num(f.get("history.rcu"), 1)),
                row("history: wall time", lambda f: _num(f.get("history.wall_s"), 2) + " s"),
                row(
                    "list(limit=10): p50, requests",
                    lambda f: (
                        f"{_ms(f.get('list10.p50_ms'))}, {_num(f.get('list10.req_per_call'), 1)}"
                    ),
                ),
            ]
        rows.append(row("errors", err(wl)))
        out.append(_table(title, savers, labels, rows))

    if any("both.requests" in figs[s] for s in savers):
        rows = [
            row(
                "requests / saver calls",
                lambda f: f"{_num(f.get('both.requests'))} / {_num(f.get('both.calls'))}",
            ),
            row("WCU", lambda f: _num(f.get("both.wcu"), 1)),
            row("RCU", lambda f: _num(f.get("both.rcu"), 1)),
            row("bytes stored after both", lambda f: _mb(f.get("both.bytes"))),
            row("wall time of both", lambda f: _num(f.get("both.wall_s"), 2) + " s"),
        ]
        out.append(_table("(a)+(b) together", savers, labels, rows))

    scale_savers = [s for s in savers if figs[s].get("scale.points")]
    if scale_savers:
        points = sorted({n for s in scale_savers for n in figs[s]["scale.points"]})
        rows = []
        for label, key in (
            ("latest get_tuple", "get_tuple"),
            ("get_tuple(oldest id)", "get_tuple_by_id"),
            ("list(limit=10)", "list10"),
        ):
            for n in points:
                rows.append(row(f"{label} @ {n:,}: requests, RCU, p50", _scale_cell(key, n)))
        rows.append(row("put p50 (last size)", lambda f: _ms(f.get("scale.put.p50_ms"))))
        for op in ("copy_thread", "prune", "delete_thread"):
            rows.append(row(f"{op}: requests (by op)", lambda f, op=op: _targets(f, op)))
        rows.append(row("checkpoints left after prune", lambda f: _num(f.get("scale.prune_left"))))
        rows.append(row("errors", err("scale")))
        title = (
            "(c) one thread, many checkpoints (N = " + " / ".join(f"{n:,}" for n in points) + ")"
        )
        out.append(_table(title, savers, labels, rows))

    if any("large.error" in figs[s] for s in savers):
        rows = [
            row("requests", lambda f: _num(f.get("large.requests"))),
            row("WCU", lambda f: _num(f.get("large.wcu"), 1)),
            row("RCU", lambda f: _num(f.get("large.rcu"), 1)),
            row("bytes stored after", lambda f: _mb(f.get("large.bytes"))),
            row("put p50", lambda f: _ms(f.get("large.put.p50_ms"))),
            row("get_state p50", lambda f: _ms(f.get("large.get_state.p50_ms"))),
            row("wall time", lambda f: _num(f.get("large.wall_s"), 2) + " s"),
            row("errors", err("large")),
        ]
        mb = sizes.get("large_chars", 0) / 1e6
        steps = sizes.get("large_invokes", 1) - 1
        out.append(
            _table(
                f"(d) large state (~{mb:g} MB of documents, then {steps} small runs)",
                savers,
                labels,
                rows,
            )
        )

    from bench import concurrent_report

    out.extend(concurrent_report.tables(results, figs))

    if any("delta.error" in figs[s] for s in savers):
        rows = [
            row(
                "overrides get_delta_channel_history",
                lambda f: (
                    _num(f.get("delta.overrides")) if not f.get("delta.skipped") else "skipped"
                ),
            ),
            row(
                "requests per call (mean, max)",
                lambda f: _req(f.get("delta.req_per_call"), f.get("delta.req_max")),
            ),
            row("get_delta_channel_history p50", lambda f: _ms(f.get("delta.p50_ms"))),
            row("get_state p50", lambda f: _ms(f.get("delta.get_state.p50_ms"))),
            row("state correct", lambda f: _num(f.get("delta.correct"))),
            row("errors", err("delta")),
        ]
        out.append(
            _table("(f) DeltaChannel chat: get_state replays the history", savers, labels, rows)
        )

    if any("cpu.error" in figs[s] for s in savers):
        rows = [
            row("client CPU per put, p50", lambda f: _ms(f.get("cpu.put_cpu.p50_ms"))),
            row("wall per put, p50", lambda f: _ms(f.get("cpu.put_wall.p50_ms"))),
            row("WCU per put", lambda f: _num(f.get("cpu.put.wcu"), 1)),
            row(
                "serde.dumps_typed(checkpoint) alone, p50",
                lambda f: (
                    "–"
                    if f.get("cpu.serde_dumps_cpu.p50_ms") is None
                    else f"{f['cpu.serde_dumps_cpu.p50_ms']:.3f} ms"
                ),
            ),
            row("errors", err("cpu")),
        ]
        out.append(_table("(g) CPU per put of a 100 KB state", savers, labels, rows))

    if any("rtt.error" in figs[s] for s in savers):
        rows = [
            row(
                "saver calls / requests per turn",
                lambda f: (
                    f"{_num(f.get('rtt.calls_per_turn'), 1)} / "
                    f"{_num(f.get('rtt.requests_per_turn'), 1)}"
                ),
            ),
            row("turn wall time p50 / p95", _p50_p95("rtt.turn")),
            row(
                "requests one after another per turn (p50)",
                lambda f: _num(f.get("rtt.in_sequence.p50"), 1),
            ),
            row("wall time of the turns", lambda f: _num(f.get("rtt.wall_s"), 2) + " s"),
            row("get_state (latest) p50 / p95", _p50_p95("rtt.get_state")),
            row("get_state requests", lambda f: _num(f.get("rtt.get_state.requests"), 1)),
            row("errors", err("rtt")),
        ]
        turns = sizes.get("rtt_turns", "N")
        rtt = sizes.get("rtt_ms", "?")
        out.append(
            _table(
                f"(h) chat, {turns} turns, {rtt} ms simulated round trip per request",
                savers,
                labels,
                rows,
            )
        )
    from bench import coldstart_report

    cold = coldstart_report.table(savers, labels, figs)
    if cold:
        out.append(cold)
    from bench import store_report

    out.extend(store_report.tables(results, saver_specs.STORES))
    from bench import cli_report

    out.extend(cli_report.tables(results))
    from bench import cache_report

    out.extend(cache_report.tables(results, saver_specs.CACHES))
    from bench import runs_report

    out.extend(runs_report.tables(results))
    return "\n\n".join(out)


def _scale_cell(key: str, n: int) -> Any:
    def cell(f: dict[str, Any]) -> str:
        req = f.get(f"scale.{key}@{n}.req")
        if req is None:
            return "–"
        rcu = f.get(f"scale.{key}@{n}.rcu")
        return f"{req:.1f}, {_num(rcu, 1)}, {_ms(f.get(f'scale.{key}@{n}.p50_ms'))}"

    return cell


def _sizes(results: dict[str, Any]) -> dict[str, Any]:
    return dict(results.get("meta", {}).get("size_table", {}))


def _targets(f: dict[str, Any], op: str) -> str:
    if f.get(f"scale.{op}.note"):
        return str(f[f"scale.{op}.note"])[:60]
    targets = f.get(f"scale.{op}.targets")
    if targets is None:
        return "–"
    inner = ", ".join(f"{k} {v:,}" for k, v in sorted(targets.items()))
    return f"{f.get(f'scale.{op}.requests', 0):,} ({inner})"


# --- goals --------------------------------------------------------------------------------------
def _best(
    figs: dict[str, dict[str, Any]], key: str, peers: list[str], where: Any = None
) -> tuple[str | None, float | None]:
    best: tuple[str | None, float | None] = (None, None)
    for s in peers:
        value = figs[s].get(key)
        if value is None or (where is not None and not where(figs[s])):
            continue
        if best[1] is None or value < best[1]:
            best = (s, value)
    return best


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of issue 3 as: ours, the best peer's, the ratio, the target, met or not."""
    from bench import concurrent_report

    savers = results["savers"]
    figs = {s: savers[s].get("figures") or figures(savers[s]) for s in savers}
    out: list[dict[str, Any]] = concurrent_report.goals(results, figs)
    if "ours" not in savers:
        return out
    ours = figs["ours"]
    peers = [s for s in savers if not s.startswith("ours")]

    def ratio_goal(
        goal: str, key: str, target: float, where: Any = None, unit: str = "", mine: str = "ours"
    ) -> None:
        best_name, best = _best(figs, key, peers, where)
        value = figs[mine].get(key)
        if value is None:
            return
        ratio = value / best if value is not None and best else None
        out.append(
            {
                "goal": goal,
                "ours": value,
                "best_peer": best_name,
                "best_peer_value": best,
                "ratio": ratio,
                "target": f"<= {target:g}x",
                "met": None if ratio is None else ratio <= target,
                "unit": unit,
            }
        )

    calls, requests = ours.get("both.calls"), ours.get("both.requests")
    if calls:
        out.append(
            {
                "goal": "requests = saver calls (chat + fan-out)",
                "ours": requests,
                "best_peer": None,
                "best_peer_value": None,
                "ratio": requests / calls,
                "target": "1.0 request per call",
                "met": requests == calls,
                "unit": f"requests for {calls} calls",
            }
        )
    for op in ("get_tuple", "put", "put_writes"):
        seen = [ours.get(f"{wl}.{op}.req_max") for wl in ("chat", "fanout")]
        if all(v is None for v in seen):
            continue
        worst = max(v or 0 for v in seen)
        out.append(
            {
                "goal": f"{op}: 1 request",
                "ours": worst,
                "best_peer": None,
                "best_peer_value": None,
                "ratio": None,
                "target": "max 1 per call",
                "met": worst == 1,
                "unit": "max requests per call",
            }
        )
    ratio_goal("WCU, chat + fan-out", "both.wcu", 1 / 3, unit="WCU")
    ratio_goal("WCU, chat", "chat.wcu", 1 / 3, unit="WCU")
    ratio_goal("WCU, fan-out", "fanout.wcu", 1 / 3, unit="WCU")

    def all_history_rows(f: dict[str, Any]) -> bool:
        return bool(f.get("history.rows") == f.get("history.rows_expected"))

    ratio_goal(
        "RCU of the full 120-checkpoint history (peers returning all rows)",
        "history.rcu",
        1 / 10,
        where=all_history_rows,
        unit="RCU",
    )
    if "ours-eventual" in figs:
        # Like for like: langgraph-checkpoint-aws reads eventually consistent.
        ratio_goal(
            "RCU of the full history, eventually consistent reads (ours +eventual)",
            "history.rcu",
            1 / 10,
            where=all_history_rows,
            unit="RCU",
            mine="ours-eventual",
        )
    ratio_goal("bytes stored after chat + fan-out", "both.bytes", 1 / 4, unit="bytes")
    ratio_goal("get_state (latest) p50", "get_state.p50_ms", 1 / 2, unit="ms")
    ratio_goal("wall time of chat + fan-out", "both.wall_s", 1 / 2, unit="s")
    rtt = f"{ours.get('rtt.rtt_ms') or '?'} ms simulated RTT"
    ratio_goal(f"get_state (latest) p50, {rtt}", "rtt.get_state.p50_ms", 1 / 2, unit="ms")
    ratio_goal(f"wall time of the chat turns, {rtt}", "rtt.wall_s", 1 / 2, unit="s")
    n_conc = ours.get("concurrent.invokes") or 32
    for key, how in (
        ("concurrent.speedup", "loopback"),
        ("concurrent.speedup_rtt", f"{ours.get('concurrent.rtt_ms') or '?'} ms simulated RTT"),
    ):
        speedup = ours.get(key)
        if speedup is None:
            continue
        best_name, best_value = _best_max(figs, key, peers)
        out.append(
            {
                "goal": f"{n_conc} concurrent ainvokes vs sequential throughput ({how})",
                "ours": speedup,
                "best_peer": best_name,
                "best_peer_value": best_value,
                "ratio": None,
                "target": ">= 4x",
                "met": None if speedup is None else speedup >= 4,
                "unit": "x",
            }
        )
    points = ours.get("scale.points") or []
    if points:
        big, small = points[-1], points[0]
        req = ours.get(f"scale.get_tuple@{big}.req")
        t_big, t_small = (
            ours.get(f"scale.get_tuple@{big}.p50_ms"),
            ours.get(f"scale.get_tuple@{small}.p50_ms"),
        )
        out.append(
            {
                "goal": f"latest get_tuple at {big:,} checkpoints: 1 request, flat time",
                "ours": req,
                "best_peer": None,
                "best_peer_value": None,
                "ratio": t_big / t_small if t_big and t_small else None,
                "target": f"1 request; time @{big:,} / @{small:,} <= 1.5",
                "met": None
                if req is None
                else (
                    req == 1
                    and t_big is not None
                    and t_small is not None
                    and t_big <= 1.5 * t_small
                ),
                "unit": "requests",
            }
        )
        l_big, l_small = (
            ours.get(f"scale.list10@{big}.p50_ms"),
            ours.get(f"scale.list10@{small}.p50_ms"),
        )
        out.append(
            {
                "goal": f"list(limit=10) at {big:,} checkpoints: flat",
                "ours": l_big,
                "best_peer": None,
                "best_peer_value": None,
                "ratio": l_big / l_small if l_big and l_small else None,
                "target": f"time @{big:,} / @{small:,} <= 1.5",
                "met": None if not (l_big and l_small) else l_big <= 1.5 * l_small,
                "unit": "ms",
            }
        )
        for op in ("delete_thread", "prune"):
            targets = ours.get(f"scale.{op}.targets")
            if not targets:
                continue
            n = ours.get("scale.checkpoints") or big
            batches = targets.get("BatchWriteItem", 0)
            items = 2 * n  # a head and one writes item per checkpoint in this workload
            out.append(
                {
                    "goal": f"{op} of {n:,} checkpoints: batched",
                    "ours": ours.get(f"scale.{op}.requests"),
                    "best_peer": None,
                    "best_peer_value": None,
                    "ratio": batches / (items / 25) if items else None,
                    "target": f"~{items // 25:,} BatchWriteItem ({items:,} items / 25) + pages",
                    "met": batches <= 1.2 * items / 25 + 2,
                    "unit": "requests ("
                    + ", ".join(f"{k} {v}" for k, v in sorted(targets.items()))
                    + ")",
                }
            )
    if ours.get("delta.req_max") is not None or ours.get("delta.overrides") is not None:
        out.append(
            {
                "goal": "get_delta_channel_history in <= 2 requests",
                "ours": ours.get("delta.req_max"),
                "best_peer": None,
                "best_peer_value": None,
                "ratio": None,
                "target": "<= 2 requests per call",
                "met": None if ours.get("delta.req_max") is None else ours["delta.req_max"] <= 2,
                "unit": "max requests per call"
                + ("" if ours.get("delta.overrides") else " (base class walk)"),
            }
        )
    if ours.get("cpu.put_cpu.p50_ms") is not None:
        best_name, best = _best(figs, "cpu.put_cpu.p50_ms", peers)
        out.append(
            {
                "goal": "CPU per put of a 100 KB state (measured)",
                "ours": ours.get("cpu.put_cpu.p50_ms"),
                "best_peer": best_name,
                "best_peer_value": best,
                "ratio": ours["cpu.put_cpu.p50_ms"] / best if best else None,
                "target": "measured (profile in latest.json)",
                "met": None,
                "unit": "ms",
            }
        )
    from bench import coldstart_report

    out.extend(coldstart_report.goals(figs, peers))
    return out


def _best_max(
    figs: dict[str, dict[str, Any]], key: str, peers: list[str]
) -> tuple[str | None, float | None]:
    best: tuple[str | None, float | None] = (None, None)
    for s in peers:
        v = figs[s].get(key)
        if v is not None and (best[1] is None or v > best[1]):
            best = (s, v)
    return best


def goals_table(rows: list[dict[str, Any]], labels: dict[str, str]) -> str:
    lines = [
        "| goal | ours | best peer | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for g in rows:
        peer = "–"
        if g["best_peer"]:
            peer = f"{_fmt(g['best_peer_value'])} ({labels.get(g['best_peer'], g['best_peer'])})"
        ratio = "–" if g["ratio"] is None else f"{g['ratio']:.3g}"
        met = {True: "yes", False: "**no**", None: "–"}[g["met"]]
        ours = f"{_fmt(g['ours'])} {g['unit']}"
        lines.append(f"| {g['goal']} | {ours} | {peer} | {ratio} | {g['target']} | {met} |")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --- chart ----------------------------------------------------------------------------------------
def chart(results: dict[str, Any], path: Path) -> Path | None:
    """A PNG of the headline figures, one panel each; ``None`` without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        return None
    savers = list(results["savers"])
    labels = {s: results["savers"][s].get("label", s) for s in savers}
    figs = {s: results["savers"][s].get("figures") or figures(results["savers"][s]) for s in savers}
    panels = [
        ("requests, chat + fan-out", "both.requests", False, "{:,.0f}"),
        ("WCU, chat + fan-out", "both.wcu", False, "{:,.0f}"),
        ("RCU, full chat history", "history.rcu", True, "{:,.0f}"),
        ("bytes stored after chat + fan-out (MB)", "both.bytes", False, "{:.2f}"),
        ("get_state (latest) p50, ms", "get_state.p50_ms", False, "{:.1f}"),
        ("wall time, chat + fan-out, s", "both.wall_s", False, "{:.1f}"),
        ("concurrent / sequential ainvokes, 10 ms RTT", "concurrent.speedup_rtt", False, "{:.2f}x"),
        ("requests per get_delta_channel_history", "delta.req_per_call", True, "{:.0f}"),
    ]
    colors = ["#1f77b4", "#ff7f0e", "#ffbb78", "#2ca02c", "#d62728", "#9467bd"]
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.5))
    for ax, (title, key, log, fmt) in zip(axes.flat, panels, strict=False):
        values = []
        for s in savers:
            f = figs[s]
            values.append(f.get(key))
        xs = range(len(savers))
        heights = [0.0 if v is None else (v / 1e6 if key == "both.bytes" else v) for v in values]
        bars = ax.bar(xs, heights, color=[colors[i % len(colors)] for i in xs])
        floor = min((h for h in heights if h > 0), default=1.0) if log else 0.0
        for bar, v, h in zip(bars, values, heights, strict=False):
            label = "n/a" if v is None else fmt.format(h)
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, h if v is not None else floor),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        if log and any(h > 0 for h in heights):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(title, fontsize=10)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(savers, fontsize=9)
        ax.margins(y=0.2)
    legend = "   ".join(f"{s}: {labels[s]}" for s in savers)
    fig.text(0.5, 0.01, legend, ha="center", fontsize=9)
    meta = results.get("meta", {})
    fig.suptitle(
        f"langgraph-dynamodb vs peers on DynamoDB Local {meta.get('dynamodb_local', '')} "
        f"({meta.get('nproc', '?')} cores, {meta.get('sizes', '')} sizes, "
        f"{meta.get('date', '')[:10]}); lower is better except throughput",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(results: dict[str, Any]) -> str:
    """The machine, the versions, the tables and the goals, as one Markdown document."""
    meta = results.get("meta", {})
    labels = {s: results["savers"][s].get("label", s) for s in results["savers"]}
    lines = [
        f"Run {meta.get('date', '?')} ({meta.get('sizes', '?')} sizes), "
        f"`{meta.get('command', '')}`, git {meta.get('git', '?')}, "
        f"{meta.get('total_wall_s', '?')} s in all.",
        "",
        f"Machine: {meta.get('nproc', '?')} cores ({meta.get('cpu', '?')}), "
        f"{meta.get('memory_gb', '?')} GB, {meta.get('platform', '?')}, "
        f"Python {meta.get('python', '?')}, "
        f"{meta.get('java', '?')}, DynamoDB Local {meta.get('dynamodb_local', '?')} "
        f"(npm {meta.get('dynamodb_local_npm', '?')}, in memory). Load average (1/5/15 min) "
        f"{meta.get('loadavg_start')} at the start, {meta.get('loadavg_end')} at the end.",
        "",
        "| saver | configuration | versions (pip resolved) |",
        "|---|---|---|",
    ]
    for name, entry in results["savers"].items():
        versions = entry.get("versions", {})
        shown = ", ".join(
            f"{k} {v}"
            for k, v in versions.items()
            if k in ("langgraph", "langgraph-checkpoint", "langchain-core", "boto3", "aiobotocore")
        )
        lines.append(f"| {labels[name]} | {entry.get('note', '')} | {shown} |")
    from bench import savers as saver_specs

    for name, reason in (results.get("skipped") or {}).items():
        spec = saver_specs.SAVERS.get(name)
        lines.append(f"| {spec.label if spec else name} | not run: {reason} | – |")
    if results.get("meta", {}).get("redis_server") and "redis-cache" in results["savers"]:
        lines += ["", f"Redis: {results['meta']['redis_server']}."]
    lines += ["", tables(results)]
    if results.get("goals"):
        lines += ["", goals_table(results["goals"], labels)]
    return "\n".join(lines)
