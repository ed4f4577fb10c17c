"""Fixtures for the Agent Server test: a virtualenv with ``langgraph-cli[inmem]`` (made once
under .venvs/, never in ours), the page's project written out from its code blocks, and a
``langgraph dev`` process on DynamoDB Local, started and stopped by PID."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore
from langgraph_dynamodb.local import free_port
from tests.conftest import REGION

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "agent-server.md"
HERE = Path(__file__).resolve().parent

VENV = ROOT / ".venvs" / "agent-server"
REQUIREMENTS = ["langgraph-cli[inmem]"]
CONSTRAINTS = Path(__file__).with_name("constraints.txt")
"""The versions the server is tested with (a lock, as constraints.txt is for .venv)."""
"""Beside this package (editable, with its ``async`` extra): what the page installs."""

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# What each file of the project is, on the page: the one block that starts so.
PROJECT_BLOCKS = {
    "checkpointer.py": ("python", '"""The Agent Server\'s checkpointer:'),
    "store.py": ("python", '"""The Agent Server\'s store:'),
    "agent.py": ("python", '"""The graph:'),
    "langgraph.json": ("json", '{\n  "dependencies"'),
    ".env": ("text", "LANGGRAPH_DYNAMODB_TABLE="),
    "sdk.py": ("python", "from langgraph_sdk import get_sync_client"),
}


def page_blocks() -> dict[str, str]:
    """The page's project files (and its SDK example), each the one block that is it."""
    found: dict[str, list[str]] = {name: [] for name in PROJECT_BLOCKS}
    for match in FENCE.finditer(PAGE.read_text()):
        lang, code = match.group(1), match.group(2)
        for name, (want_lang, start) in PROJECT_BLOCKS.items():
            if lang == want_lang and code.startswith(start):
                found[name].append(code)
    for name, codes in found.items():
        assert len(codes) == 1, f"{PAGE.name}: {len(codes)} blocks for {name}, want one"
    return {name: codes[0] for name, codes in found.items()}


def env_file(text: str, **values: str) -> str:
    """The page's ``.env`` with some of its values replaced (the keys stay the page's)."""
    lines = []
    keys = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        keys.add(key)
        lines.append(f"{key}={values.get(key, value)}")
    assert set(values) <= keys, f"not keys of the page's .env: {set(values) - keys}"
    return "\n".join(lines) + "\n"


# --- the virtualenv ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def agent_server_venv() -> Path:
    """``.venvs/agent-server`` with this package (editable, ``[async]``) and
    ``langgraph-cli[inmem]``; made again only when pyproject.toml, the requirements or the
    interpreter change (a digest of them is the stamp). Returns its ``bin`` folder."""
    want = hashlib.sha256(
        "\n".join(
            [
                *REQUIREMENTS,
                (ROOT / "pyproject.toml").read_text(),
                CONSTRAINTS.read_text(),
                sys.version,
            ]
        ).encode()
    ).hexdigest()
    stamp = VENV / "stamp"
    bin_dir = VENV / "bin"
    if not (stamp.exists() and stamp.read_text() == want and (bin_dir / "langgraph").exists()):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [
                str(bin_dir / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-c",
                str(CONSTRAINTS),
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


# --- the project and the server ----------------------------------------------------------


@pytest.fixture(scope="module")
def table(ddb_endpoint: str) -> str:
    """The table's name; the server's first start creates it (the factories' asetup())."""
    return f"agent-server-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, ddb_endpoint: str, table: str) -> Path:
    """The page's project, as its blocks are, in a folder of its own (``langgraph dev``
    keeps its threads in ``.langgraph_api/`` there). Two changes, both the test's: .env
    points at this session's DynamoDB Local and table, and langgraph.json has one more
    graph, held.py's (for the rollback)."""
    blocks = page_blocks()
    folder = tmp_path_factory.mktemp("agent-server-project")
    for name in ("checkpointer.py", "store.py", "agent.py"):
        (folder / name).write_text(blocks[name])
    config = json.loads(blocks["langgraph.json"])
    config["graphs"]["held"] = "./held.py:graph"
    (folder / "langgraph.json").write_text(json.dumps(config, indent=2))
    shutil.copy(HERE / "held.py", folder / "held.py")
    (folder / ".env").write_text(
        env_file(
            blocks[".env"],
            LANGGRAPH_DYNAMODB_TABLE=table,
            AWS_ENDPOINT_URL_DYNAMODB=ddb_endpoint,
        )
    )
    return folder


class AgentServer:
    """``langgraph dev`` in ``project``, with its output in ``log``; one process at a time,
    stopped by its PID."""

    def __init__(self, bin_dir: Path, project: Path, log: Path, env: dict[str, str]) -> None:
        self.bin_dir = bin_dir
        self.project = project
        self.log_path = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.starts = 0

    def log(self) -> str:
        return ANSI.sub("", self.log_path.read_text(errors="replace"))

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def start(self, timeout: float = 90) -> None:
        assert self.proc is None, "already running"
        port = free_port()
        with self.log_path.open("a") as out:
            out.write(f"\n=== start {self.starts + 1} on port {port} ===\n")
            out.flush()
            self.proc = subprocess.Popen(
                [
                    str(self.bin_dir / "langgraph"),
                    "dev",
                    "--port",
                    str(port),
                    "--no-browser",
                    "--no-reload",
                ],
                cwd=self.project,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.starts += 1
        # The server picks another port when the one asked for is taken: read the one it says.
        this_start = re.compile(rf"=== start {self.starts} on port \d+ ===\n(.*)", re.DOTALL)
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"langgraph dev exited:\n{self.tail()}"
            assert time.monotonic() < deadline, f"langgraph dev not healthy:\n{self.tail()}"
            started = this_start.search(self.log())
            api = started and re.search(r"API: (http://[^\s]+)", started.group(1))
            if api:
                self.url = api.group(1)
                try:
                    with urllib.request.urlopen(f"{self.url}/ok", timeout=2) as resp:
                        if resp.status == 200:
                            return
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (uvicorn's graceful shutdown: the factories' ``async with`` exit), then
        SIGKILL if it hangs; returns the exit code."""
        assert self.proc is not None, "not running"
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            message = f"langgraph dev ignored SIGTERM for {timeout}s:\n{self.tail()}"
            raise AssertionError(message) from None

    def restart(self) -> int:
        code = self.stop()
        self.start()
        return code


def server_env(bin_dir: Path) -> dict[str, str]:
    """A clean environment: none of the shell's AWS, LangSmith or LangGraph settings.

    The shell's DynamoDB endpoint and table are decoys (a closed port, a table never
    made): ``langgraph dev`` loads the project's .env over the environment, so the page's
    .env must be what points the server at DynamoDB Local. Everything that could call out
    is off: LangSmith tracing, the CLI's analytics, the server's PyPI version check; a
    proxy on a closed port catches any other call but those to the loopback interface."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "JAVA_HOME", "SSL_CERT_FILE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9",  # decoy: .env wins
        LANGGRAPH_DYNAMODB_TABLE="decoy-never-made",  # decoy: .env wins
        LANGSMITH_TRACING="false",
        LANGCHAIN_TRACING_V2="false",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="true",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        env[key.lower()] = env[key]
    return env


@pytest.fixture(scope="module")
def server(
    agent_server_venv: Path, project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AgentServer]:
    """``langgraph dev --port <free> --no-browser --no-reload`` in the project folder."""
    log = tmp_path_factory.mktemp("agent-server-log") / "langgraph-dev.log"
    srv = AgentServer(agent_server_venv, project, log, server_env(agent_server_venv))
    srv.start()
    try:
        yield srv
    finally:
        if srv.proc is not None:
            srv.stop()


# --- the table, read directly ------------------------------------------------------------


@pytest.fixture(scope="module")
def saver(server: AgentServer, ddb_endpoint: str, table: str) -> Iterator[DynamoDBSaver]:
    """Our own saver on the server's table: what the server wrote, read back."""
    with DynamoDBSaver.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        yield s


@pytest.fixture(scope="module")
def store(server: AgentServer, ddb_endpoint: str, table: str) -> Iterator[DynamoDBStore]:
    """Our own store on the same table."""
    with DynamoDBStore.from_table(table, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        yield s
