"""The thread directory's format (``schema``) and its page flow, without a table."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from langgraph.checkpoint.base.id import uuid6

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.flows.context import TableCtx
from langgraph_dynamodb.flows.threads import directory_page, is_current
from langgraph_dynamodb.steps import Fork
from tests.ids import id_at

PERIOD = schema.ACTIVITY_PERIOD_SECONDS


def test_the_period_is_the_quarter_hour_of_the_ids_time() -> None:
    at = dt.datetime(2026, 12, 7, 18, 29, 59, tzinfo=dt.timezone.utc).timestamp()
    assert schema.activity_period(id_at(at)) == "2026-12-07T18:15"
    assert schema.activity_period(id_at(at + 1)) == "2026-12-07T18:30"
    assert abs(schema.id_seconds(id_at(at)) - at) < 1e-6  # type: ignore[operator]
    made = str(uuid6(clock_seq=-1))  # LangGraph's own ids
    now = dt.datetime.now(dt.timezone.utc).timestamp()
    assert abs(schema.id_seconds(made) - now) < 60  # type: ignore[operator]
    v1 = uuid.uuid1()
    assert schema.activity_period(str(v1)) != ""
    for timeless in ("1", "checkpoint-7", str(uuid.uuid4()), "x" * 36):
        assert schema.id_seconds(timeless) is None and schema.activity_period(timeless) == ""


def test_a_root_put_writes_an_entry_when_it_enters_a_period() -> None:
    first, later, next_period = id_at(1000 * PERIOD), id_at(1000 * PERIOD + 5), id_at(1001 * PERIOD)
    assert schema.entered_period(None, first) == schema.activity_period(first)
    assert schema.entered_period(first, later) is None
    assert schema.entered_period(later, next_period) == schema.activity_period(next_period)
    assert schema.entered_period(next_period, later) == schema.activity_period(later)  # a fork
    assert schema.entered_period(None, "1") == "" and schema.entered_period("1", "2") is None


@given(st.text(min_size=1, max_size=40))
def test_entries_read_back_their_thread_and_period(thread_id: str) -> None:
    try:
        schema.thread_pk(thread_id)
    except Exception:  # noqa: BLE001 - ids the saver refuses have no entries
        return
    for period in ("", "2026-12-07T18:15"):
        item = schema.directory_entry(thread_id, period, None)
        read = schema.parse_directory_entry(item)
        assert read is not None and (read.thread_id, read.period) == (thread_id, period)
        assert item[schema.PK]["S"] == schema.directory_pk(thread_id)
        assert schema.key_of(item) == schema.directory_key(thread_id, period)


def test_a_long_thread_id_is_kept_beside_its_digest() -> None:
    long_id = "t" * (limits.MAX_THREAD_KEY_BYTES + 1)
    item = schema.directory_entry(long_id, "2026-12-07T18:15", 100)
    assert item[schema.THREAD] == {"S": long_id} and long_id not in item[schema.SK]["S"]
    assert item[schema.TTL] == {"N": str(100 + PERIOD)}  # it outlives its period's heads
    assert schema.parse_directory_entry(item).thread_id == long_id  # type: ignore[union-attr]
    assert schema.parse_directory_entry(schema.directory_complete()) is None
    assert schema.parse_directory_entry(schema.run_marker("r", "t", None)) is None


def test_entries_sort_newest_period_first_within_a_shard() -> None:
    periods = ["", "2026-01-01T00:00", "2026-12-07T18:15", "2026-12-07T18:30"]
    sks = [schema.directory_key("thread", p)[schema.SK]["S"] for p in periods]
    assert sks == sorted(sks)


def _entry(thread_id: str, period: str) -> dict[str, Any]:
    return schema.directory_entry(thread_id, period, None)


def test_a_page_merges_the_shards_and_looks_one_past_it() -> None:
    by_shard: dict[str, list[dict[str, Any]]] = {pk: [] for pk in schema.directory_shard_pks()}
    for i in range(12):
        item = _entry(f"t{i}", f"2026-12-07T{i:02d}:00")
        by_shard[item[schema.PK]["S"]].append(item)
    flow = directory_page(TableCtx(table="t", consistent_read=False, clock=lambda: 0.0), None, 5)
    fork = next(flow)
    assert isinstance(fork, Fork) and len(fork.flows) == schema.DIRECTORY_SHARDS
    answers = []
    for pk, sub in zip(schema.directory_shard_pks(), fork.flows, strict=True):
        request = next(sub)
        assert request.params["Limit"] == 6 and request.params["ScanIndexForward"] is False
        newest = sorted(by_shard[pk], key=schema.sk_of, reverse=True)[:6]
        try:
            sub.send({"Items": newest})
        except StopIteration as stop:
            answers.append(stop.value)
    try:
        flow.send(answers)
    except StopIteration as stop:
        page = stop.value
    assert [e.thread_id for e in page.entries] == ["t11", "t10", "t9", "t8", "t7"]
    assert page.next_below == page.entries[-1].sk
    assert is_current(
        page.entries[0], id_at(dt.datetime(2026, 12, 7, 11, 5, tzinfo=dt.timezone.utc).timestamp())
    )
