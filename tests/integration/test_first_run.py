"""What a new user meets on a first run: each mistake gets the library's own error saying
what to do, the standard AWS configuration is honoured, and the documented patterns leave
no warnings behind. On DynamoDB Local, sync and async."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from langgraph_dynamodb import (
    AccessDeniedError,
    ClosedError,
    ConfigurationError,
    DynamoDBSaver,
    InvalidInputError,
    SerializationError,
    TableNotFoundError,
    UnavailableError,
)
from langgraph_dynamodb.local import free_port

from ..conftest import REGION

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No region, profile or endpoint from the environment or config files; placeholder
    keys stay (DynamoDB Local needs some)."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def _config(thread: str | None = None) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread or str(uuid.uuid4()), "checkpoint_ns": ""}}


async def _call(saver: DynamoDBSaver, mode: str, name: str, *args: Any) -> Any:
    if mode == "sync":
        return getattr(saver, name)(*args)
    return await getattr(saver, "a" + name)(*args)


# --- where requests go ----------------------------------------------------------------------
async def test_no_region_is_our_error_naming_the_options(
    bare_env: pytest.MonkeyPatch, ddb_endpoint: str, mode: str
) -> None:
    async with DynamoDBSaver.from_table("some-table", endpoint_url=ddb_endpoint) as saver:
        with pytest.raises(ConfigurationError) as err:
            await _call(saver, mode, "get_tuple", _config())
    text = str(err.value)
    assert "region_name=" in text and "AWS_REGION" in text and "AWS_DEFAULT_REGION" in text
    assert "profile" in text and "DynamoDB Local" in text


async def test_aws_region_is_honoured(
    bare_env: pytest.MonkeyPatch, ddb_endpoint: str, table_name: str, mode: str
) -> None:
    bare_env.setenv("AWS_REGION", REGION)
    bare_env.setenv("AWS_DEFAULT_REGION", "ap-south-1")  # AWS_REGION wins, as in the SDKs
    async with DynamoDBSaver.from_table(table_name, endpoint_url=ddb_endpoint) as saver:
        assert await _call(saver, mode, "get_tuple", _config()) is None
        client = saver._clients.sync() if mode == "sync" else await saver._clients.async_()
        assert client.meta.region_name == REGION


async def test_endpoint_from_aws_endpoint_url_dynamodb(
    bare_env: pytest.MonkeyPatch, ddb_endpoint: str, table_name: str, mode: str
) -> None:
    bare_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_endpoint)
    bare_env.setenv("AWS_DEFAULT_REGION", REGION)
    async with DynamoDBSaver.from_table(table_name) as saver:
        assert await _call(saver, mode, "get_tuple", _config()) is None


async def test_profile_region_and_a_missing_profile(
    bare_env: pytest.MonkeyPatch, ddb_endpoint: str, table_name: str, tmp_path: Path, mode: str
) -> None:
    config = tmp_path / "config"
    config.write_text(  # placeholder keys for DynamoDB Local; a profile skips the env's keys
        f"[profile dev]\nregion = {REGION}\naws_access_key_id = local\n"
        "aws_secret_access_key = local\n"
    )
    bare_env.setenv("AWS_CONFIG_FILE", str(config))
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, profile_name="dev")
    async with saver:
        assert await _call(saver, mode, "get_tuple", _config()) is None
    missing = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, profile_name="nope")
    async with missing:
        with pytest.raises(ConfigurationError, match="profile"):
            await _call(missing, mode, "get_tuple", _config())


async def test_no_credentials_on_a_local_endpoint_says_any_keys_work(
    bare_env: pytest.MonkeyPatch, ddb_endpoint: str, table_name: str, mode: str
) -> None:
    bare_env.delenv("AWS_ACCESS_KEY_ID", raising=False)
    bare_env.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    async with saver:
        with pytest.raises(AccessDeniedError) as err:
            await _call(saver, mode, "get_tuple", _config())
    assert "DynamoDB Local accepts any keys" in str(err.value)


async def test_table_not_found_names_table_region_and_endpoint(
    ddb_endpoint: str, mode: str
) -> None:
    saver = DynamoDBSaver(table_name="no-such-table", endpoint_url=ddb_endpoint, region_name=REGION)
    async with saver:
        with pytest.raises(TableNotFoundError) as err:
            await _call(saver, mode, "get_tuple", _config())
    text = str(err.value)
    assert "'no-such-table'" in text and f"region {REGION}" in text and ddb_endpoint in text
    assert "setup()" in text


async def test_refused_connection_fails_within_seconds_with_a_warning(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    saver = DynamoDBSaver(table_name="t-refused", endpoint_url=endpoint, region_name=REGION)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "langgraph_dynamodb"):
        async with saver:
            with pytest.raises(UnavailableError) as err:
                await _call(saver, mode, "get_tuple", _config())
    took = time.monotonic() - started
    assert took < 8, took
    assert endpoint in str(err.value) and "langgraph_dynamodb.local run" in str(err.value)
    assert any("cannot reach DynamoDB" in r.getMessage() for r in caplog.records)


# --- values and arguments ---------------------------------------------------------------------
class Opaque:
    """Not something a serializer knows."""


class State(TypedDict, total=False):
    question: str
    context: Any


def _graph(saver: DynamoDBSaver) -> Any:
    builder = StateGraph(State)
    builder.add_node("answer", lambda s: {"question": s["question"]})
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=saver)


async def test_unserializable_graph_input_names_the_state_key(
    saver: DynamoDBSaver, mode: str
) -> None:
    graph = _graph(saver)
    value = {"question": "why?", "context": {"user": {"session": Opaque()}}}
    with pytest.raises(SerializationError) as err:
        if mode == "sync":
            graph.invoke(value, _config())
        else:
            await graph.ainvoke(value, _config())
    text = str(err.value)
    assert "'__start__' (the graph input)" in text
    assert "['context']['user']['session'] (a Opaque)" in text


async def test_malformed_before_is_refused(saver: DynamoDBSaver, mode: str) -> None:
    before = {"checkpoint_id": "1ef"}  # not under "configurable"
    with pytest.raises(InvalidInputError, match="before must be a config"):
        if mode == "sync":
            list(saver.list(_config(), before=before))  # type: ignore[arg-type]
        else:
            [t async for t in saver.alist(_config(), before=before)]  # type: ignore[arg-type]


# --- lifecycle --------------------------------------------------------------------------------
async def test_a_closed_saver_refuses_to_reconnect(
    ddb_endpoint: str, table_name: str, mode: str
) -> None:
    saver = DynamoDBSaver(table_name=table_name, endpoint_url=ddb_endpoint, region_name=REGION)
    assert await _call(saver, mode, "get_tuple", _config()) is None
    if mode == "sync":
        saver.close()
    else:
        await saver.aclose()
    with pytest.raises(ClosedError, match="closed"):
        await _call(saver, mode, "get_tuple", _config())
    clone = saver.with_allowlist([])
    with pytest.raises(ClosedError):
        await _call(clone, mode, "get_tuple", _config())


async def test_asetup_makes_the_async_client_before_the_first_call(
    ddb_endpoint: str, table_name: str
) -> None:
    async with DynamoDBSaver.from_table(
        table_name, endpoint_url=ddb_endpoint, region_name=REGION
    ) as saver:
        await saver.asetup()
        client = saver._clients.aclient
        assert client is not None
        await saver.aget_tuple(_config())
        assert saver._clients.aclient is client


def test_setup_prepares_the_async_session(ddb_endpoint: str, table_name: str) -> None:
    with DynamoDBSaver.from_table(table_name, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
        assert s._clients.aiosession is not None
        assert "aiobotocore.client" in sys.modules


def test_module_level_saver_with_asyncio_run_leaves_no_warnings(
    ddb_endpoint: str, table_name: str
) -> None:
    """The README's pattern: a saver at module level, ``asyncio.run(graph.ainvoke(...))``,
    twice (two event loops), then the interpreter exits."""
    script = textwrap.dedent(
        f"""
        import asyncio, gc, warnings
        warnings.simplefilter("always")
        from langgraph.graph import START, StateGraph
        from typing import TypedDict
        from langgraph_dynamodb import DynamoDBSaver

        class S(TypedDict):
            n: int

        saver = DynamoDBSaver(table_name={table_name!r}, endpoint_url={ddb_endpoint!r},
                              region_name={REGION!r})
        builder = StateGraph(S)
        builder.add_node("inc", lambda s: {{"n": s["n"] + 1}})
        builder.add_edge(START, "inc")
        graph = builder.compile(checkpointer=saver)
        config = {{"configurable": {{"thread_id": "module-level"}}}}
        print(asyncio.run(graph.ainvoke({{"n": 1}}, config)))
        print(asyncio.run(graph.ainvoke({{"n": 5}}, config)))
        gc.collect()
        """
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["{'n':", "2}", "{'n':", "6}"], done.stdout
    assert "Unclosed" not in done.stderr and "Warning" not in done.stderr, done.stderr
