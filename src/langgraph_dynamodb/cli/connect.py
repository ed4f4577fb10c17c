"""Where the command line's table is and how its values are read: settings from the
options and the environment, the saver made from them, and the ``module:factory``
objects a user names (a serializer, a source saver)."""

from __future__ import annotations

import base64
import binascii
import importlib
import os
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_dynamodb.cache import DynamoDBCache
from langgraph_dynamodb.cli.preserve import PreservingSerializer
from langgraph_dynamodb.errors import ConfigurationError
from langgraph_dynamodb.local import is_local_endpoint
from langgraph_dynamodb.saver import DynamoDBSaver
from langgraph_dynamodb.store import DynamoDBStore

ENV_TABLE = "LANGGRAPH_DYNAMODB_TABLE"
"""The table, when ``--table`` is not given."""


class UsageError(ConfigurationError):
    """The command line is incomplete or contradictory (exit code 2)."""


@dataclass(frozen=True)
class Settings:
    """The global options, after the environment filled in what was not given."""

    table: str | None
    endpoint_url: str | None
    region: str | None
    profile: str | None
    serde: str | None
    key_env: str | None

    @classmethod
    def of(cls, args: Any) -> Settings:
        """From parsed arguments (``None`` where neither an option nor the environment
        says; botocore then reads ``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_DEFAULT_REGION``...)."""
        return cls(
            table=getattr(args, "table", None) or os.environ.get(ENV_TABLE) or None,
            endpoint_url=getattr(args, "endpoint_url", None),
            region=getattr(args, "region", None),
            profile=getattr(args, "profile", None),
            serde=getattr(args, "serde", None),
            key_env=getattr(args, "key_env", None),
        )

    def require_table(self) -> str:
        """The table name, or a usage error that says how to give one."""
        if not self.table:
            raise UsageError(f"no table: pass --table NAME or set {ENV_TABLE}")
        return self.table


def load_object(spec: str, what: str) -> Any:
    """``module:attribute`` (``pkg.mod:make_saver``), imported with the working directory
    on the path, as ``python -m`` would."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{what} must be MODULE:NAME (like myapp.savers:make_saver), got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{what}: cannot import {module_name!r} ({exc})") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise UsageError(f"{what}: {module_name!r} has no {attr!r}") from exc
    return obj


def call_factory(spec: str, what: str) -> Any:
    """Load ``spec`` and call it when it is callable (a class or a factory function),
    else use the object itself."""
    obj = load_object(spec, what)
    return obj() if callable(obj) else obj


def parse_keys(text: str, var: str) -> tuple[dict[str, bytes], str]:
    """Keys of ``AesGcmCipher`` from ``ID:BASE64[,ID:BASE64...]`` (the first is active)."""
    keys: dict[str, bytes] = {}
    active = ""
    for part in text.split(","):
        key_id, sep, b64 = part.strip().partition(":")
        if not sep:
            raise UsageError(f"{var} must be KEY_ID:BASE64_KEY[,KEY_ID:BASE64_KEY...]")
        try:
            keys[key_id] = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UsageError(f"{var}: the key {key_id!r} is not valid base64") from exc
        active = active or key_id
    return keys, active


def file_serde(settings: Settings) -> SerializerProtocol:
    """The serializer of values in export files: ``--serde``'s, else LangGraph's default."""
    if settings.serde:
        serde = call_factory(settings.serde, "--serde")
        if not (hasattr(serde, "dumps_typed") and hasattr(serde, "loads_typed")):
            raise UsageError(
                f"--serde {settings.serde} gave {type(serde).__name__}, not a serializer "
                "(with dumps_typed and loads_typed)"
            )
        return serde  # type: ignore[no-any-return]
    return JsonPlusSerializer()


def moving_serde(settings: Settings) -> SerializerProtocol:
    """What values are moved with (export, import, copy, prune): undecoded extensions,
    so the application's classes need not be importable (see :mod:`.preserve`)."""
    return PreservingSerializer(file_serde(settings))


def table_serde(settings: Settings, *, preserve: bool = False) -> SerializerProtocol:
    """The serializer of the table's values: :func:`file_serde` (or, to move values,
    :func:`moving_serde`), encrypted with the keys of ``--key-env`` when given."""
    inner = moving_serde(settings) if preserve else file_serde(settings)
    if not settings.key_env:
        return inner
    text = os.environ.get(settings.key_env)
    if not text:
        raise UsageError(f"--key-env {settings.key_env}: that environment variable is not set")
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    from langgraph_dynamodb.crypto import AesGcmCipher

    keys, active = parse_keys(text, settings.key_env)
    return EncryptedSerializer(AesGcmCipher(keys, active), serde=inner)


def endpoint_of(settings: Settings) -> str | None:
    """The endpoint requests go to, as botocore resolves it (``None``: AWS's)."""
    return (
        settings.endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


def _local_credentials(settings: Settings) -> None:
    """DynamoDB Local accepts any keys: give this process placeholders when it has none
    (so ``--endpoint-url http://localhost:8000`` works on a machine without AWS set-up)."""
    if not is_local_endpoint(endpoint_of(settings)) or settings.profile:
        return
    import boto3

    if boto3.Session().get_credentials() is None:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")


def _table_of(settings: Settings) -> dict[str, Any]:
    """What every object of the table the options name is made with: the table, endpoint,
    region and profile (placeholder keys on DynamoDB Local, as :func:`_local_credentials`)."""
    _local_credentials(settings)
    return {
        "table_name": settings.require_table(),
        "endpoint_url": settings.endpoint_url,
        "region_name": settings.region,
        "profile_name": settings.profile,
    }


def make_saver(settings: Settings, *, preserve: bool = False, **kwargs: Any) -> DynamoDBSaver:
    """The saver of the table the options name (``preserve``: one that moves values
    without decoding the application's types)."""
    return DynamoDBSaver(
        **_table_of(settings), serde=table_serde(settings, preserve=preserve), **kwargs
    )


def make_store(settings: Settings, index: Any = None) -> DynamoDBStore:
    """The store (memories) in the table the options name, its values read with the
    table's serializer; ``index``: a LangGraph ``IndexConfig`` for semantic search."""
    return DynamoDBStore(**_table_of(settings), serde=table_serde(settings), index=index)


def make_cache(settings: Settings) -> DynamoDBCache[Any]:
    """The node cache in the table the options name (its values are not decoded by the
    command line, so no serializer is needed)."""
    return DynamoDBCache(**_table_of(settings))


def load_index(spec: str | None) -> Any:
    """The store's ``IndexConfig`` that ``--index MODULE:NAME`` names (a dict, or a factory
    of one), or ``None`` without the option."""
    index = call_factory(spec, "--index") if spec else None
    if index is not None and not (isinstance(index, dict) and "dims" in index and "embed" in index):
        raise UsageError(
            f"--index {spec} gave {type(index).__name__}, not an IndexConfig "
            "(a dict with dims, embed and fields)"
        )
    return index
