"""What docs/security.md promises: values encrypted at rest (AES-GCM through
``EncryptedSerializer``), key rotation, and logs without state values."""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3
import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from langgraph_dynamodb import CorruptItemError, DynamoDBSaver, SerializationError, schema
from langgraph_dynamodb.codec import Compression
from langgraph_dynamodb.crypto import AesGcmCipher

from ..conftest import REGION
from .model import raw_items

pytestmark = pytest.mark.integration

SECRET = "patient-record-7f3a"
K1, K2 = os.urandom(32), os.urandom(32)


def cfg(thread: str, cp: str | None = None) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if cp is not None:
        conf["checkpoint_id"] = cp
    return {"configurable": conf}


def saver_with(endpoint: str, table: str, keys_: dict[str, bytes], active: str) -> DynamoDBSaver:
    serde = EncryptedSerializer(AesGcmCipher(keys_, active=active))
    return DynamoDBSaver(table_name=table, endpoint_url=endpoint, region_name=REGION, serde=serde)


def put(saver: DynamoDBSaver, thread: str, cp_id: str, n: int, parent: str | None) -> Any:
    cp = empty_checkpoint()
    cp["id"] = cp_id
    cp["channel_values"] = {"note": f"{SECRET} #{n}", "n": n}
    cp["channel_versions"] = {"note": f"{n:032}.0", "n": f"{n:032}.0"}
    stored = saver.put(
        cfg(thread, parent), cp, {"source": "loop", "secret": SECRET}, dict(cp["channel_versions"])
    )
    saver.put_writes(stored, [("note", f"{SECRET} write {n}")], f"task-{n}")
    return stored


def plaintext_payloads(client: Any, table: str, thread: str) -> list[bytes]:
    out = []
    for item in raw_items(client, table, thread):
        data = item.get(schema.PAYLOAD, {}).get("B", b"")
        codec = item.get(schema.CODEC, {}).get("S")
        if codec is not None:
            data = Compression(None).decode(data, codec)
        out.append(data)
    return out


def test_values_are_encrypted_and_keys_rotate(
    ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    old = saver_with(ddb_endpoint, table_name, {"k1": K1}, "k1")
    put(old, thread_id, "1", 1, None)
    rotated = saver_with(ddb_endpoint, table_name, {"k1": K1, "k2": K2}, "k2")
    first = rotated.get_tuple(cfg(thread_id, "1"))  # old data stays readable
    assert first is not None and first.checkpoint["channel_values"]["note"] == f"{SECRET} #1"
    put(rotated, thread_id, "2", 2, "1")
    payloads = plaintext_payloads(client, table_name, thread_id)
    assert payloads and not any(SECRET.encode() in p for p in payloads)  # nowhere in clear
    heads = {
        i[schema.SK]["S"]: p
        for i, p in zip(raw_items(client, table_name, thread_id), payloads, strict=True)
        if i[schema.KIND]["S"] == schema.KIND_CHECKPOINT
    }
    assert sum(b"aesgcm.k1" in p for p in heads.values()) == 1  # the key id is recorded
    assert sum(b"aesgcm.k2" in p for p in heads.values()) == 1
    latest = rotated.get_tuple(cfg(thread_id))
    assert latest is not None and latest.metadata["secret"] == SECRET
    assert latest.pending_writes == [("task-2", "note", f"{SECRET} write 2")]
    # without k1, the old checkpoint cannot be read, and the error names the key
    only_new = saver_with(ddb_endpoint, table_name, {"k2": K2}, "k2")
    assert only_new.get_tuple(cfg(thread_id, "2")) is not None
    with pytest.raises(SerializationError, match="k1"):
        only_new.get_tuple(cfg(thread_id, "1"))
    rotated.delete_thread(thread_id)


def test_logs_name_ids_not_values(
    ddb_endpoint: str, table_name: str, thread_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreadable checkpoint (here one whose chunk was lost): the error of ``get_tuple``
    and the one warning ``list`` logs name the checkpoint, never a value."""
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    cp = empty_checkpoint()
    cp["id"] = "1"
    cp["channel_values"] = {"blob": SECRET.encode() + os.urandom(400_000)}  # chunked
    cp["channel_versions"] = {"blob": f"{1:032}.0"}
    saver.put(cfg(thread_id), cp, {"secret": SECRET}, {"blob": f"{1:032}.0"})
    client = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    chunk = next(
        i
        for i in raw_items(client, table_name, thread_id)
        if i[schema.KIND]["S"] == schema.KIND_CHUNK
    )
    client.delete_item(
        TableName=table_name, Key={schema.PK: chunk[schema.PK], schema.SK: chunk[schema.SK]}
    )
    with caplog.at_level(logging.DEBUG, logger="langgraph_dynamodb"):
        fresh = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
        with pytest.raises(CorruptItemError) as err:
            fresh.get_tuple(cfg(thread_id))
        assert list(fresh.list(cfg(thread_id))) == []
    assert "'1'" in str(err.value) and SECRET not in str(err.value)
    assert "leaves out checkpoint '1'" in caplog.text
    assert fresh.stats.skipped_checkpoints == 1
    assert SECRET not in caplog.text
    saver.delete_thread(thread_id)


def test_rotation_doc_example_runs() -> None:
    """The snippet's cipher: 32-byte keys by id, the active one named."""
    cipher = AesGcmCipher({"k1": K1, "k2": K2}, active="k2")
    name, data = cipher.encrypt(SECRET.encode())
    assert name.startswith("aesgcm.k2") and SECRET.encode() not in data
    assert cipher.decrypt(name, data) == SECRET.encode()
