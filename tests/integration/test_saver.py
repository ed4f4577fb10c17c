"""DynamoDBSaver on DynamoDB Local, each test through the sync and the async API."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import boto3
import pytest
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from langgraph_dynamodb import (
    DynamoDBSaver,
    InvalidInputError,
    SerializationError,
    TableNotFoundError,
    TableSchemaError,
    schema,
)
from langgraph_dynamodb.codec import ZstdCompressor
from langgraph_dynamodb.crypto import AesGcmCipher
from langgraph_dynamodb.storage import items
from langgraph_dynamodb.storage import items as items_

from ..conftest import REGION
from .conftest import Driver

pytestmark = pytest.mark.integration

ODD_IDS = [
    "t1",
    "t10",
    "t1#x",
    "t1$",
    "a|b:c$d#e%f",
    "with spaces and\ttabs",
    "unicode тред 🧵",
    "x" * 600,
    "#",
    "$",
    "\x00nul",
]


def make_checkpoint(values: dict[str, Any], versions: dict[str, Any] | None = None) -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6(clock_seq=-1))
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = versions if versions is not None else {k: 1 for k in values}
    return cp


def cfg(thread_id: str, ns: str = "", cp_id: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if cp_id is not None:
        conf["checkpoint_id"] = cp_id
    return {"configurable": conf}


async def put_chain(
    drive: Driver, thread_id: str, steps: list[dict[str, Any]], ns: str = ""
) -> list[dict[str, Any]]:
    """Put a chain of checkpoints where step i sets the given channels (new versions)."""
    configs = []
    parent: str | None = None
    values: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for i, changes in enumerate(steps):
        values.update(changes)
        for k in changes:
            versions[k] = drive.saver.get_next_version(versions.get(k), None)
        cp = make_checkpoint(values, dict(versions))
        new_versions = {k: versions[k] for k in changes}
        stored = await drive("put", cfg(thread_id, ns, parent), cp, {"step": i}, new_versions)
        parent = stored["configurable"]["checkpoint_id"]
        configs.append(stored)
    return configs


async def test_odd_ids_are_isolated(drive: Driver) -> None:
    suffix = uuid.uuid4().hex[:6]
    for i, raw in enumerate(ODD_IDS):
        tid = raw + suffix if raw != "x" * 600 else raw + suffix
        for ns in ("", raw, "child:" + raw):
            await put_chain(drive, tid, [{"v": f"{i}/{ns}"}], ns=ns)
            await drive(
                "put_writes",
                (await drive("get_tuple", cfg(tid, ns))).config,
                [("w", f"{i}/{ns}")],
                raw or "task",
            )
    for i, raw in enumerate(ODD_IDS):
        tid = raw + suffix
        for ns in ("", raw, "child:" + raw):
            tup = await drive("get_tuple", cfg(tid, ns))
            assert tup is not None, (raw, ns)
            assert tup.checkpoint["channel_values"] == {"v": f"{i}/{ns}"}
            assert tup.config["configurable"]["thread_id"] == tid
            assert tup.config["configurable"]["checkpoint_ns"] == ns
            assert [w[2] for w in tup.pending_writes] == [f"{i}/{ns}"]
        listed = await drive("list", {"configurable": {"thread_id": tid}})
        assert len(listed) == 3
        assert {t.config["configurable"]["thread_id"] for t in listed} == {tid}


BIG = "a large unchanged value " * 100  # over SMALL_VALUE_INLINE_BYTES: stored by reference


async def test_references_resolve_over_long_chains(drive: Driver, thread_id: str) -> None:
    steps = [{"fixed": BIG, "counter": 0}] + [{"counter": i} for i in range(1, 25)]
    configs = await put_chain(drive, thread_id, steps)
    latest = await drive("get_tuple", cfg(thread_id))
    assert latest.checkpoint["channel_values"] == {"fixed": BIG, "counter": 24}
    history = await drive("list", cfg(thread_id))
    assert [t.checkpoint["channel_values"]["counter"] for t in history] == list(range(24, -1, -1))
    assert all(t.checkpoint["channel_values"]["fixed"] == BIG for t in history)
    mid = await drive("get_tuple", configs[10])
    assert mid.checkpoint["channel_values"] == {"fixed": BIG, "counter": 10}
    limited = await drive("list", cfg(thread_id), limit=3)
    assert [t.checkpoint["channel_values"] for t in limited] == [
        {"fixed": BIG, "counter": i} for i in (24, 23, 22)
    ]
    # The value is stored once, and referred to by every later checkpoint:
    raw = boto3.client("dynamodb", endpoint_url=drive.saver.endpoint_url, region_name=REGION)
    items = raw.query(
        TableName=drive.saver.table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread_id)}},
    )["Items"]
    assert len(items) == 25
    heads = [items_.decode_item(i) for i in items]
    holding = [h for h in heads if isinstance(h, items_.Head)]
    assert sum("fixed" in h.payload(drive.saver._compression).stored for h in holding) == 1


async def test_cold_reader_resolves_references(
    drive: Driver, thread_id: str, ddb_endpoint: str, table_name: str
) -> None:
    await put_chain(drive, thread_id, [{"a": 1, "b": "x" * 5000}] + [{"a": i} for i in range(2, 6)])
    drive.saver._index = type(drive.saver._index)()  # forget everything: a cold writer
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as fresh:
        other = Driver(fresh, drive.mode)
        tup = await other("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"] == {"a": 5, "b": "x" * 5000}


async def test_get_tuple_is_one_request(drive: Driver, thread_id: str) -> None:
    configs = await put_chain(
        drive, thread_id, [{"a": i, "b": "same"} if i == 0 else {"a": i} for i in range(8)]
    )
    ref_configs = await put_chain(
        drive, thread_id, [{"big": BIG, "a": 0}, *({"a": i} for i in range(1, 6))], ns="refs"
    )
    await drive("put_writes", configs[-1], [("a", 1), ("b", 2)], "task-1")
    stats = drive.saver.stats
    stats.reset()
    tup = await drive("get_tuple", cfg(thread_id))
    assert stats.total_requests == 1, stats.requests
    assert len(tup.pending_writes) == 2
    stats.reset()
    tup = await drive("get_tuple", configs[3])
    assert stats.total_requests == 1, stats.requests
    assert tup.checkpoint["channel_values"] == {"a": 3, "b": "same"}
    stats.reset()
    tup = await drive("get_tuple", ref_configs[1])  # the holder is the row next to it
    assert stats.total_requests == 1, stats.requests
    assert tup.checkpoint["channel_values"] == {"big": BIG, "a": 1}
    stats.reset()
    tup = await drive("get_tuple", cfg(thread_id, "refs"))  # holder 5 heads back
    assert stats.requests == {"query": 1}, stats.requests  # the saver knows how far to read
    assert tup.checkpoint["channel_values"] == {"big": BIG, "a": 5}
    async with DynamoDBSaver.from_table(
        drive.saver.table_name, endpoint_url=drive.saver.endpoint_url, region_name=REGION
    ) as cold:  # a new process knows nothing: reads a few items, fetches the holder by key
        tup = await Driver(cold, drive.mode)("get_tuple", cfg(thread_id, "refs"))
        assert cold.stats.requests == {"query": 1, "batch_get_item": 1}, cold.stats.requests
        assert tup.checkpoint["channel_values"] == {"big": BIG, "a": 5}
    stats.reset()
    await drive("put_writes", configs[-1], [("c", 3)], "task-2")
    assert stats.requests == {"put_item": 1}
    stats.reset()
    # a thread's first checkpoint comes with its thread directory entry; its child, of
    # the same quarter hour, needs none
    await put_chain(drive, thread_id + "-x", [{"a": 1}, {"a": 2}])
    assert stats.requests == {"batch_write_item": 1, "put_item": 1}


async def test_writes_first_wins_special_last_wins(drive: Driver, thread_id: str) -> None:
    (c,) = await put_chain(drive, thread_id, [{"a": 1}])
    await drive("put_writes", c, [("x", "first"), ("y", "first")], "t")
    await drive("put_writes", c, [("x", "second"), ("y", "second"), ("z", "new")], "t")
    await drive("put_writes", c, [("__error__", "e1")], "t")
    await drive("put_writes", c, [("__error__", "e2")], "t")
    await drive("put_writes", c, [("__resume__", "r1"), ("y", "third")], "t")
    tup = await drive("get_tuple", c)
    writes = [(w[1], w[2]) for w in tup.pending_writes]
    memory = InMemorySaver()
    mc = memory.put(cfg(thread_id), tup.checkpoint, {}, {})
    for batch in (
        [("x", "first"), ("y", "first")],
        [("x", "second"), ("y", "second"), ("z", "new")],
        [("__error__", "e1")],
        [("__error__", "e2")],
        [("__resume__", "r1"), ("y", "third")],
    ):
        memory.put_writes(mc, batch, "t")
    expected = [(w[1], w[2]) for w in memory.get_tuple(mc).pending_writes]
    assert writes == expected


async def test_writes_sort_order_idx_ten_after_two(drive: Driver, thread_id: str) -> None:
    (c,) = await put_chain(drive, thread_id, [{"a": 1}])
    await drive("put_writes", c, [(f"ch{i}", i) for i in range(12)], "task-b", "path~2")
    await drive("put_writes", c, [("only", "a")], "task-a", "path~1")
    tup = await drive("get_tuple", c)
    assert [w[2] for w in tup.pending_writes] == ["a", *range(12)]


async def test_large_checkpoint_and_writes_are_chunked(drive: Driver, thread_id: str) -> None:
    big = os.urandom(1_500_000).hex()  # 3 MB of incompressible text
    (c,) = await put_chain(drive, thread_id, [{"big": big, "small": 1}])
    await drive("put_writes", c, [("big_write", big)], "task")
    tup = await drive("get_tuple", cfg(thread_id))
    assert tup.checkpoint["channel_values"]["big"] == big
    assert tup.pending_writes[0][2] == big
    listed = await drive("list", cfg(thread_id))
    assert listed[0].checkpoint["channel_values"]["big"] == big
    await drive("delete_thread", thread_id)
    assert await drive("get_tuple", cfg(thread_id)) is None
    raw = boto3.client("dynamodb", endpoint_url=drive.saver.endpoint_url, region_name=REGION).query(
        TableName=drive.saver.table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread_id)}},
    )
    assert [i["k"]["S"] for i in raw["Items"]] == [schema.KIND_TOMBSTONE]  # nothing else


async def test_channel_removed_does_not_come_back(drive: Driver, thread_id: str) -> None:
    cp = make_checkpoint({"a": 1}, {"a": 1, "gone": 1})
    await drive("put", cfg(thread_id), cp, {}, {"a": 1, "gone": 1})
    tup = await drive("get_tuple", cfg(thread_id))
    assert tup.checkpoint["channel_values"] == {"a": 1}


async def test_metadata_rules(drive: Driver, thread_id: str) -> None:
    config = cfg(thread_id)
    config["configurable"]["user_key"] = "u"
    config["configurable"]["step"] = 99
    config["metadata"] = {"source": "override-attempt", "extra": 5}
    stored = await drive("put", config, make_checkpoint({}), {"source": "loop", "step": 1}, {})
    tup = await drive("get_tuple", stored)
    memory = InMemorySaver()
    expected = memory.get_tuple(
        memory.put(config, make_checkpoint({}), {"source": "loop", "step": 1}, {})
    )
    assert tup.metadata == expected.metadata
    assert tup.metadata["source"] == "loop"
    assert tup.metadata["step"] == 1
    assert tup.metadata["user_key"] == "u"
    assert tup.metadata["extra"] == 5
    assert "thread_id" not in tup.metadata


async def test_list_semantics_match_in_memory(drive: Driver, thread_id: str) -> None:
    memory = InMemorySaver()
    other = thread_id + "-other"
    for tid in (thread_id, other):
        for ns in ("", "child:1"):
            parent = None
            for i in range(4):
                cp = make_checkpoint({"i": i}, {"i": i + 1})
                md = {"source": "loop" if i % 2 else "input", "step": i, "ns": ns}
                c = cfg(tid, ns, parent)
                stored = await drive("put", c, cp, md, {"i": i + 1})
                memory.put(c, cp, md, {"i": i + 1})
                parent = stored["configurable"]["checkpoint_id"]

    def ids(tuples: list[Any]) -> list[tuple[str, str, str]]:
        return [
            (
                t.config["configurable"]["thread_id"],
                t.config["configurable"]["checkpoint_ns"],
                t.checkpoint["id"],
            )
            for t in tuples
        ]

    cases: list[tuple[Any, dict[str, Any]]] = [
        (cfg(thread_id), {}),
        (cfg(thread_id, "child:1"), {}),
        (cfg(thread_id), {"filter": {"source": "input"}}),
        (cfg(thread_id, ""), {"filter": {"source": "loop", "step": 3}}),
        (cfg(thread_id, ""), {"limit": 2}),
        (cfg(thread_id, ""), {"filter": {"source": "loop"}, "limit": 1}),
        (cfg(thread_id, "child:1"), {"filter": {"nothing": 1}}),
    ]
    some = memory.list(cfg(thread_id, ""))
    mid = list(some)[1]
    cases.append((cfg(thread_id, ""), {"before": mid.config}))
    cases.append((cfg(thread_id, "", mid.checkpoint["id"]), {}))
    for config, kwargs in cases:
        ours = await drive("list", config, **kwargs)
        theirs = list(memory.list(config, **kwargs))
        if "checkpoint_ns" in config["configurable"]:
            assert ids(ours) == ids(theirs), (config, kwargs)
        else:
            assert sorted(ids(ours)) == sorted(ids(theirs)), (config, kwargs)
        for o, t in zip(
            sorted(ours, key=lambda x: x.checkpoint["id"]),
            sorted(theirs, key=lambda x: x.checkpoint["id"]),
            strict=True,
        ):
            assert o.checkpoint["channel_values"] == t.checkpoint["channel_values"]
            assert o.metadata == t.metadata
            assert o.parent_config == t.parent_config


async def test_list_across_threads(drive: Driver) -> None:
    marker = uuid.uuid4().hex
    tids = [f"scan-{marker}-{i}" for i in range(3)]
    for tid in tids:
        await put_chain(drive, tid, [{"m": marker}] * 2)
    found = [t for t in await drive("list", None) if t.config["configurable"]["thread_id"] in tids]
    assert len(found) == 6
    limited = await drive("list", None, limit=2)
    assert len(limited) == 2


async def test_encrypted_serializer(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    serde = EncryptedSerializer(AesGcmCipher({"k1": b"k" * 32}, active="k1"))
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION, serde=serde
    ) as saver:
        drive = Driver(saver, mode)
        await put_chain(drive, thread_id, [{"secret": "attack at dawn"}])
        tup = await drive("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"] == {"secret": "attack at dawn"}
    raw = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION).query(
        TableName=table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread_id)}},
    )
    blob = b"".join(i["p"]["B"] for i in raw["Items"])
    assert b"attack at dawn" not in blob


async def test_ttl_expired_items_are_absent(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION, ttl=3600
    ) as saver:
        drive = Driver(saver, mode)
        configs = await put_chain(drive, thread_id, [{"a": 1}, {"a": 2}])
        await drive("put_writes", configs[-1], [("a", 3)], "t")
        tup = await drive("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"] == {"a": 2}
    # Two hours later (DynamoDB deletes expired items lazily, so they are still there):
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as later:
        later_ctx = later._ctx

        def shifted() -> Any:
            ctx = later_ctx()
            ctx.clock = lambda: time.time() + 7200
            return ctx

        later._ctx = shifted  # type: ignore[method-assign]
        drive = Driver(later, mode)
        assert await drive("get_tuple", cfg(thread_id)) is None
        assert await drive("list", cfg(thread_id)) == []


async def test_ttl_attribute_and_setup(ddb_endpoint: str, thread_id: str) -> None:
    name = f"ttl-{uuid.uuid4().hex[:8]}"
    async with DynamoDBSaver.from_table(
        name, endpoint_url=ddb_endpoint, region_name=REGION, ttl=60
    ) as saver:
        await saver.asetup()
        await saver.asetup()  # idempotent
        await saver.aput(cfg(thread_id), make_checkpoint({"a": 1}), {}, {"a": 1})
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "ttl"
    items = client.scan(TableName=name)["Items"]
    thread = [i for i in items if i["pk"]["S"].startswith(schema.THREAD_PREFIX)]
    assert thread and all(abs(int(i["ttl"]["N"]) - (time.time() + 60)) < 30 for i in thread)
    # the thread directory entry outlives the heads of its period; setup() marked the
    # table it created as having its directory complete (that item never expires)
    entries = [i for i in items if i["pk"]["S"] in schema.directory_shard_pks()]
    later = time.time() + 60 + schema.ACTIVITY_PERIOD_SECONDS
    assert entries and all(abs(int(i["ttl"]["N"]) - later) < 30 for i in entries)
    assert [i for i in items if i not in thread + entries] == [schema.directory_complete()]


async def test_compression_settings_mix(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    text = "the quick brown fox jumps over the lazy dog " * 400
    for compression in (None, ZstdCompressor(dictionary=False), "zstd"):
        async with DynamoDBSaver.from_table(
            table_name, endpoint_url=ddb_endpoint, region_name=REGION, compression=compression
        ) as saver:
            drive = Driver(saver, mode)
            latest = await drive("get_tuple", cfg(thread_id))
            parent = latest.config["configurable"]["checkpoint_id"] if latest else None
            await drive(
                "put",
                cfg(thread_id, "", parent),
                make_checkpoint({"t": text + getattr(compression, "name", str(compression))}),
                {},
                {"t": 1},
            )
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        listed = await Driver(saver, mode)("list", cfg(thread_id))
        assert [t.checkpoint["channel_values"]["t"] for t in listed] == [
            text + "zstd",
            text + "zstd",  # written as plain zstd frames, read back the same
            text + "None",
        ]


async def test_bad_input_errors(drive: Driver, thread_id: str) -> None:
    with pytest.raises(InvalidInputError, match="thread_id"):
        await drive("get_tuple", {"configurable": {}})
    with pytest.raises(InvalidInputError, match="thread_id"):
        await drive("get_tuple", {"configurable": {"thread_id": 42}})
    with pytest.raises(InvalidInputError, match="thread_id"):
        await drive("put", {"configurable": {"thread_id": ""}}, make_checkpoint({}), {}, {})
    with pytest.raises(InvalidInputError, match="checkpoint_id"):
        await drive("put_writes", cfg(thread_id), [("a", 1)], "t")
    with pytest.raises(SerializationError, match="'bad'"):
        await drive("put", cfg(thread_id), make_checkpoint({"bad": object()}), {}, {"bad": 1})
    (c,) = await put_chain(drive, thread_id, [{"a": 1}])
    with pytest.raises(SerializationError, match="'w'"):
        await drive("put_writes", c, [("ok", 1), ("w", object())], "t")
    tup = await drive("get_tuple", cfg(thread_id))
    assert tup.pending_writes == []
    assert len(await drive("list", cfg(thread_id))) == 1


async def test_missing_table_and_wrong_schema(mode: str, ddb_endpoint: str) -> None:
    async with DynamoDBSaver.from_table(
        "does-not-exist", endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        with pytest.raises(TableNotFoundError, match="setup()"):
            await Driver(saver, mode)("get_tuple", cfg("t"))
    name = f"wrong-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    async with DynamoDBSaver.from_table(
        name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        with pytest.raises(TableSchemaError, match="pk"):
            await Driver(saver, mode)("setup")
        with pytest.raises(TableSchemaError):
            await Driver(saver, mode)("get_tuple", cfg("t"))


async def test_foreign_items_are_skipped(drive: Driver, thread_id: str) -> None:
    await put_chain(drive, thread_id, [{"a": 1}])
    client = boto3.client("dynamodb", endpoint_url=drive.saver.endpoint_url, region_name=REGION)
    pk = schema.thread_pk(thread_id)
    for sk in (
        "zzz-foreign",
        schema.checkpoint_ns_prefix("") + "garbage~",
        schema.head_sk("", "9" * 30),
    ):
        client.put_item(
            TableName=drive.saver.table_name,
            Item={"pk": {"S": pk}, "sk": {"S": sk}, "p": {"B": b"\x00not msgpack"}},
        )
    with pytest.raises(Exception, match="malformed|msgpack|payload"):
        await drive("get_tuple", cfg(thread_id))
    # The table is shared by the session: list(None) elsewhere must not meet these items.
    await drive("delete_thread", thread_id)
    left = client.query(
        TableName=drive.saver.table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": pk}},
    )["Items"]
    assert [i["k"]["S"] for i in left] == [schema.KIND_TOMBSTONE]  # the thread's tombstone


async def test_delete_copy_prune(drive: Driver, thread_id: str) -> None:
    steps = [{"a": 0, "b": BIG}] + [{"a": i} for i in range(1, 10)]
    configs = await put_chain(drive, thread_id, steps)
    await put_chain(drive, thread_id, [{"c": 1}, {"c": 2}], ns="child:1")
    await drive("put_writes", configs[-1], [("a", "w")], "t")
    copy = thread_id + "-copy"
    await drive("copy_thread", thread_id, copy)
    src = await drive("list", cfg(thread_id))
    dst = await drive("list", cfg(copy))
    assert [(t.checkpoint["channel_values"], t.pending_writes) for t in src] == [
        (t.checkpoint["channel_values"], t.pending_writes) for t in dst
    ]
    await drive("prune", [copy], strategy="keep_latest")
    kept = await drive("list", {"configurable": {"thread_id": copy}})
    assert [t.checkpoint["channel_values"] for t in kept] == [{"c": 2}, {"a": 9, "b": BIG}] or [
        t.checkpoint["channel_values"] for t in kept
    ] == [{"a": 9, "b": BIG}, {"c": 2}]
    latest = await drive("get_tuple", cfg(copy))
    assert latest.pending_writes == [("t", "a", "w")]
    await drive("delete_thread", copy)
    assert await drive("list", {"configurable": {"thread_id": copy}}) == []
    assert len(await drive("list", {"configurable": {"thread_id": thread_id}})) == 12
    # what LangGraph's Agent Server sends for a DELETE_ALL prune
    await drive("copy_thread", thread_id, copy)
    await drive("prune", [copy], strategy="delete_all")
    assert await drive("list", {"configurable": {"thread_id": copy}}) == []


async def test_delete_for_runs_keeps_survivors_readable(drive: Driver, thread_id: str) -> None:
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    parent = None
    values: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for i in range(6):
        run = run_a if i < 3 else run_b
        changes = {"held": BIG, "i": i} if i == 0 else {"i": i}
        values.update(changes)
        for k in changes:
            versions[k] = drive.saver.get_next_version(versions.get(k), None)
        stored = await drive(
            "put",
            cfg(thread_id, "", parent),
            make_checkpoint(values, dict(versions)),
            {"run_id": run, "step": i},
            {k: versions[k] for k in changes},
        )
        parent = stored["configurable"]["checkpoint_id"]
    await drive("delete_for_runs", [run_a])
    left = await drive("list", cfg(thread_id))
    assert [t.checkpoint["channel_values"] for t in left] == [
        {"held": BIG, "i": i} for i in (5, 4, 3)
    ]


async def test_allowlist_clones_share_clients_and_read_serde_at_call_time(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    strict = JsonPlusSerializer(allowed_msgpack_modules=None)
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION, serde=strict
    ) as saver:
        clone = saver.with_allowlist([("collections", "OrderedDict")])
        assert clone is not saver
        assert clone._clients is saver._clients
        assert clone.serde is not saver.serde
        await put_chain(Driver(clone, mode), thread_id, [{"a": 1}])
        tup = await Driver(saver, mode)("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"] == {"a": 1}


async def test_ttl_refresh_on_read_extends_expiry(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    async with DynamoDBSaver.from_table(
        table_name,
        endpoint_url=ddb_endpoint,
        region_name=REGION,
        ttl=1000,
        ttl_refresh_on_read=True,
    ) as saver:
        drive = Driver(saver, mode)
        configs = await put_chain(drive, thread_id, [{"big": BIG, "a": 0}, {"a": 1}])
        await drive("put_writes", configs[-1], [("a", 2)], "t")
        client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)

        def expiries() -> dict[str, int]:
            items = client.query(
                TableName=table_name,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread_id)}},
            )["Items"]
            return {i["sk"]["S"]: int(i["ttl"]["N"]) for i in items}

        before = expiries()
        await drive("get_tuple", cfg(thread_id))  # fresh: nothing rewritten
        assert expiries() == before
        real_ctx = saver._ctx

        def later() -> Any:
            ctx = real_ctx()
            ctx.clock = lambda: time.time() + 600  # past half the lifetime
            return ctx

        saver._ctx = later  # type: ignore[method-assign]
        tup = await drive("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"] == {"big": BIG, "a": 1}
        after = expiries()
        latest = schema.head_sk("", configs[-1]["configurable"]["checkpoint_id"])
        assert after[latest] >= before[latest] + 500
        writes = [sk for sk in after if sk.startswith(latest[:-1] + "w")]
        assert writes and all(after[w] >= before[w] + 500 for w in writes)
        saver._ctx = real_ctx  # type: ignore[method-assign]
        tup = await drive("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"] == {"big": BIG, "a": 1}
        assert [w[2] for w in tup.pending_writes] == [2]


def _head_sizes(saver: DynamoDBSaver, thread_id: str, ns: str = "") -> list[int]:
    client = boto3.client("dynamodb", endpoint_url=saver.endpoint_url, region_name=REGION)
    items = client.query(
        TableName=saver.table_name,
        KeyConditionExpression="pk = :p AND begins_with(sk, :c)",
        ExpressionAttributeValues={
            ":p": {"S": schema.thread_pk(thread_id)},
            ":c": {"S": schema.checkpoint_ns_prefix(ns)},
        },
    )["Items"]
    return [len(i["p"]["B"]) for i in items if i["sk"]["S"].endswith(schema.HEAD_MARK)]


def _prose(i: int) -> str:
    words = ["alpha", "incident", "latency", "deploy", "rollback", "quorum", "shard", "cache"]
    return " ".join(words[(i * 7 + j * 3) % len(words)] + str((i * j) % 97) for j in range(150))


async def test_append_only_lists_store_only_what_was_added(drive: Driver, thread_id: str) -> None:
    turns = 40
    steps = [{"messages": [_prose(i) for i in range(n + 1)]} for n in range(turns)]
    configs = await put_chain(drive, thread_id, steps)
    sizes = _head_sizes(drive.saver, thread_id)
    full = len(
        drive.saver._compression.encode(drive.saver.serde.dumps_typed(steps[-1]["messages"])[1])[0]
    )
    small = [s for s in sizes if s < full / 4]
    # Most heads hold one message (a delta); keyframes are bounded by the chain limits.
    assert len(small) >= turns - turns // 4, sizes
    assert sum(sizes) < turns * full / 4, (sum(sizes), full)
    for n in (0, 1, 11, 12, 13, 25, turns - 1):
        tup = await drive("get_tuple", configs[n])
        assert tup.checkpoint["channel_values"]["messages"] == steps[n]["messages"]
    history = await drive("list", cfg(thread_id))
    assert [t.checkpoint["channel_values"]["messages"] for t in history] == [
        s["messages"] for s in reversed(steps)
    ]


async def test_in_place_changes_are_not_taken_for_appends(drive: Driver, thread_id: str) -> None:
    first = [_prose(1), _prose(2)]
    edited = [_prose(1) + " (edited)", _prose(2), _prose(3)]
    shorter = [_prose(9)]
    configs = await put_chain(
        drive, thread_id, [{"m": first}, {"m": edited}, {"m": shorter}, {"m": shorter + ["x"]}]
    )
    for config, expected in zip(configs, [first, edited, shorter, shorter + ["x"]], strict=True):
        tup = await drive("get_tuple", config)
        assert tup.checkpoint["channel_values"]["m"] == expected


async def test_delta_chains_survive_cold_reads_prune_and_run_deletion(
    drive: Driver, thread_id: str, ddb_endpoint: str, table_name: str
) -> None:
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    parent = None
    msgs: list[str] = []
    versions: dict[str, Any] = {}
    for i in range(10):
        msgs = [*msgs, _prose(i)]
        versions["messages"] = drive.saver.get_next_version(versions.get("messages"), None)
        stored = await drive(
            "put",
            cfg(thread_id, "", parent),
            make_checkpoint({"messages": msgs}, dict(versions)),
            {"run_id": run_a if i < 5 else run_b, "step": i},
            {"messages": versions["messages"]},
        )
        parent = stored["configurable"]["checkpoint_id"]
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as fresh:
        cold = Driver(fresh, drive.mode)
        tup = await cold("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"]["messages"] == msgs
        assert fresh.stats.total_requests <= 2, fresh.stats.requests
    copy = thread_id + "-copy"
    await drive("copy_thread", thread_id, copy)
    await drive("delete_for_runs", [run_a])
    left = await drive("list", cfg(thread_id))
    assert [len(t.checkpoint["channel_values"]["messages"]) for t in left] == [10, 9, 8, 7, 6]
    assert left[0].checkpoint["channel_values"]["messages"] == msgs
    await drive("prune", [copy])
    kept = await drive("list", cfg(copy))
    assert len(kept) == 1 and kept[0].checkpoint["channel_values"]["messages"] == msgs
    await put_chain(drive, copy, [{"messages": [*msgs, "after prune"]}])


async def test_a_cold_reader_appends_as_deltas_without_serializing_the_list_again(
    drive: Driver,
    thread_id: str,
    ddb_endpoint: str,
    table_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steps = [{"messages": [_prose(i) for i in range(n + 1)]} for n in range(6)]
    await put_chain(drive, thread_id, steps)
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as fresh:
        cold = Driver(fresh, drive.mode)
        dumped: list[Any] = []
        real_dumps = fresh.serde.dumps_typed

        def counting_dumps(obj: Any) -> tuple[str, bytes]:
            dumped.append(obj)
            return real_dumps(obj)

        monkeypatch.setattr(fresh.serde, "dumps_typed", counting_dumps)
        tup = await cold("get_tuple", cfg(thread_id))
        # The digest of the list comes from the bytes it was read as.
        assert dumped == []
        msgs = [*tup.checkpoint["channel_values"]["messages"], _prose(99)]
        versions = dict(tup.checkpoint["channel_versions"])
        versions["messages"] = fresh.get_next_version(versions["messages"], None)
        stored = await cold(
            "put",
            tup.config,
            make_checkpoint({"messages": msgs}, versions),
            {"step": 6},
            {"messages": versions["messages"]},
        )
        client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
        raw = client.get_item(
            TableName=table_name,
            Key={
                "pk": {"S": schema.thread_pk(thread_id)},
                "sk": {"S": schema.head_sk("", stored["configurable"]["checkpoint_id"])},
            },
        )["Item"]
        head = items.decode_item(raw)
        assert isinstance(head, items.Head)
        # Stored as a delta (the new message on top of the list), not the list again.
        body = head.payload(fresh._compression)
        assert "messages" in body.deltas and "messages" not in body.stored
        again = await cold("get_tuple", cfg(thread_id))
        assert again.checkpoint["channel_values"]["messages"] == msgs


async def test_deltas_work_under_encryption(
    mode: str, ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    serde = EncryptedSerializer(AesGcmCipher({"k1": b"k" * 32}, active="k1"))
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION, serde=serde
    ) as saver:
        drive = Driver(saver, mode)
        steps = [{"messages": [_prose(i) for i in range(n + 1)]} for n in range(8)]
        configs = await put_chain(drive, thread_id, steps)
        sizes = _head_sizes(saver, thread_id)
        # Most later heads hold one message each (encrypted on its own); now and then the
        # list is written whole again (a keyframe: cheaper to read than a long chain of
        # small deltas, each with its head).
        deltas = [size for size in sizes[1:] if size < sizes[0] * 2.5]
        assert len(deltas) >= 2 * len(sizes[1:]) // 3, sizes
        assert sum(sizes) < len(steps) * max(sizes), sizes
        for config, step in zip(configs, steps, strict=True):
            tup = await drive("get_tuple", config)
            assert tup.checkpoint["channel_values"] == step


async def _chain_with_writes(
    drive: Driver, thread_id: str, turns: int, runs: list[str]
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """A chat-like chain: each step's new messages are first the parent's pending writes
    (two tasks, the second writing two messages), as LangGraph stores them."""
    parent: str | None = None
    msgs: list[str] = []
    versions: dict[str, Any] = {}
    configs: list[dict[str, Any]] = []
    history: list[list[str]] = []
    for i in range(turns):
        new = [_prose(3 * i), _prose(3 * i + 1), _prose(3 * i + 2)]
        if parent is not None:
            parent_config = cfg(thread_id, "", parent)
            await drive("put_writes", parent_config, [("messages", new[2:])], "task-b", "~b")
            await drive("put_writes", parent_config, [("messages", new[:2])], "task-a", "~a")
        msgs = [*msgs, *new[:2], *new[2:]]
        versions["messages"] = drive.saver.get_next_version(versions.get("messages"), None)
        stored = await drive(
            "put",
            cfg(thread_id, "", parent),
            make_checkpoint({"messages": msgs}, dict(versions)),
            {"run_id": runs[i * len(runs) // turns], "step": i},
            {"messages": versions["messages"]},
        )
        parent = stored["configurable"]["checkpoint_id"]
        configs.append(stored)
        history.append(msgs)
    return configs, history


async def test_a_chat_with_writes_reads_back_through_every_maintenance_call(
    drive: Driver, thread_id: str, ddb_endpoint: str, table_name: str
) -> None:
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    turns = 12
    configs, history = await _chain_with_writes(drive, thread_id, turns, [run_a, run_b])
    one_message = len(drive.saver._compression.encode(_prose(1).encode())[0])
    sizes = _head_sizes(drive.saver, thread_id)
    # A step adds three messages; most heads store those three only (a delta).
    assert sum(s < 4 * one_message for s in sizes) >= turns - 4, (sizes, one_message)
    for config, expected in zip(configs, history, strict=True):
        tup = await drive("get_tuple", config)
        assert tup.checkpoint["channel_values"]["messages"] == expected
    listed = await drive("list", cfg(thread_id))
    assert [t.checkpoint["channel_values"]["messages"] for t in listed] == history[::-1]
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as fresh:
        cold = Driver(fresh, drive.mode)
        tup = await cold("get_tuple", cfg(thread_id))
        assert tup.checkpoint["channel_values"]["messages"] == history[-1]
        assert fresh.stats.total_requests <= 2, fresh.stats.requests
        cold_list = await cold("list", cfg(thread_id), limit=3)
        assert [t.checkpoint["channel_values"]["messages"] for t in cold_list] == history[:-4:-1]
    copy = thread_id + "-copy"
    await drive("copy_thread", thread_id, copy)
    # Deleting the first run: the second run's checkpoints, whose deltas build on the
    # first run's, are rewritten whole first and read as before.
    await drive("delete_for_runs", [run_a])
    left = await drive("list", cfg(thread_id))
    assert [t.checkpoint["channel_values"]["messages"] for t in left] == history[
        : turns // 2 - 1 : -1
    ]
    await drive("prune", [copy])
    kept = await drive("list", cfg(copy))
    assert [t.checkpoint["channel_values"]["messages"] for t in kept] == [history[-1]]
    assert kept[0].pending_writes == []
    await drive("delete_thread", copy)


class _Forgetful(Driver):
    """A saver that forgets everything before every call: a new process per step."""

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.saver._index = type(self.saver._index)()
        self.saver._hints = type(self.saver._hints)()
        return await super().__call__(name, *args, **kwargs)


def _layout(saver: DynamoDBSaver, thread_id: str) -> list[dict[str, Any]]:
    """What each head of a thread stores, checkpoint ids replaced by their position."""
    client = boto3.client("dynamodb", endpoint_url=saver.endpoint_url, region_name=REGION)
    raw = client.query(
        TableName=saver.table_name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": schema.thread_pk(thread_id)}},
    )["Items"]
    heads = [h for h in map(items_.decode_item, raw) if isinstance(h, items_.Head)]
    position = {h.checkpoint_id: i for i, h in enumerate(heads)}
    out = []
    for head in heads:
        payload = head.payload(saver._compression)
        out.append(
            {
                "stored": dict(payload.stored),
                "refs": {ch: (position.get(r.holder), r.depth) for ch, r in payload.refs.items()},
                "deltas": {
                    ch: (
                        position.get(d.base or ""),
                        d.base_len,
                        position[d.floor],
                        (position[d.tail.checkpoint_id], d.tail.writes)
                        if isinstance(d.tail, schema.WritesTail)
                        else d.tail,
                    )
                    for ch, d in payload.deltas.items()
                },
            }
        )
    return out


async def test_what_is_stored_is_the_same_whoever_writes_it(drive: Driver, thread_id: str) -> None:
    """The same checkpoints (and a chat with pending writes), stored by one saver that
    remembers what it wrote and by savers that know nothing before each call: the same
    items, byte for byte in every value."""
    run = str(uuid.uuid4())
    steps = [{"messages": [_prose(i) for i in range(n + 1)], "big": BIG} for n in range(3)]
    steps += [{"messages": [_prose(i) for i in range(n + 1)]} for n in range(3, 14)]
    await put_chain(drive, thread_id + "-warm", steps)
    await put_chain(_Forgetful(drive.saver, drive.mode), thread_id + "-cold", steps)
    await _chain_with_writes(drive, thread_id + "-warm-w", 10, [run])
    await _chain_with_writes(_Forgetful(drive.saver, drive.mode), thread_id + "-cold-w", 10, [run])
    warm = _layout(drive.saver, thread_id + "-warm")
    assert warm == _layout(drive.saver, thread_id + "-cold")
    assert any(h["deltas"] for h in warm) and any(h["refs"] for h in warm)
    assert _layout(drive.saver, thread_id + "-warm-w") == _layout(
        drive.saver, thread_id + "-cold-w"
    )


async def test_list_values_read_back_whatever_the_tasks_wrote(
    drive: Driver, thread_id: str
) -> None:
    first = cfg(thread_id)
    stored = await drive("put", first, make_checkpoint({"m": [_prose(1)]}), {"step": 0}, {"m": 1})
    # A reducer that rewrites what the task wrote (here: upper-cases it).
    await drive("put_writes", stored, [("m", [_prose(2)])], "task", "")
    value = [_prose(1), _prose(2).upper()]
    child = await drive(
        "put", stored, make_checkpoint({"m": value}, {"m": 2}), {"step": 1}, {"m": 2}
    )
    assert (await drive("get_tuple", child)).checkpoint["channel_values"]["m"] == value
    await drive("put_writes", child, [("other", [_prose(3)])], "task", "")
    value2 = [*value, _prose(3)]
    last = await drive(
        "put", child, make_checkpoint({"m": value2}, {"m": 3}), {"step": 2}, {"m": 3}
    )
    assert (await drive("get_tuple", last)).checkpoint["channel_values"]["m"] == value2


async def test_fan_out_findings_survive_delete_for_runs(
    drive: Driver, thread_id: str, ddb_endpoint: str, table_name: str
) -> None:
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    first = await drive(
        "put", cfg(thread_id), make_checkpoint({"topic": "x"}), {"run_id": run_a}, {"topic": 1}
    )
    findings = [_prose(i) for i in range(6)]
    for i, text in enumerate(findings):  # six parallel agents, one finding each
        await drive("put_writes", first, [("findings", [text])], f"agent-{i}", f"~{i}")
    values = {"topic": "x", "findings": findings}
    second = await drive(
        "put",
        first,
        make_checkpoint(values, {"topic": 1, "findings": 2}),
        {"run_id": run_b},
        {"findings": 2},
    )
    assert (await drive("get_tuple", second)).checkpoint["channel_values"] == values
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as fresh:
        cold = await Driver(fresh, drive.mode)("get_tuple", cfg(thread_id))
        assert cold.checkpoint["channel_values"] == values
    # A later append on top of it is a delta on the second checkpoint.
    third = await drive(
        "put",
        second,
        make_checkpoint({**values, "findings": [*findings, "join"]}, {"topic": 1, "findings": 3}),
        {"run_id": run_b},
        {"findings": 3},
    )
    await drive("delete_for_runs", [run_a])  # the first checkpoint and its writes
    left = await drive("list", cfg(thread_id))
    assert [t.checkpoint["channel_values"]["findings"] for t in left] == [
        [*findings, "join"],
        findings,
    ]
    assert (await drive("get_tuple", third)).checkpoint["channel_values"]["findings"][-1] == "join"


async def test_own_clients_read_items_fast_and_the_same(
    drive: Driver,
    ddb_endpoint: str,
    table_name: str,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph_dynamodb import _clients

    calls: list[str] = []
    split = _clients.split_response

    def counting(operation: str, body: bytes) -> Any:
        calls.append(operation)
        return split(operation, body)

    monkeypatch.setattr(_clients, "split_response", counting)
    huge = os.urandom(500_000).hex()  # chunked: read back with BatchGetItem
    steps = [{"a": 1, "big": huge}, {"a": 2, "odd": {"l": [1, 2.5, None, True, b"\x00"]}}]
    steps += [{"a": i} for i in range(3, 8)]
    await put_chain(drive, thread_id, steps)
    calls.clear()
    ours = [await drive("get_tuple", cfg(thread_id))] + await drive("list", cfg(thread_id))
    assert {"Query", "BatchGetItem"} <= set(calls)
    # Its checks against this botocore held: the first response it converted equalled
    # botocore's own parse, and the converted items reached every response.
    assert _clients._FastItems.enabled and _clients._FastItems.compared

    calls.clear()
    user_client = boto3.client(
        "dynamodb",
        endpoint_url=ddb_endpoint,
        region_name=REGION,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "x"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "x"),
    )
    with DynamoDBSaver(table_name=table_name, client=user_client) as plain:
        theirs = [plain.get_tuple(cfg(thread_id))] + list(plain.list(cfg(thread_id)))
    assert calls == []  # a client the user passed in is left as it is
    assert [t.checkpoint for t in ours] == [t.checkpoint for t in theirs]
    assert [t.metadata for t in ours] == [t.metadata for t in theirs]
    assert ours[0].checkpoint["channel_values"]["big"] == huge
