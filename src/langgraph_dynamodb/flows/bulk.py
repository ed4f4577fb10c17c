"""Multi-request helpers every flow uses: batched writes and reads that retry what DynamoDB
hands back (``UnprocessedItems``/``UnprocessedKeys``) with bounded backoff, and paginated
Queries and Scans. No I/O: each yields requests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langgraph_dynamodb import limits, schema
from langgraph_dynamodb.errors import UnavailableError
from langgraph_dynamodb.flows.context import TableCtx
from langgraph_dynamodb.schema import AttrMap
from langgraph_dynamodb.steps import Flow, Sleep, backoff
from langgraph_dynamodb.storage import requests


def batch_write(
    ctx: TableCtx, puts: Iterable[AttrMap] = (), deletes: Iterable[AttrMap] = ()
) -> Flow[None]:
    """BatchWriteItem in groups of 25, in order, retrying ``UnprocessedItems``. A key is
    written once (DynamoDB refuses a batch that names a key twice): the last put of it,
    and a key both put and deleted is only put."""
    by_key: dict[tuple[str, str], AttrMap] = {}
    for item in puts:
        by_key[schema.ident(item)] = {"PutRequest": {"Item": item}}
    for key in deletes:
        by_key.setdefault(schema.ident(key), {"DeleteRequest": {"Key": key}})
    batch = list(by_key.values())
    for start in range(0, len(batch), limits.BATCH_WRITE_MAX_ITEMS):
        pending = batch[start : start + limits.BATCH_WRITE_MAX_ITEMS]
        attempt = 0
        while pending:
            resp = yield ctx.request("batch_write_item", RequestItems={ctx.table: pending})
            pending = resp.get("UnprocessedItems", {}).get(ctx.table, [])
            if pending:
                attempt += 1
                if attempt >= limits.UNPROCESSED_MAX_ATTEMPTS:
                    raise UnavailableError(
                        f"DynamoDB left {len(pending)} writes unprocessed on {ctx.table!r} "
                        f"after {attempt} attempts; nothing after them was written. Retry later."
                    )
                yield Sleep(backoff(attempt))


def batch_get(ctx: TableCtx, keys_: Sequence[AttrMap]) -> Flow[list[AttrMap]]:
    """BatchGetItem in groups of 100, retrying ``UnprocessedKeys``."""
    found: list[AttrMap] = []
    unique = list({schema.ident(k): k for k in keys_}.values())
    for start in range(0, len(unique), limits.BATCH_GET_MAX_KEYS):
        pending: AttrMap | None = {
            "Keys": unique[start : start + limits.BATCH_GET_MAX_KEYS],
            "ConsistentRead": ctx.consistent_read,
        }
        attempt = 0
        while pending:
            resp = yield ctx.request("batch_get_item", RequestItems={ctx.table: pending})
            found.extend(resp.get("Responses", {}).get(ctx.table, []))
            pending = resp.get("UnprocessedKeys", {}).get(ctx.table)
            if pending:
                attempt += 1
                if attempt >= limits.UNPROCESSED_MAX_ATTEMPTS:
                    raise UnavailableError(
                        f"DynamoDB left keys unprocessed on {ctx.table!r} after {attempt} "
                        "attempts; retry later"
                    )
                yield Sleep(backoff(attempt))
    return found


def read_all(ctx: TableCtx, op: str, params: dict[str, Any]) -> Flow[list[AttrMap]]:
    """Every item a Query or Scan returns, following ``LastEvaluatedKey``."""
    out: list[AttrMap] = []
    start: AttrMap | None = None
    while True:
        page = dict(params)
        if op == "scan":
            page["ConsistentRead"] = ctx.consistent_read
        if start:
            page["ExclusiveStartKey"] = start
        resp = yield ctx.request(op, **page)
        out.extend(resp.get("Items", []))
        start = resp.get("LastEvaluatedKey")
        if not start:
            return out


def query_all(
    ctx: TableCtx, pk: str, prefix: str = "", *, keys_only: bool = False, also: Sequence[str] = ()
) -> Flow[list[AttrMap]]:
    """Every item of a partition (optionally under a sort-key prefix), ascending;
    ``keys_only``: keys and the attributes ``also`` names (placeholders)."""
    params = requests.query(
        pk, prefix=prefix or None, consistent=ctx.consistent_read, keys_only=keys_only, also=also
    )
    return (yield from read_all(ctx, "query", params))
