"""Payload codecs: zstd, thresholds, raw fallback, unknown codecs, msgpack framing."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langgraph_dynamodb import codec as codec_module
from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.codec import (
    ZSTD,
    ZSTD_D1,
    Compression,
    Compressor,
    ZstdCompressor,
    pack,
    unpack,
)
from langgraph_dynamodb.errors import ConfigurationError, CorruptItemError


class Reverse:
    """A toy codec (reversible, never smaller) to check pluggable readers."""

    name = "rev"

    def compress(self, data: bytes) -> bytes:
        return data[::-1]

    def decompress(self, data: bytes) -> bytes:
        return data[::-1]


def compressible(n: int) -> bytes:
    return (b"the quick brown fox jumps over the lazy dog " * (n // 44 + 1))[:n]


# --- zstd -----------------------------------------------------------------------------------
@given(st.binary(max_size=5000), st.integers(1, 22))
def test_zstd_round_trip(data: bytes, level: int) -> None:
    codec = ZstdCompressor(level)
    assert codec.decompress(codec.compress(data)) == data


def test_zstd_is_a_compressor() -> None:
    assert isinstance(ZstdCompressor(), Compressor)
    assert ZstdCompressor().name == ZSTD_D1
    assert ZstdCompressor(dictionary=False).name == ZSTD
    assert ZstdCompressor().level == limits.DEFAULT_ZSTD_LEVEL


def test_the_dictionary_shrinks_small_langgraph_payloads() -> None:
    # A checkpoint-head-like payload: what every head repeats is in the dictionary.
    payload = pack(
        {
            "c": [
                "msgpack",
                pack(
                    {
                        "v": 4,
                        "id": "1f0c6f8e-aaaa",
                        "channel_versions": {
                            "__start__": "00000000000000000000000000000002.0.1",
                            "messages": "00000000000000000000000000000002.0.1",
                        },
                        "versions_seen": {"__input__": {}},
                        "updated_channels": ["messages"],
                    }
                ),
            ],
            "m": ["msgpack", pack({"source": "loop", "step": 1, "parents": {}})],
            "s": {},
            "sv": {},
            "r": {},
        }
    )
    plain = ZstdCompressor(dictionary=False).compress(payload)
    with_dict = ZstdCompressor().compress(payload)
    assert len(with_dict) < len(plain) * 0.8
    assert ZstdCompressor().decompress(with_dict) == payload


def test_plain_and_dictionary_frames_are_both_read() -> None:
    data = compressible(10_000)
    plain_comp = Compression(ZstdCompressor(dictionary=False))
    stored, codec = plain_comp.encode(data)
    assert codec == ZSTD
    assert Compression(ZstdCompressor()).decode(stored, codec) == data
    stored, codec = Compression(ZstdCompressor()).encode(data)
    assert codec == ZSTD_D1
    assert plain_comp.decode(stored, codec) == data
    assert Compression(None).decode(stored, codec) == data


def test_a_changed_dictionary_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec_module, "_dictionaries", {})
    monkeypatch.setattr(schema, "ZSTD_D1_SHA256", "0" * 64)
    with pytest.raises(ConfigurationError, match="reinstall"):
        ZstdCompressor().compress(b"x" * 100)


@given(st.binary(max_size=20_000), st.integers(0, 4096))
def test_compression_round_trip(data: bytes, threshold: int) -> None:
    comp = Compression(ZstdCompressor(), threshold=threshold)
    stored, codec = comp.encode(data)
    assert codec in (None, ZSTD_D1)
    if codec is None:
        assert stored == data
    else:
        assert len(stored) < len(data)
    assert comp.decode(stored, codec) == data


def test_compressible_data_above_threshold_is_zstd() -> None:
    data = compressible(50_000)
    comp = Compression(ZstdCompressor())
    stored, codec = comp.encode(data)
    assert codec == ZSTD_D1
    assert len(stored) < len(data) // 10
    assert comp.decode(stored, codec) == data


def test_below_threshold_is_stored_raw() -> None:
    comp = Compression(ZstdCompressor(), threshold=1024)
    data = compressible(1023)
    assert comp.encode(data) == (data, None)
    # at the threshold it is compressed
    stored, codec = comp.encode(compressible(1024))
    assert codec == ZSTD_D1 and comp.decode(stored, codec) == compressible(1024)


def test_default_threshold() -> None:
    comp = Compression(ZstdCompressor())
    assert comp.threshold == limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES
    small = compressible(limits.DEFAULT_COMPRESSION_THRESHOLD_BYTES - 1)
    assert comp.encode(small) == (small, None)


def test_incompressible_data_is_stored_raw() -> None:
    data = os.urandom(20_000)
    comp = Compression(ZstdCompressor(), threshold=0)
    assert comp.encode(data) == (data, None)


def test_codec_that_does_not_shrink_is_not_used() -> None:
    comp = Compression(Reverse(), threshold=0)
    data = b"abcdef" * 100
    assert comp.encode(data) == (data, None)


def test_no_codec_stores_raw() -> None:
    comp = Compression(None, threshold=0)
    data = compressible(100_000)
    assert comp.encode(data) == (data, None)
    assert comp.decode(data, None) == data


def test_reads_zstd_even_when_writing_uncompressed() -> None:
    zstd = Compression(ZstdCompressor())
    stored, codec = zstd.encode(compressible(10_000))
    assert codec == ZSTD_D1
    assert Compression(None).decode(stored, codec) == compressible(10_000)


def test_extra_codecs_are_readable() -> None:
    data = b"payload"
    comp = Compression(ZstdCompressor(), extra_codecs={"rev": Reverse()})
    assert comp.decode(data[::-1], "rev") == data


# --- unknown / corrupt ----------------------------------------------------------------------
def test_unknown_codec_on_read_is_corrupt_item_with_useful_message() -> None:
    comp = Compression(ZstdCompressor())
    with pytest.raises(CorruptItemError) as info:
        comp.decode(b"whatever", "lz4")
    message = str(info.value)
    assert "'lz4'" in message
    assert "extra_codecs" in message


def test_undecompressable_payload_is_corrupt_item() -> None:
    comp = Compression(ZstdCompressor())
    with pytest.raises(CorruptItemError, match="zstd"):
        comp.decode(b"not a zstd frame", ZSTD_D1)
    stored, codec = comp.encode(compressible(10_000))
    with pytest.raises(CorruptItemError):
        comp.decode(stored[: len(stored) // 2], codec)


def test_invalid_msgpack_is_corrupt_item() -> None:
    with pytest.raises(CorruptItemError, match="msgpack"):
        unpack(b"\xc1")
    with pytest.raises(CorruptItemError):
        unpack(pack({"a": [1, 2, 3]})[:-1])


# --- configuration --------------------------------------------------------------------------
@pytest.mark.parametrize("level", [0, 23, -1, 3.0, "3", True, None])
def test_invalid_zstd_levels(level: object) -> None:
    with pytest.raises(ConfigurationError, match="level"):
        ZstdCompressor(level)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", [1, 3, 22])
def test_valid_zstd_levels(level: int) -> None:
    assert ZstdCompressor(level).level == level


@pytest.mark.parametrize("threshold", [-1, 1.5, "10", True, None])
def test_invalid_thresholds(threshold: object) -> None:
    with pytest.raises(ConfigurationError, match="threshold"):
        Compression(ZstdCompressor(), threshold=threshold)  # type: ignore[arg-type]


@pytest.mark.parametrize("codec", ["zstd", object(), 1])
def test_invalid_codec_objects(codec: object) -> None:
    with pytest.raises(ConfigurationError):
        Compression(codec)  # type: ignore[arg-type]


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ZstdCompressor(0)


# --- msgpack framing ------------------------------------------------------------------------
payloads = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text()
    | st.binary(max_size=64),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(payloads)
def test_pack_round_trip(obj: object) -> None:
    assert unpack(pack(obj)) == obj


def test_small_payloads_are_compressed_harder() -> None:
    import zstandard

    small = compressible(limits.ZSTD_SMALL_PAYLOAD_BYTES)
    large = compressible(limits.ZSTD_SMALL_PAYLOAD_BYTES + 1)
    z = ZstdCompressor(dictionary=False)
    assert z.small_level == limits.DEFAULT_ZSTD_SMALL_LEVEL
    at = {lvl: zstandard.ZstdCompressor(level=lvl) for lvl in (z.level, z.small_level)}
    assert z.compress(small) == at[z.small_level].compress(small)
    assert z.compress(large) == at[z.level].compress(large)
    assert z.decompress(z.compress(small)) == small and z.decompress(z.compress(large)) == large
    assert ZstdCompressor(19).small_level == 19  # never below the level asked for
    with pytest.raises(ConfigurationError, match="small_level"):
        ZstdCompressor(small_level=0)
