"""Item codecs: heads, references, removed channels, chunking, writes, serialization errors."""

from __future__ import annotations

import dataclasses
import os
import random
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointTuple,
    empty_checkpoint,
    writes_sort_key,
)
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_dynamodb import items as it
from langgraph_dynamodb import keys, limits
from langgraph_dynamodb.codec import Compression, ZstdCompressor, pack
from langgraph_dynamodb.errors import CorruptItemError, SerializationError

SERDE = JsonPlusSerializer()
COMP = Compression(ZstdCompressor())
THREAD = "thread-1"
ERROR, INTERRUPT, RESUME = (
    next(c for c, i in WRITES_IDX_MAP.items() if i == idx) for idx in (-1, -3, -4)
)


# --- helpers --------------------------------------------------------------------------------
def make_checkpoint(
    cp_id: str, values: Mapping[str, Any], versions: Mapping[str, Any]
) -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = cp_id
    cp["channel_values"] = dict(values)
    cp["channel_versions"] = dict(versions)
    return cp


def write_head(
    checkpoint: Checkpoint,
    new_versions: Mapping[str, Any],
    *,
    parent_id: str | None = None,
    parent_index: it.ChannelIndex | None = None,
    thread_id: str = THREAD,
    ns: str = "",
    metadata: dict[str, Any] | None = None,
    expires_at: int | None = None,
    now: float = 0.0,
    ttl_seconds: float | None = None,
    compression: Compression = COMP,
) -> tuple[it.PreparedPut, it.ChannelPlan]:
    plan = it.plan_channels(
        checkpoint,
        dict(new_versions),
        parent_index,
        expires_at=expires_at,
        now=now,
        ttl_seconds=ttl_seconds,
    )
    prepared = it.build_head(
        serde=SERDE,
        compression=compression,
        thread_id=thread_id,
        checkpoint_ns=ns,
        checkpoint=checkpoint,
        metadata=metadata if metadata is not None else {"source": "loop", "step": 1},  # type: ignore[arg-type]
        parent_id=parent_id,
        plan=plan,
        expires_at=expires_at,
    )
    return prepared, plan


def decode_head(item: dict[str, Any]) -> it.Head:
    decoded = it.decode_item(item)
    assert isinstance(decoded, it.Head)
    return decoded


def read(
    head_item: dict[str, Any],
    others: Sequence[dict[str, Any]] = (),
    writes: Sequence[dict[str, Any]] = (),
    *,
    thread_id: str = THREAD,
    ns: str = "",
    compression: Compression = COMP,
) -> CheckpointTuple:
    """Resolve and assemble a head the way the flows do, from raw items."""
    head = decode_head(head_item)
    by_id = {h.checkpoint_id: h for h in map(decode_head, others)}
    older = sorted(
        (h for h in by_id.values() if h.checkpoint_id < head.checkpoint_id),
        key=lambda h: h.checkpoint_id,
        reverse=True,
    )
    versions = it.versions_of(SERDE, head, compression)
    values = it.resolve_values(head, compression, versions, by_id.get, lambda: older, final=True)
    writes_items = [it.decode_item(w) for w in writes]
    assert all(isinstance(w, it.WritesItem) for w in writes_items)
    return it.assemble(
        serde=SERDE,
        compression=compression,
        head=head,
        values=values,
        writes=writes_items,  # type: ignore[arg-type]
        thread_id=thread_id,
        checkpoint_ns=ns,
    )


def build_writes(
    writes: list[tuple[str, Any]], task_id: str = "task-1", task_path: str = "", **kw: Any
) -> it.PreparedWrites:
    return it.build_writes(
        serde=SERDE,
        compression=kw.pop("compression", COMP),
        thread_id=kw.pop("thread_id", THREAD),
        checkpoint_ns=kw.pop("ns", ""),
        checkpoint_id=kw.pop("checkpoint_id", "cp-1"),
        writes=writes,
        task_id=task_id,
        task_path=task_path,
        expires_at=kw.pop("expires_at", None),
    )


def all_writes_items(prepared: it.PreparedWrites) -> list[dict[str, Any]]:
    return ([prepared.regular] if prepared.regular else []) + prepared.special


def body_of(item: dict[str, Any]) -> it.HeadBody:
    return decode_head(item).body(COMP)


# --- round trip -----------------------------------------------------------------------------
def test_head_round_trip_with_jsonplus() -> None:
    values = {
        "messages": ["hello", {"role": "ai", "content": "hi"}],
        "count": 3,
        "blob": b"\x00\x01binary",
        "nothing": None,
        "text": "x" * 5000,  # large enough to be compressed
    }
    versions = {ch: f"v{i}" for i, ch in enumerate(values)}
    cp = make_checkpoint("1f0-a", values, versions)
    metadata = {"source": "loop", "step": 4, "parents": {}, "run_id": "run-7"}
    prepared, plan = write_head(cp, versions, parent_id="1f0-0", metadata=metadata)
    head = prepared.head
    assert prepared.chunks == []
    assert head[keys.PK] == {"S": keys.thread_pk(THREAD)}
    assert head[keys.SK] == {"S": keys.head_sk("", "1f0-a")}
    assert head[keys.KIND] == {"S": keys.KIND_CHECKPOINT}
    assert head[keys.PARENT] == {"S": "1f0-0"}
    assert head[keys.RUN_ID] == {"S": "run-7"}
    assert head[keys.CODEC] == {"S": "zstd+d1"}
    assert keys.FORMAT not in head  # absent: format 1
    assert keys.TTL not in head and keys.THREAD not in head and keys.NAMESPACE not in head
    assert sorted(plan.stored) == sorted(values)
    assert plan.refs == {}

    found = read(head)
    assert found.checkpoint == cp
    assert found.metadata == metadata
    assert found.config == {
        "configurable": {"thread_id": THREAD, "checkpoint_ns": "", "checkpoint_id": "1f0-a"}
    }
    assert found.parent_config == {
        "configurable": {"thread_id": THREAD, "checkpoint_ns": "", "checkpoint_id": "1f0-0"}
    }
    assert found.pending_writes == []


# --- what the stored form leaves out, and how items of earlier builds still read -----------
def test_uuid_parent_ids_are_stored_as_16_bytes_others_as_strings() -> None:
    parent = "1f0b4a4e-3c2d-6e8f-8000-0123456789ab"
    cp = make_checkpoint("1f0b4a4e-3c2d-6e8f-8001-0123456789ab", {"a": 1}, {"a": "1"})
    prepared, _ = write_head(cp, {"a": "1"}, parent_id=parent)
    assert prepared.head[keys.PARENT] == {"B": bytes.fromhex(parent.replace("-", ""))}
    assert read(prepared.head).parent_config["configurable"]["checkpoint_id"] == parent  # type: ignore[index]
    for odd in ("1F0B4A4E-3C2D-6E8F-8000-0123456789AB", "{1f0b4a4e-3c2d-6e8f-8000-0123456789ab}"):
        prepared, _ = write_head(cp, {"a": "1"}, parent_id=odd)
        assert prepared.head[keys.PARENT] == {"S": odd}  # kept exactly as given
    old_form = dict(prepared.head, **{keys.PARENT: {"S": parent}})  # as earlier builds wrote
    assert read(old_form).parent_config["configurable"]["checkpoint_id"] == parent  # type: ignore[index]


def test_the_skeleton_leaves_out_the_id_the_key_holds() -> None:
    cp = make_checkpoint("1f0-a", {"a": 1}, {"a": "1"})
    prepared, _ = write_head(cp, {"a": "1"})
    skeleton = SERDE.loads_typed(tuple(body_of(prepared.head).skeleton))  # type: ignore[arg-type]
    assert "id" not in skeleton
    assert read(prepared.head).checkpoint == cp
    # a head of an earlier build, with the id in its skeleton, reads the same
    raw = it.unpack(COMP.decode(prepared.head[keys.PAYLOAD]["B"], "zstd+d1"))
    raw["c"] = list(SERDE.dumps_typed({**skeleton, "id": "1f0-a"}))
    framed = it.frame_payload(raw, COMP, prepared.head[keys.PK]["S"], None)
    assert read({**prepared.head, **framed.attrs}).checkpoint == cp


def test_writes_items_leave_out_a_task_id_their_key_holds() -> None:
    prepared = build_writes([("a", 1)], task_id="task$#1")
    (item,) = all_writes_items(prepared)
    raw = it.unpack(COMP.decode(item[keys.PAYLOAD]["B"], item.get(keys.CODEC, {}).get("S")))
    assert "t" not in raw
    decoded = it.decode_item(item)
    assert isinstance(decoded, it.WritesItem)
    assert decoded.decode(COMP).task_id == "task$#1"
    long_id = "t" * (limits.MAX_COMPONENT_KEY_BYTES + 10)  # digested in the key
    (item,) = all_writes_items(build_writes([("a", 1)], task_id=long_id))
    raw = it.unpack(COMP.decode(item[keys.PAYLOAD]["B"], item.get(keys.CODEC, {}).get("S")))
    assert raw["t"] == long_id
    decoded = it.decode_item(item)
    assert isinstance(decoded, it.WritesItem)
    assert decoded.decode(COMP).task_id == long_id


def test_items_of_a_newer_format_are_refused_with_advice() -> None:
    cp = make_checkpoint("1f0-a", {"a": 1}, {"a": "1"})
    prepared, _ = write_head(cp, {"a": "1"})
    assert read({**prepared.head, keys.FORMAT: {"N": "1"}}).checkpoint == cp  # earlier builds
    with pytest.raises(CorruptItemError, match="upgrade langgraph-dynamodb"):
        it.decode_item({**prepared.head, keys.FORMAT: {"N": "2"}})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
id_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30)


@given(
    st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=6),
    id_text,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    id_text,
    st.sampled_from([0, 10**9]),
)
@settings(max_examples=60, deadline=None)
def test_head_round_trip_property(
    values: dict[str, Any], thread_id: str, ns: str, cp_id: str, threshold: int
) -> None:
    comp = Compression(ZstdCompressor(), threshold=threshold)
    versions = {ch: i + 1 for i, ch in enumerate(values)}
    cp = make_checkpoint(cp_id, values, versions)
    prepared, _ = write_head(cp, versions, thread_id=thread_id, ns=ns, compression=comp)
    found = read(prepared.head, thread_id=thread_id, ns=ns, compression=comp)
    assert found.checkpoint == cp
    assert found.config["configurable"] == {
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": cp_id,
    }


def test_digested_ids_keep_plain_values_in_attributes() -> None:
    thread_id, ns = "t" * 3000, "ns|" * 200
    cp = make_checkpoint("1", {"a": 1}, {"a": 1})
    prepared, _ = write_head(cp, {"a": 1}, thread_id=thread_id, ns=ns)
    head = prepared.head
    assert head[keys.THREAD] == {"S": thread_id}
    assert head[keys.NAMESPACE] == {"S": ns}
    decoded = decode_head(head)
    assert decoded.plain_ns == ns
    assert read(head, thread_id=thread_id, ns=ns).checkpoint["channel_values"] == {"a": 1}
    w = build_writes([("a", 1)], task_id="k" * 500, thread_id=thread_id, ns=ns)
    assert w.regular is not None
    assert w.regular[keys.THREAD] == {"S": thread_id}
    assert w.regular[keys.NAMESPACE] == {"S": ns}


def test_ttl_is_set_on_heads_writes_and_chunks() -> None:
    cp = make_checkpoint("1", {"a": os.urandom(400_000)}, {"a": 1})
    prepared, _ = write_head(cp, {"a": 1}, expires_at=12345)
    assert prepared.head[keys.TTL] == {"N": "12345"}
    assert prepared.chunks and all(c[keys.TTL] == {"N": "12345"} for c in prepared.chunks)
    w = build_writes([("a", 1)], expires_at=999)
    assert w.regular is not None and w.regular[keys.TTL] == {"N": "999"}
    assert it.is_expired(w.regular, 999) and not it.is_expired(w.regular, 998)


# --- references -----------------------------------------------------------------------------
# Large enough to be stored by reference, and not compressible.
BIG = random.Random(0).randbytes(limits.SMALL_VALUE_INLINE_BYTES * 2).hex()


def ref(version: Any, holder: str, depth: int, expires: int | None = None) -> it.ChannelRef:
    return it.ChannelRef(
        version=version, holder=holder, depth=depth, holder_expires=expires, size=len(BIG)
    )


def test_child_stores_reference_to_holder_and_resolves_through_it() -> None:
    parent = make_checkpoint("1", {"a": BIG, "b": 1}, {"a": "1", "b": "1"})
    p_put, _ = write_head(parent, {"a": "1", "b": "1"})
    assert p_put.index["a"][:4] == ("1", "1", 0, None)
    assert p_put.index["a"].size > limits.SMALL_VALUE_INLINE_BYTES

    child = make_checkpoint("2", {"a": BIG, "b": 2}, {"a": "1", "b": "2"})
    c_put, c_plan = write_head(child, {"b": "2"}, parent_id="1", parent_index=p_put.index)
    assert c_plan.stored == ["b"]
    assert {ch: r[:2] for ch, r in c_plan.refs.items()} == {"a": ("1", 1)}
    assert c_put.index["a"][:3] == ("1", "1", 1)
    body = body_of(c_put.head)
    assert "a" not in body.stored
    assert {ch: r[:2] for ch, r in body.refs.items()} == {"a": ("1", 1)}
    assert len(c_put.head[keys.PAYLOAD]["B"]) < len(p_put.head[keys.PAYLOAD]["B"])

    found = read(c_put.head, others=[p_put.head])
    assert found.checkpoint == child
    assert found.parent_config is not None
    assert found.parent_config["configurable"]["checkpoint_id"] == "1"


def test_small_unchanged_values_are_stored_again() -> None:
    parent = make_checkpoint("1", {"a": "small"}, {"a": "1"})
    p_put, _ = write_head(parent, {"a": "1"})
    child = make_checkpoint("2", {"a": "small"}, {"a": "1"})
    c_put, c_plan = write_head(child, {}, parent_index=p_put.index)
    # stored again from the bytes the parent wrote, never from the (live) value
    assert c_plan.stored == [] and c_plan.refs == {} and "a" in c_plan.inline
    assert body_of(c_put.head).stored["a"] == body_of(p_put.head).stored["a"]


def test_resolution_needs_the_holder() -> None:
    parent = make_checkpoint("1", {"a": BIG}, {"a": "1"})
    p_put, _ = write_head(parent, {"a": "1"})
    child = make_checkpoint("2", {"a": BIG}, {"a": "1"})
    c_put, _ = write_head(child, {}, parent_index=p_put.index)
    head = decode_head(c_put.head)
    versions = it.versions_of(SERDE, head, COMP)
    with pytest.raises(it.Unresolved) as info:
        it.resolve_values(head, COMP, versions, lambda i: None, lambda: [], final=False)
    assert info.value.holders == {"1"}
    with pytest.raises(it.Broken):
        it.resolve_values(head, COMP, versions, lambda i: None, lambda: [], final=True)
    holder = decode_head(p_put.head)
    values = it.resolve_values(head, COMP, versions, {"1": holder}.get, lambda: [], final=False)
    assert it.join_parts(SERDE, values["a"], "a") == BIG


def test_holder_at_another_version_is_broken() -> None:
    parent = make_checkpoint("1", {"a": BIG}, {"a": "1"})
    p_put, _ = write_head(parent, {"a": "1"})
    child = make_checkpoint("2", {"a": BIG}, {"a": "1"})
    c_put, _ = write_head(child, {}, parent_index=p_put.index)
    # A different item under the holder's id, storing "a" at another version.
    impostor = make_checkpoint("1", {"a": "new"}, {"a": "9"})
    i_put, _ = write_head(impostor, {"a": "9"})
    head = decode_head(c_put.head)
    versions = it.versions_of(SERDE, head, COMP)
    with pytest.raises(it.Broken):
        it.resolve_values(
            head, COMP, versions, {"1": decode_head(i_put.head)}.get, lambda: [], final=True
        )


def test_parent_index_at_another_version_is_not_used() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": BIG}, {"a": "1"}), {"a": "1"})
    child = make_checkpoint("2", {"a": BIG + "!"}, {"a": "2"})
    _, c_plan = write_head(child, {}, parent_index=p_put.index)
    # not in new_versions and not at the parent's version: found by version on read,
    # never serialized from the checkpoint (as InMemorySaver)
    assert c_plan.stored == [] and c_plan.refs == {"a": (None, 0, it.UNKNOWN_SIZE)}


def test_large_references_are_not_bounded_by_depth() -> None:
    """Large values are never serialized again from a checkpoint's (live) values: deep
    references stay references, and reads fetch the holder by key."""
    versions = {"a": "1", "step": "0"}
    first = make_checkpoint("00", {"a": BIG, "step": 0}, versions)
    put, _ = write_head(first, versions)
    heads = [put.head]
    for n in range(1, 2 * limits.MAX_REFERENCE_DEPTH + 3):
        versions = {"a": "1", "step": str(n)}
        cp = make_checkpoint(f"{n:02d}", {"a": BIG, "step": n}, versions)
        put, plan = write_head(cp, {"step": str(n)}, parent_index=put.index)
        heads.append(put.head)
        assert plan.refs["a"][:2] == ("00", n), n
        found = read(put.head, others=heads)
        assert found.checkpoint["channel_values"] == {"a": BIG, "step": n}


def test_small_values_are_stored_again_past_the_depth_limit() -> None:
    cp = make_checkpoint("9", {"a": 1}, {"a": "1"})
    small = ref("1", "0", limits.MAX_REFERENCE_DEPTH)._replace(
        size=2051, inline=("msgpack", b"\x01")
    )
    _, plan = write_head(cp, {}, parent_index={"a": small})
    assert plan.inline == {"a": ("msgpack", b"\x01")} and plan.refs == {}


def test_depth_limit_boundary() -> None:
    cp = make_checkpoint("9", {"a": BIG}, {"a": "1"})
    at = {"a": ref("1", "0", limits.MAX_REFERENCE_DEPTH - 1)}
    over = {"a": ref("1", "0", limits.MAX_REFERENCE_DEPTH)}
    _, plan = write_head(cp, {}, parent_index=at)
    assert plan.refs["a"][:2] == ("0", limits.MAX_REFERENCE_DEPTH)
    _, plan = write_head(cp, {}, parent_index=over)
    assert plan.refs["a"][:2] == ("0", limits.MAX_REFERENCE_DEPTH + 1)  # no bytes to copy


def test_references_respect_holder_ttl() -> None:
    cp = make_checkpoint("9", {"a": BIG}, {"a": "1"})
    ttl = 100.0
    fresh = {"a": ref("1", "0", 1, 1000 + 50)}
    stale = {"a": ref("1", "0", 1, 1000 + 49)}
    _, plan = write_head(cp, {}, parent_index=fresh, now=1000, ttl_seconds=ttl, expires_at=1100)
    assert plan.refs["a"][:2] == ("0", 2)
    _, plan = write_head(cp, {}, parent_index=stale, now=1000, ttl_seconds=ttl, expires_at=1100)
    # still a reference, but the holder's expiry is extended by the writer first
    assert plan.refs["a"][:2] == ("0", 2) and plan.touch == {"0"}


def test_unknown_holder_is_found_among_older_heads() -> None:
    old = make_checkpoint("1", {"a": "found"}, {"a": "1"})
    o_put, _ = write_head(old, {"a": "1"})
    # No parent index: the child does not know where "a" is and has no value for it.
    child = make_checkpoint("2", {}, {"a": "1"})
    c_put, c_plan = write_head(child, {})
    assert c_plan.refs["a"][:2] == (None, 0)
    head = decode_head(c_put.head)
    versions = it.versions_of(SERDE, head, COMP)
    with pytest.raises(it.Unresolved) as info:
        it.resolve_values(head, COMP, versions, lambda i: None, lambda: [], final=False)
    assert info.value.searches == {"a"}
    assert it.resolve_values(head, COMP, versions, lambda i: None, lambda: [], final=True) == {}
    assert read(c_put.head, others=[o_put.head]).checkpoint["channel_values"] == {"a": "found"}


def test_index_of_a_read_head_keeps_the_holders_expiry() -> None:
    parent = make_checkpoint("1", {"a": BIG, "b": 1}, {"a": "1", "b": "1"})
    p_put, _ = write_head(parent, {"a": "1", "b": "1"}, expires_at=500)
    child = make_checkpoint("2", {"a": BIG, "b": 2}, {"a": "1", "b": "2"})
    c_put, _ = write_head(
        child, {"b": "2"}, parent_index=p_put.index, expires_at=600, now=0, ttl_seconds=100
    )
    assert c_put.index["a"][:4] == ("1", "1", 1, 500)
    head = decode_head(c_put.head)
    holder = decode_head(p_put.head)
    versions = it.versions_of(SERDE, head, COMP)
    parts = it.resolve_values(head, COMP, versions, {"1": holder}.get, lambda: [], final=True)
    channel_values = {ch: it.join_parts(SERDE, p, ch) for ch, p in parts.items()}
    index = it.index_of(head, COMP, versions, {"1": holder}.get, parts, channel_values)
    assert index["b"][:4] == ("2", "2", 0, 600)
    # the reference's expiry is the holder's, not the (later) expiry of the child
    assert index["a"][:4] == ("1", "1", 1, 500)
    assert index["a"].size == c_put.index["a"].size


# --- removed channels ----------------------------------------------------------------------
def test_channels_in_new_versions_but_without_value_are_removed() -> None:
    parent = make_checkpoint("1", {"a": BIG, "b": 1}, {"a": "1", "b": "1"})
    p_put, _ = write_head(parent, {"a": "1", "b": "1"})
    child = make_checkpoint("2", {"b": 1}, {"a": "2", "b": "1"})
    c_put, c_plan = write_head(child, {"a": "2"}, parent_index=p_put.index)
    assert "a" in c_plan.stored
    assert body_of(c_put.head).stored["a"] is None
    found = read(c_put.head, others=[p_put.head])
    assert found.checkpoint["channel_values"] == {"b": 1}
    assert found.checkpoint["channel_versions"] == {"a": "2", "b": "1"}

    # A grandchild that does not touch "a": still absent, the old value does not return.
    grandchild = make_checkpoint("3", {"b": 3}, {"a": "2", "b": "3"})
    g_put, _ = write_head(grandchild, {"b": "3"}, parent_index=c_put.index)
    found = read(g_put.head, others=[p_put.head, c_put.head])
    assert found.checkpoint["channel_values"] == {"b": 3}
    # also when read without the parent's index at write time
    g_put, _ = write_head(grandchild, {"b": "3"})
    found = read(g_put.head, others=[p_put.head, c_put.head])
    assert found.checkpoint["channel_values"] == {"b": 3}


def test_removed_channel_not_in_channel_versions() -> None:
    cp = make_checkpoint("1", {"b": 1}, {"b": "1"})
    put, plan = write_head(cp, {"a": "1", "b": "1"})
    assert sorted(plan.stored) == ["a", "b"]
    assert read(put.head).checkpoint["channel_values"] == {"b": 1}


# --- chunking -------------------------------------------------------------------------------
def test_large_payload_is_chunked_and_reassembles() -> None:
    big = os.urandom(limits.MAX_INLINE_PAYLOAD_BYTES * 2 + 1000)  # incompressible
    cp = make_checkpoint("1", {"big": big, "small": "s"}, {"big": "1", "small": "1"})
    put, _ = write_head(cp, {"big": "1", "small": "1"})
    head_item = put.head
    assert keys.PAYLOAD not in head_item
    assert len(put.chunks) == 3
    for seq, chunk in enumerate(put.chunks):
        assert chunk[keys.PK] == head_item[keys.PK]
        assert chunk[keys.KIND] == {"S": keys.KIND_CHUNK}
        assert len(chunk[keys.PAYLOAD]["B"]) <= limits.CHUNK_BYTES
        assert it.decode_item(chunk) is None
        assert chunk[keys.SK]["S"] == keys.chunk_sk(head_item[keys.CHUNKS]["L"][0]["S"], seq)
    head = decode_head(head_item)
    assert head.needs_chunks() and head.chunk_ref is not None
    assert head.chunk_ref.count == 3
    assert [k[keys.SK] for k in head.chunk_ref.keys(head.pk)] == [c[keys.SK] for c in put.chunks]
    found = {c[keys.SK]["S"]: c for c in put.chunks}
    data = it.assemble_chunks(head.chunk_ref, head.pk, found)
    assert data is not None and len(data) == head.chunk_ref.total
    head.set_chunk_data(data)
    assert not head.needs_chunks()
    versions = it.versions_of(SERDE, head, COMP)
    values = it.resolve_values(head, COMP, versions, lambda i: None, lambda: [], final=True)
    result = it.assemble(
        serde=SERDE,
        compression=COMP,
        head=head,
        values=values,
        writes=[],
        thread_id=THREAD,
        checkpoint_ns="",
    )
    assert result.checkpoint == cp


def test_payload_at_the_inline_limit_is_not_chunked() -> None:
    comp = Compression(None)
    for size, chunked in (
        (limits.MAX_INLINE_PAYLOAD_BYTES, False),
        (limits.MAX_INLINE_PAYLOAD_BYTES + 1, True),
    ):
        # pack(bytes of n) adds a 5-byte header (bin 32)
        framed = it.frame_payload(b"x" * (size - 5), comp, "pk", None)
        assert len(pack(b"x" * (size - 5))) == size
        assert bool(framed.chunks) is chunked


def _chunked(data_size: int) -> tuple[it.ChunkRef, dict[str, dict[str, Any]]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(limits, "MAX_INLINE_PAYLOAD_BYTES", 100)
        mp.setattr(limits, "CHUNK_BYTES", 64)
        framed = it.frame_payload(os.urandom(data_size), Compression(None), "pk", None)
    ref = it._chunk_ref(framed.attrs)
    assert ref is not None
    return ref, {c[keys.SK]["S"]: c for c in framed.chunks}


@given(st.binary(min_size=101, max_size=2000), st.integers(1, 300))
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_chunks_round_trip_property(data: bytes, chunk_bytes: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(limits, "MAX_INLINE_PAYLOAD_BYTES", 100)
        mp.setattr(limits, "CHUNK_BYTES", chunk_bytes)
        framed = it.frame_payload(data, Compression(None), "pk", None)
    ref = it._chunk_ref(framed.attrs)
    assert ref is not None
    packed = pack(data)
    assert ref.count == -(-len(packed) // chunk_bytes) == len(framed.chunks)
    found = {c[keys.SK]["S"]: c for c in framed.chunks}
    assert it.assemble_chunks(ref, "pk", found) == packed


def test_missing_chunk_returns_none() -> None:
    ref, found = _chunked(1000)
    assert it.assemble_chunks(ref, "pk", found) is not None
    for sk in found:
        partial = {k: v for k, v in found.items() if k != sk}
        assert it.assemble_chunks(ref, "pk", partial) is None


def test_corrupt_chunk_returns_none() -> None:
    ref, found = _chunked(1000)
    first = keys.chunk_sk(ref.nonce, 0)
    payload = bytearray(found[first][keys.PAYLOAD]["B"])
    payload[0] ^= 0xFF
    tampered = {**found, first: {**found[first], keys.PAYLOAD: {"B": bytes(payload)}}}
    assert it.assemble_chunks(ref, "pk", tampered) is None
    truncated = {**found, first: {**found[first], keys.PAYLOAD: {"B": bytes(payload[:-1])}}}
    assert it.assemble_chunks(ref, "pk", truncated) is None
    no_payload = {**found, first: {k: v for k, v in found[first].items() if k != keys.PAYLOAD}}
    assert it.assemble_chunks(ref, "pk", no_payload) is None
    # chunks of another payload (another nonce) do not count
    other_ref, other = _chunked(1000)
    assert it.assemble_chunks(ref, "pk", other) is None
    assert it.assemble_chunks(other_ref, "pk", other) is not None


def test_malformed_chunk_list_is_corrupt() -> None:
    item = {
        keys.PK: {"S": "pk"},
        keys.SK: {"S": keys.head_sk("", "1")},
        keys.CHUNKS: {"L": [{"S": "nonce"}, {"N": "2"}]},
    }
    with pytest.raises(CorruptItemError, match="chunk list"):
        it.decode_item(item)


# --- decode_item ----------------------------------------------------------------------------
def test_decode_item_ignores_foreign_items() -> None:
    assert it.decode_item({}) is None
    assert it.decode_item({keys.SK: {"S": "foreign"}, keys.PAYLOAD: {"B": b"x"}}) is None
    assert (
        it.decode_item({keys.SK: {"S": keys.chunk_sk("n", 0)}, keys.PAYLOAD: {"B": b"x"}}) is None
    )
    # a head key without payload is not a head
    assert it.decode_item({keys.PK: {"S": "p"}, keys.SK: {"S": keys.head_sk("", "1")}}) is None


def test_malformed_head_payload_is_corrupt() -> None:
    item = {
        keys.PK: {"S": "pk"},
        keys.SK: {"S": keys.head_sk("", "1")},
        keys.PAYLOAD: {"B": pack({"c": ["msgpack", b""]})},
    }
    head = decode_head(item)
    with pytest.raises(CorruptItemError, match="malformed"):
        head.body(COMP)
    item[keys.PAYLOAD] = {"B": b"\xc1garbage"}
    with pytest.raises(CorruptItemError):
        decode_head(item).body(COMP)
    item[keys.PAYLOAD] = {"B": pack({"c": [], "m": [], "s": {}, "r": {}})}
    item[keys.CODEC] = {"S": "brotli"}
    with pytest.raises(CorruptItemError, match="brotli"):
        decode_head(item).body(COMP)


# --- writes ---------------------------------------------------------------------------------
def test_build_writes_splits_regular_and_special_channels() -> None:
    writes = [("a", 1), (ERROR, "boom"), ("b", 2), (INTERRUPT, "stop"), (ERROR, "boom2")]
    prepared = build_writes(writes, task_id="task-1", task_path="~p")
    assert prepared.regular is not None
    assert prepared.regular[keys.SK]["S"] == keys.writes_sk("", "cp-1", "task-1", keys.REGULAR_TAG)
    assert prepared.regular[keys.KIND] == {"S": keys.KIND_WRITES}
    assert keys.NONCE in prepared.regular
    assert sorted(prepared.regular_entries) == [0, 2]
    special_tags = sorted(keys.parse_sk(i[keys.SK]["S"]).tag for i in prepared.special)  # type: ignore[union-attr]
    assert special_tags == sorted([str(WRITES_IDX_MAP[ERROR]), str(WRITES_IDX_MAP[INTERRUPT])])
    assert prepared.chunks == []

    decoded = [it.decode_item(i) for i in all_writes_items(prepared)]
    assert all(isinstance(d, it.WritesItem) for d in decoded)
    pending = it.pending_writes(SERDE, COMP, decoded)  # type: ignore[arg-type]
    # special channels: last write wins; regular: one entry per index
    assert pending == [
        ("task-1", INTERRUPT, "stop"),
        ("task-1", ERROR, "boom2"),
        ("task-1", "a", 1),
        ("task-1", "b", 2),
    ]


def test_only_regular_or_only_special_writes() -> None:
    only_regular = build_writes([("a", 1), ("b", 2)])
    assert only_regular.regular is not None and only_regular.special == []
    only_special = build_writes([(ERROR, "x")])
    assert only_special.regular is None and len(only_special.special) == 1


def test_pending_writes_in_writes_sort_key_order() -> None:
    writes = [(f"ch{i}", i) for i in range(12)]
    task_a = build_writes(writes + [(ERROR, "e")], task_id="task-a", task_path="~b")
    task_b = build_writes([("x", "first"), (RESUME, "r")], task_id="task-b", task_path="~a")
    raw = all_writes_items(task_b) + all_writes_items(task_a)
    decoded = [it.decode_item(i) for i in reversed(raw)]
    pending = it.pending_writes(SERDE, COMP, decoded)  # type: ignore[arg-type]
    # task-b first (its path sorts first), specials first within a task, then by index
    assert pending[:2] == [("task-b", RESUME, "r"), ("task-b", "x", "first")]
    assert pending[2] == ("task-a", ERROR, "e")
    channels_a = [c for t, c, _ in pending if t == "task-a"][1:]
    assert channels_a == [f"ch{i}" for i in range(12)]
    assert channels_a.index("ch10") > channels_a.index("ch2")
    # the same order as writes_sort_key over (task_path, task_id, idx)
    idx = {
        ("task-a", c): (WRITES_IDX_MAP.get(c, i)) for i, (c, _) in enumerate(writes + [(ERROR, "")])
    }
    idx |= {("task-b", "x"): 0, ("task-b", RESUME): WRITES_IDX_MAP[RESUME]}
    paths = {"task-a": "~b", "task-b": "~a"}
    expected = sorted(pending, key=lambda w: writes_sort_key(paths[w[0]], w[0], idx[(w[0], w[1])]))
    assert pending == expected


def test_pending_writes_come_back_with_the_checkpoint() -> None:
    cp = make_checkpoint("cp-1", {"a": 1}, {"a": "1"})
    put, _ = write_head(cp, {"a": "1"})
    prepared = build_writes([(f"c{i}", i) for i in range(11)] + [(ERROR, "e")])
    found = read(put.head, writes=all_writes_items(prepared))
    assert found.pending_writes == [("task-1", ERROR, "e")] + [
        ("task-1", f"c{i}", i) for i in range(11)
    ]


def test_large_writes_are_chunked() -> None:
    big = os.urandom(limits.MAX_INLINE_PAYLOAD_BYTES + 10)
    prepared = build_writes([("a", big), (ERROR, big)])
    assert len(prepared.chunks) == 4
    decoded = []
    found = {c[keys.SK]["S"]: c for c in prepared.chunks}
    for raw in all_writes_items(prepared):
        w = it.decode_item(raw)
        assert isinstance(w, it.WritesItem) and w.needs_chunks() and w.chunk_ref is not None
        data = it.assemble_chunks(w.chunk_ref, raw[keys.PK]["S"], found)
        assert data is not None
        w.set_chunk_data(data)
        decoded.append(w)
    assert it.pending_writes(SERDE, COMP, decoded) == [("task-1", ERROR, big), ("task-1", "a", big)]


# --- serialization errors -------------------------------------------------------------------
def test_unserializable_channel_value_names_the_channel() -> None:
    cp = make_checkpoint("1", {"ok": 1, "my_lock": threading.Lock()}, {"ok": "1", "my_lock": "1"})
    with pytest.raises(SerializationError, match="'my_lock'") as info:
        write_head(cp, {"ok": "1", "my_lock": "1"})
    assert isinstance(info.value, TypeError)
    assert "JsonPlusSerializer" in str(info.value)


def test_unserializable_metadata_is_named() -> None:
    cp = make_checkpoint("1", {}, {})
    with pytest.raises(SerializationError, match="metadata"):
        write_head(cp, {}, metadata={"bad": object()})


def test_unserializable_write_names_channel_and_task() -> None:
    with pytest.raises(SerializationError) as info:
        build_writes([("fine", 1), ("bad_channel", lambda: None)], task_id="task-9")
    assert "'bad_channel'" in str(info.value)
    assert "'task-9'" in str(info.value)


def test_the_part_of_a_value_to_blame_is_named() -> None:
    @dataclasses.dataclass
    class Profile:
        name: str
        handle: object

    value = {"user": {"tags": ["a", Profile("x", threading.Lock())]}, "ok": 1}
    with pytest.raises(SerializationError) as info:
        it.dumps(SERDE, value, it.channel_label("__start__"))
    text = str(info.value)
    assert "channel '__start__' (the graph input)" in text
    assert "its part ['user']['tags'][1].handle (a lock)" in text
    assert it.culprit(SERDE, {"fine": 1}) is None
    assert it.culprit(SERDE, threading.Lock()) is None  # nothing inside to blame


def test_undeserializable_value_is_serialization_error() -> None:
    with pytest.raises(SerializationError, match="'x'"):
        it.loads(SERDE, ("msgpack", b"\xc1"), "channel 'x'")


# --- rebuild, expiry, cache, filters --------------------------------------------------------
def test_rebuild_head_inlines_references() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": BIG}, {"a": "1"}), {"a": "1"})
    child = make_checkpoint("2", {"a": BIG, "b": "B"}, {"a": "1", "b": "1"})
    c_put, _ = write_head(child, {"b": "1"}, parent_index=p_put.index, parent_id="1")
    assert body_of(c_put.head).refs
    head = decode_head(c_put.head)
    versions = it.versions_of(SERDE, head, COMP)
    values = it.resolve_values(
        head, COMP, versions, {"1": decode_head(p_put.head)}.get, lambda: [], final=True
    )
    rebuilt = it.rebuild_head(head, COMP, SERDE, values, versions, 777)
    assert body_of(rebuilt.head).refs == {}
    assert rebuilt.head[keys.TTL] == {"N": "777"}
    assert rebuilt.head[keys.PARENT] == {"S": "1"}
    assert read(rebuilt.head).checkpoint == child
    assert rebuilt.index["a"][:4] == ("1", "2", 0, 777)


def test_with_expiry() -> None:
    raw = {keys.PK: {"S": "p"}, keys.SK: {"S": "s"}, keys.TTL: {"N": "1"}}
    assert it.with_expiry(raw, None) == {keys.PK: {"S": "p"}, keys.SK: {"S": "s"}}
    assert it.with_expiry(raw, 5)[keys.TTL] == {"N": "5"}
    assert raw[keys.TTL] == {"N": "1"}


def test_channel_index_cache_is_a_bounded_lru() -> None:
    cache = it.ChannelIndexCache(size=2)
    ref = {"a": it.ChannelRef("1", "x", 0, None, 10)}
    cache.put(("t", "", "1"), ref)
    cache.put(("t", "", "2"), ref)
    assert cache.get(("t", "", "1")) == ref  # refreshes "1"
    cache.put(("u", "", "3"), ref)
    assert cache.get(("t", "", "2")) is None
    assert cache.get(("t", "", "1")) == ref
    cache.discard_thread("t")
    assert cache.get(("t", "", "1")) is None
    assert cache.get(("u", "", "3")) == ref


def test_metadata_matches() -> None:
    assert it.metadata_matches({"a": 1}, None)
    assert it.metadata_matches({"a": 1, "b": 2}, {"a": 1})
    assert not it.metadata_matches({"a": 1}, {"a": 2})


@pytest.mark.parametrize("count", [0, 1, 15, 16, 65535, 65536, 70000])
def test_msgpack_array_header_round_trip(count: int) -> None:
    import ormsgpack

    data = ormsgpack.packb([0] * count)
    parsed = it._msgpack_array(data)
    assert parsed is not None and parsed[0] == count
    assert data[: parsed[1]] == it._array_header(count)


def test_appended_tail_is_valid_msgpack_of_the_new_elements() -> None:
    base_list = [{"n": i, "text": "x" * 40} for i in range(20)]
    grown = [*base_list, *({"n": i, "text": "y" * 40} for i in range(20, 40))]
    p_put, _ = write_head(make_checkpoint("1", {"a": base_list}, {"a": "1"}), {"a": "1"})
    c_put, _ = write_head(
        make_checkpoint("2", {"a": grown}, {"a": "2"}), {"a": "2"}, parent_index=p_put.index
    )
    body = body_of(c_put.head)
    assert "a" in body.deltas and "a" not in body.stored
    tail = body.deltas["a"][3]
    assert SERDE.loads_typed(tail) == grown[20:]
    found = read(c_put.head, others=[p_put.head])
    assert found.checkpoint["channel_values"]["a"] == grown


def _write_value(task: str, idx: int, ch: str, value: Any, path: str = "") -> it.WriteValue:
    return (path, task, idx, ch, SERDE.dumps_typed(value))


def test_tail_from_writes_refers_to_writes_that_are_exactly_the_tail() -> None:
    import ormsgpack

    new = [{"m": "a"}, {"m": "b"}, {"m": "c"}]
    body = ormsgpack.packb(new)
    tail = memoryview(body)[len(it._array_header(3)) :]
    writes = [
        _write_value("t1", 0, "messages", new[:2]),
        _write_value("t1", 1, "other", new),
        _write_value("t2", 0, "messages", new[2:]),
    ]
    ref = it._tail_from_writes("messages", tail, "parent", writes)
    assert ref is not None and ref[0] == it.WRITES_TAIL
    assert it.unpack(ref[1]) == ["parent", [["t1", 0], ["t2", 0]]]
    # Another order, other bytes, a non-list write or no parent: no reference.
    assert it._tail_from_writes("messages", tail, "parent", writes[::-1]) is None
    assert it._tail_from_writes("messages", tail[1:], "parent", writes) is None
    assert it._tail_from_writes("messages", tail, None, writes) is None
    scalar = [*writes, _write_value("t3", 0, "messages", "not a list")]
    assert it._tail_from_writes("messages", tail, "parent", scalar) is None


def _grow_chain(turns: int, element_bytes: int) -> list[it.PreparedPut]:
    """A list channel that gains one element per checkpoint, each head written on top of
    the index of the one before (as the saver does)."""
    puts: list[it.PreparedPut] = []
    value: list[str] = []
    index: it.ChannelIndex | None = None
    for n in range(turns):
        value = [*value, f"{n:06d}" + "x" * element_bytes]
        cp_id = f"{n:06d}"
        prepared, _ = write_head(
            make_checkpoint(cp_id, {"a": value}, {"a": cp_id}),
            {"a": cp_id},
            parent_id=puts[-1].head[keys.SK]["S"] if puts else None,
            parent_index=index,
        )
        puts.append(prepared)
        index = prepared.index
    return puts


def test_a_delta_stores_its_floor_and_the_chain_is_walked_through_its_bases() -> None:
    puts = _grow_chain(6, 3000)
    heads = [decode_head(p.head) for p in puts]
    by_id = {h.checkpoint_id: h for h in heads}
    last = heads[-1].body(COMP).deltas["a"]
    assert last.base == "000004" and last.base_len == 5
    assert last.floor == "000000"  # the keyframe: a read goes down to it
    chain, hops = it.delta_chain(heads[-1], "a", COMP, by_id.get)
    assert chain == ("000004", "000003", "000002", "000001", "000000") and hops == 5
    assert puts[-1].index["a"].hops == 5
    # A base that was not read ends the walk (what was walked is what is known).
    del by_id["000002"]
    assert it.delta_chain(heads[-1], "a", COMP, by_id.get) == (("000004", "000003", "000002"), 3)
    found = read(puts[-1].head, others=[p.head for p in puts[:-1]])
    assert len(found.checkpoint["channel_values"]["a"]) == 6


def test_keyframes_come_at_geometric_sizes_so_bytes_per_append_stay_flat() -> None:
    puts = _grow_chain(400, 300)
    keyframes = [n for n, p in enumerate(puts) if "a" in body_of(p.head).stored]
    assert keyframes[0] == 0 and len(keyframes) >= 3
    # Each chain ends once its deltas and heads outweigh DELTA_READ_FACTOR x the value:
    # the gaps between keyframes grow with the value, in proportion.
    gaps = [b - a for a, b in zip(keyframes[1:], keyframes[2:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > 2 * gaps[0], keyframes
    written = [
        sum(len(p.head[keys.PAYLOAD]["B"]) for p in puts[a:b]) / (b - a)
        for a, b in zip(keyframes[1:], keyframes[2:], strict=False)
    ]
    # Bytes per append, averaged over each chain: flat, not growing with the list.
    assert max(written) < 2 * min(written), written
    # And a read never goes through more bases than the bound.
    assert max(p.index["a"].hops for p in puts) <= limits.MAX_DELTA_CHAIN


def test_a_list_that_would_need_a_long_chain_of_tiny_deltas_gets_a_keyframe() -> None:
    # One byte per step on a small list: the heads a read would walk outweigh the value.
    puts = _grow_chain(40, 1)
    keyframes = [n for n, p in enumerate(puts) if "a" in body_of(p.head).stored]
    longest = max(b - a for a, b in zip(keyframes, [*keyframes[1:], len(puts)], strict=True))
    budget = limits.DELTA_READ_FACTOR * limits.DELTA_MIN_BUDGET_BYTES
    assert longest <= budget // limits.DELTA_HOP_BYTES + 1, keyframes


def test_a_delta_that_lists_its_whole_chain_is_read_with_its_oldest_id_as_floor() -> None:
    puts = _grow_chain(3, 3000)
    item = puts[-1].head
    structure = it.unpack(COMP.decode(item[keys.PAYLOAD]["B"], item[keys.CODEC]["S"]))
    structure["d"]["a"][2] = ["000001", "000000"]  # the listed form of earlier builds
    data, codec = COMP.encode(pack(structure))
    old_style = {**item, keys.PAYLOAD: {"B": data}, keys.CODEC: {"S": codec}}
    assert body_of(old_style).deltas["a"].floor == "000000"
    found = read(old_style, others=[p.head for p in puts[:-1]])
    assert len(found.checkpoint["channel_values"]["a"]) == 3


_int64 = st.integers(-(2**63), 2**63 - 1)
_element = st.one_of(
    _int64,
    st.text(max_size=30),
    st.dictionaries(st.text(max_size=5), _int64, max_size=3),
    st.builds(lambda s: HumanMessage(content=s, id=s[:8] or None), st.text(max_size=40)),
    st.builds(lambda s: AIMessage(content=s), st.text(max_size=40)),
)


@given(st.lists(st.lists(_element, max_size=20), min_size=1, max_size=5))
def test_a_read_takes_list_digests_from_the_stored_bytes(chunks: list[list[Any]]) -> None:
    # A value stored whole and then as appended tails gets the digest its next append
    # compares against from those bytes, the same as serializing the list again.
    parts: it.Parts = []
    seen = 0
    for chunk in chunks:
        parts.append((SERDE.dumps_typed(chunk), seen if parts else -1))
        seen += len(chunk)
    whole = [e for chunk in chunks for e in chunk]
    plain = it.plain_list(SERDE, whole, "m")
    assert plain is not None
    assert it._stored_list_digest(parts, len(whole)) == (
        it._digest(plain.body),
        len(plain.body),
    )
    assert it._stored_list_digest(parts, len(whole) + 1) is None


def test_stored_list_digest_needs_plain_msgpack_arrays() -> None:
    assert it._stored_list_digest([(SERDE.dumps_typed({"a": 1}), -1)], 1) is None
    assert it._stored_list_digest([(("msgpack+aes", b"\x91\x01"), -1)], 1) is None
    assert it._stored_list_digest([(("msgpack", b"\x91\x01"), -1)], 1) is not None
