"""The caches of heads hold plain tuples: what goes in comes out equal, and a full cache
leaves nothing for CPython's garbage collector to walk (the module docstring of
``caches.py`` says why that matters to a busy process)."""

from __future__ import annotations

import gc
import platform
from dataclasses import fields

import pytest

from langgraph_dynamodb import schema
from langgraph_dynamodb.caches import (
    IndexCache,
    ReadHints,
    StoredWrites,
    pack_index,
    pack_write,
    unpack_index,
    unpack_write,
)
from langgraph_dynamodb.storage.index import ChannelRef, ListShape
from langgraph_dynamodb.storage.items import StoredWrite

FULL = ChannelRef(
    version="00000000000000000000000000000003.0.5",
    holder="1f1f29a6-e4f5-6f4b-8001-d696e66975c8",
    depth=2,
    expires=1_900_000_000,
    size=1348,
    shape=ListShape(2, b"\x01" * 16, 1346),
    chain=("1f1f29a6-e3a8-67b6-8000-6825847ec40b", "1f1f29a6-e3a7-6f77-bfff-000000000000"),
    delta_bytes=120,
    inline=("msgpack", b"\x92\x01\x02"),
)
PLAIN = ChannelRef("2", "1f1f29a6-e3a8-67b6-8000-6825847ec40b")
WRITE = StoredWrite(
    "~__pregel_pull, respond", "task-1", schema.WriteEntry(0, "messages", ("msgpack", b"\x91\x01"))
)


def test_every_field_of_an_index_entry_goes_in_and_comes_out() -> None:
    assert all(getattr(FULL, f.name) != f.default for f in fields(ChannelRef)), "set them all"
    index = {"messages": FULL, "__start__": PLAIN}
    assert unpack_index(pack_index(index)) == index
    assert unpack_write(pack_write(WRITE)) == WRITE


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="CPython's collector")
def test_a_full_cache_holds_nothing_the_collector_tracks() -> None:
    index_cache, hints, writes = IndexCache(size=64), ReadHints(size=64), StoredWrites(size=64)
    for i in range(64):
        key = ("thread", "", f"checkpoint-{i:03d}")
        index_cache.put(key, {"messages": FULL, "__start__": PLAIN}, "lineage")
        hints.note_head(key, f"checkpoint-{i - 1:03d}", [f"w-{i}"])
        hints.note_writes(key, [f"w-{i}-b"])
        writes.add(key, [WRITE])
    for _ in range(8):  # a pass untracks a tuple once the tuples in it are untracked
        gc.collect()
    held = [
        *index_cache._lru.data.values(),
        *hints._heads.data.values(),
        *writes._lru.data.values(),
    ]
    assert len(held) == 3 * 64
    assert not [value for value in held if gc.is_tracked(value)]
    key = ("thread", "", "checkpoint-063")
    assert index_cache.get(key) == {"messages": FULL, "__start__": PLAIN}
    assert writes.get(key) == [WRITE]
    assert hints._heads.get(key) == ("checkpoint-062", ("w-63", "w-63-b"))
