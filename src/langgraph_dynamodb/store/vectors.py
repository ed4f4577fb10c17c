"""Embeddings as stored: in a payload, float32, little-endian, 4 bytes a dimension (a
1,536-dimension embedding is 6 KB; JSON would take about 20 bytes a dimension); for the
vector index, a list of numbers (``L`` of ``N``, about 6 bytes a dimension), the only form
it reads. Pure."""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Sequence
from typing import Any

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


def to_attribute(vector: Sequence[float], dims: int | None = None) -> dict[str, Any]:
    """One embedding as the vector index reads it: a list of numbers (``L`` of ``N``),
    each the float32 value (nine significant digits give it back exactly).

    Raises:
        InvalidInputError: It does not have the configured number of dimensions, or holds
            a NaN or an infinity (DynamoDB stores neither).
    """
    packed = decode(encode(vector, dims))
    if not all(math.isfinite(v) for v in packed):
        raise InvalidInputError(
            "an embedding holds NaN or infinity; DynamoDB stores neither: check the embedder"
        )
    return {"L": [{"N": format(v, ".9g")} for v in packed]}


def from_attribute(attr: Any) -> list[float]:
    """Invert :func:`to_attribute`: the float32 values again.

    Raises:
        CorruptItemError: Not a list of numbers.
    """
    try:
        return array("f", [float(v["N"]) for v in attr["L"]]).tolist()
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CorruptItemError(f"a stored embedding is not a list of numbers: {exc!r}") from exc
