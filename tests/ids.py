"""Checkpoint ids for tests that need a given time: UUID v6, as LangGraph makes them."""

from __future__ import annotations

import uuid

UUID_EPOCH_TICKS = 0x01B21DD213814000
"""100-ns intervals from 1582-10-15 to the Unix epoch."""


def id_at(seconds: float, seq: int = 0) -> str:
    """A UUID v6 checkpoint id of the given Unix time (``seq`` in its low bits)."""
    ticks = round(seconds * 1e7) + UUID_EPOCH_TICKS
    value = (ticks >> 28) << 96 | ((ticks >> 12) & 0xFFFF) << 80 | 0x6 << 76
    value |= (ticks & 0x0FFF) << 64 | 0x8 << 60 | seq
    return str(uuid.UUID(int=value))
