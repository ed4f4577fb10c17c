"""The storage layer without DynamoDB: heads and writes built and read back, references,
removed channels, chunks, deltas, resolution's needs and what it finds missing."""

from __future__ import annotations

import dataclasses
import os
import random
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.checkpoint.base import WRITES_IDX_MAP, writes_sort_key

from langgraph_dynamodb import codec, limits, schema
from langgraph_dynamodb.caches import IndexCache
from langgraph_dynamodb.codec import Compression, ZstdCompressor, pack, unpack
from langgraph_dynamodb.errors import CorruptItemError, SerializationError
from langgraph_dynamodb.schema import Ref
from langgraph_dynamodb.storage import build, deltas, index
from langgraph_dynamodb.storage import items as it
from langgraph_dynamodb.storage import resolve as rs

from .storage_helpers import (
    COMP,
    SERDE,
    THREAD,
    all_writes_items,
    assembled,
    body_of,
    decode_head,
    make_checkpoint,
    read,
    table_of,
    write_head,
    writes_of,
)

ERROR, INTERRUPT, RESUME = (
    next(c for c, i in WRITES_IDX_MAP.items() if i == idx) for idx in (-1, -3, -4)
)
# Large enough to be stored by reference, and not compressible.
BIG = random.Random(0).randbytes(limits.SMALL_VALUE_INLINE_BYTES * 2).hex()


# --- round trip -----------------------------------------------------------------------------
def test_head_round_trip_with_jsonplus() -> None:
    vals = {
        "messages": ["hello", {"role": "ai", "content": "hi"}],
        "count": 3,
        "blob": b"\x00\x01binary",
        "nothing": None,
        "text": "x" * 5000,
    }
    versions = {ch: f"v{i}" for i, ch in enumerate(vals)}
    cp = make_checkpoint("1f0-a", vals, versions)
    metadata = {"source": "loop", "step": 4, "parents": {}, "run_id": "run-7"}
    prepared, planned = write_head(cp, versions, parent_id="1f0-0", metadata=metadata)
    head = prepared.head
    assert prepared.chunks == []
    assert head[schema.PK] == {"S": schema.thread_pk(THREAD)}
    assert head[schema.SK] == {"S": schema.head_sk("", "1f0-a")}
    assert head[schema.KIND] == {"S": schema.KIND_CHECKPOINT}
    assert head[schema.PARENT] == {"S": "1f0-0"}
    assert head[schema.RUN_ID] == {"S": "run-7"}
    assert head[schema.CODEC] == {"S": "zstd+d1"}
    assert schema.FORMAT not in head  # absent: format 1
    assert schema.TTL not in head and schema.THREAD not in head and schema.NAMESPACE not in head
    assert sorted(planned.stored) == sorted(vals) and planned.refs == {}
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


def test_uuid_parent_ids_are_stored_as_16_bytes_others_as_strings() -> None:
    parent = "1f0b4a4e-3c2d-6e8f-8000-0123456789ab"
    cp = make_checkpoint("1f0b4a4e-3c2d-6e8f-8001-0123456789ab", {"a": 1}, {"a": "1"})
    prepared, _ = write_head(cp, {"a": "1"}, parent_id=parent)
    assert prepared.head[schema.PARENT] == {"B": bytes.fromhex(parent.replace("-", ""))}
    assert read(prepared.head).parent_config["configurable"]["checkpoint_id"] == parent  # type: ignore[index]
    for odd in ("1F0B4A4E-3C2D-6E8F-8000-0123456789AB", "{1f0b4a4e-3c2d-6e8f-8000-0123456789ab}"):
        prepared, _ = write_head(cp, {"a": "1"}, parent_id=odd)
        assert prepared.head[schema.PARENT] == {"S": odd}  # kept exactly as given


def test_the_skeleton_leaves_out_the_id_the_key_holds() -> None:
    cp = make_checkpoint("1f0-a", {"a": 1}, {"a": "1"})
    prepared, _ = write_head(cp, {"a": "1"})
    skeleton = SERDE.loads_typed(body_of(prepared.head).skeleton)
    assert "id" not in skeleton
    assert read(prepared.head).checkpoint == cp


def test_writes_items_keep_a_task_id_in_the_payload_only_when_the_key_digests_it() -> None:
    (item,) = all_writes_items(writes_of([("a", 1)], task_id="task$#1"))
    raw = unpack(COMP.decode(item[schema.PAYLOAD]["B"], schema.get_s(item, schema.CODEC)))
    assert "t" not in raw
    decoded = it.decode_item(item)
    assert isinstance(decoded, it.Writes) and decoded.task_id(COMP) == "task$#1"
    long_id = "t" * (limits.MAX_COMPONENT_KEY_BYTES + 10)  # digested in the key
    (item,) = all_writes_items(writes_of([("a", 1)], task_id=long_id))
    raw = unpack(COMP.decode(item[schema.PAYLOAD]["B"], schema.get_s(item, schema.CODEC)))
    assert raw["t"] == long_id
    decoded = it.decode_item(item)
    assert isinstance(decoded, it.Writes) and decoded.task_id(COMP) == long_id
    # A payload that disagrees with its key is corrupt, not guessed at.
    del raw["t"]
    plain = {k: v for k, v in item.items() if k != schema.CODEC}
    broken = it.decode_item({**plain, schema.PAYLOAD: {"B": pack(raw)}})
    assert isinstance(broken, it.Writes)
    with pytest.raises(CorruptItemError, match="task id"):
        broken.payload(COMP)


def test_items_of_another_format_are_refused_with_advice() -> None:
    cp = make_checkpoint("1f0-a", {"a": 1}, {"a": "1"})
    prepared, _ = write_head(cp, {"a": "1"})
    assert read({**prepared.head, schema.FORMAT: {"N": "1"}}).checkpoint == cp
    with pytest.raises(CorruptItemError, match="upgrade langgraph-dynamodb"):
        it.decode_item({**prepared.head, schema.FORMAT: {"N": "2"}})


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
    vals: dict[str, Any], thread_id: str, ns: str, cp_id: str, threshold: int
) -> None:
    comp = Compression(ZstdCompressor(), threshold=threshold)
    versions = {ch: i + 1 for i, ch in enumerate(vals)}
    cp = make_checkpoint(cp_id, vals, versions)
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
    assert head[schema.THREAD] == {"S": thread_id}
    assert head[schema.NAMESPACE] == {"S": ns}
    assert read(head, thread_id=thread_id, ns=ns).checkpoint["channel_values"] == {"a": 1}
    w = writes_of([("a", 1)], task_id="k" * 500, thread_id=thread_id, ns=ns)
    assert w.regular is not None
    assert w.regular[schema.THREAD] == {"S": thread_id}
    assert w.regular[schema.NAMESPACE] == {"S": ns}


def test_ttl_is_set_on_heads_writes_and_chunks() -> None:
    cp = make_checkpoint("1", {"a": os.urandom(400_000)}, {"a": 1})
    prepared, _ = write_head(cp, {"a": 1}, expires_at=12345)
    assert prepared.head[schema.TTL] == {"N": "12345"}
    assert prepared.chunks and all(c[schema.TTL] == {"N": "12345"} for c in prepared.chunks)
    w = writes_of([("a", 1)], expires_at=999)
    assert w.regular is not None and w.regular[schema.TTL] == {"N": "999"}
    assert schema.is_expired(w.regular, 999) and not schema.is_expired(w.regular, 998)


@given(st.floats(0, 2e9), st.sampled_from([1.0, 60.0, 3600.0, 86400.0 * 30]))
def test_expiries_come_in_windows_at_least_a_ttl_away(now: float, ttl: float) -> None:
    expires = build.expiry_in_seconds(now, ttl)
    assert now + ttl <= expires < now + ttl + max(1.0, ttl * limits.TTL_WINDOW_FRACTION) + 1
    window = max(1.0, ttl * limits.TTL_WINDOW_FRACTION)
    later = now + 0.999 * (expires - ttl - now)  # same window: same expiry
    assert build.expiry_in_seconds(later, ttl) == expires or later <= now
    assert build.expiry_in_seconds(now + window, ttl) >= expires


# --- references -----------------------------------------------------------------------------
def test_child_stores_a_reference_to_the_holder_and_reads_through_it() -> None:
    parent = make_checkpoint("1", {"a": BIG, "b": 1}, {"a": "1", "b": "1"})
    p_put, _ = write_head(parent, {"a": "1", "b": "1"})
    assert (p_put.index["a"].holder, p_put.index["a"].depth) == ("1", 0)
    assert p_put.index["a"].size > limits.SMALL_VALUE_INLINE_BYTES
    child = make_checkpoint("2", {"a": BIG, "b": 2}, {"a": "1", "b": "2"})
    c_put, c_plan = write_head(child, {"b": "2"}, parent_id="1", parent_index=p_put.index)
    assert c_plan.stored == ("b",) and c_plan.refs == {"a": Ref("1", 1)}
    assert (c_put.index["a"].holder, c_put.index["a"].depth) == ("1", 1)
    body = body_of(c_put.head)
    assert "a" not in body.stored and body.refs == {"a": Ref("1", 1)}
    assert len(c_put.head[schema.PAYLOAD]["B"]) < len(p_put.head[schema.PAYLOAD]["B"])
    found = read(c_put.head, others=[p_put.head])
    assert found.checkpoint == child
    assert found.parent_config is not None
    assert found.parent_config["configurable"]["checkpoint_id"] == "1"


def test_small_unchanged_values_are_stored_again_from_the_bytes_held() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": "small"}, {"a": "1"}), {"a": "1"})
    c_put, c_plan = write_head(
        make_checkpoint("2", {"a": "small"}, {"a": "1"}), {}, parent_index=p_put.index
    )
    # never from the (live) value
    assert c_plan.stored == () and c_plan.refs == {} and "a" in c_plan.copies
    assert body_of(c_put.head).stored["a"] == body_of(p_put.head).stored["a"]


def test_resolution_asks_for_the_holder_then_finds_it_or_says_it_is_gone() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": BIG}, {"a": "1"}), {"a": "1"})
    c_put, _ = write_head(
        make_checkpoint("2", {"a": BIG}, {"a": "1"}), {}, parent_index=p_put.index
    )
    head = decode_head(c_put.head)
    versions = head.versions(SERDE, COMP)
    need = rs.resolve(head, versions, table_of([], exhausted=False), COMP)
    assert need == rs.Need(heads=frozenset({"1"}))
    missing = rs.resolve(head, versions, table_of([]), COMP)
    assert isinstance(missing, rs.Missing) and "'1'" in missing.reason
    found = rs.resolve(head, versions, table_of([p_put.head]), COMP)
    assert isinstance(found, dict)
    assert codec.join(SERDE, found["a"].parts or [], "a") == BIG


def test_a_holder_at_another_version_is_missing() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": BIG}, {"a": "1"}), {"a": "1"})
    c_put, _ = write_head(
        make_checkpoint("2", {"a": BIG}, {"a": "1"}), {}, parent_index=p_put.index
    )
    impostor, _ = write_head(make_checkpoint("1", {"a": "new"}, {"a": "9"}), {"a": "9"})
    head = decode_head(c_put.head)
    outcome = rs.resolve(head, head.versions(SERDE, COMP), table_of([impostor.head]), COMP)
    assert isinstance(outcome, rs.Missing) and "version" in outcome.reason


def test_a_parent_index_at_another_version_is_not_used() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": BIG}, {"a": "1"}), {"a": "1"})
    _, c_plan = write_head(
        make_checkpoint("2", {"a": BIG + "!"}, {"a": "2"}), {}, parent_index=p_put.index
    )
    # not in new_versions and not at the parent's version: found by version on read,
    # never serialized from the checkpoint (as InMemorySaver)
    assert c_plan.stored == () and c_plan.refs == {"a": Ref(None, 0)}


def test_large_references_are_not_bounded_by_depth() -> None:
    versions = {"a": "1", "step": "0"}
    put, _ = write_head(make_checkpoint("00", {"a": BIG, "step": 0}, versions), versions)
    heads = [put.head]
    for step in range(1, 16):
        versions = {"a": "1", "step": str(step)}
        cp = make_checkpoint(f"{step:02d}", {"a": BIG, "step": step}, versions)
        put, planned = write_head(cp, {"step": str(step)}, parent_index=put.index)
        heads.append(put.head)
        assert planned.refs["a"] == Ref("00", step)
        assert read(put.head, others=heads).checkpoint["channel_values"] == {"a": BIG, "step": step}


def test_with_a_ttl_heads_a_new_head_needs_are_extended_once_per_window() -> None:
    cp = make_checkpoint("9", {"a": BIG}, {"a": "1"})
    same = {"a": index.ChannelRef("1", "0", 1, expires=1100, size=len(BIG))}
    earlier = {"a": index.ChannelRef("1", "0", 1, expires=1050, size=len(BIG))}
    _, planned = write_head(cp, {}, parent_index=same, expires_at=1100)
    assert planned.refs["a"] == Ref("0", 2) and planned.touch == frozenset()
    _, planned = write_head(cp, {}, parent_index=earlier, expires_at=1100)
    assert planned.refs["a"] == Ref("0", 2) and planned.touch == {"0"}
    assert planned.referred["a"].expires == 1100


def test_an_unknown_holder_is_found_by_version_among_older_heads() -> None:
    o_put, _ = write_head(make_checkpoint("1", {"a": "found"}, {"a": "1"}), {"a": "1"})
    c_put, c_plan = write_head(make_checkpoint("2", {}, {"a": "1"}), {})
    assert c_plan.refs["a"] == Ref(None, 0)
    head = decode_head(c_put.head)
    versions = head.versions(SERDE, COMP)
    assert rs.resolve(head, versions, table_of([], exhausted=False), COMP) == rs.Need(older=True)
    assert rs.resolve(head, versions, table_of([]), COMP) == {}  # nowhere: absent
    found = assembled(c_put.head, others=[o_put.head])
    assert found.tuple.checkpoint["channel_values"] == {"a": "found"}
    assert found.index == {}  # its writer knew no holder; neither does the reader's index


# --- one index, whoever derives it ----------------------------------------------------------
_steps = st.lists(
    st.sampled_from(["append", "append", "append", "replace", "big", "small", "drop", "none"]),
    min_size=1,
    max_size=25,
)


@given(_steps, st.booleans(), st.sampled_from([None, 5000]))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_reader_derives_the_index_its_writer_derived(
    steps: list[str], encrypted: bool, expires_at: int | None
) -> None:
    """Whatever a chain of checkpoints does (lists that grow or are replaced, large and
    small values, removed channels), the index a reader derives from the stored items is
    the writer's: a child is stored the same whether its parent was written or read."""
    serde: Any = SERDE
    if encrypted:
        from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

        from langgraph_dynamodb.crypto import AesGcmCipher

        serde = EncryptedSerializer(AesGcmCipher({"k": b"k" * 32}, active="k"))
    vals: dict[str, Any] = {"m": ["first " * 30]}
    versions: dict[str, Any] = {"m": "1"}
    heads: list[dict[str, Any]] = []
    parent: index.ChannelIndex | None = None
    for n, step in enumerate(steps):
        new: dict[str, Any] = {}
        version = str(n + 2)
        if step == "append":
            vals["m"] = [*vals.get("m", []), f"message {n} " * 40]
            new["m"] = version
        elif step == "replace":
            vals["m"] = [f"replaced {n} " * 40]
            new["m"] = version
        elif step == "big":
            vals["big"] = f"{n}" + BIG
            new["big"] = version
        elif step == "small":
            vals["small"] = n
            new["small"] = version
        elif step == "drop" and "big" in vals:
            del vals["big"]
            new["big"] = version
        versions.update(new)
        if n == 0:
            new = dict(versions)
        cp = make_checkpoint(f"{n:04d}", dict(vals), dict(versions))
        put, _ = write_head(
            cp, new, parent_index=parent, expires_at=expires_at, serde=serde, parent_id=None
        )
        read_back = assembled(put.head, others=heads, serde=serde)
        assert read_back.tuple.checkpoint["channel_values"] == vals
        assert read_back.index == put.index, (n, step)
        heads.append(put.head)
        parent = put.index if n % 2 else read_back.index


@given(st.lists(st.lists(st.text(max_size=30), max_size=12), min_size=1, max_size=6))
def test_describing_parts_and_extending_them_agree(chunks_: list[list[str]]) -> None:
    parts: codec.Parts = []
    seen = 0
    entry: index.ChannelRef | None = None
    so_far: list[str] = []
    for n, chunk in enumerate(chunks_):
        typed = SERDE.dumps_typed(chunk)
        so_far = [*so_far, *chunk]
        plain = codec.plain_list(SERDE, so_far, "m")
        assert plain is not None
        shape = index.ListShape(len(so_far), schema.digest(plain.body), len(plain.body))
        if entry is None:
            parts.append((typed, -1))
            entry = index.describe("v", "h0", parts, shape=shape)
        else:
            parts.append((typed, seen))
            entry = index.extend(
                entry, version="v", holder=f"h{n}", expires=None, tail=typed, shape=shape
            )
        seen += len(chunk)
        chain = tuple(f"h{i}" for i in range(n - 1, -1, -1))
        described = index.describe(
            "v", f"h{n}", parts, shape=index.shape_of(parts, so_far, SERDE, "m"), chain=chain
        )
        assert described == entry


def test_a_shape_is_taken_from_plain_msgpack_bytes_or_by_serializing() -> None:
    whole: codec.Parts = [(SERDE.dumps_typed(["a", "b"]), -1)]
    from_bytes = index.shape_of(whole, ["a", "b"], None, "m")
    assert from_bytes is not None and from_bytes.length == 2
    encrypted: codec.Parts = [(("msgpack+aes", b"\x92\x01\x02"), -1)]
    assert index.shape_of(encrypted, ["a", "b"], None, "m") is None
    assert index.shape_of(encrypted, ["a", "b"], SERDE, "m") == from_bytes
    assert index.shape_of(whole, {"not": "a list"}, SERDE, "m") is None


# --- removed channels ----------------------------------------------------------------------
def test_channels_in_new_versions_but_without_value_are_removed() -> None:
    p_put, _ = write_head(
        make_checkpoint("1", {"a": BIG, "b": 1}, {"a": "1", "b": "1"}), {"a": "1", "b": "1"}
    )
    child = make_checkpoint("2", {"b": 1}, {"a": "2", "b": "1"})
    c_put, c_plan = write_head(child, {"a": "2"}, parent_index=p_put.index)
    assert "a" in c_plan.stored and body_of(c_put.head).stored["a"] is None
    found = read(c_put.head, others=[p_put.head])
    assert found.checkpoint["channel_values"] == {"b": 1}
    assert found.checkpoint["channel_versions"] == {"a": "2", "b": "1"}
    # A grandchild that does not touch "a": still absent, the old value does not return.
    grandchild = make_checkpoint("3", {"b": 3}, {"a": "2", "b": "3"})
    g_put, _ = write_head(grandchild, {"b": "3"}, parent_index=c_put.index)
    assert read(g_put.head, others=[p_put.head, c_put.head]).checkpoint["channel_values"] == {
        "b": 3
    }
    g_put, _ = write_head(grandchild, {"b": "3"})  # without the parent's index
    assert read(g_put.head, others=[p_put.head, c_put.head]).checkpoint["channel_values"] == {
        "b": 3
    }


def test_removed_channel_not_in_channel_versions() -> None:
    put, planned = write_head(make_checkpoint("1", {"b": 1}, {"b": "1"}), {"a": "1", "b": "1"})
    assert sorted(planned.stored) == ["a", "b"]
    assert read(put.head).checkpoint["channel_values"] == {"b": 1}


# --- chunks ---------------------------------------------------------------------------------
def test_a_large_payload_is_chunked_and_joins_back() -> None:
    big = os.urandom(limits.MAX_INLINE_PAYLOAD_BYTES * 2 + 1000)  # incompressible
    cp = make_checkpoint("1", {"big": big, "small": "s"}, {"big": "1", "small": "1"})
    put, _ = write_head(cp, {"big": "1", "small": "1"})
    assert schema.PAYLOAD not in put.head and len(put.chunks) == 3
    for seq, chunk in enumerate(put.chunks):
        assert chunk[schema.PK] == put.head[schema.PK]
        assert chunk[schema.KIND] == {"S": schema.KIND_CHUNK}
        assert len(chunk[schema.PAYLOAD]["B"]) <= limits.CHUNK_BYTES
        assert it.decode_item(chunk) is None
        assert chunk[schema.SK]["S"] == schema.chunk_sk(put.head[schema.CHUNKS]["L"][0]["S"], seq)
    head = decode_head(put.head)
    assert head.needs_chunks() and head.chunk_ref is not None and head.chunk_ref.count == 3
    assert [k[schema.SK] for k in head.chunk_keys()] == [c[schema.SK] for c in put.chunks]
    data = head.chunk_ref.join({schema.sk_of(c): c for c in put.chunks})
    assert data is not None and len(data) == head.chunk_ref.total
    head.set_chunk_data(data)
    outcome = rs.resolve(head, head.versions(SERDE, COMP), table_of([]), COMP)
    assert isinstance(outcome, dict)
    result = rs.assemble(
        serde=SERDE,
        compression=COMP,
        head=head,
        resolved=outcome,
        writes=[],
        thread_id=THREAD,
        checkpoint_ns="",
    )
    assert result.tuple.checkpoint == cp


def test_a_payload_at_the_inline_limit_is_not_chunked() -> None:
    comp = Compression(None)
    for size, chunked in (
        (limits.MAX_INLINE_PAYLOAD_BYTES, False),
        (limits.MAX_INLINE_PAYLOAD_BYTES + 1, True),
    ):
        framed = codec.frame(b"x" * (size - 5), comp, "pk", None)  # bin 32: 5-byte header
        assert len(pack(b"x" * (size - 5))) == size
        assert bool(framed.chunks) is chunked


def _chunked(data: bytes, chunk_bytes: int = 64) -> tuple[schema.ChunkRef, dict[str, Any]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(limits, "MAX_INLINE_PAYLOAD_BYTES", 100)
        mp.setattr(limits, "CHUNK_BYTES", chunk_bytes)
        framed = codec.frame(data, Compression(None), "pk", None)
    ref = schema.chunk_ref_of(framed.attrs)
    assert ref is not None
    return ref, {schema.sk_of(c): c for c in framed.chunks}


@given(st.binary(min_size=101, max_size=2000), st.integers(1, 300))
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_chunks_round_trip_property(data: bytes, chunk_bytes: int) -> None:
    ref, found = _chunked(data, chunk_bytes)
    packed = pack(data)
    assert ref.count == -(-len(packed) // chunk_bytes) == len(found)
    assert ref.join(found) == packed


def test_a_missing_or_corrupt_chunk_joins_to_nothing() -> None:
    ref, found = _chunked(os.urandom(1000))
    assert ref.join(found) is not None
    for sk in found:
        assert ref.join({k: v for k, v in found.items() if k != sk}) is None
    first = schema.chunk_sk(ref.nonce, 0)
    payload = bytearray(found[first][schema.PAYLOAD]["B"])
    payload[0] ^= 0xFF
    assert (
        ref.join({**found, first: {**found[first], schema.PAYLOAD: {"B": bytes(payload)}}}) is None
    )
    assert ref.join({**found, first: {schema.SK: found[first][schema.SK]}}) is None
    other_ref, other = _chunked(os.urandom(1000))  # another payload's chunks do not count
    assert ref.join(other) is None and other_ref.join(other) is not None


def test_a_malformed_chunk_list_is_corrupt() -> None:
    item = {
        schema.PK: {"S": "pk"},
        schema.SK: {"S": schema.head_sk("", "1")},
        schema.CHUNKS: {"L": [{"S": "nonce"}, {"N": "2"}]},
    }
    with pytest.raises(CorruptItemError, match="chunk list"):
        it.decode_item(item)


# --- decoding -------------------------------------------------------------------------------
def test_decode_item_ignores_foreign_keys_and_refuses_our_keys_without_payload() -> None:
    assert it.decode_item({}) is None
    assert it.decode_item({schema.SK: {"S": "foreign"}, schema.PAYLOAD: {"B": b"x"}}) is None
    assert (
        it.decode_item({schema.SK: {"S": schema.chunk_sk("n", 0)}, schema.PAYLOAD: {"B": b"x"}})
        is None
    )
    with pytest.raises(CorruptItemError, match="neither a payload"):
        it.decode_item({schema.PK: {"S": "p"}, schema.SK: {"S": schema.head_sk("", "1")}})


def test_a_malformed_head_payload_is_corrupt() -> None:
    item = {
        schema.PK: {"S": "pk"},
        schema.SK: {"S": schema.head_sk("", "1")},
        schema.PAYLOAD: {"B": pack({"c": ["msgpack", b""]})},
    }
    with pytest.raises(CorruptItemError, match="malformed"):
        decode_head(item).payload(COMP)
    item[schema.PAYLOAD] = {"B": b"\xc1garbage"}
    with pytest.raises(CorruptItemError):
        decode_head(item).payload(COMP)
    item[schema.PAYLOAD] = {"B": pack({"c": [], "m": [], "s": {}, "r": {}})}
    item[schema.CODEC] = {"S": "brotli"}
    with pytest.raises(CorruptItemError, match="brotli"):
        decode_head(item).payload(COMP)


# --- writes ---------------------------------------------------------------------------------
def test_writes_split_into_regular_and_special_items() -> None:
    writes = [("a", 1), (ERROR, "boom"), ("b", 2), (INTERRUPT, "stop"), (ERROR, "boom2")]
    prepared = writes_of(writes, task_id="task-1", task_path="~p")
    assert prepared.regular is not None
    assert prepared.regular[schema.SK]["S"] == schema.writes_sk(
        "", "cp-1", "task-1", schema.REGULAR_TAG
    )
    assert prepared.regular[schema.KIND] == {"S": schema.KIND_WRITES}
    assert schema.NONCE in prepared.regular
    assert sorted(prepared.regular_entries) == [0, 2]
    special_tags = sorted(schema.parse_sk(i[schema.SK]["S"]).tag for i in prepared.special)  # type: ignore[union-attr]
    assert special_tags == sorted([str(WRITES_IDX_MAP[ERROR]), str(WRITES_IDX_MAP[INTERRUPT])])
    assert prepared.chunks == []
    decoded = [it.decode_item(i) for i in all_writes_items(prepared)]
    assert all(isinstance(d, it.Writes) for d in decoded)
    # special channels: last write wins; regular: one entry per index
    assert rs.pending_writes(SERDE, COMP, decoded) == [  # type: ignore[arg-type]
        ("task-1", INTERRUPT, "stop"),
        ("task-1", ERROR, "boom2"),
        ("task-1", "a", 1),
        ("task-1", "b", 2),
    ]
    assert writes_of([("a", 1)]).special == [] and writes_of([(ERROR, "x")]).regular is None


def test_pending_writes_in_writes_sort_key_order() -> None:
    writes = [(f"ch{i}", i) for i in range(12)]
    task_a = writes_of([*writes, (ERROR, "e")], task_id="task-a", task_path="~b")
    task_b = writes_of([("x", "first"), (RESUME, "r")], task_id="task-b", task_path="~a")
    raw = all_writes_items(task_b) + all_writes_items(task_a)
    pending = rs.pending_writes(SERDE, COMP, [it.decode_item(i) for i in reversed(raw)])  # type: ignore[misc]
    assert pending[:2] == [("task-b", RESUME, "r"), ("task-b", "x", "first")]
    assert pending[2] == ("task-a", ERROR, "e")
    assert [c for t, c, _ in pending if t == "task-a"][1:] == [f"ch{i}" for i in range(12)]
    idx = {
        ("task-a", c): WRITES_IDX_MAP.get(c, i) for i, (c, _) in enumerate([*writes, (ERROR, "")])
    }
    idx |= {("task-b", "x"): 0, ("task-b", RESUME): WRITES_IDX_MAP[RESUME]}
    paths = {"task-a": "~b", "task-b": "~a"}
    assert pending == sorted(
        pending, key=lambda w: writes_sort_key(paths[w[0]], w[0], idx[(w[0], w[1])])
    )


def test_pending_writes_come_back_with_the_checkpoint() -> None:
    put, _ = write_head(make_checkpoint("cp-1", {"a": 1}, {"a": "1"}), {"a": "1"})
    prepared = writes_of([(f"c{i}", i) for i in range(11)] + [(ERROR, "e")])
    found = read(put.head, writes=all_writes_items(prepared))
    assert found.pending_writes == [("task-1", ERROR, "e")] + [
        ("task-1", f"c{i}", i) for i in range(11)
    ]


# --- serialization errors -------------------------------------------------------------------
def test_an_unserializable_channel_value_names_the_channel() -> None:
    cp = make_checkpoint("1", {"ok": 1, "my_lock": threading.Lock()}, {"ok": "1", "my_lock": "1"})
    with pytest.raises(SerializationError, match="'my_lock'") as info:
        write_head(cp, {"ok": "1", "my_lock": "1"})
    assert isinstance(info.value, TypeError) and "JsonPlusSerializer" in str(info.value)
    with pytest.raises(SerializationError, match="metadata"):
        write_head(make_checkpoint("1", {}, {}), {}, metadata={"bad": object()})
    with pytest.raises(SerializationError) as info:
        writes_of([("fine", 1), ("bad_channel", lambda: None)], task_id="task-9")
    assert "'bad_channel'" in str(info.value) and "'task-9'" in str(info.value)
    with pytest.raises(SerializationError, match="'x'"):
        codec.loads(SERDE, ("msgpack", b"\xc1"), "channel 'x'")


def test_the_part_of_a_value_to_blame_is_named() -> None:
    @dataclasses.dataclass
    class Profile:
        name: str
        handle: object

    value = {"user": {"tags": ["a", Profile("x", threading.Lock())]}, "ok": 1}
    with pytest.raises(SerializationError) as info:
        codec.dumps(SERDE, value, codec.channel_label("__start__"))
    assert "channel '__start__' (the graph input)" in str(info.value)
    assert "its part ['user']['tags'][1].handle (a lock)" in str(info.value)
    assert codec.culprit(SERDE, {"fine": 1}) is None
    assert codec.culprit(SERDE, threading.Lock()) is None  # nothing inside to blame


# --- rewriting whole, expiry, caches ---------------------------------------------------------
def test_a_rebuilt_head_stores_every_value_itself() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": BIG}, {"a": "1"}), {"a": "1"})
    child = make_checkpoint("2", {"a": BIG, "b": "B"}, {"a": "1", "b": "1"})
    c_put, _ = write_head(child, {"b": "1"}, parent_index=p_put.index, parent_id="1")
    assert body_of(c_put.head).refs
    read_back = assembled(c_put.head, others=[p_put.head])
    rebuilt = build.rebuild_head(
        decode_head(c_put.head),
        COMP,
        SERDE,
        read_back.parts,
        read_back.tuple.checkpoint["channel_values"],
        thread_id=THREAD,
        checkpoint_ns="",
        expires_at=777,
    )
    assert body_of(rebuilt.head).refs == {}
    assert rebuilt.head[schema.TTL] == {"N": "777"} and rebuilt.head[schema.PARENT] == {"S": "1"}
    again = assembled(rebuilt.head)
    assert again.tuple.checkpoint == child
    assert again.index == rebuilt.index


def test_with_expiry() -> None:
    raw = {schema.PK: {"S": "p"}, schema.SK: {"S": "s"}, schema.TTL: {"N": "1"}}
    assert schema.with_expiry(raw, None) == {schema.PK: {"S": "p"}, schema.SK: {"S": "s"}}
    assert schema.with_expiry(raw, 5)[schema.TTL] == {"N": "5"}
    assert raw[schema.TTL] == {"N": "1"}


def test_the_index_cache_is_a_bounded_lru() -> None:
    cache = IndexCache(size=2)
    entry = {"a": index.ChannelRef("1", "x", 0, None, 10)}
    cache.put(("t", "", "1"), entry, "1")
    cache.put(("t", "", "2"), entry, "1")
    assert cache.get(("t", "", "1")) == entry  # refreshes "1"
    cache.put(("u", "", "3"), entry, "3")
    assert cache.get(("t", "", "2")) is None and cache.get(("t", "", "1")) == entry
    assert cache.lineage(("t", "", "1")) == "1" and cache.lineage(("t", "", "2")) is None
    cache.discard_thread("t")
    assert cache.get(("t", "", "1")) is None and cache.get(("u", "", "3")) == entry


# --- deltas ---------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [0, 1, 15, 16, 65535, 65536, 70000])
def test_msgpack_array_header_round_trip(count: int) -> None:
    data = pack([0] * count)
    parsed = codec.array_info(data)
    assert parsed is not None and parsed[0] == count
    assert data[: parsed[1]] == codec.array_header(count)


def test_an_appended_tail_is_valid_msgpack_of_the_new_elements() -> None:
    base_list = [{"n": i, "text": "x" * 40} for i in range(20)]
    grown = [*base_list, *({"n": i, "text": "y" * 40} for i in range(20, 40))]
    p_put, _ = write_head(make_checkpoint("1", {"a": base_list}, {"a": "1"}), {"a": "1"})
    c_put, _ = write_head(
        make_checkpoint("2", {"a": grown}, {"a": "2"}), {"a": "2"}, parent_index=p_put.index
    )
    body = body_of(c_put.head)
    assert "a" in body.deltas and "a" not in body.stored
    assert SERDE.loads_typed(body.deltas["a"].tail) == grown[20:]
    assert read(c_put.head, others=[p_put.head]).checkpoint["channel_values"]["a"] == grown


def test_an_element_edited_in_place_stores_the_list_whole() -> None:
    p_put, _ = write_head(make_checkpoint("1", {"a": ["x" * 300, "y"]}, {"a": "1"}), {"a": "1"})
    c_put, _ = write_head(
        make_checkpoint("2", {"a": ["x" * 300, "Y", "z"]}, {"a": "2"}),
        {"a": "2"},
        parent_index=p_put.index,
    )
    assert "a" in body_of(c_put.head).stored


def _grow_chain(turns: int, element_bytes: int) -> list[build.PreparedHead]:
    """A list channel that gains one element per checkpoint, each head written on top of
    the index of the one before (as the saver does)."""
    puts: list[build.PreparedHead] = []
    value: list[str] = []
    parent: index.ChannelIndex | None = None
    for n in range(turns):
        value = [*value, f"{n:06d}" + "x" * element_bytes]
        cp_id = f"{n:06d}"
        prepared, _ = write_head(
            make_checkpoint(cp_id, {"a": value}, {"a": cp_id}), {"a": cp_id}, parent_index=parent
        )
        puts.append(prepared)
        parent = prepared.index
    return puts


def test_a_delta_stores_its_floor_and_its_chain_is_walked_through_its_bases() -> None:
    puts = _grow_chain(6, 3000)
    heads = [decode_head(p.head) for p in puts]
    by_id = {h.checkpoint_id: h for h in heads}
    last = heads[-1].payload(COMP).deltas["a"]
    assert last.base == "000004" and last.base_len == 5
    assert last.floor == "000000"  # the keyframe: a read goes down to it
    chain = deltas.chain_of(heads[-1], "a", COMP, by_id.get)
    assert chain == ("000004", "000003", "000002", "000001", "000000")
    assert puts[-1].index["a"].hops == 5 and puts[-1].index["a"].chain == chain
    del by_id["000002"]  # a base that was not read ends the walk
    assert deltas.chain_of(heads[-1], "a", COMP, by_id.get) == ("000004", "000003", "000002")
    table = table_of([p.head for p in puts[:2]], exhausted=False)
    head = heads[-1]
    assert rs.resolve(head, head.versions(SERDE, COMP), table, COMP) == rs.Need(down_to="000000")
    assert (
        len(
            read(puts[-1].head, others=[p.head for p in puts[:-1]]).checkpoint["channel_values"][
                "a"
            ]
        )
        == 6
    )
    gone = table_of([p.head for p in puts[:-1] if p is not puts[3]])
    outcome = rs.resolve(head, head.versions(SERDE, COMP), gone, COMP)
    assert isinstance(outcome, rs.Missing) and "000003" in outcome.reason


def test_keyframes_come_at_geometric_sizes_so_bytes_per_append_stay_flat() -> None:
    puts = _grow_chain(400, 300)
    keyframes = [n for n, p in enumerate(puts) if "a" in body_of(p.head).stored]
    assert keyframes[0] == 0 and len(keyframes) >= 3
    gaps = [b - a for a, b in zip(keyframes[1:], keyframes[2:], strict=False)]
    assert gaps == sorted(gaps) and gaps[-1] > 2 * gaps[0], keyframes
    written = [
        sum(len(p.head[schema.PAYLOAD]["B"]) for p in puts[a:b]) / (b - a)
        for a, b in zip(keyframes[1:], keyframes[2:], strict=False)
    ]
    assert max(written) < 2 * min(written), written  # flat, not growing with the list
    assert max(p.index["a"].hops for p in puts) <= limits.MAX_DELTA_CHAIN


def test_a_list_that_would_need_a_long_chain_of_tiny_deltas_gets_a_keyframe() -> None:
    puts = _grow_chain(40, 1)
    keyframes = [n for n, p in enumerate(puts) if "a" in body_of(p.head).stored]
    longest = max(b - a for a, b in zip(keyframes, [*keyframes[1:], len(puts)], strict=True))
    budget = limits.DELTA_READ_FACTOR * limits.DELTA_MIN_BUDGET_BYTES
    assert longest <= budget // limits.DELTA_HOP_BYTES + 1, keyframes


def test_with_a_ttl_a_delta_does_not_sit_on_heads_that_expire_earlier() -> None:
    p_put, _ = write_head(
        make_checkpoint("1", {"a": ["x" * 300]}, {"a": "1"}), {"a": "1"}, expires_at=1000
    )
    grown = {"a": ["x" * 300, "y" * 300]}
    same, _ = write_head(
        make_checkpoint("2", grown, {"a": "2"}),
        {"a": "2"},
        parent_index=p_put.index,
        expires_at=1000,
    )
    later, _ = write_head(
        make_checkpoint("2", grown, {"a": "2"}),
        {"a": "2"},
        parent_index=p_put.index,
        expires_at=2000,
    )
    assert "a" in body_of(same.head).deltas
    assert "a" in body_of(later.head).stored  # a keyframe rather than extend the chain
