"""The command line's pure parts: the export format round-trips (values that changed
only, dropped values, task paths, write order), the preserving serializer gives back the
bytes it read, the doctor's checks, the next tasks of a checkpoint."""

from __future__ import annotations

import dataclasses
import datetime as dt

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_dynamodb import views
from langgraph_dynamodb.cli import doctor, records
from langgraph_dynamodb.cli.preserve import Ext, PreservingSerializer


@dataclasses.dataclass
class Point:
    x: int


SERDE = JsonPlusSerializer()


def _tuple(
    cp_id: str, parent: str | None, versions: dict, vals: dict, writes=()
) -> CheckpointTuple:
    conf = {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": cp_id}
    return CheckpointTuple(
        config={"configurable": conf},
        checkpoint={
            "v": 4,
            "id": cp_id,
            "ts": "2026-01-01T00:00:00+00:00",
            "channel_versions": versions,
            "versions_seen": {},
            "channel_values": vals,
        },
        metadata={"step": len(versions), "source": "loop", "parents": {}},
        parent_config={"configurable": {**conf, "checkpoint_id": parent}} if parent else None,
        pending_writes=list(writes),
    )


def test_records_round_trip_with_only_changed_values() -> None:
    a = _tuple("1", None, {"x": 1, "y": 1}, {"x": [1], "y": Point(1)})
    b = _tuple("2", "1", {"x": 2, "y": 1}, {"x": [1, 2], "y": Point(1)}, [("task", "x", 5)])
    c = _tuple("3", "2", {"x": 2, "y": 1}, {"x": [1, 2]}, [("t2", "__interrupt__", "why")])
    encoded = list(records.encode_thread(SERDE, [a, b, c], {"2": {"task": "~p"}}))
    assert set(encoded[0]["values"]) == {"x", "y"}
    assert encoded[1]["values"] == {}  # y is the parent's, x grew
    assert list(encoded[1]["appended"]) == ["x"] and encoded[1]["appended"]["x"][0] == 1
    assert encoded[2]["values"] == {} and encoded[2]["dropped"] == ["y"]
    decoder = records.ThreadDecoder(SERDE)
    back = [decoder.decode(r, i) for i, r in enumerate(encoded, start=2)]
    for original, restored in zip([a, b, c], back, strict=True):
        assert restored.checkpoint == original.checkpoint
        assert restored.metadata == original.metadata
    assert back[1].new_versions == {"x": 2}
    assert back[1].writes == [("task", "~p", "x", 5)]


def test_task_groups_keep_the_order_of_writes_without_paths() -> None:
    writes = [("b", None, "x", 1), ("a", None, "y", 2), ("b", None, "__interrupt__", 3)]
    calls = records.task_groups(writes)
    assert [(task, group) for task, _, group in calls] == [
        ("b", [("x", 1)]),
        ("a", [("y", 2)]),
        ("b", [("__interrupt__", 3)]),
    ]
    paths = [path for _, path, _ in calls]
    assert paths == sorted(paths) and all(p.startswith("!") for p in paths)


def test_preserving_serializer_gives_back_the_bytes() -> None:
    value = {"p": Point(3), "when": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), 7: (1, 2)}
    typed = SERDE.dumps_typed(value)
    preserving = PreservingSerializer(SERDE)
    moved = preserving.loads_typed(typed)
    assert isinstance(moved["p"], Ext) and isinstance(moved["when"], Ext)
    assert preserving.dumps_typed(moved) == typed
    assert preserving.dumps_typed(value) == typed  # real objects: the inner serializer
    assert preserving.loads_typed(SERDE.dumps_typed(None)) is None


def test_export_header_and_lines_are_checked() -> None:
    import pytest

    with pytest.raises(records.ExportFormatError, match="not an export header"):
        records.check_header({"hello": 1})
    with pytest.raises(records.ExportFormatError, match="upgrade"):
        records.check_header({"format": records.FORMAT, "version": 99})
    with pytest.raises(records.ExportFormatError, match="line 3"):
        records.parse_line("{not json", 3)


def test_doctor_checks() -> None:
    assert doctor.checks("t", None, None, None, local=True)[0].status == doctor.PROBLEM
    described = {
        "TableStatus": "ACTIVE",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    }
    ttl = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}}
    found = {c.name: c for c in doctor.checks("t", described, ttl, None, local=False)}
    assert found["key schema"].status == doctor.OK
    assert found["point-in-time recovery"].status == doctor.WARN  # advice: setup() leaves it off
    assert not [c for c in found.values() if c.status == doctor.PROBLEM]
    assert "update-continuous-backups" in found["point-in-time recovery"].fix
    wrong_ttl = {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}}
    assert {c.name: c for c in doctor.checks("t", described, wrong_ttl, None, local=True)}[
        "TTL"
    ].status == doctor.PROBLEM


def test_next_tasks_from_triggers_and_barriers() -> None:
    t = _tuple(
        "1",
        None,
        {"branch:to:a": "2", "join:x+y:z": "2", "branch:to:done": "1"},
        {"branch:to:a": None, "join:x+y:z": {"x", "y"}},
    )
    t.checkpoint["versions_seen"] = {"a": {"branch:to:a": "1"}}
    assert views.next_tasks(t) == ["a", "z"]
    t.checkpoint["channel_values"]["join:x+y:z"] = {"x"}
    assert views.next_tasks(t) == ["a"]
    assert views.id_time("1f1ed846-bd9a-6b19-8005-5ad7f307bfc8").year == 2026


def test_local_endpoints() -> None:
    from langgraph_dynamodb.local import is_local_endpoint

    for url in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        assert is_local_endpoint(url), url
    assert is_local_endpoint("http://dynamodb-local:8000")
    assert not is_local_endpoint("https://dynamodb.eu-west-1.amazonaws.com")
    assert not is_local_endpoint(None)
