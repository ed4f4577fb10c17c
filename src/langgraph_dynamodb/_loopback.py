"""HTTP servers on a loopback port in front of DynamoDB Local, for development and tests:
the vector-index emulator here, the tests' fault proxy and the benchmark's counting proxy
(stdlib only). :class:`LoopbackServer` serves a :class:`LoopbackHandler` from a
background thread; :class:`Upstream` sends requests on to DynamoDB Local on one kept-alive
connection per serving thread."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

S = TypeVar("S", bound="LoopbackServer")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that resets or dies mid-request (what fault and crash tests do on
        purpose) is no error of the server's: stay quiet."""


class Upstream:
    """Where a proxy sends requests on: one kept-alive connection per thread.

    Args:
        url: DynamoDB Local's endpoint, e.g. ``http://127.0.0.1:8000``.
    """

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.hostname is None:
            raise ValueError(f"upstream must be an http URL, got {url!r}")
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def send(
        self, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request, on this thread's connection; its status, headers and body. A
        kept-alive connection DynamoDB Local had closed is retried once on a new one;
        nothing else is retried."""
        for attempt in (0, 1):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._connection()
            try:
                conn.request("POST", path, body=body, headers=dict(headers))
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop()
                if attempt or not reused:
                    raise
                continue
            except (http.client.HTTPException, OSError):
                self._drop()
                raise
            if (response.getheader("Connection") or "").lower() == "close":
                self._drop()
            return response.status, response.getheaders(), data
        raise AssertionError("unreachable")  # pragma: no cover


class LoopbackServer:
    """A threaded HTTP server on a loopback port (a free one by default), serving
    ``handler`` from a background thread; the handler reaches this object as its
    ``owner``. A context manager."""

    handler: type[LoopbackHandler]
    thread_name = "loopback-server"

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """Where clients send their requests."""
        assert self._server is not None, "start() it first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self: S) -> S:
        """Listen and serve from a background thread."""
        server = _Server(("127.0.0.1", self.port), self.handler)
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class LoopbackHandler(BaseHTTPRequestHandler):
    """A keep-alive request handler that answers in one write (status line, headers and
    body split over several writes meet Nagle's algorithm and delayed ACKs: ~40 ms an
    answer) on a socket without Nagle's delay, and logs nothing."""

    protocol_version = "HTTP/1.1"

    @property
    def owner(self) -> Any:
        """The :class:`LoopbackServer` this handler serves."""
        return self.server.owner  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    def write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """The whole answer in one write (``Content-Length`` added)."""
        reason = self.responses.get(status, ("",))[0]
        head = [f"{self.protocol_version} {status} {reason}"]
        head += [f"{k}: {v}" for k, v in headers if k.lower() != "content-length"]
        head.append(f"Content-Length: {len(body)}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
