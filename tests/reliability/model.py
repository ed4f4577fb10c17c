"""The reference model (InMemorySaver) and the checks shared by the crash and model tests.

``InMemorySaver`` of langgraph-checkpoint 4.3 has no ``prune``, ``copy_thread`` or
``delete_for_runs``; :func:`model_prune`, :func:`model_copy_thread` and
:func:`model_delete_for_runs` give it the behaviour the conformance suite specifies.

A *snapshot* maps ``(thread, ns, checkpoint id)`` to the normalized tuple a saver shows
for it. Pending writes are kept in groups, one per DynamoDB item, because that is the
unit that is atomic: all regular writes of one task (``put_writes`` stores them in one
item) or one write to a special channel (``__error__``, ``__interrupt__``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.checkpoint.base import WRITES_IDX_MAP, BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_dynamodb import schema
from langgraph_dynamodb.storage import items as it

Key = tuple[str, str, str]
"""(thread id, namespace, checkpoint id)."""


# --- the model's missing operations ------------------------------------------------------------
def _drop_checkpoint(model: InMemorySaver, thread: str, ns: str, cp_id: str) -> None:
    model.storage[thread][ns].pop(cp_id, None)
    model.writes.pop((thread, ns, cp_id), None)


def model_prune(model: InMemorySaver, thread_ids: Sequence[str], strategy: str) -> None:
    """``keep_latest``: keep the newest checkpoint of each namespace, with its writes;
    ``delete``: delete the threads."""
    for thread in thread_ids:
        if strategy == "delete":
            model.delete_thread(thread)
            continue
        for ns, cps in list(model.storage.get(thread, {}).items()):
            if not cps:
                continue
            latest = max(cps)
            for cp_id in [c for c in cps if c != latest]:
                _drop_checkpoint(model, thread, ns, cp_id)


def model_copy_thread(model: InMemorySaver, source: str, target: str) -> None:
    """Copy every checkpoint, write and value of ``source`` to ``target``."""
    for ns, cps in list(model.storage.get(source, {}).items()):
        for cp_id, saved in cps.items():
            model.storage[target][ns][cp_id] = saved
    for (thread, ns, cp_id), writes in list(model.writes.items()):
        if thread == source:
            model.writes[(target, ns, cp_id)] = dict(writes)
    for (thread, ns, ch, ver), blob in list(model.blobs.items()):
        if thread == source:
            model.blobs[(target, ns, ch, ver)] = blob


def model_delete_for_runs(model: InMemorySaver, run_ids: Sequence[str]) -> None:
    """Delete the checkpoints (and their writes) whose metadata ``run_id`` is listed."""
    wanted = set(run_ids)
    for thread, by_ns in list(model.storage.items()):
        for ns, cps in list(by_ns.items()):
            for cp_id, (_, metadata, _) in list(cps.items()):
                if model.serde.loads_typed(metadata).get("run_id") in wanted:
                    _drop_checkpoint(model, thread, ns, cp_id)


# --- snapshots --------------------------------------------------------------------------------
def write_groups(pending: Iterable[tuple[str, str, Any]]) -> dict[tuple[str, str], list[Any]]:
    """Pending writes by atomic unit: (task, "") for a task's regular writes, (task,
    channel) for a special channel."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for task, channel, value in pending:
        unit = (task, channel if channel in WRITES_IDX_MAP else "")
        groups.setdefault(unit, []).append((channel, value))
    return groups


def normalize(tup: CheckpointTuple) -> dict[str, Any]:
    """What must be equal between two savers for one checkpoint."""
    parent = tup.parent_config["configurable"]["checkpoint_id"] if tup.parent_config else None
    return {
        "checkpoint": tup.checkpoint,
        "metadata": tup.metadata,
        "parent": parent,
        "writes": write_groups(tup.pending_writes or []),
        "order": [(t, c) for t, c, _ in tup.pending_writes or []],
    }


def key_of(tup: CheckpointTuple) -> Key:
    conf = tup.config["configurable"]
    return (conf["thread_id"], conf.get("checkpoint_ns", ""), conf["checkpoint_id"])


def snapshot(saver: BaseCheckpointSaver, threads: Iterable[str]) -> dict[Key, dict[str, Any]]:
    """Every visible checkpoint of the threads, normalized (sync API)."""
    out: dict[Key, dict[str, Any]] = {}
    for thread in threads:
        for tup in saver.list({"configurable": {"thread_id": thread}}):
            out[key_of(tup)] = normalize(tup)
    return out


def by_namespace(keys_: Iterable[Key]) -> dict[tuple[str, str], list[str]]:
    """Checkpoint ids per (thread, ns), ascending."""
    out: dict[tuple[str, str], list[str]] = {}
    for thread, ns, cp in keys_:
        out.setdefault((thread, ns), []).append(cp)
    for ids in out.values():
        ids.sort()
    return out


def is_oldest_prefix(part: Iterable[Key], whole: Iterable[Key]) -> bool:
    """Whether, in each namespace, ``part`` holds the oldest checkpoints of ``whole``."""
    whole_ns = by_namespace(whole)
    for ns, ids in by_namespace(part).items():
        if ids != whole_ns.get(ns, [])[: len(ids)]:
            return False
    return True


# --- the raw table ----------------------------------------------------------------------------
def raw_items(client: Any, table: str, thread: str) -> list[dict[str, Any]]:
    """Every item of a thread's partition, read without the saver."""
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": schema.thread_pk(thread)}},
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**params)
        out.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return out
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def orphans(raw: Sequence[Mapping[str, Any]]) -> list[str]:
    """Sort keys of leftovers: writes whose checkpoint head is gone, chunks nothing
    refers to."""
    heads: set[tuple[str, str]] = set()
    nonces: set[str] = set()
    writes: list[tuple[str, str, str]] = []
    chunks: list[tuple[str, str]] = []
    for item in raw:
        sk = item[schema.SK]["S"]
        if sk.startswith(schema.CHUNK_PREFIX):
            chunks.append((sk, sk[len(schema.CHUNK_PREFIX) :].split("#", 1)[0]))
            continue
        decoded = it.decode_item(dict(item))
        if decoded is None:
            continue
        if decoded.chunk_ref is not None:
            nonces.add(decoded.chunk_ref.nonce)
        if isinstance(decoded, it.Head):
            heads.add((decoded.ns_component, decoded.checkpoint_id))
        else:
            writes.append((sk, decoded.ns_component, decoded.checkpoint_id))
    left = [sk for sk, ns, cp in writes if (ns, cp) not in heads]
    left += [sk for sk, nonce in chunks if nonce not in nonces]
    return left
