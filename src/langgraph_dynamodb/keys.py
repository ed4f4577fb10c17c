"""Every DynamoDB key format, attribute name and expression placeholder of the checkpoint
table, in one place (the payloads inside the items are :mod:`.storage.schema`'s).

Table layout (single table, one item collection per thread)::

    pk = "t#" + enc(thread_id)
    sk = "c#" + enc(ns) + enc(checkpoint_id) + "~"                    checkpoint head
    sk = "c#" + enc(ns) + enc(checkpoint_id) + "w" + enc(task) + enc(tag)   pending writes
    sk = "x#" + nonce + "#" + seq                                       chunk of a large payload

``enc`` is an order-preserving, prefix-free escaping: characters up to ``$`` are written
as ``$`` followed by one character, every component ends with ``#``. So any string is a
valid id, lookalike ids (``t1``, ``t10``, ``t1#x``) never share a prefix, and checkpoint ids
keep their code-point order in the sort key. Components too long for DynamoDB's key limits
are replaced by a digest (``$~`` + 32 hex characters) and the plain value is kept in an
attribute.

Within a namespace, ascending sort-key order is::

    [writes of A][head of A][writes of B][head of B] ...   (A < B)

so a descending Query from a head returns that head, then its pending writes, then older
heads: a checkpoint and its writes come back in one request, latest or by id.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from langgraph_dynamodb import limits
from langgraph_dynamodb.errors import InvalidInputError

# --- attribute names (short: attribute names count toward item size) -------------------
PK = "pk"
SK = "sk"
PAYLOAD = "p"  # B: the (optionally compressed) msgpack payload
CODEC = "z"  # S: compression codec of PAYLOAD; absent = uncompressed
FORMAT = "v"  # N: payload format version; absent = format 1 (storage.schema.FORMAT_VERSION)
KIND = "k"  # S: item kind, see KIND_* below
PARENT = "pa"  # B or S: parent checkpoint id (heads only), see id_attr
RUN_ID = "rid"  # S: metadata run_id (heads only), for delete_for_runs
THREAD = "tid"  # S: plain thread id, only when the partition key is a digest
NAMESPACE = "ns"  # S: plain namespace, only when its key component is a digest
CHUNKS = "ch"  # L: [nonce, count, total_bytes, digest] when PAYLOAD lives in chunk items
NONCE = "n"  # S: per-write nonce, for optimistic merges of regular writes
TTL = "ttl"  # N: epoch seconds after which the item is expired
VECTOR = "vec"  # L of N: an embedding in a store vector item, what the vector index reads
VECTOR_ITEMS = "vn"  # N: how many vector items a store item has (one per embedding)

KIND_CHECKPOINT = "c"
KIND_WRITES = "w"
KIND_CHUNK = "x"
KIND_MEMORY = "m"  # a store item (store/keys.py spells its keys)
KIND_DIRECTORY = "d"  # a store directory entry
KIND_VECTOR = "v"  # a store item's embedding as the vector index reads it (store/keys.py)

# --- expression placeholders: expressions name attributes only through these ------------
N_PK, N_SK, N_TTL, N_NONCE, N_RUN_ID, N_THREAD = "#pk", "#sk", "#ttl", "#n", "#rid", "#tid"
NAMES = {N_PK: PK, N_SK: SK, N_TTL: TTL, N_NONCE: NONCE, N_RUN_ID: RUN_ID, N_THREAD: THREAD}
"""``ExpressionAttributeNames`` of every expression (pass only the ones an expression uses)."""


def names(*placeholders: str) -> dict[str, str]:
    """The ``ExpressionAttributeNames`` for these placeholders."""
    return {p: NAMES[p] for p in placeholders}


# --- key prefixes -----------------------------------------------------------------------
THREAD_PREFIX = "t#"
CHECKPOINT_PREFIX = "c#"
CHUNK_PREFIX = "x#"
HEAD_MARK = "~"
WRITES_MARK = "w"
TERMINATOR = "#"
_ESCAPE = "$"
_DIGEST_MARK = "$~"
REGULAR_TAG = "r"


def _escape(value: str) -> str:
    if not value or min(value) > _ESCAPE:  # nothing to escape: the usual case, no loop
        return value
    out: list[str] = []
    for ch in value:
        if ch <= _ESCAPE:
            out.append(_ESCAPE + chr(0x40 + ord(ch)))
        else:
            out.append(ch)
    return "".join(out)


def _unescape(value: str) -> str:
    if _ESCAPE not in value:
        return value
    out: list[str] = []
    it = iter(value)
    for ch in it:
        if ch == _ESCAPE:
            nxt = next(it)
            out.append(chr(ord(nxt) - 0x40))
        else:
            out.append(ch)
    return "".join(out)


def _digest(value: str) -> str:
    return _DIGEST_MARK + hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def _utf8_len(value: str, what: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} {value!r} is not valid Unicode (it contains a lone surrogate); "
            "use a string that encodes to UTF-8"
        ) from exc


def encode_component(value: str, *, max_bytes: int, what: str) -> str:
    """Encode one key component, terminated by ``#``.

    Args:
        value: The plain id.
        max_bytes: Longest escaped form kept literally; longer values become a digest.
        what: Name of the id, for error messages.

    Returns:
        The escaped (or digested) component, ending with ``#``.
    """
    _utf8_len(value, what)
    escaped = _escape(value)
    if len(escaped.encode("utf-8")) > max_bytes:
        escaped = _digest(value)
    return escaped + TERMINATOR


def is_digest(component: str) -> bool:
    """Whether an encoded component (without terminator) is a digest."""
    return component.startswith(_DIGEST_MARK)


def split_components(rest: str) -> tuple[list[str], str]:
    """Split leading ``#``-terminated components off an encoded key remainder.

    Returns:
        The encoded components (without terminators) and the unparsed remainder,
        which starts right after the last terminator.
    """
    if _ESCAPE not in rest:  # the usual case: nothing escaped, split on terminators
        parts = rest.split(TERMINATOR)
        return parts[:-1], parts[-1]
    parts = []
    start = 0
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch == _ESCAPE:
            i += 2
            continue
        if ch == TERMINATOR:
            parts.append(rest[start:i])
            start = i + 1
        i += 1
    return parts, rest[start:]


def decode_component(component: str) -> str | None:
    """Invert :func:`encode_component` (without terminator); ``None`` for a digest."""
    if is_digest(component):
        return None
    return _unescape(component)


def id_attr(value: str) -> dict[str, Any]:
    """A checkpoint id as an attribute value: the 16 bytes of a UUID written in its
    canonical form (LangGraph's ids: 18 bytes stored instead of 38), any other id as
    a string."""
    if len(value) == 36:
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
        if parsed is not None and str(parsed) == value:
            return {"B": parsed.bytes}
    return {"S": value}


def id_from_attr(attr: Any) -> str | None:
    """Invert :func:`id_attr`; ``None`` when absent or malformed."""
    if not isinstance(attr, dict):
        return None
    if "S" in attr:
        return str(attr["S"])
    if "B" in attr and len(attr["B"]) == 16:
        return str(uuid.UUID(bytes=bytes(attr["B"])))
    return None


# --- validation -------------------------------------------------------------------------
def require_id(value: Any, what: str, *, allow_empty: bool = False) -> str:
    """Check that an id from a config is a string, and non-empty unless allowed."""
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{what} must be a string, got {type(value).__name__} {value!r}; "
            f"pass it as config['configurable']['{what}'] = str(...)"
        )
    if not value and not allow_empty:
        raise InvalidInputError(f"{what} must be a non-empty string")
    return value


# --- keys -------------------------------------------------------------------------------
def thread_pk(thread_id: str) -> str:
    """Partition key of a thread."""
    return THREAD_PREFIX + encode_component(
        thread_id, max_bytes=limits.MAX_THREAD_KEY_BYTES, what="thread_id"
    )


def ns_prefix(checkpoint_ns: str) -> str:
    """Sort-key prefix shared by every item of one namespace of a thread."""
    return CHECKPOINT_PREFIX + encode_component(
        checkpoint_ns, max_bytes=limits.MAX_COMPONENT_KEY_BYTES, what="checkpoint_ns"
    )


def checkpoint_component(checkpoint_id: str) -> str:
    """Encoded checkpoint id; never digested, because its order matters."""
    _utf8_len(checkpoint_id, "checkpoint_id")
    enc = _escape(checkpoint_id) + TERMINATOR
    if len(enc.encode("utf-8")) > limits.MAX_CHECKPOINT_ID_BYTES:
        raise InvalidInputError(
            f"checkpoint_id is {len(checkpoint_id)} characters long; at most "
            f"{limits.MAX_CHECKPOINT_ID_BYTES} bytes once escaped are supported "
            "(LangGraph's own ids are 36)"
        )
    return enc


def checkpoint_prefix(checkpoint_ns: str, checkpoint_id: str) -> str:
    """Sort-key prefix of one checkpoint: its head and all its writes."""
    return ns_prefix(checkpoint_ns) + checkpoint_component(checkpoint_id)


def head_sk(checkpoint_ns: str, checkpoint_id: str) -> str:
    """Sort key of a checkpoint head item."""
    return checkpoint_prefix(checkpoint_ns, checkpoint_id) + HEAD_MARK


def write_tag(idx: int) -> str:
    """Tag of a writes item: ``r`` for regular writes, the index for special ones."""
    return REGULAR_TAG if idx >= 0 else str(idx)


def writes_sk(checkpoint_ns: str, checkpoint_id: str, task_id: str, tag: str) -> str:
    """Sort key of a writes item (one per task and tag)."""
    return (
        checkpoint_prefix(checkpoint_ns, checkpoint_id)
        + WRITES_MARK
        + encode_component(task_id, max_bytes=limits.MAX_COMPONENT_KEY_BYTES, what="task_id")
        + tag
        + TERMINATOR
    )


def task_id_digested(task_id: str) -> bool:
    """Whether a writes key holds a digest of this task id (it is then kept in the payload)."""
    component = encode_component(task_id, max_bytes=limits.MAX_COMPONENT_KEY_BYTES, what="task_id")
    return is_digest(component[: -len(TERMINATOR)])


def chunk_sk(nonce: str, seq: int) -> str:
    """Sort key of one chunk of a large payload."""
    return f"{CHUNK_PREFIX}{nonce}{TERMINATOR}{seq:05d}"


def range_end(prefix: str) -> str:
    """Smallest string greater than every string starting with ``prefix``.

    Every prefix used here ends with ``#`` or ``~``; bumping the last character gives a
    bound that no key of the range reaches.
    """
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class ParsedKey:
    """What a sort key says about its item."""

    kind: str
    ns_component: str
    checkpoint_id: str
    task_component: str | None = None
    tag: str | None = None


def parse_sk(sk: str) -> ParsedKey | None:
    """Parse a checkpoint-region sort key; ``None`` for chunks and foreign keys."""
    if not sk.startswith(CHECKPOINT_PREFIX):
        return None
    parts, rest = split_components(sk[len(CHECKPOINT_PREFIX) :])
    try:
        if len(parts) == 2 and rest == HEAD_MARK:
            cp = decode_component(parts[1])
            if cp is None:
                return None
            return ParsedKey(KIND_CHECKPOINT, parts[0], cp)
        if rest == "" and len(parts) == 4 and parts[2].startswith(WRITES_MARK):
            cp = decode_component(parts[1])
            if cp is None:
                return None
            return ParsedKey(KIND_WRITES, parts[0], cp, parts[2][len(WRITES_MARK) :], parts[3])
    except (StopIteration, ValueError):
        return None
    return None


def decode_thread_pk(pk: str) -> str | None:
    """Invert :func:`thread_pk`; ``None`` for a digest or a foreign key."""
    if not pk.startswith(THREAD_PREFIX) or not pk.endswith(TERMINATOR):
        return None
    try:
        return decode_component(pk[len(THREAD_PREFIX) : -1])
    except (StopIteration, ValueError):
        return None


# --- the table --------------------------------------------------------------------------
def create_table_params(table_name: str) -> dict[str, Any]:
    """CreateTable parameters of the checkpoint table (on-demand, encrypted).

    The IaC templates in ``examples/`` declare the same table; a test compares them.
    """
    return {
        "TableName": table_name,
        "KeySchema": [
            {"AttributeName": PK, "KeyType": "HASH"},
            {"AttributeName": SK, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": PK, "AttributeType": "S"},
            {"AttributeName": SK, "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }


EXPECTED_KEY_SCHEMA = {(PK, "HASH", "S"), (SK, "RANGE", "S")}
