"""The thread directory on DynamoDB Local: what ``put`` writes beside a root checkpoint,
pages newest first across the shards, stale entries told apart, ``delete_thread``,
``copy_thread`` and ``prune`` keeping it true, ``setup()``'s mark, and the index of a
table written before the directory (``index_thread`` and ``index-threads``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_dynamodb import DynamoDBSaver, schema
from langgraph_dynamodb.flows.threads import is_current
from tests.conftest import REGION
from tests.ids import id_at

pytestmark = pytest.mark.integration

PERIOD = schema.ACTIVITY_PERIOD_SECONDS
BASE = 1_765_000_800.0  # a quarter hour's start (2025-12-06T06:00Z)


def cfg(thread: str, parent: str | None = None, ns: str = "") -> dict[str, Any]:
    conf = {"thread_id": thread, "checkpoint_ns": ns}
    if parent is not None:
        conf["checkpoint_id"] = parent
    return {"configurable": conf}


def put(
    saver: DynamoDBSaver, thread: str, at: float, parent: str | None = None, ns: str = ""
) -> str:
    cp = empty_checkpoint()
    cp["id"] = id_at(at)
    cp["channel_values"] = {"a": at}
    cp["channel_versions"] = {"a": saver.get_next_version(None, None)}
    stored = saver.put(cfg(thread, parent, ns), cp, {"step": 0}, cp["channel_versions"])
    return str(stored["configurable"]["checkpoint_id"])


def entries(name: str, endpoint: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    items = client.scan(TableName=name)["Items"]
    return [i for i in items if i["pk"]["S"] in schema.directory_shard_pks()]


@pytest.fixture()
def saver(ddb_endpoint: str) -> Iterator[DynamoDBSaver]:
    name = f"directory-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
        yield s


def test_a_thread_has_one_entry_per_quarter_hour_its_root_checkpoints_entered(
    saver: DynamoDBSaver, ddb_endpoint: str
) -> None:
    first = put(saver, "t", BASE + 10)
    second = put(saver, "t", BASE + 20, first)  # the same quarter hour: no entry
    put(saver, "t", BASE + 30, second, ns="sub:1")  # a subgraph's: none
    saver.stats.reset()
    third = put(saver, "t", BASE + PERIOD + 5, second)  # the next: an entry, in the same request
    assert saver.stats.requests == {"batch_write_item": 1}
    put(saver, "t", BASE + 40, first)  # a fork back into the first quarter hour: the same item
    found = sorted(
        schema.parse_directory_entry(i).period for i in entries(saver.table_name, ddb_endpoint)
    )  # type: ignore[union-attr]
    assert found == [schema.activity_period(first), schema.activity_period(third)]
    page = saver.directory_page()
    assert [e.period for e in page.entries] == [
        schema.activity_period(third),
        schema.activity_period(first),
    ]
    assert page.next_below is None
    latest = third  # the thread's latest root checkpoint: the newest entry is current
    assert [is_current(e, latest) for e in page.entries] == [True, False]
    assert not is_current(page.entries[0], None)  # a thread without checkpoints


def test_pages_merge_the_shards_newest_first(saver: DynamoDBSaver) -> None:
    threads = {f"thread-{i:02d}": BASE + i * PERIOD for i in range(30)}
    for thread, at in threads.items():
        put(saver, thread, at)
    assert len({schema.directory_pk(t) for t in threads}) > 4  # spread over the shards
    seen: list[str] = []
    below = None
    for _ in range(10):
        page = saver.directory_page(below=below, limit=7)
        assert len(page.entries) <= 7
        seen += [e.thread_id for e in page.entries]
        below = page.next_below
        if below is None:
            break
    assert seen == sorted(threads, key=threads.__getitem__, reverse=True)


def test_delete_copy_and_prune_keep_the_directory_true(
    saver: DynamoDBSaver, ddb_endpoint: str
) -> None:
    a = put(saver, "gone", BASE)
    put(saver, "gone", BASE + 3 * PERIOD, a)
    put(saver, "kept", BASE + PERIOD)
    assert len(entries(saver.table_name, ddb_endpoint)) == 3
    saver.delete_thread("gone")
    assert [e.thread_id for e in saver.directory_page().entries] == ["kept"]

    a = put(saver, "pruned", BASE + 2 * PERIOD)
    b = put(saver, "pruned", BASE + 4 * PERIOD, a)
    saver.copy_thread("pruned", "copy")  # the copy's current entry: its latest's quarter hour
    saver.prune(["pruned"], strategy="keep_latest")  # the stale entry goes with its heads
    listed = [(e.thread_id, e.period) for e in saver.directory_page().entries]
    assert sorted(listed) == sorted(
        [
            ("copy", schema.activity_period(b)),
            ("pruned", schema.activity_period(b)),
            ("kept", schema.activity_period(id_at(BASE + PERIOD))),
        ]
    )


def test_a_table_written_before_the_directory_is_indexed_once(ddb_endpoint: str) -> None:
    name = f"directory-old-{uuid.uuid4().hex[:8]}"
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    client.create_table(**schema.create_table_params(name))  # as a template makes it
    with DynamoDBSaver(
        table_name=name, endpoint_url=ddb_endpoint, region_name=REGION, ttl=3600
    ) as saver:
        assert not saver.directory_is_complete()
        now = time.time()
        first = put(saver, "old-1", now - 3 * PERIOD)
        put(saver, "old-1", now, first)
        put(saver, "old-2", now)
        gone = put(saver, "old-3", now)
        saver.delete_thread("old-3")
        assert gone
        heads = {
            i["pk"]["S"]: int(i["ttl"]["N"])
            for i in client.scan(TableName=name)["Items"]
            if i["pk"]["S"].startswith(schema.THREAD_PREFIX) and i["sk"]["S"].endswith("~")
        }
        for item in entries(name, ddb_endpoint):  # as an older build left the table
            client.delete_item(TableName=name, Key=schema.key_of(item))
        assert saver.index_thread("old-1") == schema.activity_period(id_at(now))
        (entry,) = entries(name, ddb_endpoint)
        expires = max(t for pk, t in heads.items() if pk == schema.thread_pk("old-1"))
        assert int(entry["ttl"]["N"]) == expires + PERIOD  # it outlives the latest head
        assert saver.index_thread("old-3") is None  # deleted: nothing to list
        client.delete_item(TableName=name, Key=schema.key_of(entry))

    pytest.importorskip("rich", reason="the command line is the [cli] extra")
    from langgraph_dynamodb.cli.app import main

    assert (
        main(["--endpoint-url", ddb_endpoint, "--region", REGION, "--table", name, "index-threads"])
        == 0
    )
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as saver:
        assert saver.directory_is_complete()
        assert sorted(e.thread_id for e in saver.directory_page().entries) == ["old-1", "old-2"]
