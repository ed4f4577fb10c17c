"""langgraph-dynamodb: LangGraph's checkpointer, long-term memory store and node cache on
Amazon DynamoDB, sync and async.

``DynamoDBStore`` and ``DynamoDBCache`` are imported on first use (``from langgraph_dynamodb
import DynamoDBStore`` works as ever): a Lambda that only checkpoints does not import them
in its cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langgraph_dynamodb.codec import Compressor, ZstdCompressor
from langgraph_dynamodb.errors import (
    AccessDeniedError,
    ClosedError,
    ConfigurationError,
    ConflictError,
    CorruptItemError,
    DynamoDBRequestError,
    DynamoDBSaverError,
    FencedError,
    InvalidInputError,
    ReplicationLagError,
    SerializationError,
    TableNotFoundError,
    TableSchemaError,
    UnavailableError,
)
from langgraph_dynamodb.saver import DynamoDBSaver, default_boto_config
from langgraph_dynamodb.stats import CallStats, OperationStats, Stats

if TYPE_CHECKING:
    from langgraph_dynamodb.cache import DynamoDBCache
    from langgraph_dynamodb.store import DynamoDBStore

__version__ = "0.1.0"

_LAZY = {
    "DynamoDBCache": "langgraph_dynamodb.cache",
    "DynamoDBStore": "langgraph_dynamodb.store",
}
"""Exports imported on first use: name -> the module that defines it."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AccessDeniedError",
    "CallStats",
    "ClosedError",
    "Compressor",
    "ConfigurationError",
    "ConflictError",
    "CorruptItemError",
    "DynamoDBCache",
    "DynamoDBRequestError",
    "DynamoDBSaver",
    "DynamoDBSaverError",
    "DynamoDBStore",
    "FencedError",
    "InvalidInputError",
    "OperationStats",
    "ReplicationLagError",
    "SerializationError",
    "Stats",
    "TableNotFoundError",
    "TableSchemaError",
    "UnavailableError",
    "ZstdCompressor",
    "__version__",
    "default_boto_config",
]
