"""Redis for the cache workload (stdlib only): a redis-server of the bench's own, and a
counting TCP proxy in front of it, the Redis counterpart of ``bench/proxy.py``.

- :class:`RedisServer` starts ``redis-server`` on a free loopback port, in memory (no
  snapshot, no append-only file, its directory a temporary one), and stops it by its PID.
  The orchestrator runs it; the runner of ``RedisCache`` gets its URL.
- :class:`CountingTcpProxy` runs in the runner's process, between the Redis client and
  the server. It forwards bytes unchanged and counts, per scope (the phase), the round
  trips, the commands by name and the bytes each way. Like the DynamoDB proxy, it holds
  every round trip for the phase's simulated delay before forwarding it.

A round trip starts when the client writes a command while every command it sent before
has had its reply: :class:`CommandNames` reads the commands from the client's byte
stream, :class:`ReplyCounter` counts the replies in the server's. So a pipeline (one
write of several commands, ``MULTI``, ``SETEX``, ``EXEC``) is one round trip, even when
the server answers its first command before the client has sent the last bytes of a
600 KB value, and however TCP splits the bytes.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any


class CommandNames:
    """An incremental reader of the commands in a client's RESP byte stream.

    Feed it the bytes as they come, in chunks of any size; it returns the names of the
    commands whose name it completed (upper case). A command is an array of bulk strings
    (``*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n``), whose first string is its name; the
    other strings are skipped by length, without being buffered, so a 600 KB value costs
    nothing here. An inline command (``PING\\r\\n``) counts too.
    """

    def __init__(self) -> None:
        self._line = bytearray()
        self._skip = 0
        self._name: bytearray | None = None
        self._name_len = 0
        self._want_name = False
        self._args_left = 0
        self.started = 0
        """Commands begun so far (their first line read)."""

    @property
    def idle(self) -> bool:
        """Whether the stream so far ends between two commands."""
        return not (self._line or self._skip or self._name is not None or self._args_left)

    def feed(self, data: bytes) -> list[str]:
        """Read ``data``; the names of the commands it completed, in order."""
        names: list[str] = []
        i, end = 0, len(data)
        while i < end:
            if self._skip:
                n = min(self._skip, end - i)
                i += n
                self._skip -= n
                continue
            if self._name is not None:
                need = self._name_len + 2 - len(self._name)
                self._name += data[i : i + need]
                i += min(need, end - i)
                if len(self._name) == self._name_len + 2:
                    names.append(bytes(self._name[:-2]).decode(errors="replace").upper())
                    self._name = None
                continue
            newline = data.find(b"\n", i)
            if newline < 0:
                self._line += data[i:]
                break
            self._line += data[i : newline + 1]
            i = newline + 1
            line = bytes(self._line).rstrip(b"\r\n")
            self._line.clear()
            if not line:
                continue
            kind, rest = line[:1], line[1:]
            if kind == b"*":
                self._args_left = max(0, int(rest))
                self._want_name = self._args_left > 0
                self.started += int(self._want_name)
            elif kind == b"$":
                length = int(rest)
                self._args_left = max(0, self._args_left - 1)
                if length < 0:
                    continue
                if self._want_name:
                    self._want_name = False
                    self._name, self._name_len = bytearray(), length
                else:
                    self._skip = length + 2
            else:
                self.started += 1
                names.append(line.split()[0].decode(errors="replace").upper())
        return names


class ReplyCounter:
    """An incremental counter of the replies in a server's RESP byte stream (RESP2 and
    RESP3): :attr:`count` is the number of whole top-level replies fed so far.

    Simple types are one line; bulk strings are skipped by length; aggregates (arrays,
    sets, maps) count once, when their last element is complete.
    """

    def __init__(self) -> None:
        self._line = bytearray()
        self._skip = 0
        self._open: list[int] = []
        self.count = 0

    def feed(self, data: bytes) -> int:
        """Read ``data``; the number of replies it completed."""
        before = self.count
        i, end = 0, len(data)
        while i < end:
            if self._skip:
                n = min(self._skip, end - i)
                i += n
                self._skip -= n
                if not self._skip:
                    self._element()
                continue
            newline = data.find(b"\n", i)
            if newline < 0:
                self._line += data[i:]
                break
            self._line += data[i : newline + 1]
            i = newline + 1
            line = bytes(self._line).rstrip(b"\r\n")
            self._line.clear()
            if not line:
                continue
            kind, rest = line[:1], line[1:]
            if kind in (b"$", b"!", b"="):  # bulk string, bulk error, verbatim string
                length = int(rest)
                if length < 0:
                    self._element()
                else:
                    self._skip = length + 2
            elif kind in (b"*", b"~", b">", b"%", b"|"):  # array, set, push, map, attribute
                n = int(rest) * (2 if kind in (b"%", b"|") else 1)
                if n <= 0:
                    self._element()
                else:
                    self._open.append(n)
            else:  # + - : _ # , ( one line
                self._element()
        return self.count - before

    def _element(self) -> None:
        """An element is complete: so is each aggregate it completes, or a reply."""
        while self._open:
            self._open[-1] -= 1
            if self._open[-1]:
                return
            self._open.pop()
        self.count += 1


def _new_scope() -> dict[str, Any]:
    return {
        "round_trips": 0,
        "commands": defaultdict(int),
        "bytes_sent": 0,
        "bytes_received": 0,
        "connections": 0,
    }


class WireCounters:
    """Round trips, commands and bytes per scope, thread-safe; the logic of the proxy
    without its sockets.

    Each connection calls :meth:`client_wrote` with what its client wrote and
    :meth:`server_wrote` with what the server answered, in the order they passed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, dict[str, Any]] = {}

    def _scope(self, scope: str) -> dict[str, Any]:
        found = self._scopes.get(scope)
        if found is None:
            found = self._scopes[scope] = _new_scope()
        return found

    def opened(self, scope: str) -> None:
        """A client connection was opened in ``scope``."""
        with self._lock:
            self._scope(scope)["connections"] += 1

    def client_wrote(self, scope: str, data: bytes, names: list[str], new_round_trip: bool) -> None:
        """The client wrote ``data`` (carrying the commands ``names``); ``new_round_trip``
        when the server had replied since the client's last write (or never written)."""
        with self._lock:
            entry = self._scope(scope)
            entry["bytes_sent"] += len(data)
            entry["round_trips"] += int(new_round_trip)
            for name in names:
                entry["commands"][name] += 1

    def server_wrote(self, scope: str, data: bytes) -> None:
        """The server wrote ``data`` to the client."""
        with self._lock:
            self._scope(scope)["bytes_received"] += len(data)

    def take(self, scope: str) -> dict[str, Any]:
        """The counters of ``scope`` as plain data, removed (zeros if none)."""
        with self._lock:
            entry = self._scopes.pop(scope, None) or _new_scope()
        return {**entry, "commands": dict(sorted(entry["commands"].items()))}


class Conversation:
    """The turns of one connection: which of the client's writes start a round trip."""

    def __init__(self) -> None:
        self.names = CommandNames()
        self.replies = ReplyCounter()

    def client_wrote(self, data: bytes) -> tuple[bool, list[str]]:
        """The client wrote ``data``: whether it starts a round trip (every command sent
        before had its reply, and none was half sent), and the commands it completed."""
        new_round_trip = self.names.idle and self.replies.count >= self.names.started
        return new_round_trip, self.names.feed(data)

    def server_wrote(self, data: bytes) -> int:
        """The server wrote ``data``: the number of replies it completed."""
        return self.replies.feed(data)


class _Connection:
    """One client connection: its socket, the server's, and their conversation."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.turns = Conversation()

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.close()


class CountingTcpProxy:
    """A loopback TCP proxy in front of ``upstream`` (host, port): counts into
    :attr:`counters` under ``scope()`` and holds each round trip ``delay_ms()``
    milliseconds before forwarding it.

    Example:
        ```python
        proxy = CountingTcpProxy(("127.0.0.1", 6379), lambda: "phase", lambda: 10.0)
        proxy.start()
        client = redis.Redis(port=proxy.port)
        client.get("k")
        print(proxy.counters.take("phase"))  # {'round_trips': 2, 'commands': {...}, ...}
        proxy.close()
        ```
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        scope: Callable[[], str],
        delay_ms: Callable[[], float],
    ) -> None:
        self.upstream = upstream
        self.scope = scope
        self.delay_ms = delay_ms
        self.counters = WireCounters()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._connections: list[_Connection] = []
        self._closed = False

    def start(self) -> CountingTcpProxy:
        """Listen and serve from background threads; returns the proxy."""
        self._listener.listen(16)
        threading.Thread(target=self._accept, name="bench-redis-proxy", daemon=True).start()
        return self

    def take(self, scope: str) -> dict[str, Any]:
        """The counters of ``scope``, removed (what the runner's harness asks each phase)."""
        return self.counters.take(scope)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(client, upstream)
            self._connections.append(conn)
            self.counters.opened(self.scope())
            threading.Thread(target=self._up, args=(conn,), daemon=True).start()
            threading.Thread(target=self._down, args=(conn,), daemon=True).start()

    def _up(self, conn: _Connection) -> None:
        """Client to server: count, hold a new round trip for the delay, forward."""
        try:
            while True:
                data = conn.client.recv(1 << 16)
                if not data:
                    break
                new_round_trip, names = conn.turns.client_wrote(data)
                if new_round_trip:
                    delay = self.delay_ms()
                    if delay > 0:
                        time.sleep(delay / 1000)
                self.counters.client_wrote(self.scope(), data, names, new_round_trip)
                conn.upstream.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def _down(self, conn: _Connection) -> None:
        """Server to client: count the replies (before the client can see them), forward."""
        try:
            while True:
                data = conn.upstream.recv(1 << 16)
                if not data:
                    break
                conn.turns.server_wrote(data)
                self.counters.server_wrote(self.scope(), data)
                conn.client.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        for conn in self._connections:
            conn.close()


# --- the server -------------------------------------------------------------------------------
def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers ``PING`` on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_redis_server() -> str | None:
    """The ``redis-server`` executable on PATH, if any."""
    return shutil.which("redis-server")


class RedisServer:
    """``redis-server`` on a free loopback port for the length of a ``with`` block, in
    memory (``--save ""``, no append-only file, a temporary directory), stopped by PID.

    Attributes:
        url: ``redis://127.0.0.1:PORT/0`` once started.
        version: What ``redis-server --version`` says.
        process: The server's process.
    """

    def __init__(self, executable: str, startup_s: float = 15.0) -> None:
        self.executable = executable
        self.startup_s = startup_s
        self.url = ""
        self.version = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    def __enter__(self) -> RedisServer:
        version = subprocess.run(
            [self.executable, "--version"], capture_output=True, text=True, check=False
        )
        self.version = version.stdout.strip()
        port = _free_port()
        self._dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.process = subprocess.Popen(
            [
                self.executable,
                *("--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self._dir),
                *("--daemonize", "no", "--protected-mode", "yes"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_s
        while not ping("127.0.0.1", port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"redis-server did not answer on port {port}")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{port}/0"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # the server we started, by its PID
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
