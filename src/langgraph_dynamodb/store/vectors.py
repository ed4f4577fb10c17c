"""Embeddings as stored: float32, little-endian, 4 bytes a dimension (a 1,536-dimension
embedding is 6 KB; JSON would take about 20 bytes a dimension). Pure."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

from langgraph_dynamodb.errors import CorruptItemError, InvalidInputError


def encode(vector: Sequence[float], dims: int | None = None) -> bytes:
    """Pack one embedding.

    Raises:
        InvalidInputError: It does not have the configured number of dimensions.
    """
    if dims is not None and len(vector) != dims:
        raise InvalidInputError(
            f"an embedding has {len(vector)} dimensions, but the store's index has dims={dims}; "
            "make the embedder and index={'dims': ...} agree"
        )
    packed = array("f", vector)
    if sys.byteorder != "little":  # pragma: no cover - every AWS machine is little-endian
        packed.byteswap()
    return packed.tobytes()


def decode(data: bytes) -> list[float]:
    """Unpack one embedding."""
    if len(data) % 4:
        raise CorruptItemError(f"an embedding of {len(data)} bytes is not float32")
    packed = array("f")
    packed.frombytes(data)
    if sys.byteorder != "little":  # pragma: no cover
        packed.byteswap()
    return packed.tolist()
