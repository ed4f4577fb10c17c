"""The payload schema: what the writer encodes the reader decodes, field for field; and
what is not a format-1 payload is refused, not guessed at."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langgraph_dynamodb import schema
from langgraph_dynamodb.codec import pack, unpack
from langgraph_dynamodb.errors import CorruptItemError

_typed = st.tuples(
    st.sampled_from(["msgpack", "json", "bytes", "msgpack+aesgcm.k1.z"]), st.binary(max_size=40)
)
_ids = st.text(min_size=1, max_size=40)
_channels = st.text(max_size=12)
_versions = st.one_of(st.integers(0, 10**6), st.text(max_size=40))

heads = st.builds(
    schema.HeadPayload,
    skeleton=_typed,
    metadata=_typed,
    stored=st.dictionaries(_channels, st.one_of(st.none(), _typed), max_size=4),
    versions=st.dictionaries(_channels, _versions, max_size=4),
    refs=st.dictionaries(
        _channels,
        st.builds(schema.Ref, st.one_of(st.none(), _ids), st.integers(0, 10**4)),
        max_size=4,
    ),
    deltas=st.dictionaries(
        _channels,
        st.builds(schema.Delta, _ids, st.integers(0, 10**6), _ids, _typed),
        max_size=4,
    ),
)
writes = st.builds(
    schema.WritesPayload,
    task_path=st.text(max_size=30),
    entries=st.lists(
        st.builds(schema.WriteEntry, st.integers(-4, 100), _channels, _typed), max_size=5
    ).map(lambda es: tuple(sorted(es, key=lambda e: e.idx))),
    task_id=st.one_of(st.none(), _ids),
)


@given(heads)
def test_head_payloads_round_trip_through_msgpack(payload: schema.HeadPayload) -> None:
    assert schema.decode_head(unpack(pack(schema.encode_head(payload))), "head") == payload


@given(writes)
def test_writes_payloads_round_trip_through_msgpack(payload: schema.WritesPayload) -> None:
    assert schema.decode_writes(unpack(pack(schema.encode_writes(payload))), "writes") == payload


def test_fields_are_the_documented_ones() -> None:
    encoded = schema.encode_head(
        schema.HeadPayload(
            skeleton=("msgpack", b"c"),
            metadata=("msgpack", b"m"),
            stored={"a": ("msgpack", b"1"), "gone": None},
            versions={"a": 2},
            refs={"b": schema.Ref("h", 3)},
            deltas={"m": schema.Delta("base", 4, "floor", ("msgpack", b"t"))},
        )
    )
    assert encoded == {
        "c": ["msgpack", b"c"],
        "m": ["msgpack", b"m"],
        "s": {"a": ["msgpack", b"1"], "gone": None},
        "sv": {"a": 2},
        "r": {"b": ["h", 3]},
        "d": {"m": ["base", 4, "floor", "msgpack", b"t"]},
    }
    assert "d" not in schema.encode_head(schema.HeadPayload(("t", b""), ("t", b"")))
    entries = (schema.WriteEntry(1, "y", ("t", b"2")), schema.WriteEntry(0, "x", ("t", b"1")))
    assert schema.encode_writes(schema.WritesPayload("~p", entries)) == {
        "p": "~p",
        "w": [[0, "x", "t", b"1"], [1, "y", "t", b"2"]],  # in index order
    }


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"c": ["t", b""], "m": ["t", b""], "s": {}, "sv": {}},  # no refs
        {"c": ["t"], "m": ["t", b""], "s": {}, "sv": {}, "r": {}},
        {"c": ["t", b""], "m": ["t", b""], "s": {}, "sv": {}, "r": {"a": ["h", 1, 2]}},
        {"c": ["t", b""], "m": ["t", b""], "s": {}, "sv": {}, "r": {"a": [7, 1]}},
        {"c": ["t", b""], "m": ["t", b""], "s": {"a": ["t", "not bytes"]}, "sv": {}, "r": {}},
        {"c": ["t", b""], "m": ["t", b""], "s": {}, "sv": {}, "r": {}, "d": {"a": ["b", 1]}},
        ["not", "a", "map"],
    ],
)
def test_what_is_not_a_head_payload_is_corrupt(raw: Any) -> None:
    with pytest.raises(CorruptItemError, match="the item has a malformed payload"):
        schema.decode_head(raw, "the item")


@pytest.mark.parametrize(
    "raw",
    [{}, {"p": "", "w": [[0, "x", "t"]]}, {"p": "", "w": [], "t": 5}, {"p": "", "w": "x"}],
)
def test_what_is_not_a_writes_payload_is_corrupt(raw: Any) -> None:
    with pytest.raises(CorruptItemError, match="malformed"):
        schema.decode_writes(raw, "writes item")
