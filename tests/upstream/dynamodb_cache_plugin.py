"""A pytest plugin for LangGraph's own tests (from its sdist, in a virtualenv of their own):
every node cache those tests make is a ``DynamoDBCache`` on DynamoDB Local.

Loaded with ``-p dynamodb_cache_plugin`` (this folder on ``PYTHONPATH``) into a run of
LangGraph's ``tests/`` folder, unmodified:

- The ``cache`` fixture (LangGraph's ``tests/conftest.py`` makes an ``InMemoryCache``, a
  ``SqliteCache`` or a ``RedisCache``) is overridden in each test module by :func:`cache`:
  a new ``DynamoDBCache`` on a table of its own, ``setup()`` done. Putting the fixture in
  the module, before pytest reads its fixtures, is what lets it win over the conftest's.
- The modules in :data:`MAKE_THEIR_OWN` build their caches with ``InMemoryCache`` itself
  (and subclass it): they are imported while ``langgraph.cache.memory.InMemoryCache`` is
  :class:`DynamoDBCacheStandIn`, so the names and the subclasses they define are ours;
  the real class is put back at once, and the import is checked.
- Only the tests that get a cache run; the others in those files are deselected.
- :func:`check_cache` fails a test whose ``cache`` is not exactly a ``DynamoDBCache``.
- After each test, the caches it made (their class and the operations each served, from
  its ``stats``) are recorded; the session writes them, as JSON, to the file
  ``LANGGRAPH_DYNAMODB_CACHE_REPORT`` names. Each cache is then closed and its table deleted.

Environment: ``DYNAMODB_ENDPOINT`` (required: the DynamoDB Local to use),
``AWS_DEFAULT_REGION`` (default ``us-east-1``), ``LANGGRAPH_DYNAMODB_CACHE_REPORT``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import langgraph.cache.memory
import pytest
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_dynamodb import DynamoDBCache

ENDPOINT_ENV = "DYNAMODB_ENDPOINT"
REPORT_ENV = "LANGGRAPH_DYNAMODB_CACHE_REPORT"
MAKE_THEIR_OWN = frozenset({"test_delta_channel_node_cache.py"})
"""Test files that make their caches with ``InMemoryCache`` rather than take ``cache``."""

_REAL_IN_MEMORY_CACHE = langgraph.cache.memory.InMemoryCache
_made: list[DynamoDBCache[Any]] = []
"""The caches made since the current test started (closed and dropped after it)."""
_report: dict[str, list[dict[str, Any]]] = {}
"""Test id -> the caches it made: class name and operation -> calls."""


def _connection() -> dict[str, Any]:
    """The constructor's keywords for a new cache on a table of its own."""
    endpoint = os.environ.get(ENDPOINT_ENV)
    if not endpoint:
        raise RuntimeError(f"{ENDPOINT_ENV} must name the DynamoDB Local to cache on")
    return {
        "table_name": f"upstream-cache-{uuid.uuid4().hex[:12]}",
        "endpoint_url": endpoint,
        "region_name": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }


class DynamoDBCacheStandIn(DynamoDBCache[Any]):
    """A ``DynamoDBCache`` made as ``InMemoryCache`` is made (``serde`` the only
    argument): a table of its own, ``setup()`` done."""

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde, **_connection())
        self.setup()
        _made.append(self)


@pytest.fixture
def cache() -> Iterator[DynamoDBCache[Any]]:
    """A new ``DynamoDBCache`` on a table of its own (closed, and its table deleted, after
    the test)."""
    made: DynamoDBCache[Any] = DynamoDBCache(**_connection())
    made.setup()
    _made.append(made)
    yield made


@pytest.fixture(autouse=True)
def check_cache(request: pytest.FixtureRequest) -> None:
    """The test's ``cache``, when it takes one, is exactly a ``DynamoDBCache``."""
    if "cache" in request.fixturenames:
        got = request.getfixturevalue("cache")
        assert type(got) is DynamoDBCache, f"the cache fixture gave {type(got)!r}"


def _import_with_our_cache(module: pytest.Module) -> None:
    """Import the module while ``InMemoryCache`` is :class:`DynamoDBCacheStandIn`, then
    check that it holds no cache class of LangGraph's own."""
    langgraph.cache.memory.InMemoryCache = DynamoDBCacheStandIn  # type: ignore[misc]
    try:
        namespace = vars(module.obj)
    finally:
        langgraph.cache.memory.InMemoryCache = _REAL_IN_MEMORY_CACHE  # type: ignore[misc]
    theirs = [
        name
        for name, value in namespace.items()
        if isinstance(value, type) and issubclass(value, _REAL_IN_MEMORY_CACHE)
    ]
    if theirs:
        raise RuntimeError(f"{module.nodeid} still has LangGraph's InMemoryCache in {theirs}")


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Each test module gets our ``cache`` fixture before pytest reads its fixtures; those
    in :data:`MAKE_THEIR_OWN` are imported with ours in place of ``InMemoryCache``."""
    if not isinstance(collector, pytest.Module):
        return
    if collector.path.name in MAKE_THEIR_OWN:
        _import_with_our_cache(collector)
    collector.obj.cache = cache


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests that get a cache: those that take ``cache``, and every test of the
    files in :data:`MAKE_THEIR_OWN`."""
    keep, drop = [], []
    for item in items:
        takes = "cache" in getattr(item, "fixturenames", ())
        (keep if takes or item.path.name in MAKE_THEIR_OWN else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def _dispose(made: DynamoDBCache[Any]) -> None:
    """Delete the cache's table and close it."""
    try:
        made.client.delete_table(TableName=made.table_name)
    finally:
        made.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Record the caches the test made and what each served; then dispose of them."""
    _made.clear()
    try:
        return (yield)
    finally:
        _report[item.nodeid] = [
            {
                "class": type(made).__name__,
                "is_dynamodb_cache": isinstance(made, DynamoDBCache),
                "ops": {op: s.calls for op, s in sorted(made.stats.operations.items())},
            }
            for made in _made
        ]
        for made in _made:
            _dispose(made)
        _made.clear()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the record of every test's caches where ``LANGGRAPH_DYNAMODB_CACHE_REPORT``
    says."""
    path = os.environ.get(REPORT_ENV)
    if path:
        Path(path).write_text(json.dumps(_report, indent=1, sort_keys=True))
