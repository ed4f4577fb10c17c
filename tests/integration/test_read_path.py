"""A newcomer can follow one warm ``get_tuple`` and one warm ``put`` from the saver to the
bytes: the package files that run during each (traced with ``sys.setprofile``, counting
and tracing included) are at most ``MAX_FILES``."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

import langgraph_dynamodb
from langgraph_dynamodb import DynamoDBSaver

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_FILES = 12
MAX_ASYNC_WRITE_FILES = MAX_FILES + 1
"""An async write also passes through the async driver's write combiner (``_combine.py``,
which sends concurrent calls' puts together)."""
PACKAGE = str(Path(langgraph_dynamodb.__file__).resolve().parent)


def _files_of(run: Callable[[], Any]) -> list[str]:
    """The package files (relative) with code that ran during ``run()``."""
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        name = frame.f_code.co_filename
        if name.startswith(PACKAGE):
            seen.add(name[len(PACKAGE) + 1 :])

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return sorted(seen)


def _awaited(make: Callable[[], Coroutine[Any, Any, Any]], loop: asyncio.AbstractEventLoop) -> Any:
    return lambda: loop.run_until_complete(make())


@pytest.fixture
def warm(ddb_endpoint: str, table_name: str) -> Any:
    # a client the saver makes: its botocore event handlers (counting, fast items) run too
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name="us-east-1")
    config: dict[str, Any] = {"configurable": {"thread_id": str(uuid.uuid4()), "checkpoint_ns": ""}}
    first = saver.put(config, empty_checkpoint(), {"step": 0}, {})
    saver.get_tuple(config)  # warm: the head is known, the index cached
    return saver, config, first


def test_a_warm_get_tuple_and_put_run_in_a_handful_of_files(warm: Any) -> None:
    saver, config, first = warm
    read = _files_of(lambda: saver.get_tuple(config))
    assert saver.get_tuple(config) is not None
    checkpoint = {**empty_checkpoint(), "id": str(uuid6(clock_seq=1))}
    written = _files_of(lambda: saver.put(first, checkpoint, {"step": 1}, {}))
    print("get_tuple:", read, "\nput:", written)
    assert len(read) <= MAX_FILES, read
    assert len(written) <= MAX_FILES, written
    assert "schema.py" in read and "schema.py" in written  # the format, in one module


def test_the_async_path_runs_in_as_few(ddb_endpoint: str, table_name: str) -> None:
    pytest.importorskip("aiobotocore")
    loop = asyncio.new_event_loop()
    try:
        saver = DynamoDBSaver(
            table_name=table_name, endpoint_url=ddb_endpoint, region_name="us-east-1"
        )
        config: dict[str, Any] = {
            "configurable": {"thread_id": str(uuid.uuid4()), "checkpoint_ns": ""}
        }
        first = loop.run_until_complete(saver.aput(config, empty_checkpoint(), {"step": 0}, {}))
        loop.run_until_complete(saver.aget_tuple(config))
        read = _files_of(_awaited(lambda: saver.aget_tuple(config), loop))
        checkpoint = {**empty_checkpoint(), "id": str(uuid6(clock_seq=1))}
        written = _files_of(_awaited(lambda: saver.aput(first, checkpoint, {"step": 1}, {}), loop))
        loop.run_until_complete(saver.aclose())
    finally:
        loop.close()
    print("aget_tuple:", read, "\naput:", written)
    assert len(read) <= MAX_FILES, read
    assert "_combine.py" not in read
    assert len(written) <= MAX_ASYNC_WRITE_FILES, written
