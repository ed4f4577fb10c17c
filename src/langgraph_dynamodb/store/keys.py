"""Every key format of the store's items, in one place (attribute names are
:mod:`langgraph_dynamodb.keys`'s, and so is the escaping).

The store shares the checkpoint table's key schema (``pk``/``sk`` strings), so it can live
in that table or in one of its own; its prefixes never meet the checkpointer's ``t#``::

    pk = m# enc(root)                        a group: every namespace under a root label
      sk = i# enc(rest) ! enc(key)           an item (rest: the labels after the root)
      sk = x# enc(rest) ! enc(key) nonce # seq   a chunk of an item's payload
      sk = v# enc(rest) ! enc(key) slot #         an item's embeddings, for the vector index
    pk = r#              sk = d# enc(root)   the root labels (append-only; ``ns``
                                             holds the label when enc is a digest)

``enc`` is :func:`langgraph_dynamodb.keys.encode_component` per label (escaped, ``#``
terminated, a digest when long). ``!`` sorts before any encoded label, so the items of a
namespace come right before those of its children, and every namespace under a prefix is
one contiguous sort-key range of its group: a search, a filtered search or a namespace
listing under any prefix of at least one label (``("memories",)``: every user's
memories) is one Query per page of one partition; ``()`` lists the roots first.

The vector index (:func:`vector_index_definition`) reads the attribute ``vec`` of vector
items (one per embedding of an item, beside it), and filters by prefix on ``ns1`` ...
``ns8``: ``ns<d>`` holds ``enc`` of the item's first ``d`` labels, so a prefix of any depth
up to ``STORE_VECTOR_PREFIX_DEPTH`` (``()`` needs none) is one equality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph_dynamodb import keys, limits
from langgraph_dynamodb.errors import InvalidInputError

Namespace = tuple[str, ...]

GROUP_PREFIX = "m#"
ITEM_PREFIX = "i#"
CHUNK_PREFIX = keys.CHUNK_PREFIX
ROOT_DIRECTORY_PK = "r#"
DIRECTORY_ENTRY = "d#"
VECTOR_PREFIX = "v#"
END_OF_NAMESPACE = "!"
"""Below every encoded label: the key follows."""

VECTOR_INDEX_NAME = "langgraph-store-vectors"
"""The store's vector index on the table."""
VECTOR_METRIC = "COSINE"
"""Its distance function: the cosine similarity ``InMemoryStore`` ranks by is 1 minus it."""
PREFIX_ATTRIBUTES = tuple(f"ns{d}" for d in range(1, limits.STORE_VECTOR_PREFIX_DEPTH + 1))
"""``ns1`` ... ``ns8``: the vector index's filter attributes, one per prefix depth."""


def _label(label: str) -> str:
    return keys.encode_component(
        label, max_bytes=limits.STORE_LABEL_KEY_BYTES, what="namespace label"
    )


def _labels(labels: Namespace) -> str:
    return "".join(_label(label) for label in labels)


GROUP_DEPTH = 1
"""How many leading labels choose an item's partition (its group): the root label, so
that every namespace under ``("memories",)`` is one sort-key range of one partition.
Fixed by the format: another depth would put the same item under another key."""


def group_of(namespace: Namespace) -> Namespace:
    """The labels that choose an item's partition: its root label."""
    return namespace[:GROUP_DEPTH]


def group_pk(group: Namespace) -> str:
    """The partition key of a group."""
    return GROUP_PREFIX + _labels(group)


def range_prefix(namespace: Namespace) -> str:
    """The sort-key prefix of every item in ``namespace`` and its children (within its
    group's partition)."""
    return ITEM_PREFIX + _labels(namespace[GROUP_DEPTH:])


def namespace_prefix(namespace: Namespace) -> str:
    """The sort-key prefix of the items of exactly ``namespace``."""
    return range_prefix(namespace) + END_OF_NAMESPACE


def item_sk(namespace: Namespace, key: str) -> str:
    """The sort key of an item.

    Raises:
        InvalidInputError: The namespace and key do not fit a DynamoDB sort key.
    """
    sk = namespace_prefix(namespace) + keys.encode_component(
        key, max_bytes=limits.STORE_LABEL_KEY_BYTES, what="key"
    )
    if len(sk.encode("utf-8")) > limits.STORE_MAX_SK_BYTES:
        raise InvalidInputError(
            f"namespace {namespace!r} with key {key[:40]!r} is too deep or long for a DynamoDB "
            f"sort key ({len(sk.encode('utf-8'))} bytes encoded, at most "
            f"{limits.STORE_MAX_SK_BYTES}); use fewer or shorter labels after the first"
        )
    return sk


def chunk_prefix(namespace: Namespace, key: str) -> str:
    """What every chunk of an item's payloads starts its nonce with: the item's own key."""
    return item_sk(namespace, key)[len(ITEM_PREFIX) :]


def chunk_range(namespace: Namespace, key: str) -> str:
    """The sort-key prefix of every chunk an item has ever had."""
    return CHUNK_PREFIX + chunk_prefix(namespace, key)


def prefix_attribute(depth: int) -> str:
    """The attribute that holds an item's first ``depth`` labels (1 to 8)."""
    return PREFIX_ATTRIBUTES[depth - 1]


def prefix_value(prefix: Namespace) -> str:
    """What ``ns<len(prefix)>`` holds for items under ``prefix``."""
    return _labels(prefix)


def prefix_attributes(namespace: Namespace) -> dict[str, dict[str, str]]:
    """The filter attributes of an item (or vector item) in ``namespace``."""
    depth = min(len(namespace), limits.STORE_VECTOR_PREFIX_DEPTH)
    return {prefix_attribute(d): {"S": _labels(namespace[:d])} for d in range(1, depth + 1)}


def vector_sk(item_sort_key: str, slot: int) -> str:
    """The sort key of an item's vector item number ``slot`` (its embeddings, in the order
    of the payload's ``e``): the item's own sort key, then the slot.

    Raises:
        InvalidInputError: It does not fit a DynamoDB sort key.
    """
    sk = VECTOR_PREFIX + item_sort_key[len(ITEM_PREFIX) :] + f"{slot}{keys.TERMINATOR}"
    if len(sk.encode("utf-8")) > limits.STORE_MAX_SK_BYTES:
        raise InvalidInputError(
            f"the item with sort key {item_sort_key[:60]!r}... is too deep or long to index "
            "(its vector items' keys would pass 1024 bytes); use fewer or shorter labels"
        )
    return sk


def item_sk_of(sk: str) -> str | None:
    """The sort key of the item an index result (a vector item) stands for; ``None`` for
    anything else."""
    if not sk.startswith(VECTOR_PREFIX):
        return None
    marker = _end_of_namespace(sk)
    if marker is None:
        return None
    parts, rest = keys.split_components(sk[marker + 1 :])
    if rest or len(parts) != 2:
        return None
    return ITEM_PREFIX + sk[len(VECTOR_PREFIX) : marker + 1] + parts[0] + keys.TERMINATOR


def vector_index_definition(dims: int) -> dict[str, Any]:
    """The store's vector index, as ``CreateTable`` (``VectorIndexes``) and
    ``UpdateTable`` (``VectorIndexUpdates`` ``Create``) take it."""
    return {
        "IndexName": VECTOR_INDEX_NAME,
        "VectorAttribute": {"AttributeName": keys.VECTOR},
        "SearchSchema": [
            {"AttributeName": a, "SearchSchemaElementType": "INLINE_FILTER"}
            for a in PREFIX_ATTRIBUTES
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "Dimensions": dims,
        "DistanceFunction": VECTOR_METRIC,
    }


def label_digested(label: str) -> bool:
    """Whether keys hold a digest of this label (it is then kept whole beside them)."""
    return keys.is_digest(_label(label)[: -len(keys.TERMINATOR)])


def directory_sk(labels: Namespace) -> str:
    """The sort key of a root's directory entry."""
    return DIRECTORY_ENTRY + _labels(labels)


@dataclass(frozen=True)
class ParsedItemKey:
    """What an item's sort key says: the labels after the group and the key, each
    ``None`` where the key holds a digest of it."""

    rest: tuple[str | None, ...]
    key: str | None


def parse_item_sk(sk: str) -> ParsedItemKey | None:
    """Invert :func:`item_sk`; ``None`` for chunks and foreign keys."""
    if not sk.startswith(ITEM_PREFIX):
        return None
    marker = _end_of_namespace(sk)
    if marker is None:
        return None
    labels, tail = keys.split_components(sk[len(ITEM_PREFIX) : marker])
    if tail:
        return None
    parts, rest = keys.split_components(sk[marker + 1 :])
    if rest or len(parts) != 1:
        return None
    try:
        return ParsedItemKey(
            tuple(keys.decode_component(c) for c in labels), keys.decode_component(parts[0])
        )
    except (StopIteration, ValueError):
        return None


def _end_of_namespace(sk: str) -> int | None:
    """The index of the ``!`` that ends the namespace labels (escapes skipped)."""
    i = len(ITEM_PREFIX)
    while i < len(sk):
        ch = sk[i]
        if ch == "$":
            i += 2
            continue
        if ch == END_OF_NAMESPACE:
            return i
        i += 1
    return None


def parse_directory_sk(sk: str) -> tuple[str | None, ...] | None:
    """The labels of a directory entry (``None`` for a digested one)."""
    if not sk.startswith(DIRECTORY_ENTRY):
        return None
    parts, rest = keys.split_components(sk[len(DIRECTORY_ENTRY) :])
    if rest:
        return None
    return tuple(keys.decode_component(c) for c in parts)
