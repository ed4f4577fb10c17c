"""Client-side encryption of checkpoint values: AES-256-GCM with key rotation.

Use it with LangGraph's ``EncryptedSerializer``; DynamoDB then only ever stores
ciphertext (on top of its own encryption at rest)::

    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
    from langgraph_dynamodb.crypto import AesGcmCipher

    cipher = AesGcmCipher({"2026-01": old_key, "2026-07": new_key}, active="2026-07")
    saver = DynamoDBSaver(table_name="t", serde=EncryptedSerializer(cipher))

Every value is encrypted with the *active* key, whose id is recorded in the stored type
name (``msgpack+aesgcm.2026-07.z``) and authenticated with the ciphertext. Rotation: add
the new key, make it active; values written before stay readable as long as their key is
in the map; drop an old key once nothing written with it is kept (expired by TTL, or
removed by ``prune`` or ``delete_thread``). ``copy_thread`` copies items as they are
stored, so a copy stays encrypted with the keys of the original. Plaintext is
zstd-compressed before it is encrypted (ciphertext does not compress). Needs the
``cryptography`` package (``pip install langgraph-dynamodb[encryption]``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from langgraph_dynamodb.codec import ZstdCompressor
from langgraph_dynamodb.errors import ConfigurationError, SerializationError

_PREFIX = "aesgcm"
_NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class AesGcmCipher:
    """AES-256-GCM ``CipherProtocol`` with several keys, one of them active.

    Args:
        keys: Key id -> 32-byte key. Ids: 1-64 letters, digits, ``_`` or ``-``.
        active: The id of the key that encrypts new values.
        compress: zstd-compress plaintext before encrypting it.
    """

    def __init__(self, keys: Mapping[str, bytes], active: str, *, compress: bool = True) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "AesGcmCipher needs the 'cryptography' package: "
                "pip install 'langgraph-dynamodb[encryption]'"
            ) from exc
        if not keys:
            raise ConfigurationError("AesGcmCipher needs at least one key")
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
                raise ConfigurationError(
                    f"key id {key_id!r} must be 1-64 letters, digits, '_' or '-'"
                )
            if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
                raise ConfigurationError(f"key {key_id!r} must be 32 bytes (AES-256)")
        if active not in keys:
            raise ConfigurationError(f"active key {active!r} is not among the keys")
        self._aead = {key_id: AESGCM(bytes(key)) for key_id, key in keys.items()}
        self.active = active
        self._zstd = ZstdCompressor() if compress else None

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        """Encrypt with the active key; returns ``(cipher name, nonce + ciphertext)``."""
        name = f"{_PREFIX}.{self.active}"
        if self._zstd is not None:
            plaintext = self._zstd.compress(plaintext)
            name += ".z"
        nonce = os.urandom(_NONCE_BYTES)
        return name, nonce + self._aead[self.active].encrypt(nonce, plaintext, name.encode())

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        """Decrypt a value written by :meth:`encrypt` with any configured key."""
        parts = ciphername.split(".")
        if len(parts) not in (2, 3) or parts[0] != _PREFIX or parts[2:] not in ([], ["z"]):
            raise SerializationError(f"not an {_PREFIX} cipher name: {ciphername!r}")
        aead = self._aead.get(parts[1])
        if aead is None:
            raise SerializationError(
                f"value encrypted with key {parts[1]!r}, which is not configured; add it "
                "to AesGcmCipher's keys to read it"
            )
        try:
            plaintext = aead.decrypt(
                ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:], ciphername.encode()
            )
        except Exception as exc:
            raise SerializationError(
                f"could not decrypt a value with key {parts[1]!r}: it was tampered with or "
                "the key is wrong"
            ) from exc
        if len(parts) == 3:
            return ZstdCompressor().decompress(plaintext)
        return plaintext
