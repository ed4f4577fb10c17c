"""The base install (no ``[async]`` extra): sync works, async runs on threads and names the
extra once.

Runs in the virtualenv ``scripts/compat.sh`` makes with the newest boto3 and without
aiobotocore; skipped where aiobotocore is installed (the development environment).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from typing import Any, TypedDict

import pytest
from langgraph.graph import START, StateGraph

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("aiobotocore") is not None,
        reason="base-install checks run where aiobotocore is not installed (scripts/compat.sh)",
    ),
]


class S(TypedDict):
    n: int


def _graph(saver: DynamoDBSaver) -> Any:
    builder = StateGraph(S)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    return builder.compile(checkpointer=saver)


def test_importing_the_package_needs_no_async_client() -> None:
    code = "import sys, langgraph_dynamodb; print('aiobotocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sync_works_and_async_runs_on_threads(ddb_endpoint: str, table_name: str) -> None:
    import asyncio
    import warnings

    from langgraph.store.base import PutOp

    from langgraph_dynamodb import DynamoDBStore

    with DynamoDBSaver.from_table(table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()  # prepares nothing for async, and says nothing
        graph = _graph(s)
        config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
        assert graph.invoke({"n": 1}, config) == {"n": 2}
        store = DynamoDBStore(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)

        async def run() -> Any:
            got = await graph.ainvoke({"n": 5}, config)
            history = [t async for t in s.alist(config)]
            await store.abatch([PutOp(("users", "u1"), "k", {"v": 1})])
            return got, history, await store.aget(("users", "u1"), "k")

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got, history, item = asyncio.run(run())
        store.close()
        assert got == {"n": 6}
        assert len(history) == 6  # two runs of input, inc and the end: newest first
        assert item is not None and item.value == {"v": 1}
        assert s._clients.aclient is None  # no async client was made
        named = [w for w in caught if "pip install 'langgraph-dynamodb[async]'" in str(w.message)]
        assert len(named) == 1 and named[0].category is RuntimeWarning


@pytest.mark.skipif(
    importlib.util.find_spec("rich") is not None, reason="rich is installed: the cli extra is in"
)
def test_the_command_line_names_its_extra() -> None:
    """Without the cli extra, the console script says what to install (exit code 2)."""
    import os
    import shutil

    exe = shutil.which("langgraph-dynamodb", path=os.path.dirname(sys.executable))
    assert exe is not None, "the console script is installed with the package"
    done = subprocess.run([exe, "threads"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'langgraph-dynamodb[cli]'" in done.stderr
