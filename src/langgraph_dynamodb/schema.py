"""The stored format, whole: every key, attribute, marker, payload field, chunk layout,
codec name, digest and format version of what langgraph-dynamodb writes, for the
checkpointer and the store alike. This docstring is the format's specification;
``docs/table-design.md`` is checked against this module by a test. Pure: no I/O.

**The table.** One key schema for every item kind: ``pk`` (S, hash) and ``sk`` (S,
range), on-demand, encrypted at rest (:func:`create_table_params`). The checkpointer, the
store and the node cache may share a table: their partition keys never meet (``t#`` and
``u#``; ``m#`` and ``r#``; ``n#`` and ``q#``). TTL is the attribute ``ttl`` (epoch seconds);
readers treat an item whose ``ttl`` has passed as absent (DynamoDB deletes expired items
lazily).

**Checkpointer items** (one partition per thread)::

    pk = "t#" enc(thread_id)
      sk = "c#" enc(ns) enc(checkpoint_id) "~"                    a checkpoint head
      sk = "c#" enc(ns) enc(checkpoint_id) "w" enc(task) tag "#"  a task's pending writes
      sk = "x#" nonce "#" seq                                     a chunk of a large payload

``tag`` is ``r`` for a task's regular writes, the (negative) index of a special write
otherwise. Within a namespace, ascending sort-key order is
``[writes of A][head of A][writes of B][head of B]...`` for ``A < B``, so a descending
Query from a head returns the head, then its writes, then older heads.

**Store items** (one partition per root label)::

    pk = "m#" enc(root)                      a group: every namespace under a root label
      sk = "i#" enc(rest) "!" enc(key)       an item (rest: the labels after the root)
      sk = "x#" enc(rest) "!" enc(key) nonce "#" seq     a chunk of an item's payload
      sk = "v#" enc(rest) "!" enc(key) slot "#"          an embedding, for the vector index
    pk = "r#"    sk = "d#" enc(root)         the root labels (append-only)

``!`` sorts below every encoded label, so a namespace's items come right before its
children's, and every namespace under a prefix of at least one label is one contiguous
sort-key range of one partition.

**Node cache items** (one partition per namespace)::

    pk = "n#" enc(label)...                  a cache namespace
      sk = "e#" enc(key)                     an entry
      sk = "x#" enc(key) nonce "#" seq       a chunk of an entry's payload
    pk = "q#"    sk = "d#" pk                the namespaces ever written (append-only)

**Tombstones** (one per deleted namespace)::

    pk = "t#" enc(thread_id)
      sk = "c#" enc(ns) U+10FFFF              wm: lineages up to it were deleted

Every head carries its **lineage** (``lr``): the id of the root checkpoint its parent
chain starts from (a root's own id), inherited by each child. ``delete_thread`` writes a
tombstone per namespace first (the root namespace always), its watermark the highest
lineage and id deleted, or a checkpoint id made at the deletion if higher, then
deletes. A reader of a namespace meets the tombstone first (the highest sort key) and
treats every head of a lineage up to the watermark as deleted: a late ``put`` of a run
that was in flight (its parent deleted, or a child of such a put) never makes the thread
readable again. A new run starts a lineage after the watermark. A tombstone outlives what
it hides: no expiry without a TTL, else twice the TTL or
``limits.TOMBSTONE_TTL_SECONDS``, whichever is longer.

**Fences** (``fencing=True``)::

    pk = "t#" enc(thread_id)
      sk = "f#"                              ho: the newest run that wrote to the thread

Every ``put`` and ``put_writes`` of a fencing saver is one TransactWriteItems: an update of
the fence, on condition that no newer run holds the thread (run ids compare as strings:
LangGraph's Agent Server makes uuid7, time-ordered), then the items. A superseded run's
write fails whole. The fence stays when the thread is deleted (a late write of an older
run is still refused) and expires with the thread's items.

**Run markers** (one partition per run)::

    pk = "u#" enc(run_id)
      sk = "t#" enc(thread_id)               the run wrote checkpoints in this thread

A run's first ``put`` in a thread (as far as the writing process knows) writes its marker
in the same BatchWriteItem as the head; ``delete_for_runs`` Queries the markers of each
run instead of scanning the table. A marker expires a TTL after the head it was written
with, and is written again before a later head of its run would outlive it.

**Thread directory** (a few partitions: threads newest first without a Scan)::

    pk = "a#" shard                          shard: a digit, the thread's shard
      sk = enc(period) enc(thread_id)        the thread wrote root checkpoints then
    pk = "a#"    sk = "complete"             every thread of the table has its entries

A thread's shard is the first byte of the :func:`digest` of its id, modulo
:data:`DIRECTORY_SHARDS`. A ``period`` is the quarter hour (:data:`ACTIVITY_PERIOD_SECONDS`)
a checkpoint id's time falls in, as ``YYYY-MM-DDTHH:MM`` (UTC), or the empty string for an
id without a time (LangGraph's ids are UUID v6). A ``put`` in the root namespace writes its
thread's entry for its checkpoint's period when the checkpoint has no parent or its parent
is of another period, in the same request as the head: a thread's entries are the periods
its root checkpoints entered, and one period twice is one item. The entry of the period of
the thread's latest root checkpoint is its **current** entry; readers skip the others
(stale: the thread wrote later). An entry expires :data:`ACTIVITY_PERIOD_SECONDS` after the
head written with it, so after every head of its period. ``delete_thread`` deletes the
entries of the periods of its root heads; ``copy_thread`` writes the copy's current entry.
The ``complete`` item says the directory lists every thread: ``setup()`` writes it with
the table it creates, ``langgraph-dynamodb index-threads`` once it has written the entries
of a table written before the directory; without it, a reader lists threads by a Scan.

**Components** (``enc``): an order-preserving, prefix-free escaping. Characters up to
``$`` are written as ``$`` and one character (``chr(0x40 + code)``); every component ends
with ``#``. A component longer than its limit (``limits.MAX_THREAD_KEY_BYTES``,
``MAX_COMPONENT_KEY_BYTES``, ``STORE_LABEL_KEY_BYTES``) is replaced by ``$~`` and the hex
of its :func:`digest`, and the plain value is kept in an attribute (``tid``, ``ns``) or the
payload. Checkpoint ids are never digested: their order matters.

**Attributes**:

====== ==== ==================================================================
name   type meaning
====== ==== ==================================================================
pk     S    partition key
sk     S    sort key
k      S    item kind: ``c`` head, ``w`` writes, ``x`` chunk, ``m`` memory, ``d``
            directory entry, ``v`` vector item, ``e`` cache entry, ``u`` run marker,
            ``f`` fence, ``z`` tombstone, ``a`` thread directory entry
p      B    the payload: msgpack, then compressed (see ``z``)
z      S    the payload's codec (``zstd``, ``zstd+d1``); absent: not compressed
v      N    the payload's format version; absent: format 1 (:data:`FORMAT_VERSION`)
ch     L    ``[nonce, count, total_bytes, digest_hex]`` when the payload is in chunks
pa     B/S  a head's parent checkpoint id (16 bytes of a UUID, else the string)
rid    S    a head's ``metadata["run_id"]`` (what ``delete_for_runs`` looks for)
tid    S    the thread id, when ``pk`` holds a digest of it
ns     S    the checkpoint namespace (or a store root label) when its key holds a digest
n      B    a nonce per write, 8 random bytes (what an optimistic merge or a TTL refresh is
            conditional on; compared as read, so a string nonce of an older build works)
ttl    N    epoch seconds after which the item is expired
vn     N    how many vector items a store item has
ho     S    a fence's holder: the newest run that wrote to its thread
lr     B/S  a head's lineage: its root checkpoint's id (as ``pa``)
wm     S    a tombstone's watermark: heads of lineages up to it are deleted
vec    L    a vector item's embedding (``L`` of ``N``), what the vector index reads
ns1-8  S    a vector item's first 1 to 8 labels (encoded), the index's prefix filters
====== ==== ==================================================================

**Payloads** (msgpack maps; ``[type, bytes]`` is a value through the serializer)::

    head     {"c": [type, bytes],                 the checkpoint without values and id
              "m": [type, bytes],                 its metadata
              "s": {ch: [type, bytes] | None},    values stored whole (None: removed)
              "sv": {ch: version},                versions of the channels stored here
              "r": {ch: [holder, depth]},         unchanged channels: where they are
              "d": {ch: [base, base_len, floor, type, bytes]},   appended list tails
              "dw": {ch: [base | None, base_len, floor,          appended list tails that
                          checkpoint_id, [[task_id, idx], ...]]}} are the parent's writes
    writes   {"p": task_path, "w": [[idx, channel, type, bytes], ...],
              "t": task_id}                       only when the key holds a digest of it
    memory   {"n": [label, ...], "k": key, "v": [type, bytes],
              "c": created, "u": updated,         microseconds since the epoch (UTC)
              "t": ttl_minutes,                   only with a TTL
              "e": {path: float32 bytes}}         only when indexed (little-endian)
    cache    [type, bytes, expires | None]       expires: epoch seconds, exact

**Tails from writes.** When a list channel's appended elements are exactly what its
parent checkpoint's tasks wrote to it (LangGraph applies a step's writes to the next
checkpoint), the head refers to those pending writes (``dw``) instead of storing the
elements again: each listed regular write contributes its list's elements (a value that
is not a list: itself, one element), and the tail is a msgpack array of their encodings,
back to back. ``base`` ``None`` means the whole value is that tail. The writes sort just
below the parent's head, so the read that reaches the parent brings them. A writer refers
only to writes it knows are stored (written by it, or read), never with a TTL (the
writes expire on their own clock) and never with an encrypting serializer.

**Chunks.** A payload over ``limits.MAX_INLINE_PAYLOAD_BYTES`` once compressed is cut
into ``limits.CHUNK_BYTES`` pieces, written first as ``x#`` items; the item that refers
to them (``ch``) is written last, so a crash leaves unreferenced chunks, never a head
without its payload. The reference's digest detects a chunk that is missing, truncated
or from another write.

**Codecs.** ``zstd``: zstd frames. ``zstd+d1``: zstd frames made with the dictionary
``zstd_d1.bin`` (sha256 :data:`ZSTD_D1_SHA256`), shipped with every version, forever:
items compressed with it are unreadable without exactly those bytes.

**Digests.** One function, :func:`digest`: the first 16 bytes of SHA-256. Keys hold its
hex (``$~`` + 32 hex characters), chunk lists its hex, list shapes its bytes.

**Format versions.** :data:`FORMAT_VERSION` is 1, written as no ``v`` attribute. A
reader refuses an item of another version with advice to upgrade
(:func:`check_format`); docs/compatibility.md is the policy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph_dynamodb import limits
from langgraph_dynamodb.errors import CorruptItemError, InvalidInputError

AttrMap = dict[str, Any]
"""A raw item (or key) as the low-level client takes and returns it."""

TypedValue = tuple[str, bytes]
"""A value through the serializer: its type name and bytes."""

Namespace = tuple[str, ...]
"""A store namespace."""

# --- format version and codecs ----------------------------------------------------------
FORMAT_VERSION = 1
"""The payload format this version writes and reads (written as no ``v`` attribute)."""

CODEC_ZSTD = "zstd"
"""Codec name of plain zstd frames."""
CODEC_ZSTD_D1 = "zstd+d1"
"""Codec name of zstd frames made with the built-in dictionary ``zstd_d1.bin``."""
ZSTD_D1_FILE = "zstd_d1.bin"
"""The dictionary of ``zstd+d1``, shipped in the package."""
ZSTD_D1_SHA256 = "7123b8066f9aae2533fe0a412c7787b6cc7b4dd121ca5f74fe17af6ca008c894"
"""Its SHA-256: items compressed with it need exactly these bytes."""


NONCE_BYTES = 8
"""Random bytes of a write's nonce (``n``): a collision needs two writes of one item to
draw the same 64 bits."""


def new_nonce() -> dict[str, bytes]:
    """A fresh nonce attribute for an item being written."""
    return {"B": secrets.token_bytes(NONCE_BYTES)}


# --- the digest -------------------------------------------------------------------------
def digest(*parts: bytes | memoryview) -> bytes:
    """The one digest of the format: the first 16 bytes of SHA-256 of the parts, joined.

    Keys and chunk lists hold its hex, list shapes its bytes.
    """
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.digest()[:16]


def check_format(item: AttrMap, what: str) -> None:
    """Refuse an item of a format version this version does not read.

    Raises:
        CorruptItemError: The item says it is of another format (names ``what`` and the
            fix: upgrade).
    """
    if FORMAT in item and get_n(item, FORMAT) != FORMAT_VERSION:
        raise CorruptItemError(
            f"{what} has payload format {item[FORMAT]!r}, which this version of "
            f"langgraph-dynamodb does not read (it reads format {FORMAT_VERSION}); "
            "upgrade langgraph-dynamodb"
        )


# --- attribute names (short: attribute names count toward item size) -------------------
PK = "pk"
SK = "sk"
PAYLOAD = "p"  # B: the (optionally compressed) msgpack payload
CODEC = "z"  # S: compression codec of PAYLOAD; absent = uncompressed
FORMAT = "v"  # N: payload format version; absent = format 1 (FORMAT_VERSION)
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
HOLDER = "ho"  # S: the run that holds a thread (its fence item, with fencing=True)
LINEAGE = "lr"  # B or S: a head's lineage: its root checkpoint's id (see id_attr)
WATERMARK = "wm"  # S: a tombstone's watermark: lineages up to it were deleted

KIND_CHECKPOINT = "c"
KIND_WRITES = "w"
KIND_CHUNK = "x"
KIND_MEMORY = "m"  # a store item
KIND_DIRECTORY = "d"  # a store directory entry
KIND_VECTOR = "v"  # a store item's embedding as the vector index reads it
KIND_CACHE = "e"  # a node cache entry
KIND_RUN = "u"  # a run marker: a run wrote checkpoints in a thread
KIND_FENCE = "f"  # a thread's fence: the run that holds it (fencing=True)
KIND_TOMBSTONE = "z"  # a namespace's tombstone: its lineages up to a watermark were deleted
KIND_ACTIVITY = "a"  # a thread directory entry: a thread wrote root checkpoints in a period

# --- expression placeholders: expressions name attributes only through these ------------
N_PK, N_SK, N_TTL, N_NONCE, N_RUN_ID, N_THREAD = "#pk", "#sk", "#ttl", "#n", "#rid", "#tid"
N_HOLDER, N_KIND, N_WATERMARK, N_LINEAGE, N_NAMESPACE = "#ho", "#k", "#wm", "#lr", "#ns"
NAMES = {
    N_PK: PK,
    N_SK: SK,
    N_TTL: TTL,
    N_NONCE: NONCE,
    N_RUN_ID: RUN_ID,
    N_THREAD: THREAD,
    N_HOLDER: HOLDER,
    N_KIND: KIND,
    N_WATERMARK: WATERMARK,
    N_LINEAGE: LINEAGE,
    N_NAMESPACE: NAMESPACE,
}
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


# --- attribute values -------------------------------------------------------------------
def s(value: str) -> dict[str, str]:
    """A string attribute."""
    return {"S": value}


def n(value: int) -> dict[str, str]:
    """A number attribute."""
    return {"N": str(value)}


def get_s(item: AttrMap, name: str) -> str | None:
    """A string attribute's value, if the item has one by that name."""
    attr = item.get(name)
    value = attr.get("S") if isinstance(attr, dict) else None
    return value if isinstance(value, str) else None


def get_n(item: AttrMap, name: str) -> int | None:
    """A number attribute's value (as an int), if present and numeric."""
    attr = item.get(name)
    if isinstance(attr, dict) and "N" in attr:
        try:
            return int(float(attr["N"]))
        except (TypeError, ValueError):
            return None
    return None


def get_b(item: AttrMap, name: str) -> bytes | None:
    """A binary attribute's value, if present."""
    attr = item.get(name)
    if isinstance(attr, dict) and "B" in attr:
        return bytes(attr["B"])
    return None


def key(pk: str, sk: str) -> AttrMap:
    """A primary key."""
    return {PK: s(pk), SK: s(sk)}


def key_of(item: AttrMap) -> AttrMap:
    """The primary key of a raw item."""
    return {PK: item[PK], SK: item[SK]}


def ident(item: AttrMap) -> tuple[str, str]:
    """The partition and sort key of a raw item or key, as a hashable pair."""
    return item[PK]["S"], item[SK]["S"]


def sk_of(item: AttrMap) -> str:
    """The sort key of a raw item."""
    return str(item[SK]["S"])


def is_expired(item: AttrMap, now: float) -> bool:
    """Whether an item's TTL has passed (DynamoDB deletes expired items lazily, so
    readers treat them as absent themselves)."""
    expires = get_n(item, TTL)
    return expires is not None and expires <= now


def with_expiry(item: AttrMap, expires_at: int | None) -> AttrMap:
    """A copy of an item with its TTL set (or removed)."""
    out = dict(item)
    out.pop(TTL, None)
    if expires_at is not None:
        out[TTL] = n(expires_at)
    return out


def approx_size(item: AttrMap) -> int:
    """About what DynamoDB bills an item's size at, in bytes: its names, and its string
    and binary values by length (numbers, lists and maps at a flat 8 bytes, which is
    close for the few small ones the library writes beside its payloads)."""
    total = 0
    for name, value in item.items():
        total += len(name)
        if "B" in value:
            total += len(value["B"])
        elif "S" in value:
            total += len(value["S"].encode("utf-8"))
        else:
            total += 8
    return total


# --- components -------------------------------------------------------------------------
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


def _digest_component(value: str) -> str:
    return _DIGEST_MARK + digest(value.encode("utf-8")).hex()


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
        escaped = _digest_component(value)
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


# --- checkpointer keys ------------------------------------------------------------------
def thread_pk(thread_id: str) -> str:
    """Partition key of a thread."""
    return THREAD_PREFIX + encode_component(
        thread_id, max_bytes=limits.MAX_THREAD_KEY_BYTES, what="thread_id"
    )


def checkpoint_ns_prefix(checkpoint_ns: str) -> str:
    """Sort-key prefix shared by every item of one namespace of a thread."""
    return CHECKPOINT_PREFIX + encode_component(
        checkpoint_ns, max_bytes=limits.MAX_COMPONENT_KEY_BYTES, what="checkpoint_ns"
    )


def checkpoint_component(checkpoint_id: str) -> str:
    """Encoded checkpoint id; never digested, because its order matters."""
    _utf8_len(checkpoint_id, "checkpoint_id")
    if checkpoint_id.startswith(TOMBSTONE_MARK):
        raise InvalidInputError(
            "checkpoint_id may not start with U+10FFFF (it marks a namespace's tombstone)"
        )
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
    return checkpoint_ns_prefix(checkpoint_ns) + checkpoint_component(checkpoint_id)


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


# --- tombstones -------------------------------------------------------------------------
TOMBSTONE_MARK = "\U0010ffff"
"""What follows a namespace's prefix in its tombstone's sort key: the highest code point,
so the tombstone is the first item of a descending Query of the namespace (checkpoint
ids may not start with it)."""


def tombstone_sk(checkpoint_ns: str) -> str:
    """The sort key of a namespace's tombstone."""
    return checkpoint_ns_prefix(checkpoint_ns) + TOMBSTONE_MARK


def is_tombstone_sk(sk: str) -> bool:
    """Whether a sort key is a tombstone's."""
    return sk.startswith(CHECKPOINT_PREFIX) and sk.endswith(TERMINATOR + TOMBSTONE_MARK)


def ns_component(checkpoint_ns: str) -> str:
    """A namespace's encoded key component, without its terminator (what
    :func:`parse_sk` gives as ``ns_component``)."""
    return checkpoint_ns_prefix(checkpoint_ns)[len(CHECKPOINT_PREFIX) : -len(TERMINATOR)]


def watermark_of(item: AttrMap) -> str | None:
    """A tombstone's watermark; ``None`` for any other item."""
    sk = get_s(item, SK)
    return get_s(item, WATERMARK) if sk is not None and is_tombstone_sk(sk) else None


def tombstone_ns_component(sk: str) -> str:
    """The encoded namespace component (no terminator) of a tombstone's sort key."""
    return sk[len(CHECKPOINT_PREFIX) : -len(TOMBSTONE_MARK) - len(TERMINATOR)]


def tombstone(
    thread_id: str, checkpoint_ns: str, watermark: str, expires_at: int | None
) -> AttrMap:
    """A namespace's tombstone: every head whose lineage is at most ``watermark`` was
    deleted, and a head of such a lineage written later is dead too."""
    item: AttrMap = {
        **key(thread_pk(thread_id), tombstone_sk(checkpoint_ns)),
        KIND: s(KIND_TOMBSTONE),
        WATERMARK: s(watermark),
    }
    if ns_is_digested(checkpoint_ns):
        item[NAMESPACE] = s(checkpoint_ns)
    if expires_at is not None:
        item[TTL] = n(expires_at)
    return item


def ns_is_digested(checkpoint_ns: str) -> bool:
    """Whether a namespace's key component is a digest (its plain value then goes in
    ``ns``)."""
    return is_digest(ns_component(checkpoint_ns))


def lineage_after(watermark: str) -> str:
    """A lineage that sorts after ``watermark`` (a new root whose own id does not, when a
    clock runs behind the one that wrote the deleted checkpoints)."""
    return watermark + "+"


# --- fences -----------------------------------------------------------------------------
FENCE_SK = "f#"
"""The sort key of a thread's fence item (in the thread's partition), with ``fencing=True``:
``ho`` holds the newest run that wrote to the thread; a write of an older run is refused."""


def fence_key(thread_id: str) -> AttrMap:
    """The key of a thread's fence item."""
    return key(thread_pk(thread_id), FENCE_SK)


# --- the thread directory -----------------------------------------------------------------
DIRECTORY_PREFIX = "a#"
"""The thread directory's partition keys start with it (the shard follows)."""
DIRECTORY_SHARDS = 8
"""Partitions of the thread directory: a thread's entries are in one, picked by its id, so
new threads spread their writes over eight partitions' throughput."""
ACTIVITY_PERIOD_SECONDS = 900
"""The length of a directory period: a thread writes at most one entry per period (and a
listing's order is exact to it). Part of the format: readers and writers must agree."""
DIRECTORY_COMPLETE_SK = "complete"
"""The sort key (under the bare prefix) of the item saying every thread has its entries."""
_UUID_EPOCH_TICKS = 0x01B21DD213814000
"""100-ns intervals from 1582-10-15 (a UUID's time origin) to the Unix epoch."""


def id_seconds(checkpoint_id: str) -> float | None:
    """The Unix time in a checkpoint id (a UUID v6, as LangGraph makes them, or v1);
    ``None`` for an id without one."""
    if len(checkpoint_id) != 36:
        return None
    try:
        u = uuid.UUID(checkpoint_id)
    except ValueError:
        return None
    if u.version == 6:
        v = u.int
        ticks = ((v >> 96) << 28) | (((v >> 80) & 0xFFFF) << 12) | ((v >> 64) & 0x0FFF)
    elif u.version == 1:
        ticks = u.time
    else:
        return None
    return (ticks - _UUID_EPOCH_TICKS) / 1e7


def _period_start(checkpoint_id: str) -> int | None:
    """The Unix time its directory period starts at (``None``: an id without a time)."""
    seconds = id_seconds(checkpoint_id)
    if seconds is None:
        return None
    return int(seconds // ACTIVITY_PERIOD_SECONDS) * ACTIVITY_PERIOD_SECONDS


def _period_label(start: int | None) -> str:
    """A period as keys spell it: ``YYYY-MM-DDTHH:MM`` (UTC), ``""`` without a time."""
    if start is None:
        return ""
    return dt.datetime.fromtimestamp(start, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")


def activity_period(checkpoint_id: str) -> str:
    """The directory period of a checkpoint id: the start of its quarter hour, UTC, as
    ``YYYY-MM-DDTHH:MM``; ``""`` for an id without a time."""
    return _period_label(_period_start(checkpoint_id))


def entered_period(parent_id: str | None, checkpoint_id: str) -> str | None:
    """The period whose directory entry a root ``put`` of ``checkpoint_id`` (child of
    ``parent_id``) writes: its own period when it has no parent or its parent's period is
    another; else ``None`` (the entry is written already). Every root ``put`` asks, so
    the periods are compared as numbers and only an entered one is spelled."""
    start = _period_start(checkpoint_id)
    if parent_id is not None and _period_start(parent_id) == start:
        return None
    return _period_label(start)


def directory_pk(thread_id: str) -> str:
    """The thread directory partition of a thread's entries."""
    shard = digest(thread_id.encode("utf-8", "surrogatepass"))[0] % DIRECTORY_SHARDS
    return DIRECTORY_PREFIX + str(shard)


def directory_shard_pks() -> list[str]:
    """Every partition of the thread directory."""
    return [DIRECTORY_PREFIX + str(shard) for shard in range(DIRECTORY_SHARDS)]


def directory_key(thread_id: str, period: str) -> AttrMap:
    """The key of a thread's directory entry for ``period``."""
    return key_of(directory_entry(thread_id, period, None))


def directory_entry(thread_id: str, period: str, head_expires_at: int | None) -> AttrMap:
    """A thread's directory entry for ``period`` (``tid`` holds the thread id when the key
    holds a digest of it), expiring a period after the head written with it."""
    thread = encode_component(thread_id, max_bytes=limits.MAX_THREAD_KEY_BYTES, what="thread_id")
    sk = _escape(period) + TERMINATOR + thread
    item: AttrMap = {**key(directory_pk(thread_id), sk), KIND: s(KIND_ACTIVITY)}
    if is_digest(thread):
        item[THREAD] = s(thread_id)
    if head_expires_at is not None:
        item[TTL] = n(head_expires_at + ACTIVITY_PERIOD_SECONDS)
    return item


@dataclass(frozen=True)
class DirectoryEntry:
    """A thread directory entry, read: the thread and the period it wrote in."""

    thread_id: str
    period: str
    sk: str


def parse_directory_entry(item: AttrMap) -> DirectoryEntry | None:
    """The thread and period of a directory entry (``None`` for another item, or one
    whose thread id is a digest and whose ``tid`` is missing)."""
    pk, sk = get_s(item, PK), get_s(item, SK)
    if pk is None or sk is None or not pk.startswith(DIRECTORY_PREFIX) or pk == DIRECTORY_PREFIX:
        return None
    parts, rest = split_components(sk)
    if len(parts) != 2 or rest:
        return None
    try:  # a dangling escape is not ours: not an entry
        period = decode_component(parts[0])
        thread_id = decode_component(parts[1]) if not is_digest(parts[1]) else get_s(item, THREAD)
    except (StopIteration, ValueError):
        return None
    if period is None or thread_id is None:
        return None
    return DirectoryEntry(thread_id, period, sk)


def directory_complete() -> AttrMap:
    """The item saying that every thread of the table has its directory entries."""
    return {**key(DIRECTORY_PREFIX, DIRECTORY_COMPLETE_SK), KIND: s(KIND_ACTIVITY)}


# --- run markers ------------------------------------------------------------------------
RUN_PREFIX = "u#"
"""A run marker's partition key starts with it; the encoded run id follows."""


def run_pk(run_id: str) -> str:
    """The partition of a run's markers: one item per thread the run wrote a checkpoint
    in, so ``delete_for_runs`` finds its threads with a Query, never a Scan."""
    return RUN_PREFIX + encode_component(
        run_id, max_bytes=limits.MAX_THREAD_KEY_BYTES, what="run_id"
    )


def run_marker(run_id: str, thread_id: str, expires_at: int | None) -> AttrMap:
    """The marker saying that run ``run_id`` wrote checkpoints in thread ``thread_id``:
    its sort key is the thread's partition key (``tid`` holds the thread id when that is
    a digest)."""
    pk = thread_pk(thread_id)
    item: AttrMap = {**key(run_pk(run_id), pk), KIND: s(KIND_RUN)}
    if decode_thread_pk(pk) is None:
        item[THREAD] = s(thread_id)
    if expires_at is not None:
        item[TTL] = n(expires_at)
    return item


def thread_of_run_marker(item: AttrMap) -> str | None:
    """The thread a run marker names (``None`` for another item)."""
    pk, sk = get_s(item, PK), get_s(item, SK)
    if pk is None or sk is None or not pk.startswith(RUN_PREFIX):
        return None
    return decode_thread_pk(sk) or get_s(item, THREAD)


# --- store keys -------------------------------------------------------------------------
GROUP_PREFIX = "m#"
"""A store group's partition key starts with it."""
MEMORY_PREFIX = "i#"
"""A store item's sort key starts with it."""
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
    return encode_component(label, max_bytes=limits.STORE_LABEL_KEY_BYTES, what="namespace label")


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
    return MEMORY_PREFIX + _labels(namespace[GROUP_DEPTH:])


def namespace_prefix(namespace: Namespace) -> str:
    """The sort-key prefix of the items of exactly ``namespace``."""
    return range_prefix(namespace) + END_OF_NAMESPACE


def memory_sk(namespace: Namespace, key: str) -> str:
    """The sort key of an item.

    Raises:
        InvalidInputError: The namespace and key do not fit a DynamoDB sort key.
    """
    sk = namespace_prefix(namespace) + encode_component(
        key, max_bytes=limits.STORE_LABEL_KEY_BYTES, what="key"
    )
    if len(sk.encode("utf-8")) > limits.STORE_MAX_SK_BYTES:
        raise InvalidInputError(
            f"namespace {namespace!r} with key {key[:40]!r} is too deep or long for a DynamoDB "
            f"sort key ({len(sk.encode('utf-8'))} bytes encoded, at most "
            f"{limits.STORE_MAX_SK_BYTES}); use fewer or shorter labels after the first"
        )
    return sk


def memory_chunk_prefix(namespace: Namespace, key: str) -> str:
    """What every chunk of an item's payloads starts its nonce with: the item's own key."""
    return memory_sk(namespace, key)[len(MEMORY_PREFIX) :]


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
    sk = VECTOR_PREFIX + item_sort_key[len(MEMORY_PREFIX) :] + f"{slot}{TERMINATOR}"
    if len(sk.encode("utf-8")) > limits.STORE_MAX_SK_BYTES:
        raise InvalidInputError(
            f"the item with sort key {item_sort_key[:60]!r}... is too deep or long to index "
            "(its vector items' keys would pass 1024 bytes); use fewer or shorter labels"
        )
    return sk


def memory_sk_of(sk: str) -> str | None:
    """The sort key of the item an index result (a vector item) stands for; ``None`` for
    anything else."""
    if not sk.startswith(VECTOR_PREFIX):
        return None
    marker = _end_of_namespace(sk)
    if marker is None:
        return None
    parts, rest = split_components(sk[marker + 1 :])
    if rest or len(parts) != 2:
        return None
    return MEMORY_PREFIX + sk[len(VECTOR_PREFIX) : marker + 1] + parts[0] + TERMINATOR


def vector_index_definition(dims: int) -> dict[str, Any]:
    """The store's vector index, as ``CreateTable`` (``VectorIndexes``) and
    ``UpdateTable`` (``VectorIndexUpdates`` ``Create``) take it."""
    return {
        "IndexName": VECTOR_INDEX_NAME,
        "VectorAttribute": {"AttributeName": VECTOR},
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
    return is_digest(_label(label)[: -len(TERMINATOR)])


def directory_sk(labels: Namespace) -> str:
    """The sort key of a root's directory entry."""
    return DIRECTORY_ENTRY + _labels(labels)


@dataclass(frozen=True)
class ParsedMemoryKey:
    """What an item's sort key says: the labels after the group and the key, each
    ``None`` where the key holds a digest of it."""

    rest: tuple[str | None, ...]
    key: str | None


def parse_memory_sk(sk: str) -> ParsedMemoryKey | None:
    """Invert :func:`memory_sk`; ``None`` for chunks and foreign keys."""
    if not sk.startswith(MEMORY_PREFIX):
        return None
    marker = _end_of_namespace(sk)
    if marker is None:
        return None
    labels, tail = split_components(sk[len(MEMORY_PREFIX) : marker])
    if tail:
        return None
    parts, rest = split_components(sk[marker + 1 :])
    if rest or len(parts) != 1:
        return None
    try:
        return ParsedMemoryKey(
            tuple(decode_component(c) for c in labels), decode_component(parts[0])
        )
    except (StopIteration, ValueError):
        return None


def _end_of_namespace(sk: str) -> int | None:
    """The index of the ``!`` that ends the namespace labels (escapes skipped)."""
    i = len(MEMORY_PREFIX)
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
    parts, rest = split_components(sk[len(DIRECTORY_ENTRY) :])
    if rest:
        return None
    return tuple(decode_component(c) for c in parts)


# --- node cache keys --------------------------------------------------------------------
CACHE_PREFIX = "n#"
"""A node cache namespace's partition key starts with it; its encoded labels follow."""
CACHE_ENTRY = "e#"
"""A cache entry's sort key starts with it; its encoded key follows."""
CACHE_DIRECTORY_PK = "q#"
"""The partition of the cache's directory: one entry per namespace it ever wrote to."""


def cache_pk(namespace: Namespace) -> str:
    """The partition key of a cache namespace (every label encoded, so ``("a", "b")``,
    ``("a#b",)`` and ``()`` are three partitions).

    Raises:
        InvalidInputError: The namespace does not fit a partition key.
    """
    pk = CACHE_PREFIX + _labels(namespace)
    if len(pk.encode("utf-8")) > limits.MAX_THREAD_KEY_BYTES:
        raise InvalidInputError(
            f"cache namespace {namespace!r} is too deep or long for a DynamoDB partition key; "
            "use fewer or shorter labels"
        )
    return pk


def cache_sk(key: str) -> str:
    """The sort key of a cache entry (a long key becomes a digest)."""
    return CACHE_ENTRY + encode_component(key, max_bytes=limits.STORE_LABEL_KEY_BYTES, what="key")


def cache_directory_sk(pk: str) -> str:
    """The sort key of a namespace's directory entry: its partition key."""
    return DIRECTORY_ENTRY + pk


def cache_pk_of_directory_sk(sk: str) -> str | None:
    """Invert :func:`cache_directory_sk`; ``None`` for anything else."""
    if not sk.startswith(DIRECTORY_ENTRY + CACHE_PREFIX):
        return None
    return sk[len(DIRECTORY_ENTRY) :]


def cache_namespace_of(pk: str) -> tuple[str | None, ...] | None:
    """Invert :func:`cache_pk`: the namespace's labels (``None`` for a label kept as a
    digest); ``None`` for a key that is not a cache namespace's partition."""
    if not pk.startswith(CACHE_PREFIX):
        return None
    parts, rest = split_components(pk[len(CACHE_PREFIX) :])
    if rest:
        return None
    return tuple(decode_component(c) for c in parts)


# --- chunk layout ---------------------------------------------------------------------
def chunk_list(nonce: str, count: int, data: bytes) -> dict[str, Any]:
    """The ``ch`` attribute of an item whose payload ``data`` is in ``count`` chunks."""
    return {"L": [s(nonce), n(count), n(len(data)), s(digest(data).hex())]}


def chunk_item(pk: str, nonce: str, seq: int, part: bytes, expires_at: int | None) -> AttrMap:
    """Chunk number ``seq`` of a payload."""
    chunk: AttrMap = {
        **key(pk, chunk_sk(nonce, seq)),
        KIND: s(KIND_CHUNK),
        PAYLOAD: {"B": part},
    }
    if expires_at is not None:
        chunk[TTL] = n(expires_at)
    return chunk


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunked payload lives, and how to check it once joined."""

    nonce: str
    count: int
    total: int
    digest: str

    def keys(self, pk: str) -> list[AttrMap]:
        """Primary keys of the chunk items."""
        return [key(pk, chunk_sk(self.nonce, i)) for i in range(self.count)]

    def sort_keys(self) -> list[str]:
        """Sort keys of the chunk items."""
        return [chunk_sk(self.nonce, i) for i in range(self.count)]

    def join(self, found: Mapping[str, AttrMap]) -> bytes | None:
        """The payload from chunk items found by sort key; ``None`` if one is missing or
        the joined bytes are not the ones referred to."""
        parts: list[bytes] = []
        for sk in self.sort_keys():
            chunk = found.get(sk)
            data = get_b(chunk, PAYLOAD) if chunk is not None else None
            if data is None:
                return None
            parts.append(data)
        joined = b"".join(parts)
        if len(joined) != self.total or digest(joined).hex() != self.digest:
            return None
        return joined


def chunk_ref_of(item: AttrMap) -> ChunkRef | None:
    """The chunk reference of an item whose payload is in chunks, else ``None``."""
    attr = item.get(CHUNKS)
    if not isinstance(attr, dict) or "L" not in attr:
        return None
    try:
        nonce, count, total, digest = attr["L"]
        return ChunkRef(nonce["S"], int(count["N"]), int(total["N"]), digest["S"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptItemError(f"item {item.get(SK)} has a malformed chunk list") from exc


# --- payloads: checkpoint heads and writes ---------------------------------------------
SKELETON = "c"
METADATA = "m"
STORED = "s"
STORED_VERSIONS = "sv"
REFS = "r"
DELTAS = "d"
DELTAS_FROM_WRITES = "dw"

# --- writes payload fields --------------------------------------------------------------
TASK_PATH = "p"
ENTRIES = "w"
TASK_ID = "t"


@dataclass(frozen=True)
class Ref:
    """An unchanged channel, stored by reference.

    Attributes:
        holder: The older head that stores the value (whole or as a delta); ``None`` when
            the writer did not know it (the value is then found by version among older
            heads, as ``InMemorySaver`` finds blobs by version).
        depth: How many checkpoints back the holder is (0 when not known).
    """

    holder: str | None
    depth: int


@dataclass(frozen=True)
class WritesTail:
    """Appended elements stored as pending writes of the head's parent, not in the head.

    Attributes:
        checkpoint_id: The checkpoint whose pending writes they are (the head's parent).
        writes: The regular writes, as ``(task id, index)``, in ``writes_sort_key`` order:
            each contributes its list's elements (a value that is not a list: itself).
    """

    checkpoint_id: str
    writes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Delta:
    """A list channel that only grew: the appended tail on top of an older head's value.

    Attributes:
        base: The head whose value for this channel the tail appends to; ``None`` when
            the value is the tail alone (only for a :class:`WritesTail`).
        base_len: Length of the base list (0 without a base).
        floor: The oldest head of the chain (the keyframe, stored whole, or the checkpoint
            whose writes a tail is): a read down to it brings every item the value needs,
            in one Query.
        tail: The appended elements, serialized as one list, or the parent's pending
            writes that are exactly those elements.
    """

    base: str | None
    base_len: int
    floor: str
    tail: TypedValue | WritesTail


@dataclass(frozen=True)
class HeadPayload:
    """What a checkpoint head stores."""

    skeleton: TypedValue
    metadata: TypedValue
    stored: Mapping[str, TypedValue | None] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    refs: Mapping[str, Ref] = field(default_factory=dict)
    deltas: Mapping[str, Delta] = field(default_factory=dict)

    def stores(self, ch: str) -> bool:
        """Whether this head holds the channel's value itself (whole, removed or a delta)."""
        return ch in self.stored or ch in self.deltas


@dataclass(frozen=True)
class WriteEntry:
    """One pending write: its index (negative for special channels), channel and value."""

    idx: int
    channel: str
    value: TypedValue


@dataclass(frozen=True)
class WritesPayload:
    """What a writes item stores: one task's regular writes, or one special write."""

    task_path: str
    entries: tuple[WriteEntry, ...]
    task_id: str | None = None
    """Only when the sort key holds a digest of it (else the key says it)."""


def _typed(raw: Any) -> TypedValue:
    type_, data = raw
    if not isinstance(type_, str) or not isinstance(data, bytes):
        raise TypeError(f"not a typed value: {raw!r:.80}")
    return type_, data


def encode_head(payload: HeadPayload) -> dict[str, Any]:
    """The msgpack structure of a head payload."""
    out: dict[str, Any] = {
        SKELETON: list(payload.skeleton),
        METADATA: list(payload.metadata),
        STORED: {ch: None if v is None else list(v) for ch, v in payload.stored.items()},
        STORED_VERSIONS: dict(payload.versions),
        REFS: {ch: [r.holder, r.depth] for ch, r in payload.refs.items()},
    }
    stored_tails: dict[str, Any] = {}
    writes_tails: dict[str, Any] = {}
    for ch, d in payload.deltas.items():
        if isinstance(d.tail, WritesTail):
            refs = [[task_id, idx] for task_id, idx in d.tail.writes]
            writes_tails[ch] = [d.base, d.base_len, d.floor, d.tail.checkpoint_id, refs]
        else:
            stored_tails[ch] = [d.base, d.base_len, d.floor, d.tail[0], d.tail[1]]
    if stored_tails:
        out[DELTAS] = stored_tails
    if writes_tails:
        out[DELTAS_FROM_WRITES] = writes_tails
    return out


def decode_head(raw: Any, what: str) -> HeadPayload:
    """Invert :func:`encode_head`.

    Raises:
        CorruptItemError: The structure is not a format-1 head payload (names ``what``).
    """
    try:
        refs = {}
        for ch, (holder, depth) in raw[REFS].items():
            if holder is not None and not isinstance(holder, str):
                raise TypeError(f"holder {holder!r}")
            refs[str(ch)] = Ref(holder, int(depth))
        deltas: dict[str, Delta] = {}
        for ch, (base, base_len, floor, type_, data) in raw.get(DELTAS, {}).items():
            deltas[str(ch)] = Delta(str(base), int(base_len), str(floor), _typed((type_, data)))
        for ch, (base, base_len, floor, source, pairs) in raw.get(DELTAS_FROM_WRITES, {}).items():
            if base is not None and not isinstance(base, str):
                raise TypeError(f"base {base!r}")
            writes = tuple((str(task_id), int(idx)) for task_id, idx in pairs)
            if not writes or not isinstance(source, str) or (base is None and base_len):
                raise ValueError(f"a tail from writes of {ch!r} names no writes")
            deltas[str(ch)] = Delta(base, int(base_len), str(floor), WritesTail(source, writes))
        return HeadPayload(
            skeleton=_typed(raw[SKELETON]),
            metadata=_typed(raw[METADATA]),
            stored={str(ch): None if v is None else _typed(v) for ch, v in raw[STORED].items()},
            versions=dict(raw[STORED_VERSIONS]),
            refs=refs,
            deltas=deltas,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc


def encode_writes(payload: WritesPayload) -> dict[str, Any]:
    """The msgpack structure of a writes payload (entries in index order)."""
    out: dict[str, Any] = {
        TASK_PATH: payload.task_path,
        ENTRIES: [
            [e.idx, e.channel, e.value[0], e.value[1]]
            for e in sorted(payload.entries, key=lambda e: e.idx)
        ],
    }
    if payload.task_id is not None:
        out[TASK_ID] = payload.task_id
    return out


def decode_writes(raw: Any, what: str) -> WritesPayload:
    """Invert :func:`encode_writes`.

    Raises:
        CorruptItemError: The structure is not a format-1 writes payload.
    """
    try:
        task_id = raw.get(TASK_ID)
        if task_id is not None and not isinstance(task_id, str):
            raise TypeError(f"task id {task_id!r}")
        return WritesPayload(
            task_path=str(raw[TASK_PATH]),
            entries=tuple(
                WriteEntry(int(idx), str(ch), _typed((type_, data)))
                for idx, ch, type_, data in raw[ENTRIES]
            ),
            task_id=task_id,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc


# --- payloads: store items -------------------------------------------------------------
MEMORY_NAMESPACE = "n"
MEMORY_KEY = "k"
MEMORY_VALUE = "v"
MEMORY_CREATED = "c"
MEMORY_UPDATED = "u"
MEMORY_TTL_MINUTES = "t"
MEMORY_EMBEDDINGS = "e"


@dataclass(frozen=True)
class MemoryPayload:
    """What a store item holds."""

    namespace: tuple[str, ...]
    key: str
    value: TypedValue
    created: int
    updated: int
    ttl_minutes: float | None = None
    embeddings: Mapping[str, bytes] = field(default_factory=dict)


def encode_memory(payload: MemoryPayload) -> dict[str, Any]:
    """The msgpack structure of a store item's payload."""
    out: dict[str, Any] = {
        MEMORY_NAMESPACE: list(payload.namespace),
        MEMORY_KEY: payload.key,
        MEMORY_VALUE: list(payload.value),
        MEMORY_CREATED: payload.created,
        MEMORY_UPDATED: payload.updated,
    }
    if payload.ttl_minutes is not None:
        out[MEMORY_TTL_MINUTES] = payload.ttl_minutes
    if payload.embeddings:
        out[MEMORY_EMBEDDINGS] = dict(payload.embeddings)
    return out


def decode_memory(raw: Any, what: str) -> MemoryPayload:
    """Invert :func:`encode_memory`.

    Raises:
        CorruptItemError: Not a store item's payload.
    """
    try:
        type_, data = raw[MEMORY_VALUE]
        if not isinstance(type_, str) or not isinstance(data, bytes):
            raise TypeError("value")
        namespace = tuple(raw[MEMORY_NAMESPACE])
        if not all(isinstance(label, str) for label in namespace):
            raise TypeError("namespace")
        embeddings = raw.get(MEMORY_EMBEDDINGS, {})
        if not all(isinstance(k, str) and isinstance(v, bytes) for k, v in embeddings.items()):
            raise TypeError("embeddings")
        ttl = raw.get(MEMORY_TTL_MINUTES)
        return MemoryPayload(
            namespace=namespace,
            key=str(raw[MEMORY_KEY]),
            value=(type_, data),
            created=int(raw[MEMORY_CREATED]),
            updated=int(raw[MEMORY_UPDATED]),
            ttl_minutes=None if ttl is None else float(ttl),
            embeddings=dict(embeddings),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc


# --- payloads: node cache entries ---------------------------------------------------------
@dataclass(frozen=True)
class CacheEntryPayload:
    """What a cache entry holds: the value through the cache's serializer, and when it
    expires (epoch seconds, exact: ``ttl`` is rounded up for DynamoDB's own deletion)."""

    value: TypedValue
    expires: float | None


def encode_cache_entry(payload: CacheEntryPayload) -> list[Any]:
    """The msgpack structure of a cache entry: ``[type, bytes, expires | None]``."""
    return [payload.value[0], payload.value[1], payload.expires]


def decode_cache_entry(raw: Any, what: str) -> CacheEntryPayload:
    """Invert :func:`encode_cache_entry`.

    Raises:
        CorruptItemError: Not a cache entry's payload.
    """
    try:
        type_, data, expires = raw
        if not isinstance(type_, str) or not isinstance(data, bytes):
            raise TypeError("value")
        return CacheEntryPayload((type_, data), None if expires is None else float(expires))
    except (TypeError, ValueError) as exc:
        raise CorruptItemError(f"{what} has a malformed payload: {exc!r}") from exc


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
