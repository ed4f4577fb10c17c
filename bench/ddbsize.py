"""Item sizes as DynamoDB computes them (for capacity and storage), stdlib only.

Works on both shapes of an AttributeValue: the wire JSON (``B`` as base64 text), as the
proxy sees it, and what botocore's low-level client returns (``B`` as ``bytes``).

Rules (DynamoDB Developer Guide, "Item sizes and formats"): an item's size is the sum, over
its attributes, of the UTF-8 length of the name plus the size of the value. Strings: UTF-8
length; binary: raw length; numbers: 1 byte per two significant digits plus 1; booleans
and null: 1; lists and maps: 3 bytes plus, per element, 1 byte plus its size (map keys
count as names); sets: the sum of their elements. Storage adds 100 bytes of index
overhead per item, which :data:`ITEM_OVERHEAD_BYTES` names; capacity does not.
"""

from __future__ import annotations

import math
from typing import Any

ITEM_OVERHEAD_BYTES = 100
"""Per-item overhead DynamoDB adds to the table's storage size (not to capacity)."""


def _binary_len(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    text = str(value).strip()
    padding = len(text) - len(text.rstrip("="))
    return len(text) * 3 // 4 - padding


def _number_len(text: str) -> int:
    digits = text.strip().lstrip("+-")
    mantissa = digits.lower().split("e")[0].replace(".", "")
    significant = mantissa.strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Size of one AttributeValue (without its name)."""
    (kind, payload), *_ = value.items()
    if kind == "S":
        return len(str(payload).encode("utf-8"))
    if kind == "N":
        return _number_len(str(payload))
    if kind == "B":
        return _binary_len(payload)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode("utf-8")) for s in payload)
    if kind == "NS":
        return sum(_number_len(str(n)) for n in payload)
    if kind == "BS":
        return sum(_binary_len(b) for b in payload)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in payload)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in payload.items())
    raise ValueError(f"unknown AttributeValue type {kind!r}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """Size of an item (a map of attribute name to AttributeValue), as capacity counts it."""
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def attribute_sizes(item: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Each attribute's share of :func:`item_size` (name plus value)."""
    return {name: len(name.encode("utf-8")) + value_size(v) for name, v in item.items()}


def item_kind(item: dict[str, dict[str, Any]]) -> str:
    """A coarse label (``checkpoint``, ``writes``, ``chunk``, ``run_marker``, ``other``)
    for breakdowns.

    Our items carry ``k`` (``c`` head, ``w`` writes, ``x`` chunk, ``u`` run marker; other
    kinds keep their letter); for the peers the key
    text says it (``CHECKPOINT_...``, ``...#write#...``, ``writes$...``, ``CHUNK_...``).
    """
    kind = item.get("k", {}).get("S")
    if kind is not None:
        return {"c": "checkpoint", "w": "writes", "x": "chunk", "u": "run_marker"}.get(
            str(kind), str(kind)
        )
    text = " ".join(
        str(item[name]["S"]).lower()
        for name in ("PK", "SK", "pk", "sk", "checkpoint_key")
        if name in item and "S" in item[name]
    )
    for word, label in (("chunk", "chunk"), ("write", "writes"), ("checkpoint", "checkpoint")):
        if word in text:
            return label
    return "other"
