"""Request parameters: every key condition, filter, condition and update expression the
saver and the store send (the vector index's search condition is
:mod:`~langgraph_dynamodb.store.vector_index`'s), their attribute names taken from
:mod:`~langgraph_dynamodb.schema` through placeholders. Pure; the flows add the table
name and ``ReturnConsumedCapacity`` (:meth:`~langgraph_dynamodb.flows.context.Ctx.call`).

The live-item filter is spelled here once (:data:`LIVE_FILTER`): an item is live while it
has no ``ttl`` or its ``ttl`` is after now. Readers that do not filter in DynamoDB (the
saver's, which reads chunks and expired heads alike) apply the same rule with
:func:`~langgraph_dynamodb.schema.is_expired`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph_dynamodb import schema
from langgraph_dynamodb.schema import AttrMap, n, s

Params = dict[str, Any]


LIVE_FILTER = f"attribute_not_exists({schema.N_TTL}) OR {schema.N_TTL} > :now"
"""The items whose TTL has not passed (``:now``: epoch seconds)."""


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
    also: Sequence[str] = (),
    live_at: float | None = None,
) -> Params:
    """A Query of one partition's items: all, under a sort-key prefix, or in a range;
    ``keys_only``: their keys, and the attributes ``also`` names (placeholders); with
    ``live_at`` (epoch seconds), only the items live then (:data:`LIVE_FILTER`)."""
    names = [schema.N_PK]
    values: AttrMap = {":pk": s(pk)}
    condition = f"{schema.N_PK} = :pk"
    if prefix:
        condition += f" AND begins_with({schema.N_SK}, :pre)"
        values[":pre"] = s(prefix)
        names.append(schema.N_SK)
    elif between is not None:
        condition += f" AND {schema.N_SK} BETWEEN :lo AND :hi"
        values[":lo"], values[":hi"] = s(between[0]), s(between[1])
        names.append(schema.N_SK)
    if keys_only and schema.N_SK not in names:
        names.append(schema.N_SK)
    params: Params = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": schema.names(*names),
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
        params["ProjectionExpression"] = ", ".join([schema.N_PK, schema.N_SK, *also])
        params["ExpressionAttributeNames"] |= schema.names(*also)
    if live_at is not None:
        params["FilterExpression"] = LIVE_FILTER
        params["ExpressionAttributeNames"] |= schema.names(schema.N_TTL)
        values[":now"] = n(int(live_at))
    return params


def put_new(item: AttrMap) -> Params:
    """Put an item only if no item has its key (first write wins); the old item comes
    back on failure."""
    return {
        "Item": item,
        "ConditionExpression": f"attribute_not_exists({schema.N_PK})",
        "ExpressionAttributeNames": schema.names(schema.N_PK),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def put_replacing(item: AttrMap, nonce: AttrMap) -> Params:
    """Put an item only over the version of it that had ``nonce`` (an optimistic merge)."""
    return {
        "Item": item,
        "ConditionExpression": f"{schema.N_NONCE} = :n",
        "ExpressionAttributeNames": schema.names(schema.N_NONCE),
        "ExpressionAttributeValues": {":n": nonce},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def set_expiry(key: AttrMap, expires_at: int, *, if_exists: bool = False) -> Params:
    """Set an item's TTL; with ``if_exists``, only if it is there (the new item comes back)."""
    params: Params = {
        "Key": key,
        "UpdateExpression": f"SET {schema.N_TTL} = :t",
        "ExpressionAttributeNames": schema.names(schema.N_TTL),
        "ExpressionAttributeValues": {":t": n(expires_at)},
    }
    if if_exists:
        params["ConditionExpression"] = f"attribute_exists({schema.N_PK})"
        params["ExpressionAttributeNames"] = schema.names(schema.N_TTL, schema.N_PK)
        params["ReturnValues"] = "ALL_NEW"
    return params


def refresh_expiry(key: AttrMap, expires_at: int, *, nonce: AttrMap, now: float) -> Params:
    """Extend a store item's expiry only if it is still the version read (its ``nonce``)
    and still live: never brings back an item deleted, replaced or expired meanwhile."""
    params = set_expiry(key, expires_at)
    params["ConditionExpression"] = (
        f"attribute_exists({schema.N_PK}) AND {schema.N_NONCE} = :v AND {schema.N_TTL} > :now"
    )
    params["ExpressionAttributeNames"] = schema.names(schema.N_TTL, schema.N_PK, schema.N_NONCE)
    params["ExpressionAttributeValues"] |= {":v": nonce, ":now": n(int(now))}
    return params


def scan_checkpoints() -> Params:
    """A Scan of every checkpoint-region item (``list(None)``)."""
    return {
        "FilterExpression": f"begins_with({schema.N_PK}, :t) AND begins_with({schema.N_SK}, :c)",
        "ExpressionAttributeNames": schema.names(schema.N_PK, schema.N_SK),
        "ExpressionAttributeValues": {
            ":t": s(schema.THREAD_PREFIX),
            ":c": s(schema.CHECKPOINT_PREFIX),
        },
    }


def scan_segment(
    segment: int, total: int, *, keys_only: bool, start: AttrMap | None = None
) -> Params:
    """One page of segment ``segment`` of ``total`` of a parallel Scan of the checkpoint
    region (threads' items), keys and plain thread id only when ``keys_only`` (the
    command line's ``threads`` and ``export`` read no payloads)."""
    params: Params = {
        "FilterExpression": f"begins_with({schema.N_PK}, :t)",
        "ExpressionAttributeNames": schema.names(schema.N_PK),
        "ExpressionAttributeValues": {":t": s(schema.THREAD_PREFIX)},
        "Segment": segment,
        "TotalSegments": total,
    }
    if keys_only:
        params["ProjectionExpression"] = f"{schema.N_PK}, {schema.N_SK}, {schema.N_THREAD}"
        params["ExpressionAttributeNames"] = schema.names(schema.N_PK, schema.N_SK, schema.N_THREAD)
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


def claim_fence(thread_id: str, run_id: str, expires_at: int | None) -> Params:
    """The update of a thread's fence to ``run_id``, on condition that no newer run holds
    it (run ids compare as strings; an equal one is the same run writing again); the
    fence as it was comes back when the condition fails."""
    values: AttrMap = {":r": s(run_id), ":f": s(schema.KIND_FENCE)}
    update = f"SET {schema.N_HOLDER} = :r, {schema.N_KIND} = :f"
    names = [schema.N_HOLDER, schema.N_KIND]
    if expires_at is not None:
        update += f", {schema.N_TTL} = :e"
        values[":e"] = n(expires_at)
        names.append(schema.N_TTL)
    return {
        "Key": schema.fence_key(thread_id),
        "UpdateExpression": update,
        "ConditionExpression": (
            f"attribute_not_exists({schema.N_HOLDER}) OR {schema.N_HOLDER} <= :r"
        ),
        "ExpressionAttributeNames": schema.names(*names),
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def fenced_writes(table: str, claim: Params, puts: Sequence[Mapping[str, Any]]) -> list[AttrMap]:
    """``TransactItems``: the fence's claim first, then the puts (each a PutItem's
    parameters; a conditional one gives back the item it found when its condition
    fails)."""
    items: list[AttrMap] = [{"Update": {"TableName": table, **claim}}]
    for put in puts:
        body = {"TableName": table, **put}
        if "ConditionExpression" in put:
            body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        items.append({"Put": body})
    return items


def enable_ttl() -> Params:
    """UpdateTimeToLive on the attribute the library writes expiry to."""
    return {"TimeToLiveSpecification": {"Enabled": True, "AttributeName": schema.TTL}}
