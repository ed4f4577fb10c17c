"""langgraph-dynamodb: LangGraph's checkpointer, long-term memory store and node cache on
Amazon DynamoDB, sync and async."""

from __future__ import annotations

from langgraph_dynamodb.cache import DynamoDBCache
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
from langgraph_dynamodb.store import DynamoDBStore

__version__ = "0.1.0"

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
