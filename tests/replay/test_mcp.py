"""``langgraph-dynamodb mcp`` as an assistant meets it: the console script spawned over
stdio by the MCP client library, on a DynamoDB Local table filled by real graphs; every
tool called, redaction on, errors read as tool errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBStore
from langgraph_dynamodb.replay import REDACTED
from tests.cli.conftest import ROOT, script
from tests.replay.recorded import SECRET, cache, saver, store

__all__ = ["cache", "saver", "store"]  # fixtures

pytestmark = pytest.mark.integration

TOOLS = {"threads", "history", "show", "diff", "find", "memories", "cache"}


async def session_calls(
    saver: DynamoDBSaver, *extra: str, calls: Callable[[ClientSession], Any]
) -> Any:
    """Run ``calls`` against a fresh ``langgraph-dynamodb mcp`` on the saver's table."""
    params = StdioServerParameters(
        command=script(),
        args=[
            "--table",
            saver.table_name,
            "--endpoint-url",
            str(saver.endpoint_url),
            "mcp",
            *extra,
        ],
        env=dict(os.environ),
        cwd=ROOT,  # as a user runs it in their project: --index names a module there
    )
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await calls(session)


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def test_every_tool(
    saver: DynamoDBSaver, store: DynamoDBStore, cache: DynamoDBCache[Any]
) -> None:
    async def calls(session: ClientSession) -> dict[str, Any]:
        listed = await session.list_tools()
        out: dict[str, Any] = {"tools": {t.name: t for t in listed.tools}}
        out["threads"] = await call(session, "threads", limit=2)
        out["page2"] = await call(session, "threads", limit=2, cursor=out["threads"]["cursor"])
        out["search"] = await call(session, "threads", query="carol")
        out["history"] = await call(session, "history", thread_id="answered")
        out["show"] = await call(session, "show", thread_id="done", max_chars=10)
        out["channel"] = await call(session, "show", thread_id="done", channel="notes")
        out["diff"] = await call(session, "diff", thread_id="done")
        out["find"] = await call(
            session, "find", thread_id="answered", path="status", equals="answered"
        )
        out["regex"] = await call(
            session, "find", thread_id="answered", path="log[-1]", regex="^answer"
        )
        out["nothing"] = await call(
            session, "find", thread_id="answered", path="status", equals="x"
        )
        out["memories"] = await call(
            session, "memories", prefix=["users"], filter={"kind": "taste"}
        )
        out["cache"] = await call(session, "cache")
        missing = await session.call_tool("show", {"thread_id": "no-such-thread"})
        out["missing"] = (missing.is_error, missing.content[0].text)  # type: ignore[union-attr]
        both = await session.call_tool(
            "find", {"thread_id": "answered", "path": "status", "equals": 1, "regex": "x"}
        )
        out["both"] = (both.is_error, both.content[0].text)  # type: ignore[union-attr]
        return out

    out = await session_calls(saver, "--redact", r"sk-live-\w+", calls=calls)
    assert set(out["tools"]) == TOOLS
    assert all(t.annotations.read_only_hint for t in out["tools"].values())
    paged = [t["thread_id"] for p in (out["threads"], out["page2"]) for t in p["threads"]]
    assert sorted(paged) == ["answered", "done", "failed", "waiting"]  # each once
    assert out["page2"]["cursor"] is None
    assert [t["thread_id"] for t in out["search"]["threads"]] == ["failed"]
    rows = out["history"]["checkpoints"]
    assert any(r["checkpoint_ns"].startswith("sub:") for r in rows)
    assert any(r["interrupts"] for r in rows) and any(r["source"] == "update" for r in rows)
    assert out["show"]["state"]["credentials"] == {"token": REDACTED}
    assert out["show"]["state"]["notes"]["__truncated__"] is True
    assert out["channel"] == {"channel": "notes", "value": "x" * 5000}
    changed = {c["channel"]: c["change"] for c in out["diff"]["channels"]}
    assert changed["log"] == "changed" and changed["credentials"] == "added"
    assert out["find"]["found"]["step"] == 2
    assert out["regex"]["found"]["value"] == "answer:yes"
    assert out["nothing"] == {"found": None}
    assert {i["key"] for i in out["memories"]["items"]} == {"tea", "coffee"}
    assert out["memories"]["namespaces"] == [["users", "alice"], ["users", "bob"]]
    assert out["cache"]["namespaces"][0]["entries"] == 2
    assert out["missing"][0] is True and "no-such-thread" in out["missing"][1]
    assert out["both"][0] is True and "exactly one" in out["both"][1]


async def test_redaction_applies_to_every_tool(saver: DynamoDBSaver, store: DynamoDBStore) -> None:
    async def calls(session: ClientSession) -> tuple[str, Any, str]:
        texts = []
        for tool, args in [
            ("show", {"thread_id": "done"}),
            ("show", {"thread_id": "done", "channel": "credentials"}),
            ("diff", {"thread_id": "done"}),
            ("history", {"thread_id": "done"}),
            ("memories", {}),
            ("threads", {}),
            ("threads", {"query": "dave"}),
            ("cache", {}),
            ("find", {"thread_id": "done", "path": "credentials.token", "regex": "."}),
        ]:
            texts.append(json.dumps(await call(session, tool, **args)))
        probe = await call(
            session, "find", thread_id="done", path="credentials.token", equals=SECRET
        )
        named = await session.call_tool("show", {"thread_id": "done", "checkpoint_id": SECRET})
        return "\n".join(texts), probe, named.content[0].text  # type: ignore[union-attr]

    seen, probe, error = await session_calls(
        saver, "--redact", "sk-live", "--redact", "^dave$", calls=calls
    )
    assert "sk-live" not in seen and '"dave"' not in seen and REDACTED in seen
    assert probe == {"found": None}  # values are looked at redacted: no probing
    assert "sk-live" not in error and REDACTED in error  # an error's text too


async def test_semantic_search_of_memories_with_an_index(
    saver: DynamoDBSaver, store: DynamoDBStore
) -> None:
    async def calls(session: ClientSession) -> Any:
        ranked = await call(session, "memories", prefix=["users", "alice"], query="green tea")
        bad = await session.call_tool("find", {"thread_id": "done", "path": "[0]", "equals": 1})
        return ranked, (bad.is_error, bad.content[0].text)  # type: ignore[union-attr]

    ranked, bad = await session_calls(saver, "--index", "tests.replay.recorded:INDEX", calls=calls)
    assert ranked["semantic"] is True and ranked["items"][0]["key"] == "tea"
    assert bad[0] is True and "must start with a channel name" in bad[1]


def test_without_the_extra_the_command_names_it() -> None:
    code = (
        "import sys; sys.modules['mcp'] = None\n"  # as if the SDK were not installed
        "from langgraph_dynamodb.cli import main\n"
        "sys.exit(main(['--table', 't', 'mcp']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "pip install 'langgraph-dynamodb[mcp]'" in done.stderr
