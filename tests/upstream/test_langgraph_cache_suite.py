"""LangGraph's own node-cache tests pass on ``DynamoDBCache``: the tests of the langgraph
release installed here that take its ``cache`` fixture (in ``test_pregel.py`` and
``test_pregel_async.py``), and every test of ``test_delta_channel_node_cache.py`` (which
makes its caches with ``InMemoryCache`` itself), run from langgraph's sdist, unmodified.

The module downloads that sdist (``pip download --no-binary langgraph``), keeps its ``tests/``
and ``pyproject.toml`` (pytest's settings) under ``.venvs/``, and runs pytest on the three
files in ``.venvs/langgraph-tests``: a virtualenv with this package (editable, ``[async]``),
the same langgraph and what its tests import (pinned by ``constraints.txt`` and
``tests/upstream/constraints.txt``), made on first use (about half a minute) and again
when its inputs change. The run loads ``dynamodb_cache_plugin``, which gives every test a
``DynamoDBCache`` on this session's DynamoDB Local (a table per cache) and records which
caches each test made and what they served. ``NO_DOCKER=true`` leaves out the Postgres and
Redis variants of LangGraph's other fixtures.

The tests here then read pytest's JUnit XML and the plugin's record: exactly the tests in
:data:`PASSING` and :data:`CANNOT_PASS` ran, each on DynamoDB caches only, each served
what it should, the first all passed and the second failed for the reason given.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import REGION
from .dynamodb_cache_plugin import ENDPOINT_ENV, REPORT_ENV

pytestmark = [
    pytest.mark.integration,
    # the first test may also make the virtualenv (pip, about half a minute here)
    pytest.mark.timeout(900),
]

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = ROOT / ".venvs" / "langgraph-tests"
SDISTS = ROOT / ".venvs" / "langgraph-sdists"
CONSTRAINTS = [ROOT / "constraints.txt", HERE / "constraints.txt"]
"""The development lock, and the pins of what only LangGraph's tests import."""
LANGGRAPH = importlib.metadata.version("langgraph")
REQUIREMENTS = [
    f"langgraph=={LANGGRAPH}",
    # what the sdist's tests/conftest*.py and the three files import
    "pytest",
    "pytest-mock",
    "syrupy",
    "redis",
    "psycopg[binary]",
    "psycopg-pool",
    "langgraph-checkpoint-postgres",
    "langgraph-checkpoint-sqlite",
    "pycryptodome",
]
"""Beside this package (editable, with its ``async`` extra)."""
FILES = [
    "tests/test_pregel.py",
    "tests/test_pregel_async.py",
    "tests/test_delta_channel_node_cache.py",
]

GET, SET, CLEAR = "cache.get", "cache.set", "cache.clear"
PASSING: dict[str, frozenset[str]] = {
    # test id: the operations its cache must have served (beside setup)
    "tests/test_pregel.py::test_in_one_fan_out_state_graph_waiting_edge_multiple[True]": (
        frozenset({GET, SET, CLEAR})
    ),
    # the cache is given to the graph, but no node has a cache policy
    "tests/test_pregel.py::test_in_one_fan_out_state_graph_waiting_edge_multiple[False]": (
        frozenset()
    ),
    "tests/test_pregel.py::test_multiple_interrupts_functional_cache[memory]": (
        frozenset({GET, SET, CLEAR})
    ),
    "tests/test_pregel.py::test_multiple_interrupts_functional_cache[sqlite]": (
        frozenset({GET, SET, CLEAR})
    ),
    "tests/test_pregel.py::test_multiple_interrupts_functional_cache[sqlite_aes]": (
        frozenset({GET, SET, CLEAR})
    ),
    "tests/test_pregel_async.py::test_in_one_fan_out_state_graph_waiting_edge_multiple[True]": (
        frozenset({GET, SET, CLEAR})
    ),
    "tests/test_pregel_async.py::test_in_one_fan_out_state_graph_waiting_edge_multiple[False]": (
        frozenset()
    ),
    "tests/test_pregel_async.py::test_multiple_interrupts_functional_cache[memory]": (
        frozenset({GET, SET, CLEAR})
    ),
    "tests/test_pregel_async.py::test_multiple_interrupts_functional_cache[sqlite_aio]": (
        frozenset({GET, SET, CLEAR})
    ),
    **{
        "tests/test_delta_channel_node_cache.py::"
        f"test_a_cache_hit_saves_its_writes_without_caching_them_again[{durability}]": (
            frozenset({GET, SET})
        )
        for durability in ("sync", "async", "exit")
    },
    # the node fails: looked up, never stored
    "tests/test_delta_channel_node_cache.py::test_a_node_that_fails_is_not_cached": (
        frozenset({GET})
    ),
    "tests/test_delta_channel_node_cache.py::test_a_node_that_fails_is_not_cached_async": (
        frozenset({GET})
    ),
}
"""The upstream tests that pass on ``DynamoDBCache``."""


@dataclass(frozen=True)
class CannotPass:
    """An upstream test that cannot pass on ``DynamoDBCache``, and how it must fail."""

    reason: str
    message: list[str]
    """What its failure message must say (every one of these)."""
    calls: dict[str, int]
    """Calls its cache must have served: what the test meant to check, checked here."""


_SPY_COUNTS_ONLY_SET = CannotPass(
    reason=(
        "The test counts cache writes with a subclass of InMemoryCache that overrides only "
        "set(); InMemoryCache.aset() calls set(), DynamoDBCache.aset() is native async and "
        "does not, so under ainvoke the count is 0 where the test wants 1. The cache is "
        "written exactly once all the same (its own call counts: one set, two gets), and the "
        "test's other checks, before that line, pass; its sync twin passes."
    ),
    message=["the cache hit was written back to the cache", "assert 0 == 1"],
    calls={GET: 2, SET: 1},
)
CANNOT_PASS: dict[str, CannotPass] = {
    "tests/test_delta_channel_node_cache.py::"
    f"test_a_cache_hit_saves_its_writes_without_caching_them_again_async[{durability}]": (
        _SPY_COUNTS_ONLY_SET
    )
    for durability in ("sync", "async", "exit")
}
"""The upstream tests that cannot pass on ``DynamoDBCache``, with the reason."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@pytest.fixture(scope="module")
def langgraph_tests() -> Path:
    """The sdist of the installed langgraph, its ``tests/`` and ``pyproject.toml`` only (so
    its tests import the installed langgraph, not the sdist's source), extracted once
    under ``.venvs/langgraph-sdists/``. Returns the folder that holds them."""
    folder = SDISTS / f"langgraph-{LANGGRAPH}"
    done = folder / ".complete"
    if done.exists():
        return folder
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--disable-pip-version-check",
                # the sdist; its build tools (pip reads its metadata) may come as wheels:
                # with :all: they are built from source too, two minutes without pip's cache
                "--no-binary",
                "langgraph",
                "--no-deps",
                "--dest",
                tmp,
                f"langgraph=={LANGGRAPH}",
            ],
            check=True,
            timeout=600,
        )
        (archive,) = Path(tmp).glob("langgraph-*.tar.gz")
        top = f"langgraph-{LANGGRAPH}/"
        with tarfile.open(archive) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.name == top + "pyproject.toml" or m.name.startswith(top + "tests/")
            ]
            assert any(m.name == top + "tests/conftest.py" for m in members), archive.name
            SDISTS.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(SDISTS, members=members, filter="data")
            else:  # pragma: no cover - Pythons without extraction filters
                tar.extractall(SDISTS, members=members)  # noqa: S202 - the members are checked
    done.write_text(archive.name + "\n")
    return folder


@pytest.fixture(scope="module")
def langgraph_tests_venv() -> Path:
    """``.venvs/langgraph-tests``: this package (editable, ``[async]``) and
    :data:`REQUIREMENTS`, pinned by :data:`CONSTRAINTS`; made again only when
    pyproject.toml, the requirements, the constraints or the interpreter change (a digest
    of them is the stamp). Returns its ``bin`` folder."""
    want = _digest(
        *REQUIREMENTS,
        (ROOT / "pyproject.toml").read_text(),
        *(c.read_text() for c in CONSTRAINTS),
        sys.version,
    )
    stamp = VENV / "stamp"
    bin_dir = VENV / "bin"
    if stamp.exists() and stamp.read_text() == want and (bin_dir / "python").exists():
        return bin_dir
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    constraints = [arg for c in CONSTRAINTS for arg in ("-c", str(c))]
    subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *constraints,
            "-e",
            f"{ROOT}[async]",
            *REQUIREMENTS,
        ],
        check=True,
        timeout=900,
    )
    stamp.write_text(want)
    (VENV / "install-seconds").write_text(f"{time.monotonic() - started:.0f}\n")
    return bin_dir


@dataclass
class Run:
    """What the upstream run gave: each test's outcome and failure message (JUnit XML),
    the caches each test made (the plugin's record), and pytest's output."""

    outcomes: dict[str, tuple[str, str]]
    caches: dict[str, list[dict[str, Any]]]
    output: str

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def _outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """Test id (``tests/file.py::name[params]``) -> outcome and message, from JUnit XML;
    an error in set-up or teardown makes the outcome ``error`` whatever the call did."""
    found: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module, name = case.get("classname", ""), case.get("name", "")
        test_id = f"{module.replace('.', '/')}.py::{name}"
        outcome, message = "passed", ""
        for kind in ("skipped", "failure", "error"):
            element = case.find(kind)
            if element is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                message = (element.get("message") or "") + "\n" + (element.text or "")
        assert test_id not in found, f"twice in the JUnit XML: {test_id}"
        found[test_id] = (outcome, message)
    return found


@pytest.fixture(scope="module")
def upstream(
    langgraph_tests: Path,
    langgraph_tests_venv: Path,
    ddb_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Run:
    """LangGraph's three files, run with ``dynamodb_cache_plugin`` on this session's
    DynamoDB Local."""
    out = tmp_path_factory.mktemp("langgraph-tests")
    junit, report = out / "junit.xml", out / "caches.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV")
    }
    env.update(
        PYTHONPATH=str(HERE),  # the plugin, and nothing of ours else
        NO_DOCKER="true",  # no Postgres or Redis variants of LangGraph's other fixtures
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=REGION,
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        **{ENDPOINT_ENV: ddb_endpoint, REPORT_ENV: str(report)},
    )
    done = subprocess.run(
        [
            str(langgraph_tests_venv / "python"),
            "-m",
            "pytest",
            "-p",
            "dynamodb_cache_plugin",
            "-p",
            "no:cacheprovider",
            "-c",
            "pyproject.toml",
            "--rootdir",
            ".",
            "-q",
            "-rfE",
            f"--junitxml={junit}",
            *FILES,
        ],
        cwd=langgraph_tests,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    run = Run(outcomes={}, caches={}, output=done.stdout)
    # 0: all passed; 1: some failed (CANNOT_PASS). Anything else: pytest itself failed.
    assert done.returncode in (0, 1), f"pytest exited {done.returncode}:\n{run.tail()}"
    run.outcomes = _outcomes(junit)
    run.caches = json.loads(report.read_text())
    return run


def test_exactly_the_listed_tests_ran(upstream: Run) -> None:
    """No test was left out, skipped or added: a new upstream test taking ``cache`` (or a
    renamed one) must be listed here."""
    assert sorted(upstream.outcomes) == sorted([*PASSING, *CANNOT_PASS]), upstream.tail()
    assert sorted(upstream.caches) == sorted(upstream.outcomes), "the plugin missed a test"


def _served(upstream: Run, test_id: str) -> dict[str, int]:
    """The calls the test's caches served, summed; each cache is checked to be ours."""
    caches = upstream.caches.get(test_id, [])
    assert caches, f"{test_id} made no cache through the plugin"
    served: dict[str, int] = {}
    for made in caches:
        assert made["is_dynamodb_cache"], f"{test_id} used a {made['class']}"
        assert made["ops"].get("cache.setup") == 1, made
        for op, calls in made["ops"].items():
            served[op] = served.get(op, 0) + calls
    return served


def _short(test_id: str) -> str:
    """A test id, as this module's parameter id: without ``tests/`` and ``.py``."""
    return test_id.removeprefix("tests/").replace(".py::", "::")


@pytest.mark.parametrize("test_id", sorted(PASSING), ids=_short)
def test_passes_on_dynamodb_cache(upstream: Run, test_id: str) -> None:
    outcome, message = upstream.outcomes.get(test_id, ("not run", ""))
    assert outcome == "passed", f"{test_id}: {outcome}\n{message}"
    served = _served(upstream, test_id)
    used = {op for op, calls in served.items() if calls and op != "cache.setup"}
    assert used == PASSING[test_id], f"{test_id}: its caches served {served}"


@pytest.mark.parametrize("test_id", sorted(CANNOT_PASS), ids=_short)
def test_fails_only_for_the_listed_reason(upstream: Run, test_id: str) -> None:
    known = CANNOT_PASS[test_id]
    outcome, message = upstream.outcomes.get(test_id, ("not run", ""))
    assert outcome == "failed", f"{test_id}: {outcome} (listed as cannot pass: {known.reason})"
    for words in known.message:
        assert words in message, f"{test_id} failed otherwise:\n{message}"
    served = _served(upstream, test_id)
    assert {op: served.get(op, 0) for op in known.calls} == known.calls, served
