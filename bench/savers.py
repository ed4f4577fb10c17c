"""The savers under test: how to install each and how to build one on a fresh table.

Imported by the orchestrator (for :data:`SAVERS`) and loaded by path by the runner inside
each saver's virtualenv (for :func:`make_saver`); stdlib only at import time, each factory
imports its library when called.

Every saver gets the library's defaults, on its own table, through the counting proxy.
langgraph-checkpoint-aws has no ``setup`` and its README declares no table, so its table
is created here with the string keys ``PK``/``SK`` its code reads and writes
(``unified_repository.py``), on demand; the other two peers create their own tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SaverSpec:
    """One saver under test.

    Attributes:
        name: Short name used on the command line and in the report.
        label: What the report's column says.
        package: PyPI distribution (``None`` for ours).
        requirements: What ``pip install`` gets in the saver's own venv (``None``: ours,
            and LangGraph's in-process caches, run in the project's venv).
        venv: Name of the venv folder (variants of one peer share it).
        default_workloads: Workloads it runs unless ``--workloads`` says otherwise
            (``None``: all).
        note: A line for the report about its configuration.
    """

    name: str
    label: str
    package: str | None
    requirements: tuple[str, ...] | None
    venv: str | None
    default_workloads: tuple[str, ...] | None = None
    note: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


SAVERS: dict[str, SaverSpec] = {
    spec.name: spec
    for spec in (
        SaverSpec(
            "ours",
            "langgraph-dynamodb (ours)",
            None,
            None,
            None,
            note="defaults: zstd, strongly consistent reads",
            aliases=("langgraph-dynamodb",),
        ),
        SaverSpec(
            "ours-cli",
            "langgraph-dynamodb command line (ours)",
            None,
            None,
            None,
            default_workloads=("cli",),
            note="the console script on a table the saver filled",
        ),
        SaverSpec(
            "ours-runs",
            "langgraph-dynamodb delete_for_runs (ours)",
            None,
            None,
            None,
            default_workloads=("runs",),
            note="defaults; delete_for_runs through the run markers, beside the Scan it "
            "replaced (the old request, sent by the bench)",
        ),
        SaverSpec(
            "ours-eventual",
            "langgraph-dynamodb (ours) +eventual",
            None,
            None,
            None,
            default_workloads=("chat",),
            note=(
                "variant: consistent_reads=False (eventually consistent reads, as "
                "langgraph-checkpoint-aws reads); not counted as a peer"
            ),
        ),
        SaverSpec(
            "aws",
            "langgraph-checkpoint-aws 1.2.6",
            "langgraph-checkpoint-aws",
            ("langgraph-checkpoint-aws==1.2.6", "langgraph"),
            "aws",
            note="defaults (no compression, no S3 offload)",
            aliases=("langgraph-checkpoint-aws",),
        ),
        SaverSpec(
            "aws-gzip",
            "langgraph-checkpoint-aws 1.2.6 +gzip",
            "langgraph-checkpoint-aws",
            ("langgraph-checkpoint-aws==1.2.6", "langgraph"),
            "aws",
            default_workloads=("chat", "fanout", "large", "rtt"),
            note="variant: enable_checkpoint_compression=True (its best size setting)",
        ),
        SaverSpec(
            "amazon",
            "langgraph-checkpoint-amazon-dynamodb 0.1.3",
            "langgraph-checkpoint-amazon-dynamodb",
            ("langgraph-checkpoint-amazon-dynamodb==0.1.3", "langgraph"),
            "amazon",
            note="defaults (deploy=True)",
            aliases=("langgraph-checkpoint-amazon-dynamodb",),
        ),
        SaverSpec(
            "ours-store",
            "langgraph-dynamodb DynamoDBStore (ours)",
            None,
            None,
            None,
            default_workloads=("store", "semantic_limit", "memory_scale", "concurrent"),
            note="defaults: zstd, strongly consistent reads; semantic search through the "
            "vector index (vector_search='auto')",
        ),
        SaverSpec(
            "ours-store-client",
            "langgraph-dynamodb DynamoDBStore, client path (ours)",
            None,
            None,
            None,
            default_workloads=("store",),
            note="vector_search='client': semantic search ranks every item under the prefix",
        ),
        SaverSpec(
            "ours-store-eventual",
            "langgraph-dynamodb DynamoDBStore, eventually consistent (ours)",
            None,
            None,
            None,
            default_workloads=("store",),
            note="consistent_reads=False: reads as the peers read (half the RCU of a "
            "strongly consistent read of the same bytes); otherwise the defaults",
        ),
        SaverSpec(
            "aws-store",
            "langgraph-checkpoint-aws 1.2.6 DynamoDBStore",
            "langgraph-checkpoint-aws",
            ("langgraph-checkpoint-aws==1.2.6", "langgraph"),
            "aws",
            default_workloads=("store", "concurrent"),
            note="defaults; semantic search through its vector index (on the emulator)",
        ),
        SaverSpec(
            "sdb-store",
            "langgraph-store-dynamodb 0.2.1",
            "langgraph-store-dynamodb",
            ("langgraph-store-dynamodb==0.2.1", "langgraph"),
            "sdb",
            default_workloads=("store",),
            note="defaults; semantic search through its vector index (on the emulator)",
            aliases=("langgraph-store-dynamodb",),
        ),
        SaverSpec(
            "dds-store",
            "langgraph-dynamodb-store 0.4.0",
            "langgraph-dynamodb-store",
            ("langgraph-dynamodb-store==0.4.0", "langgraph"),
            "dds",
            default_workloads=("store",),
            note="defaults, on the table its README describes (made by the bench); it has no "
            "semantic search and no list_namespaces, and searches exact namespaces only",
            aliases=("langgraph-dynamodb-store",),
        ),
        SaverSpec(
            "ours-cache",
            "langgraph-dynamodb DynamoDBCache (ours)",
            None,
            None,
            None,
            default_workloads=("cache",),
            note="defaults: zstd, strongly consistent reads, values over 350 KB chunked",
            aliases=("dynamodbcache",),
        ),
        SaverSpec(
            "memory-cache",
            "langgraph InMemoryCache",
            "langgraph",
            None,
            None,
            default_workloads=("cache",),
            note="langgraph.cache.memory, in the process (no network, nothing kept)",
            aliases=("inmemorycache",),
        ),
        SaverSpec(
            "sqlite-cache",
            "langgraph-checkpoint-sqlite SqliteCache",
            "langgraph-checkpoint-sqlite",
            None,
            None,
            default_workloads=("cache",),
            note="langgraph.cache.sqlite on a file in a temporary folder (WAL), in the process",
            aliases=("sqlitecache",),
        ),
        SaverSpec(
            "redis-cache",
            "langgraph RedisCache on redis-server",
            "redis",
            ("langgraph", "redis", "boto3"),
            "redis",
            default_workloads=("cache",),
            note="langgraph.cache.redis with redis-py, on a redis-server the bench starts on "
            "loopback (in memory), through a counting TCP proxy; skipped without redis-server",
            aliases=("rediscache",),
        ),
        SaverSpec(
            "ddbcp",
            "langgraph-dynamodb-checkpoint 0.5.0",
            "langgraph_dynamodb_checkpoint",
            ("langgraph-dynamodb-checkpoint==0.5.0", "langgraph"),
            "ddbcp",
            note="defaults (no reducer)",
            aliases=("langgraph-dynamodb-checkpoint",),
        ),
    )
}


def resolve(name: str) -> SaverSpec:
    """A saver by short name, alias or PyPI name."""
    key = name.strip().lower()
    for spec in SAVERS.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise KeyError(f"unknown saver {name!r}; choose from {', '.join(SAVERS)}")


# --- factories (run inside the saver's venv) -----------------------------------------------
def _create_table(
    table: str,
    endpoint: str,
    region: str,
    keys: tuple[str, str],
    index: tuple[str, str, str] | None = None,
) -> None:
    """An on-demand table with string keys ``keys`` (hash, range) and, with ``index``
    (name, hash, range), one GSI projecting everything; waits until it exists."""
    import boto3

    names = {*keys, *(index[1:] if index else ())}
    params: dict[str, Any] = {
        "TableName": table,
        "KeySchema": [
            {"AttributeName": keys[0], "KeyType": "HASH"},
            {"AttributeName": keys[1], "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in sorted(names)],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if index is not None:
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index[0],
                "KeySchema": [
                    {"AttributeName": index[1], "KeyType": "HASH"},
                    {"AttributeName": index[2], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    client.create_table(**params)
    client.get_waiter("table_exists").wait(TableName=table)
    client.close()


def _create_pk_sk_table(table: str, endpoint: str, region: str) -> None:
    """langgraph-checkpoint-aws's table (it expects one)."""
    _create_table(table, endpoint, region, ("PK", "SK"))


def make_saver(name: str, table: str, endpoint: str, region: str) -> Any:
    """Build saver ``name`` on a new table ``table``, talking to ``endpoint`` (a store,
    without semantic search, for the store specs)."""
    if name in CACHES:
        raise KeyError(f"{name!r} is a cache: bench/cache_workloads.py makes it")
    if name in STORES:
        return make_store(name, table, endpoint, region)
    if name in ("ours", "ours-eventual", "ours-cli", "ours-runs"):
        from langgraph_dynamodb import DynamoDBSaver

        saver = DynamoDBSaver(
            table_name=table,
            endpoint_url=endpoint,
            region_name=region,
            consistent_reads=name != "ours-eventual",
        )
        saver.setup()
        return saver
    if name in ("aws", "aws-gzip"):
        from langgraph_checkpoint_aws import DynamoDBSaver as AwsSaver

        _create_pk_sk_table(table, endpoint, region)
        return AwsSaver(
            table_name=table,
            region_name=region,
            endpoint_url=endpoint,
            enable_checkpoint_compression=name == "aws-gzip",
        )
    if name == "amazon":
        from langgraph_checkpoint_dynamodb import (
            DynamoDBConfig,
            DynamoDBSaver,
            DynamoDBTableConfig,
        )

        config = DynamoDBConfig(
            table_config=DynamoDBTableConfig(table_name=table),
            region_name=region,
            endpoint_url=endpoint,
        )
        return DynamoDBSaver(config, deploy=True)
    if name == "ddbcp":
        # It builds ``boto3.resource("dynamodb")`` with no endpoint argument: boto3 reads
        # the endpoint from the environment.
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        os.environ.setdefault("AGENTSTATE_QUIET", "1")
        from langgraph_dynamodb_checkpoint import DynamoDBSaver as KamalSaver

        return KamalSaver(table)
    raise KeyError(f"unknown saver {name!r}")


STORES = (
    "ours-store",
    "ours-store-client",
    "ours-store-eventual",
    "aws-store",
    "sdb-store",
    "dds-store",
)
"""The specs that are stores (they run the store workload, the others the checkpointers')."""

CACHES = ("ours-cache", "memory-cache", "sqlite-cache", "redis-cache")
"""The specs that are node caches (LangGraph's ``BaseCache``): they run the cache workload."""

RUNS = ("ours-runs",)
"""The specs of the run-deletion workload (r): ours only, a section of the report of its own."""

OPTIONAL = {"redis-cache": "redis-server"}
"""Specs that need a program on this machine (spec -> executable): skipped, with the
reason in the results, when it is missing or their venv cannot be made."""


def make_store(
    name: str, table: str, endpoint: str, region: str, index: Any = None, **options: Any
) -> Any:
    """Build store ``name`` on table ``table`` (``index``: langgraph's IndexConfig;
    ``options``: more keywords, ours only)."""
    if name in ("ours-store", "ours-store-client", "ours-store-eventual"):
        from langgraph_dynamodb import DynamoDBStore

        if name == "ours-store-client":
            options.setdefault("vector_search", "client")
        if name == "ours-store-eventual":
            options.setdefault("consistent_reads", False)
        store = DynamoDBStore(
            table_name=table, endpoint_url=endpoint, region_name=region, index=index, **options
        )
        store.setup()
        return store
    if name == "aws-store":
        from langgraph_checkpoint_aws import DynamoDBStore as AwsStore

        store = AwsStore(table, region_name=region, endpoint_url=endpoint, index=index)
        if index is not None:
            _bound_vector_index_wait()
        store.setup()
        return store
    if name == "sdb-store":
        from langgraph_store_dynamodb import DynamoDBStore as SdbStore

        return SdbStore(table, region_name=region, endpoint_url=endpoint, index=index)
    if name == "dds-store":
        import boto3
        from memory_layer import DynamoDBStore as DdsStore

        _create_memory_layer_table(table, endpoint, region)
        resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=region)
        return DdsStore(table, resource=resource)  # it takes no index
    raise KeyError(f"unknown store {name!r}")


def _create_memory_layer_table(table: str, endpoint: str, region: str) -> None:
    """langgraph-dynamodb-store's table, as its README creates it (it makes none)."""
    _create_table(
        table,
        endpoint,
        region,
        ("owner_id", "sort_key"),
        ("owner_id-created_at-index", "owner_id", "gsi_sort_key"),
    )


VECTOR_INDEX_WAIT_S = 20
"""How long the bench lets langgraph-checkpoint-aws wait for its vector index (it waits up
to 600 s; DynamoDB Local accepts the table but never builds the index)."""


def _bound_vector_index_wait() -> None:
    from langgraph_checkpoint_aws.store.dynamodb import table as aws_table

    for cls in vars(aws_table).values():
        wait = getattr(cls, "_wait_for_vector_index", None)
        if isinstance(cls, type) and wait is not None and not hasattr(wait, "bench_bound"):

            def bounded(self: Any, timeout: int = 600, _wait: Any = wait) -> None:
                _wait(self, timeout=min(timeout, VECTOR_INDEX_WAIT_S))

            bounded.bench_bound = True  # type: ignore[attr-defined]
            cls._wait_for_vector_index = bounded  # type: ignore[attr-defined]


async def aclose_saver(saver: Any) -> None:
    """Close what a saver opened for async use, if it says how."""
    for name in ("aclose", "__aexit__"):
        method = getattr(saver, name, None)
        if method is None:
            continue
        try:
            if name == "__aexit__":
                await method(None, None, None)
            else:
                await method()
        except Exception:  # noqa: BLE001 - best effort at the end of a workload
            pass
        return


def close_saver(saver: Any) -> None:
    """Close a saver's sync resources, if it says how."""
    method = getattr(saver, "close", None)
    if callable(method):
        try:
            method()
        except Exception:  # noqa: BLE001 - best effort
            pass
