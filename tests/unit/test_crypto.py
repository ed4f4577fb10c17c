"""AesGcmCipher: round trip, key rotation, tampering, configuration errors."""

from __future__ import annotations

import os

import pytest
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from langgraph_dynamodb import ConfigurationError, SerializationError
from langgraph_dynamodb.crypto import AesGcmCipher

K1, K2 = os.urandom(32), os.urandom(32)


def test_round_trip_and_rotation() -> None:
    old = EncryptedSerializer(AesGcmCipher({"k1": K1}, active="k1"))
    typed = old.dumps_typed({"secret": "attack at dawn " * 50})
    assert typed[0] == "msgpack+aesgcm.k1.z"
    assert b"attack" not in typed[1]
    rotated = EncryptedSerializer(AesGcmCipher({"k1": K1, "k2": K2}, active="k2"))
    assert rotated.loads_typed(typed) == {"secret": "attack at dawn " * 50}
    new = rotated.dumps_typed([1, 2, 3])
    assert new[0] == "msgpack+aesgcm.k2.z"
    with pytest.raises(SerializationError, match="'k2'.*not configured"):
        old.loads_typed(new)


def test_uncompressed_and_tampering() -> None:
    cipher = AesGcmCipher({"k1": K1}, active="k1", compress=False)
    name, data = cipher.encrypt(b"hello")
    assert name == "aesgcm.k1"
    assert cipher.decrypt(name, data) == b"hello"
    with pytest.raises(SerializationError, match="tampered"):
        cipher.decrypt(name, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(SerializationError, match="tampered"):
        cipher.decrypt("aesgcm.k1.z", data)  # the name is authenticated too
    with pytest.raises(SerializationError, match="cipher name"):
        cipher.decrypt("rot13", data)


@pytest.mark.parametrize(
    ("keys", "active", "match"),
    [
        ({}, "k", "at least one"),
        ({"k": b"short"}, "k", "32 bytes"),
        ({"bad id!": K1}, "bad id!", "key id"),
        ({"k1": K1}, "k2", "active key"),
    ],
)
def test_configuration_errors(keys: dict[str, bytes], active: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        AesGcmCipher(keys, active=active)
