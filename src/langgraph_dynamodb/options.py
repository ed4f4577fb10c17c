"""Constructor options shared by the public classes, checked and turned into what the
flows use: the botocore ``Config`` of the clients the library makes, a TTL in seconds,
the compression settings. Pure; errors are :class:`~.errors.ConfigurationError`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from langgraph_dynamodb import limits
from langgraph_dynamodb.codec import Compression, Compressor, ZstdCompressor
from langgraph_dynamodb.errors import ConfigurationError

if TYPE_CHECKING:
    from botocore.config import Config


def default_boto_config(user: Config | None = None) -> Config:
    """The botocore ``Config`` the saver's own clients use, merged with ``user``'s.

    Standard retry mode with 8 attempts (throttling, 5xx and connection errors are
    retried with backoff and jitter), 5 s connect and 30 s read timeouts, TCP keep-alive,
    and a pool of :data:`~langgraph_dynamodb.limits.MAX_POOL_CONNECTIONS` (64)
    connections instead of botocore's 10, so that many runs at once on one saver do not
    queue for a connection. What ``user`` sets wins. Use it for a client you inject with
    ``client=``/``aclient=``.
    """
    from botocore.config import Config

    default = Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=30,
        tcp_keepalive=True,
        max_pool_connections=limits.MAX_POOL_CONNECTIONS,
    )
    return default.merge(user) if user is not None else default


def ttl_seconds(ttl: float | timedelta | None, name: str = "ttl") -> float | None:
    """A ``ttl=`` option (or another duration, ``name``) in seconds (None: none)."""
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    else:
        raise ConfigurationError(
            f"{name} must be seconds (int or float) or a timedelta, got {ttl!r}"
        )
    if not seconds > 0:
        raise ConfigurationError(f"{name} must be positive, got {ttl!r}")
    return seconds


def compression_of(
    compression: str | Compressor | bool | None,
    level: int | None,
    threshold: int,
    extra_codecs: Mapping[str, Compressor] | None,
) -> Compression:
    """The ``compression*`` options as the compression settings of the flows."""
    codec: Compressor | None
    if compression is None or compression is False:
        if level is not None:
            raise ConfigurationError("compression_level given but compression is disabled")
        codec = None
    elif compression is True or compression == "zstd":
        codec = ZstdCompressor(limits.DEFAULT_ZSTD_LEVEL if level is None else level)
    elif isinstance(compression, str):
        raise ConfigurationError(
            f"unknown compression {compression!r}; use 'zstd', None, or a Compressor object"
        )
    else:
        if level is not None:
            raise ConfigurationError(
                "compression_level applies to 'zstd' only; configure your codec directly"
            )
        codec = compression
    return Compression(codec, threshold, extra_codecs)
