"""The base install (no ``[async]`` extra): sync works, async says which extra it needs.

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

from langgraph_dynamodb import ConfigurationError, DynamoDBSaver

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


def test_sync_works_and_async_names_the_extra(ddb_endpoint: str, table_name: str) -> None:
    with DynamoDBSaver.from_table(table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()  # prepares nothing for async, and says nothing
        graph = _graph(s)
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        assert graph.invoke({"n": 1}, config) == {"n": 2}
        with pytest.raises(ConfigurationError) as err:
            import asyncio

            asyncio.run(graph.ainvoke({"n": 1}, config))
        assert "pip install 'langgraph-dynamodb[async]'" in str(err.value)
        assert "invoke" in str(err.value)


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
