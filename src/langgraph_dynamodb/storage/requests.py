"""Request parameters: every expression the saver sends, its attribute names taken from
:mod:`~langgraph_dynamodb.keys` through placeholders. Pure; the flows add the table name
and ``ReturnConsumedCapacity`` (:meth:`~langgraph_dynamodb.flows.context.Ctx.call`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph_dynamodb import keys
from langgraph_dynamodb.storage.attrs import AttrMap, n, s

Params = dict[str, Any]


def query(
    pk: str,
    *,
    prefix: str | None = None,
    between: tuple[str, str] | None = None,
    descending: bool = False,
    limit: int | None = None,
    start: AttrMap | None = None,
    consistent: bool,
    keys_only: bool = False,
) -> Params:
    """A Query of one thread's items: all, under a sort-key prefix, or in a range."""
    names = [keys.N_PK]
    values: AttrMap = {":pk": s(pk)}
    condition = f"{keys.N_PK} = :pk"
    if prefix:
        condition += f" AND begins_with({keys.N_SK}, :pre)"
        values[":pre"] = s(prefix)
        names.append(keys.N_SK)
    elif between is not None:
        condition += f" AND {keys.N_SK} BETWEEN :lo AND :hi"
        values[":lo"], values[":hi"] = s(between[0]), s(between[1])
        names.append(keys.N_SK)
    if keys_only and keys.N_SK not in names:
        names.append(keys.N_SK)
    params: Params = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": keys.names(*names),
        "ExpressionAttributeValues": values,
        "ConsistentRead": consistent,
    }
    if descending:
        params["ScanIndexForward"] = False
    if limit is not None:
        params["Limit"] = limit
    if start:
        params["ExclusiveStartKey"] = start
    if keys_only:
        params["ProjectionExpression"] = f"{keys.N_PK}, {keys.N_SK}"
    return params


def put_new(item: AttrMap) -> Params:
    """Put an item only if no item has its key (first write wins); the old item comes
    back on failure."""
    return {
        "Item": item,
        "ConditionExpression": f"attribute_not_exists({keys.N_PK})",
        "ExpressionAttributeNames": keys.names(keys.N_PK),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def put_replacing(item: AttrMap, nonce: AttrMap) -> Params:
    """Put an item only over the version of it that had ``nonce`` (an optimistic merge)."""
    return {
        "Item": item,
        "ConditionExpression": f"{keys.N_NONCE} = :n",
        "ExpressionAttributeNames": keys.names(keys.N_NONCE),
        "ExpressionAttributeValues": {":n": nonce},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def set_expiry(key: AttrMap, expires_at: int, *, if_exists: bool = False) -> Params:
    """Set an item's TTL; with ``if_exists``, only if it is there (the new item comes back)."""
    params: Params = {
        "Key": key,
        "UpdateExpression": f"SET {keys.N_TTL} = :t",
        "ExpressionAttributeNames": keys.names(keys.N_TTL),
        "ExpressionAttributeValues": {":t": n(expires_at)},
    }
    if if_exists:
        params["ConditionExpression"] = f"attribute_exists({keys.N_PK})"
        params["ExpressionAttributeNames"] = keys.names(keys.N_TTL, keys.N_PK)
        params["ReturnValues"] = "ALL_NEW"
    return params


def scan_checkpoints() -> Params:
    """A Scan of every checkpoint-region item (``list(None)``)."""
    return {
        "FilterExpression": f"begins_with({keys.N_PK}, :t) AND begins_with({keys.N_SK}, :c)",
        "ExpressionAttributeNames": keys.names(keys.N_PK, keys.N_SK),
        "ExpressionAttributeValues": {
            ":t": s(keys.THREAD_PREFIX),
            ":c": s(keys.CHECKPOINT_PREFIX),
        },
    }


def scan_segment(
    segment: int, total: int, *, keys_only: bool, start: AttrMap | None = None
) -> Params:
    """One page of segment ``segment`` of ``total`` of a parallel Scan of the checkpoint
    region (threads' items), keys and plain thread id only when ``keys_only`` (the
    command line's ``threads`` and ``export`` read no payloads)."""
    params: Params = {
        "FilterExpression": f"begins_with({keys.N_PK}, :t)",
        "ExpressionAttributeNames": keys.names(keys.N_PK),
        "ExpressionAttributeValues": {":t": s(keys.THREAD_PREFIX)},
        "Segment": segment,
        "TotalSegments": total,
    }
    if keys_only:
        params["ProjectionExpression"] = f"{keys.N_PK}, {keys.N_SK}, {keys.N_THREAD}"
        params["ExpressionAttributeNames"] = keys.names(keys.N_PK, keys.N_SK, keys.N_THREAD)
    if start is not None:
        params["ExclusiveStartKey"] = start
    return params


def scan_table_segment(segment: int, total: int, start: AttrMap | None = None) -> Params:
    """One page of segment ``segment`` of ``total`` of a parallel Scan of every item
    (``stats`` sizes them all)."""
    params: Params = {"Segment": segment, "TotalSegments": total}
    if start is not None:
        params["ExclusiveStartKey"] = start
    return params


def scan_runs(run_ids: Sequence[str]) -> Params:
    """A Scan for heads written by some runs (at most 100 ids), keys and thread only."""
    placeholders = ", ".join(f":r{i}" for i in range(len(run_ids)))
    return {
        "FilterExpression": f"{keys.N_RUN_ID} IN ({placeholders})",
        "ExpressionAttributeNames": keys.names(keys.N_RUN_ID, keys.N_PK, keys.N_SK, keys.N_THREAD),
        "ExpressionAttributeValues": {f":r{i}": s(r) for i, r in enumerate(run_ids)},
        "ProjectionExpression": f"{keys.N_PK}, {keys.N_SK}, {keys.N_THREAD}",
    }


def enable_ttl() -> Params:
    """UpdateTimeToLive on the attribute the library writes expiry to."""
    return {"TimeToLiveSpecification": {"Enabled": True, "AttributeName": keys.TTL}}
