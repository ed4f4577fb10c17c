"""The one small error hierarchy of langgraph-dynamodb.

Every error says what went wrong and what to do. Errors translated from DynamoDB are
raised ``from`` the botocore error, so the original stays in the traceback.
"""

from __future__ import annotations


class DynamoDBSaverError(Exception):
    """Base class of every error raised by langgraph-dynamodb."""


class ConfigurationError(DynamoDBSaverError, ValueError):
    """The saver was built with invalid or contradictory options."""


class InvalidInputError(DynamoDBSaverError, ValueError):
    """A config, id or argument passed to a saver method is invalid."""


class SerializationError(DynamoDBSaverError, TypeError):
    """A value could not be serialized (names the channel) or deserialized."""


class TableNotFoundError(DynamoDBSaverError):
    """The checkpoint table does not exist."""


class TableSchemaError(DynamoDBSaverError):
    """The table exists but its key schema is not the one this library writes."""


class AccessDeniedError(DynamoDBSaverError, PermissionError):
    """IAM denied a DynamoDB action; the message names the action."""


class NotFoundError(DynamoDBSaverError, LookupError):
    """What a reader asked for (a thread, a checkpoint, a channel) is not in the table;
    the message names it and where it was looked for."""


class CorruptItemError(DynamoDBSaverError):
    """An item in the table could not be decoded (foreign, truncated or tampered)."""


class UnavailableError(DynamoDBSaverError):
    """DynamoDB could not be reached, or kept failing (throttling, 5xx) after all retries."""


class ReplicationLagError(UnavailableError):
    """With ``replication_wait`` (a global table): a checkpoint whose own item reached this
    region before items it is made of (chunks, older checkpoints it refers to) still
    missed them after the wait. Retryable: the items arrive with replication."""


class ConflictError(DynamoDBSaverError):
    """A conditional write kept conflicting with concurrent writers."""


class FencedError(ConflictError):
    """With ``fencing=True``: a newer run holds the thread, so this run's write was
    refused whole (nothing of it is visible). ``thread_id``, ``run_id`` and ``holder``
    say which thread, which run was refused and which run holds it."""

    def __init__(self, message: str, *, thread_id: str, run_id: str, holder: str | None):
        super().__init__(message)
        self.thread_id = thread_id
        self.run_id = run_id
        self.holder = holder


class ClosedError(DynamoDBSaverError, RuntimeError):
    """The saver was closed (``close()``, ``aclose()`` or the end of its ``with`` block)."""


class DynamoDBRequestError(DynamoDBSaverError):
    """Any other error DynamoDB returned; the message carries its code and text."""
