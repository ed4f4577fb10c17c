"""DynamoDB attribute values: building and reading them, item keys, expiry. Pure."""

from __future__ import annotations

from typing import Any

from langgraph_dynamodb import keys

AttrMap = dict[str, Any]
"""A raw item (or key) as the low-level client takes and returns it."""


def s(value: str) -> dict[str, str]:
    """A string attribute."""
    return {"S": value}


def n(value: int) -> dict[str, str]:
    """A number attribute."""
    return {"N": str(value)}


def get_s(item: AttrMap, name: str) -> str | None:
    """A string attribute's value, if the item has one by that name."""
    attr = item.get(name)
    value = attr.get("S") if isinstance(attr, dict) else None
    return value if isinstance(value, str) else None


def get_n(item: AttrMap, name: str) -> int | None:
    """A number attribute's value (as an int), if present and numeric."""
    attr = item.get(name)
    if isinstance(attr, dict) and "N" in attr:
        try:
            return int(float(attr["N"]))
        except (TypeError, ValueError):
            return None
    return None


def get_b(item: AttrMap, name: str) -> bytes | None:
    """A binary attribute's value, if present."""
    attr = item.get(name)
    if isinstance(attr, dict) and "B" in attr:
        return bytes(attr["B"])
    return None


def key(pk: str, sk: str) -> AttrMap:
    """A primary key."""
    return {keys.PK: s(pk), keys.SK: s(sk)}


def key_of(item: AttrMap) -> AttrMap:
    """The primary key of a raw item."""
    return {keys.PK: item[keys.PK], keys.SK: item[keys.SK]}


def sk_of(item: AttrMap) -> str:
    """The sort key of a raw item."""
    return str(item[keys.SK]["S"])


def is_expired(item: AttrMap, now: float) -> bool:
    """Whether an item's TTL has passed (DynamoDB deletes expired items lazily, so
    readers treat them as absent themselves)."""
    expires = get_n(item, keys.TTL)
    return expires is not None and expires <= now


def with_expiry(item: AttrMap, expires_at: int | None) -> AttrMap:
    """A copy of an item with its TTL set (or removed)."""
    out = dict(item)
    out.pop(keys.TTL, None)
    if expires_at is not None:
        out[keys.TTL] = n(expires_at)
    return out


def approx_size(item: AttrMap) -> int:
    """About what DynamoDB bills an item's size at, in bytes: its names, and its string
    and binary values by length (numbers, lists and maps at a flat 8 bytes, which is
    close for the few small ones the library writes beside its payloads)."""
    total = 0
    for name, value in item.items():
        total += len(name)
        if "B" in value:
            total += len(value["B"])
        elif "S" in value:
            total += len(value["S"].encode("utf-8"))
        else:
            total += 8
    return total
