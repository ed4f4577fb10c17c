"""The counting of the benchmark's node-cache workload (``python -m bench --workloads
cache``): the Redis proxy's commands, replies and round trips (``bench/redis_wire.py``)
and the per-run figures of the report (``bench/cache_report.py``). They back the figures
in docs/performance.md, so the arithmetic is pinned here; counts only, never times.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ..conftest import load_bench_module

wire = load_bench_module("redis_wire")
cache_report = load_bench_module("cache_report")


def command(*args: bytes) -> bytes:
    """A command as redis-py writes it (an array of bulk strings)."""
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


BIG = b"x" * 600_000
SET_PIPELINE = (
    command(b"MULTI") + command(b"SETEX", b"langgraph:cache:k", b"3600", BIG) + command(b"EXEC")
)
SET_REPLIES = b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
MGET = command(b"MGET", b"langgraph:cache:k")
MGET_REPLY = b"*1\r\n$5\r\nhello\r\n"


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def test_command_names_of_a_pipeline_and_an_inline_command() -> None:
    names = wire.CommandNames()
    assert names.idle and names.started == 0
    assert names.feed(SET_PIPELINE + b"PING\r\n") == ["MULTI", "SETEX", "EXEC", "PING"]
    assert names.idle and names.started == 4
    half = wire.CommandNames()
    assert half.feed(command(b"SETEX", b"k", b"1", BIG)[:1000]) == ["SETEX"]
    assert not half.idle and half.started == 1  # the value is still being sent


@given(st.lists(st.integers(0, len(SET_PIPELINE)), max_size=8))
def test_command_names_do_not_depend_on_how_tcp_splits_the_bytes(cuts: list[int]) -> None:
    names = wire.CommandNames()
    found = [n for part in chunks(SET_PIPELINE + MGET, cuts) for n in names.feed(part)]
    assert found == ["MULTI", "SETEX", "EXEC", "MGET"]
    assert names.idle and names.started == 4


def test_reply_counter_counts_top_level_replies() -> None:
    assert wire.ReplyCounter().feed(SET_REPLIES) == 3  # +OK, +QUEUED, EXEC's array
    assert wire.ReplyCounter().feed(MGET_REPLY) == 1
    assert wire.ReplyCounter().feed(b"*2\r\n$-1\r\n$3\r\nabc\r\n") == 1  # MGET: a miss, a hit
    assert wire.ReplyCounter().feed(b"*2\r\n*1\r\n:1\r\n*0\r\n-ERR x\r\n") == 2  # nested
    assert wire.ReplyCounter().feed(b"*-1\r\n$-1\r\n_\r\n%1\r\n+a\r\n:1\r\n") == 4  # RESP3 map
    big = b"$600000\r\n" + BIG + b"\r\n"
    counter = wire.ReplyCounter()
    assert counter.feed(big[:70_000]) == 0
    assert counter.feed(big[70_000:]) == 1


@given(st.lists(st.integers(0, 40), max_size=8))
def test_reply_counter_does_not_depend_on_how_tcp_splits_the_bytes(cuts: list[int]) -> None:
    stream = SET_REPLIES + MGET_REPLY + b"*2\r\n$-1\r\n$3\r\nabc\r\n"
    counter = wire.ReplyCounter()
    assert sum(counter.feed(part) for part in chunks(stream, cuts)) == 5
    assert counter.count == 5


def test_a_pipeline_answered_early_is_one_round_trip() -> None:
    """The server answers MULTI while the client still sends the 600 KB value: the rest
    of the write is the same round trip; the next command, after every reply, a new one."""
    turns = wire.Conversation()
    first, rest = SET_PIPELINE[:65_536], SET_PIPELINE[65_536:]
    assert turns.client_wrote(first) == (True, ["MULTI", "SETEX"])
    assert turns.server_wrote(b"+OK\r\n") == 1  # MULTI's reply, before the value is sent
    assert turns.client_wrote(rest) == (False, ["EXEC"])
    assert turns.server_wrote(b"+QUEUED\r\n*1\r\n") == 1  # EXEC's array not complete yet
    assert turns.client_wrote(MGET)[0] is False  # not a new round trip: a reply is due
    turns = wire.Conversation()
    turns.client_wrote(SET_PIPELINE)
    turns.server_wrote(SET_REPLIES)
    assert turns.client_wrote(MGET) == (True, ["MGET"])
    turns.server_wrote(MGET_REPLY)
    assert turns.client_wrote(MGET[:5]) == (True, [])  # a write that ends mid-command
    assert turns.client_wrote(MGET[5:]) == (False, ["MGET"])


def test_wire_counters_per_scope() -> None:
    counters = wire.WireCounters()
    counters.opened("p")
    counters.client_wrote("p", b"abc", ["MULTI", "SETEX", "EXEC"], True)
    counters.client_wrote("p", b"de", [], False)
    counters.server_wrote("p", b"+OK\r\n")
    counters.client_wrote("q", b"x", ["MGET"], True)
    assert counters.take("p") == {
        "round_trips": 1,
        "commands": {"EXEC": 1, "MULTI": 1, "SETEX": 1},
        "bytes_sent": 5,
        "bytes_received": 5,
        "connections": 1,
    }
    assert counters.take("p")["round_trips"] == 0  # taken
    assert counters.take("q")["commands"] == {"MGET": 1}


# --- the report's per-run figures ---------------------------------------------------------
def phase(runs: int, **extra: Any) -> dict[str, Any]:
    return {"samples": {"run": {"n": runs, "p50_ms": 1.0, "p95_ms": 2.0}}, **extra}


OURS_MISS = phase(
    40,
    totals={
        "requests": 80,
        "rcu": 0.0,
        "wcu": 81.0,
        "targets": {"BatchWriteItem": 40, "BatchGetItem": 40},
    },
    ops={
        "get": {"calls": 40, "request_bytes": 12_000, "response_bytes": 4_000},
        "set": {"calls": 40, "request_bytes": 48_000, "response_bytes": 6_000},
    },
)


def test_requests_capacity_and_bytes_per_run_of_ours() -> None:
    assert cache_report.requests_per_run(OURS_MISS) == (
        2.0,
        {"BatchGetItem": 1.0, "BatchWriteItem": 1.0},
    )
    assert cache_report.capacity_per_run(OURS_MISS) == (0.0, 2.025)  # the directory, once
    assert cache_report.bytes_per_run(OURS_MISS) == (1_500.0, 250.0)
    assert cache_report.calls_per_run(OURS_MISS) == {"get": 1.0, "set": 1.0}
    assert cache_report._requests_cell(OURS_MISS, "ours-cache") == (
        "2 (BatchGetItem 1, BatchWriteItem 1)"
    )
    assert cache_report._capacity_cell(OURS_MISS) == "0 RCU / 2.025 WCU"


def test_redis_round_trips_and_in_process_caches() -> None:
    redis_hit = phase(
        40,
        totals={"requests": 0, "targets": {}},
        wire={
            "round_trips": 40,
            "commands": {"MGET": 40},
            "bytes_sent": 5_840,
            "bytes_received": 24_004_000,
        },
    )
    assert cache_report.requests_per_run(redis_hit) == (1.0, {"MGET": 1.0})
    assert cache_report.bytes_per_run(redis_hit) == (146.0, 600_100.0)
    assert cache_report.capacity_per_run(redis_hit) is None
    assert cache_report._requests_cell(redis_hit, "redis-cache") == (
        "1 round trip (commands: MGET 1)"
    )
    in_process = phase(40, totals={"requests": 0, "targets": {}}, ops={"get": {"calls": 40}})
    assert cache_report.requests_per_run(in_process) is None
    assert cache_report.bytes_per_run(in_process) is None
    assert cache_report._requests_cell(in_process, "memory-cache") == "none (in the process)"


def test_latency_saved_is_the_work_avoided_minus_the_get_on_a_hit() -> None:
    none = {
        "samples": {
            "run": {"n": 40, "p50_ms": 202.0, "p95_ms": 205.0},
            "work": {"n": 40, "p50_ms": 200.5, "p95_ms": 201.0},
        }
    }
    hit = {
        "samples": {"run": {"n": 40, "p50_ms": 16.0, "p95_ms": 19.0}},
        "ops": {"get": {"calls": 40, "latency": {"n": 40, "p50_ms": 14.5, "p95_ms": 17.0}}},
    }
    miss = {"samples": {"run": {"n": 40, "p50_ms": 236.0, "p95_ms": 245.0}}}
    assert cache_report.latency_saved(none, hit) == {
        "saved_ms": 186.0,
        "work_ms": 200.5,
        "get_ms": 14.5,
        "run_none_ms": 202.0,
        "run_hit_ms": 16.0,
        "run_saved_ms": 186.0,
    }
    assert cache_report.miss_cost(none, miss) == 34.0
    assert cache_report.latency_saved(none, {"samples": {}}) is None


def test_tables_show_in_process_caches_as_on_loopback_and_skipped_ones() -> None:
    def entry(label: str, rtts: list[float]) -> dict[str, Any]:
        tags = ["loopback" if not r else f"rtt{r:g}" for r in rtts]
        phases = {f"{size}_none": phase(40) for size in ("1kb", "600kb")}
        for size in ("1kb", "600kb"):
            for tag in tags:
                phases[f"{size}_miss_{tag}"] = OURS_MISS
                phases[f"{size}_hit_{tag}"] = phase(40)
        notes = {"runs": 40, "work_ms": 200.0, "rtts_ms": rtts}
        return {"label": label, "workloads": {"cache": {"phases": phases, "notes": notes}}}

    results = {
        "savers": {"ours-cache": entry("ours", [0.0, 10.0]), "memory-cache": entry("mem", [0.0])},
        "skipped": {"redis-cache": "no redis-server on this machine"},
    }
    out = cache_report.tables(results, ("ours-cache", "memory-cache", "redis-cache"))
    assert len(out) == 4  # the legend, two sizes, the skipped line
    assert "| 10 ms round trip: get on a hit | – | as on loopback (in the process) |" in out[1]
    assert "| requests per run, miss | 2 (BatchGetItem 1, BatchWriteItem 1) |" in out[1]
    assert out[3] == "redis-cache not run: no redis-server on this machine."
