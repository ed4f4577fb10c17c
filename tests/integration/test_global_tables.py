"""A global table read in another region, simulated: a client that hides, for a while,
items that have not "replicated" yet (DynamoDB Local has no replicas). A checkpoint whose
own item arrived before what it is made of (its chunks, the older checkpoint it refers
to) is read again for up to ``replication_wait``, then raises ``ReplicationLagError``
(retryable); without the option it is ``CorruptItemError`` at once, as in one region.
Never an older or partial state in its place."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from langgraph_dynamodb import CorruptItemError, DynamoDBSaver, ReplicationLagError, schema

from ..conftest import REGION
from .test_saver import cfg, make_checkpoint

pytestmark = pytest.mark.integration


class LaggingRegion:
    """A boto3 client of "another region": items ``hidden(sk)`` says have not replicated
    are left out of every read until ``arrives_at`` (monotonic seconds)."""

    def __init__(self, client: Any, hidden: Callable[[str], bool], lag_s: float) -> None:
        self._client = client
        self._hidden = hidden
        self.arrives_at = time.monotonic() + lag_s
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _visible(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if time.monotonic() >= self.arrives_at:
            return items
        return [i for i in items if not self._hidden(i["sk"]["S"])]

    def query(self, **params: Any) -> Any:
        self.reads += 1
        resp = self._client.query(**params)
        resp["Items"] = self._visible(resp.get("Items", []))
        return resp

    def batch_get_item(self, **params: Any) -> Any:
        self.reads += 1
        resp = self._client.batch_get_item(**params)
        for table, items in resp.get("Responses", {}).items():
            resp["Responses"][table] = self._visible(items)
        return resp


def _written(table_name: str, endpoint: str, thread_id: str) -> str:
    """A checkpoint that refers to an older one holding a 1.5 MB value (in chunks)."""
    big = os.urandom(750_000).hex()
    with DynamoDBSaver(table_name=table_name, endpoint_url=endpoint, region_name=REGION) as w:
        first = w.put(cfg(thread_id), make_checkpoint({"big": big, "n": 1}), {}, {"big": 1, "n": 1})
        second = make_checkpoint({"big": big, "n": 2}, {"big": 1, "n": 2})
        stored = w.put(
            cfg(thread_id, "", first["configurable"]["checkpoint_id"]), second, {}, {"n": 2}
        )
    return str(stored["configurable"]["checkpoint_id"])


def _reader(table_name: str, endpoint: str, client: Any, **kw: Any) -> DynamoDBSaver:
    return DynamoDBSaver(table_name=table_name, client=client, region_name=REGION, **kw)


def test_a_checkpoint_ahead_of_its_parts_waits_for_them(
    ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    latest = _written(table_name, ddb_endpoint, thread_id)
    only_latest = schema.head_sk("", latest)
    real = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)

    region = LaggingRegion(real, lambda sk: sk != only_latest, lag_s=0.6)
    with _reader(table_name, ddb_endpoint, region, replication_wait=5) as reader:
        found = reader.get_tuple(cfg(thread_id))
    assert found is not None and found.checkpoint["id"] == latest
    assert found.checkpoint["channel_values"]["n"] == 2 and region.reads >= 2

    region = LaggingRegion(real, lambda sk: sk != only_latest, lag_s=60)
    with _reader(table_name, ddb_endpoint, region, replication_wait=1.5) as reader:
        started = time.monotonic()
        with pytest.raises(ReplicationLagError, match="replication_wait=1.5") as lag:
            reader.get_tuple(cfg(thread_id))
        assert 1.5 <= time.monotonic() - started < 6  # the whole wait, not fewer tries
    assert latest in str(lag.value) and "retry" in str(lag.value)

    region = LaggingRegion(real, lambda sk: sk != only_latest, lag_s=60)
    with _reader(table_name, ddb_endpoint, region) as reader:  # one region: it is lost
        with pytest.raises(CorruptItemError):
            reader.get_tuple(cfg(thread_id))


def test_a_head_not_replicated_yet_leaves_the_previous_one_latest(
    ddb_endpoint: str, table_name: str, thread_id: str
) -> None:
    """What a multi-region eventually consistent table allows (docs/global-tables.md): a
    reader can see the previous checkpoint as the latest until the new one arrives, whole;
    never a mix of the two."""
    latest = _written(table_name, ddb_endpoint, thread_id)
    real = boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)
    region = LaggingRegion(real, lambda sk: sk == schema.head_sk("", latest), lag_s=60)
    with _reader(table_name, ddb_endpoint, region, replication_wait=1) as reader:
        found = reader.get_tuple(cfg(thread_id))
        assert found is not None and found.checkpoint["id"] != latest
        assert found.checkpoint["channel_values"]["n"] == 1
