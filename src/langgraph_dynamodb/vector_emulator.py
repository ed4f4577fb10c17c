"""An emulator of DynamoDB's vector indexes, in front of DynamoDB Local (stdlib only;
numpy when installed). **An emulator, not AWS**: it follows the API reference, and what
only AWS can tell (approximate recall, latency, billing) it does not pretend to know.

DynamoDB Local (3.3.1) drops ``VectorIndexes`` from ``CreateTable`` without a word and
answers ``SearchVectors`` with ``UnknownOperationException``. This HTTP proxy forwards
every request to DynamoDB Local and adds what is missing:

- ``CreateTable`` with ``VectorIndexes`` and ``UpdateTable`` with ``VectorIndexUpdates``
  (``Create``, ``Delete``): the indexes are remembered (on-demand tables only, names
  unique, one dimension count per vector attribute) and backfilled from the table;
- ``DescribeTable`` reports them: ``IndexStatus`` ``CREATING`` and ``Backfilling`` until
  the backfill is done and ``activation_seconds`` have passed, then ``ACTIVE``;
- writes (``PutItem``, ``DeleteItem``, ``UpdateItem``, ``BatchWriteItem``,
  ``TransactWriteItems``) feed the indexes after they succeed, ``lag_seconds`` later, or
  only when :meth:`VectorSearchEmulator.feed` is called while :meth:`pause_feed` holds
  them (a new item not yet searchable, a deleted one still found);
- ``SearchVectors``: exact k-nearest neighbours over the indexed items under the
  documented rules: the index ``ACTIVE``; ``TopK`` 1 to 100; the search vector's
  dimensions those of the index; ``SearchConditionExpression`` only ``=`` comparisons
  joined by ``AND``, on search-schema attributes only, and a declared ``HASH`` must be
  compared; an item is indexed only when its vector attribute is a list of numbers of the
  index's dimensions and it has the ``HASH`` attribute (when one is declared); scores per
  distance function (``COSINE`` 0 to 2 and ``EUCLIDEAN`` ascending, ``DOT_PRODUCT``
  descending); the index's projection and ``ProjectionExpression``;
  ``ConsumedCapacity.VectorSearchRequestBytes`` counted as the bytes of the vectors
  compared, those the search condition keeps (4 a dimension: the emulator's own model of
  "bytes examined").

Index definitions can be kept in a JSON file (``state_file``), so that a DynamoDB Local
that keeps its tables on disk keeps its vector indexes too (they are backfilled again at
start). Items TTL deletes, and PartiQL writes, are not seen.

Example:
    ```python
    from langgraph_dynamodb.local import DynamoDBLocal
    from langgraph_dynamodb.vector_emulator import VectorSearchEmulator

    with DynamoDBLocal() as ddb, VectorSearchEmulator(ddb.endpoint_url) as emulator:
        store = DynamoDBStore(table_name="memory", endpoint_url=emulator.endpoint_url, ...)
    ```
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph_dynamodb._loopback import LoopbackHandler, LoopbackServer, Upstream

TARGET_PREFIX = "DynamoDB_20120810."
MAX_TOP_K = 100
"""SearchVectors: ``TopK`` is 1 to this (the API reference)."""
MAX_DIMENSIONS = 4096
"""A search vector has at most this many elements (botocore's service model)."""
MAX_INLINE_FILTERS = 18
"""A search schema has at most one HASH and this many INLINE_FILTER attributes."""
BYTES_PER_DIMENSION = 4
"""Vectors are 32-bit floats."""
INDEX_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
METRICS = ("COSINE", "EUCLIDEAN", "DOT_PRODUCT")

_WRITE_OPS = frozenset(
    {"PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems"}
)
_SKIP_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "expect"}
)
_SKIP_RESPONSE_HEADERS = frozenset(
    {"content-length", "connection", "transfer-encoding", "server", "date", "keep-alive"}
)

Json = dict[str, Any]
ItemKey = str
"""An item's primary key, as canonical JSON."""


class EmulatedError(Exception):
    """An error the emulator answers with, as DynamoDB would (code and message)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _validation(message: str) -> EmulatedError:
    return EmulatedError("ValidationException", message)


def _value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class _Rows:
    """An index's entries: vectors as rows of one float32 matrix (numpy, when installed;
    lists otherwise), the items they came from, and the rows of each value of each
    search-schema attribute, so that an equality finds its rows without a pass."""

    def __init__(self, dims: int, attributes: Sequence[str]) -> None:
        self.dims = dims
        self.attributes = tuple(attributes)
        self.row_of: dict[ItemKey, int] = {}
        self.items: list[Json | None] = []
        self.free: list[int] = []
        self.by_value: dict[str, dict[str, set[int]]] = {a: {} for a in self.attributes}
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - depends on the environment
            self._np: Any = None
            self.vectors: Any = []
        else:
            self._np = np
            self.vectors = np.zeros((0, dims), dtype=np.float32)
            self.alive = np.zeros(0, dtype=bool)
            self.norms = np.zeros(0, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.row_of)

    def put(self, key: ItemKey, vector: Sequence[float], item: Json) -> None:
        """Index an item (replacing what its key had): its vector, and what the index
        projects of it (``item``, with the search-schema attributes)."""
        self.remove(key)
        if self.free:
            row = self.free.pop()
        else:
            row = len(self.items)
            self.items.append(None)
            if self._np is not None:
                if row >= len(self.vectors):
                    size = max(16, 2 * len(self.vectors))
                    grown = self._np.zeros((size, self.dims), "float32")
                    grown[: len(self.vectors)] = self.vectors
                    self.vectors = grown
                    alive = self._np.zeros(size, dtype=bool)
                    alive[: len(self.alive)] = self.alive
                    self.alive = alive
                    norms = self._np.zeros(size, dtype="float64")
                    norms[: len(self.norms)] = self.norms
                    self.norms = norms
            else:
                self.vectors.append([])
        self.vectors[row] = vector
        if self._np is not None:
            self.alive[row] = True
            self.norms[row] = float(self._np.linalg.norm(self.vectors[row].astype("float64")))
        self.items[row] = item
        self.row_of[key] = row
        for attribute in self.attributes:
            if attribute in item:
                values = self.by_value[attribute]
                values.setdefault(_value_key(item[attribute]), set()).add(row)

    def remove(self, key: ItemKey) -> None:
        """Drop an item from the index, if it is there."""
        row = self.row_of.pop(key, None)
        if row is None:
            return
        item = self.items[row] or {}
        for attribute in self.attributes:
            if attribute in item:
                rows = self.by_value[attribute].get(_value_key(item[attribute]))
                if rows is not None:
                    rows.discard(row)
        self.items[row] = None
        self.free.append(row)
        if self._np is not None:
            self.alive[row] = False

    def matching(self, wanted: Mapping[str, Any]) -> Sequence[int]:
        """The rows whose attributes equal every value wanted, in row order."""
        if not wanted:
            if self._np is not None:
                found_rows: Sequence[int] = self._np.nonzero(self.alive)[0]
                return found_rows
            return sorted(self.row_of.values())
        sets = [self.by_value[a].get(_value_key(v), set()) for a, v in wanted.items()]
        sets.sort(key=len)
        found = set(sets[0]).intersection(*sets[1:])
        return sorted(found)

    def nearest(
        self, metric: str, query: Sequence[float], rows: Sequence[int], top_k: int
    ) -> list[tuple[float, int]]:
        """The ``top_k`` nearest of ``rows`` (score, row), best first, ties in row order,
        each scored as SearchVectors reports it."""
        if len(rows) == 0:
            return []
        higher_first = metric == "DOT_PRODUCT"
        if self._np is None:  # pragma: no cover - depends on the environment
            scored = [(_score(metric, query, self.vectors[r]), r) for r in rows]
            scored.sort(key=lambda e: (-e[0], e[1]) if higher_first else e)
            return scored[:top_k]
        np = self._np
        q = np.asarray(query, dtype=np.float32)
        chosen = np.asarray(rows)
        if len(chosen) * 4 >= len(self.items):  # most rows: one product over the matrix
            m = self.vectors[: len(self.items)]
            dots = (m @ q).astype(np.float64)[chosen]
        else:
            m = self.vectors[chosen]
            dots = (m @ q).astype(np.float64)
        if metric == "DOT_PRODUCT":
            scores = dots
        else:
            norms = self.norms[chosen]
            q_norm = float(np.linalg.norm(q.astype(np.float64)))
            if metric == "EUCLIDEAN":
                squared = norms**2 - 2 * dots + q_norm**2
                scores = np.sqrt(np.maximum(squared, 0.0))
            else:
                denominators = norms * q_norm
                sims = np.divide(
                    dots, denominators, out=np.zeros(len(dots)), where=denominators != 0
                )
                scores = 1.0 - sims
        key = -scores if higher_first else scores
        if len(key) > top_k:  # the k best without sorting them all; ties in row order
            kth = np.partition(key, top_k - 1)[top_k - 1]
            better = np.nonzero(key < kth)[0]
            tied = np.nonzero(key == kth)[0][: top_k - len(better)]
            picked = np.concatenate([better, tied])
        else:
            picked = np.arange(len(key))
        picked = picked[np.lexsort((picked, key[picked]))]
        return [(float(scores[i]), int(chosen[i])) for i in picked]


@dataclass
class VectorIndex:
    """One emulated vector index: its definition, status and entries."""

    name: str
    attribute: str
    dimensions: int
    metric: str
    hash_key: str | None
    inline_filters: tuple[str, ...]
    projection: Json
    status: str = "CREATING"
    backfilling: bool = True
    active_at: float = 0.0
    rows: _Rows = field(init=False)

    def __post_init__(self) -> None:
        schema = [*([self.hash_key] if self.hash_key else []), *self.inline_filters]
        self.rows = _Rows(self.dimensions, schema)

    def definition(self) -> Json:
        """The index as ``CreateTable`` takes it."""
        schema = [
            {"AttributeName": a, "SearchSchemaElementType": "INLINE_FILTER"}
            for a in self.inline_filters
        ]
        if self.hash_key is not None:
            schema.insert(0, {"AttributeName": self.hash_key, "SearchSchemaElementType": "HASH"})
        out: Json = {
            "IndexName": self.name,
            "VectorAttribute": {"AttributeName": self.attribute},
            "Projection": self.projection,
            "Dimensions": self.dimensions,
            "DistanceFunction": self.metric,
        }
        if schema:
            out["SearchSchema"] = schema
        return out

    def describe(self, table_arn: str) -> Json:
        """The index as ``DescribeTable`` reports it."""
        return {
            **self.definition(),
            "IndexStatus": self.status,
            "Backfilling": self.backfilling,
            "IndexSizeBytes": len(self.rows) * self.dimensions * BYTES_PER_DIMENSION,
            "ItemCount": len(self.rows),
            "IndexArn": f"{table_arn}/index/{self.name}",
        }

    def vector_of(self, item: Mapping[str, Any]) -> list[float] | None:
        """The item's vector, if the index takes the item (a list of numbers of the right
        dimensions, and the HASH attribute when one is declared)."""
        if self.hash_key is not None and self.hash_key not in item:
            return None
        raw = item.get(self.attribute)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("L"), list):
            return None
        values = raw["L"]
        if len(values) != self.dimensions:
            return None
        out = []
        for value in values:
            if not isinstance(value, Mapping) or "N" not in value:
                return None
            out.append(float(value["N"]))
        return out


def parse_index(raw: Any, where: str) -> VectorIndex:
    """A ``CreateVectorIndexAction`` (or a ``VectorIndexes`` element), checked."""
    if not isinstance(raw, Mapping):
        raise _validation(f"{where}: a vector index must be an object")
    name = raw.get("IndexName")
    if not isinstance(name, str) or not INDEX_NAME.match(name):
        raise _validation(f"{where}: invalid IndexName {name!r}")
    attribute = (raw.get("VectorAttribute") or {}).get("AttributeName")
    if not isinstance(attribute, str) or not attribute:
        raise _validation(f"{where}: VectorAttribute.AttributeName is required")
    dims = raw.get("Dimensions")
    if not isinstance(dims, int) or not 1 <= dims <= MAX_DIMENSIONS:
        raise _validation(f"{where}: Dimensions must be 1 to {MAX_DIMENSIONS}, got {dims!r}")
    metric = raw.get("DistanceFunction")
    if metric not in METRICS:
        raise _validation(f"{where}: DistanceFunction must be one of {METRICS}")
    projection = raw.get("Projection")
    if not isinstance(projection, Mapping) or projection.get("ProjectionType") not in (
        "ALL",
        "KEYS_ONLY",
        "INCLUDE",
    ):
        raise _validation(f"{where}: Projection.ProjectionType is required")
    hash_key: str | None = None
    inline: list[str] = []
    for element in raw.get("SearchSchema") or []:
        kind = element.get("SearchSchemaElementType")
        attr = element.get("AttributeName")
        if kind == "HASH":
            if hash_key is not None:
                raise _validation(f"{where}: a search schema has at most one HASH attribute")
            hash_key = attr
        elif kind == "INLINE_FILTER":
            inline.append(attr)
        else:
            raise _validation(f"{where}: unknown SearchSchemaElementType {kind!r}")
    if len(inline) > MAX_INLINE_FILTERS:
        raise _validation(
            f"{where}: a search schema has at most {MAX_INLINE_FILTERS} INLINE_FILTER attributes"
        )
    return VectorIndex(
        name=name,
        attribute=attribute,
        dimensions=dims,
        metric=str(metric),
        hash_key=hash_key,
        inline_filters=tuple(inline),
        projection=dict(projection),
    )


# --- distances ----------------------------------------------------------------------------
def _score(metric: str, query: Sequence[float], vector: Sequence[float]) -> float:
    dot = sum(a * b for a, b in zip(query, vector, strict=True))
    if metric == "DOT_PRODUCT":
        return dot
    if metric == "EUCLIDEAN":
        return math.sqrt(sum((a - b) ** 2 for a, b in zip(query, vector, strict=True)))
    norm = math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in vector))
    return 1.0 - (dot / norm if norm else 0.0)


# --- search condition ---------------------------------------------------------------------
_COMPARISON = re.compile(r"^\s*([#:]?[A-Za-z0-9_.\-]+)\s*=\s*([#:]?[A-Za-z0-9_.\-]+)\s*$")


def parse_condition(
    expression: str | None,
    names: Mapping[str, str],
    values: Mapping[str, Any],
    index: VectorIndex,
) -> dict[str, Any]:
    """The attribute values a ``SearchConditionExpression`` asks for (``a = :v AND ...``).

    Raises:
        EmulatedError: Another operator, an attribute outside the search schema, or no
            comparison of a declared HASH attribute.
    """
    wanted: dict[str, Any] = {}
    if expression:
        for part in re.split(r"\s+AND\s+", expression.strip(), flags=re.IGNORECASE):
            found = _COMPARISON.match(part)
            if found is None:
                raise _validation(
                    f"unsupported condition {part.strip()!r}: the emulator takes "
                    "'attribute = :value' comparisons joined by AND"
                )
            left, right = found.groups()
            if left.startswith(":"):
                left, right = right, left
            if not right.startswith(":") or right not in values:
                raise _validation(f"condition {part.strip()!r} needs a value placeholder")
            name = names.get(left, left) if left.startswith("#") else left
            if left.startswith("#") and left not in names:
                raise _validation(f"ExpressionAttributeNames has no {left}")
            schema = {*index.inline_filters, *([index.hash_key] if index.hash_key else [])}
            if name not in schema:
                raise _validation(
                    f"attribute {name!r} is not in the search schema of index {index.name!r}"
                )
            wanted[name] = values[right]
    if index.hash_key is not None and index.hash_key not in wanted:
        raise _validation(
            f"the SearchConditionExpression must compare the HASH attribute {index.hash_key!r}"
        )
    return wanted


def _project(item: Json, index: VectorIndex, key_names: Sequence[str]) -> Json:
    kind = index.projection.get("ProjectionType")
    if kind == "ALL":
        return dict(item)
    keep = {*key_names, *([index.hash_key] if index.hash_key else []), *index.inline_filters}
    if kind == "INCLUDE":
        keep |= set(index.projection.get("NonKeyAttributes") or ())
    return {k: v for k, v in item.items() if k in keep}


def _key_json(item: Mapping[str, Any], key_names: Sequence[str]) -> ItemKey:
    return json.dumps({k: item.get(k) for k in key_names}, sort_keys=True)


# --- the emulator ---------------------------------------------------------------------------
@dataclass
class _Table:
    key_names: tuple[str, ...]
    arn: str
    indexes: dict[str, VectorIndex] = field(default_factory=dict)


@dataclass
class _Pending:
    due: float
    table: str
    key: ItemKey
    item: Json | None


class VectorSearchEmulator(LoopbackServer):
    """DynamoDB Local with vector indexes: a proxy on a free loopback port.

    Args:
        upstream: DynamoDB Local's endpoint.
        port: Port to listen on (default: a free one).
        lag_seconds: How long after a write the indexes see it.
        activation_seconds: How long a new index stays ``CREATING`` (backfilling) at least.
        state_file: A JSON file that keeps the index definitions across restarts.

    Attributes:
        searches: How many ``SearchVectors`` requests it answered.
    """

    thread_name = "vector-emulator"

    def __init__(
        self,
        upstream: str,
        *,
        port: int = 0,
        lag_seconds: float = 0.0,
        activation_seconds: float = 0.0,
        state_file: str | Path | None = None,
    ) -> None:
        super().__init__(port)
        self.upstream_connections = Upstream(upstream)
        self.lag_seconds = lag_seconds
        self.activation_seconds = activation_seconds
        self.state_file = Path(state_file) if state_file is not None else None
        self.searches = 0
        self._tables: dict[str, _Table] = {}
        self._pending: list[_Pending] = []
        self._paused = False
        self._lock = threading.RLock()

    def start(self) -> VectorSearchEmulator:
        """Listen, serve from a background thread, and restore kept index definitions."""
        super().start()
        self._restore()
        return self

    # --- what tests steer -----------------------------------------------------------------
    def pause_feed(self) -> None:
        """Hold every write from the indexes until :meth:`feed` or :meth:`resume_feed`."""
        with self._lock:
            self._paused = True

    def resume_feed(self) -> None:
        """Feed held writes again (after ``lag_seconds``, as usual)."""
        with self._lock:
            self._paused = False

    def feed(self) -> None:
        """Apply every held or lagging write to the indexes now."""
        with self._lock:
            pending, self._pending = self._pending, []
            for change in pending:
                self._apply(change)

    def set_status(self, table: str, index: str, status: str, *, backfilling: bool = False) -> None:
        """Force an index's reported status (``CREATING``, ``UPDATING``, ``ACTIVE``...)."""
        with self._lock:
            found = self._tables[table].indexes[index]
            found.status = status
            found.backfilling = backfilling
            found.active_at = math.inf if status != "ACTIVE" else 0.0

    def indexes(self, table: str) -> dict[str, VectorIndex]:
        """The emulated indexes of a table."""
        with self._lock:
            known = self._tables.get(table)
            return dict(known.indexes) if known else {}

    # --- upstream -------------------------------------------------------------------------
    def upstream(self, target: str, body: Json) -> tuple[int, Json]:
        """Send one request of the emulator's own to DynamoDB Local; its status and JSON."""
        status, _, data = self.upstream_connections.send(
            "/",
            json.dumps(body).encode(),
            {
                "X-Amz-Target": TARGET_PREFIX + target,
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=emulator/20250101/us-east-1/"
                "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        return status, json.loads(data or b"{}")

    def _table(self, name: str) -> _Table | None:
        with self._lock:
            known = self._tables.get(name)
        if known is not None:
            return known
        status, described = self.upstream("DescribeTable", {"TableName": name})
        if status != 200:
            return None
        table = described["Table"]
        found = _Table(
            key_names=tuple(k["AttributeName"] for k in table["KeySchema"]),
            arn=str(table.get("TableArn", f"arn:aws:dynamodb:ddblocal:000000000000:table/{name}")),
        )
        with self._lock:
            return self._tables.setdefault(name, found)

    # --- index lifecycle --------------------------------------------------------------------
    def _add_index(self, table_name: str, table: _Table, index: VectorIndex) -> None:
        with self._lock:
            if index.name in table.indexes:
                raise _validation(f"a vector index named {index.name!r} already exists")
            for other in table.indexes.values():
                if other.attribute == index.attribute and other.dimensions != index.dimensions:
                    raise _validation(
                        f"vector indexes on attribute {index.attribute!r} must all have "
                        f"{other.dimensions} dimensions"
                    )
            index.status, index.backfilling = "CREATING", True
            index.active_at = time.monotonic() + self.activation_seconds
            table.indexes[index.name] = index
            self._save()
        threading.Thread(
            target=self._backfill, args=(table_name, table, index), daemon=True
        ).start()

    def _backfill(self, table_name: str, table: _Table, index: VectorIndex) -> None:
        start: Json | None = None
        while True:
            body: Json = {"TableName": table_name}
            if start:
                body["ExclusiveStartKey"] = start
            status, page = self.upstream("Scan", body)
            if status != 200:
                return
            with self._lock:
                for item in page.get("Items", []):
                    vector = index.vector_of(item)
                    if vector is not None:
                        key = _key_json(item, table.key_names)
                        index.rows.put(key, vector, _project(item, index, table.key_names))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        with self._lock:
            index.backfilling = False

    def _refresh_status(self, index: VectorIndex) -> None:
        if (
            index.status == "CREATING"
            and not index.backfilling
            and time.monotonic() >= index.active_at
        ):
            index.status = "ACTIVE"

    def _save(self) -> None:
        if self.state_file is None:
            return
        state = {
            name: [ix.definition() for ix in table.indexes.values()]
            for name, table in self._tables.items()
            if table.indexes
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=1, sort_keys=True))

    def _restore(self) -> None:
        if self.state_file is None or not self.state_file.is_file():
            return
        state = json.loads(self.state_file.read_text() or "{}")
        for name, definitions in state.items():
            table = self._table(name)
            if table is None:
                continue
            for definition in definitions:
                self._add_index(name, table, parse_index(definition, "state file"))

    # --- feeding ------------------------------------------------------------------------
    def _written(self, table_name: str, keys_and_items: Sequence[tuple[Json, Json | None]]) -> None:
        """Items written (``None``: deleted), to feed to the table's indexes."""
        table = self._table(table_name)
        if table is None or not table.indexes:
            return
        due = time.monotonic() + self.lag_seconds
        with self._lock:
            for key, item in keys_and_items:
                change = _Pending(due, table_name, _key_json(key, table.key_names), item)
                if self.lag_seconds <= 0 and not self._paused:
                    self._apply(change)
                else:
                    self._pending.append(change)

    def _apply(self, change: _Pending) -> None:
        table = self._tables.get(change.table)
        if table is None:
            return
        for index in table.indexes.values():
            vector = None if change.item is None else index.vector_of(change.item)
            if vector is None or change.item is None:
                index.rows.remove(change.key)
            else:
                index.rows.put(change.key, vector, _project(change.item, index, table.key_names))

    def _feed_due(self) -> None:
        with self._lock:
            if self._paused:
                return
            now = time.monotonic()
            keep = []
            for change in self._pending:
                if change.due <= now:
                    self._apply(change)
                else:
                    keep.append(change)
            self._pending = keep

    def _current(self, table_name: str, key: Json) -> Json | None:
        status, found = self.upstream(
            "GetItem", {"TableName": table_name, "Key": key, "ConsistentRead": True}
        )
        return found.get("Item") if status == 200 else None

    def after_write(self, op: str, body: Json, answer: Json) -> None:
        """Feed a successful write to the indexes."""
        if op == "PutItem":
            self._written(body["TableName"], [(body["Item"], body["Item"])])
        elif op == "DeleteItem":
            self._written(body["TableName"], [(body["Key"], None)])
        elif op == "UpdateItem":
            item = self._current(body["TableName"], body["Key"])
            self._written(body["TableName"], [(body["Key"], item)])
        elif op == "BatchWriteItem":
            unprocessed = answer.get("UnprocessedItems") or {}
            for table_name, requests in (body.get("RequestItems") or {}).items():
                left = {json.dumps(r, sort_keys=True) for r in unprocessed.get(table_name, [])}
                done: list[tuple[Json, Json | None]] = []
                for request in requests:
                    if json.dumps(request, sort_keys=True) in left:
                        continue
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        done.append((item, item))
                    elif "DeleteRequest" in request:
                        done.append((request["DeleteRequest"]["Key"], None))
                self._written(table_name, done)
        elif op == "TransactWriteItems":
            for entry in body.get("TransactItems") or []:
                for kind, part in entry.items():
                    if kind == "Put":
                        self._written(part["TableName"], [(part["Item"], part["Item"])])
                    elif kind == "Delete":
                        self._written(part["TableName"], [(part["Key"], None)])
                    elif kind == "Update":
                        item = self._current(part["TableName"], part["Key"])
                        self._written(part["TableName"], [(part["Key"], item)])

    # --- the operations it adds ---------------------------------------------------------
    def create_table(self, body: Json) -> tuple[Json, list[VectorIndex]]:
        """``CreateTable`` as DynamoDB Local takes it, and the indexes to add after it."""
        raw = body.pop("VectorIndexes", None) or []
        indexes = [parse_index(r, "VectorIndexes") for r in raw]
        if indexes and body.get("BillingMode") != "PAY_PER_REQUEST":
            raise _validation("vector indexes need an on-demand table (PAY_PER_REQUEST)")
        if len({ix.name for ix in indexes}) != len(indexes):
            raise _validation("vector index names must be unique")
        return body, indexes

    def created(self, body: Json, indexes: Sequence[VectorIndex], answer: Json) -> Json:
        """Remember a new table's indexes; the answer with them."""
        name = body["TableName"]
        with self._lock:
            self._tables.pop(name, None)
        table = self._table(name)
        if table is not None:
            for index in indexes:
                self._add_index(name, table, index)
            answer.get("TableDescription", {})["VectorIndexes"] = [
                ix.describe(table.arn) for ix in indexes
            ]
        return answer

    def update_vector_indexes(self, body: Json) -> Json | None:
        """Apply ``VectorIndexUpdates``; what is left for DynamoDB Local (``None``:
        nothing, the emulator answers)."""
        updates = body.pop("VectorIndexUpdates", None)
        if not updates:
            return body
        name = body["TableName"]
        status, described = self.upstream("DescribeTable", {"TableName": name})
        if status != 200:
            raise EmulatedError(
                "ResourceNotFoundException", f"Requested resource not found: {name}"
            )
        billing = (described["Table"].get("BillingModeSummary") or {}).get("BillingMode")
        if billing != "PAY_PER_REQUEST":
            raise _validation("vector indexes need an on-demand table (PAY_PER_REQUEST)")
        table = self._table(name)
        assert table is not None
        for update in updates:
            if "Create" in update:
                self._add_index(name, table, parse_index(update["Create"], "Create"))
            elif "Delete" in update:
                index_name = str((update["Delete"] or {}).get("IndexName"))
                with self._lock:
                    if table.indexes.pop(index_name, None) is None:
                        raise EmulatedError(
                            "ResourceNotFoundException", f"vector index {index_name!r} not found"
                        )
                    self._save()
            else:
                raise _validation("a VectorIndexUpdate needs Create or Delete")
        rest = {k: v for k, v in body.items() if k != "TableName"}
        return body if rest else None

    def with_indexes(self, table_name: str, description: Json) -> Json:
        """A table description with its vector indexes (if any)."""
        table = self._tables.get(table_name)
        if table and table.indexes:
            with self._lock:
                for index in table.indexes.values():
                    self._refresh_status(index)
                description["VectorIndexes"] = [
                    ix.describe(table.arn) for ix in table.indexes.values()
                ]
        return description

    def forget(self, table_name: str) -> None:
        """A table was deleted."""
        with self._lock:
            if self._tables.pop(table_name, None) is not None:
                self._save()

    def search_vectors(self, body: Json) -> Json:
        """Answer ``SearchVectors``: exact k-NN under the documented rules."""
        table_name = str(body.get("TableName", "")).rsplit("table/", 1)[-1]
        table = self._table(table_name)
        if table is None:
            raise EmulatedError(
                "ResourceNotFoundException", f"Requested resource not found: Table: {table_name}"
            )
        index_name = body.get("IndexName")
        index = table.indexes.get(str(index_name))
        if index is None:
            raise EmulatedError(
                "ResourceNotFoundException",
                f"Requested resource not found: vector index {index_name!r} of {table_name!r}",
            )
        top_k = body.get("TopK")
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise _validation(f"TopK must be between 1 and {MAX_TOP_K}, got {top_k!r}")
        raw_vector = body.get("SearchVector")
        if not isinstance(raw_vector, list) or not all(
            isinstance(v, Mapping) and "N" in v for v in raw_vector
        ):
            raise _validation("SearchVector must be a list of numbers ({'N': ...} each)")
        query = [float(v["N"]) for v in raw_vector]
        if len(query) != index.dimensions:
            raise _validation(
                f"SearchVector has {len(query)} dimensions; index {index.name!r} has "
                f"{index.dimensions}"
            )
        with self._lock:
            self._refresh_status(index)
            if index.status != "ACTIVE":
                raise _validation(f"vector index {index.name!r} is {index.status}, not ACTIVE")
        self._feed_due()
        wanted = parse_condition(
            body.get("SearchConditionExpression"),
            body.get("ExpressionAttributeNames") or {},
            body.get("ExpressionAttributeValues") or {},
            index,
        )
        with self._lock:
            rows = index.rows.matching(wanted)
            ranked = [
                (score, index.rows.items[row] or {})
                for score, row in index.rows.nearest(index.metric, query, rows, top_k)
            ]
        examined = len(rows)
        wanted_names = _projection_names(body)
        results = []
        for score, item in ranked:
            if wanted_names is not None:
                item = {k: v for k, v in item.items() if k in wanted_names}
            results.append({"Item": item, "Score": score})
        self.searches += 1
        answer: Json = {"SearchResults": results}
        if body.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
            answer["ConsumedCapacity"] = {
                "VectorSearchRequestBytes": float(examined * index.dimensions * BYTES_PER_DIMENSION)
            }
        return answer


def _projection_names(body: Mapping[str, Any]) -> set[str] | None:
    expression = body.get("ProjectionExpression")
    if not expression:
        return None
    names = body.get("ExpressionAttributeNames") or {}
    return {names.get(p.strip(), p.strip()) for p in str(expression).split(",")}


# --- HTTP -------------------------------------------------------------------------------
def _reply_headers(body: bytes, request_id: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-RequestId", request_id),
        ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)),
    ]


class _Handler(LoopbackHandler):
    @property
    def emulator(self) -> VectorSearchEmulator:
        found: VectorSearchEmulator = self.owner
        return found

    def _send_json(self, status: int, answer: Json) -> None:
        body = json.dumps(answer).encode()
        self.write(status, _reply_headers(body, f"emulator-{id(answer):x}"), body)

    def _send_error(self, error: EmulatedError) -> None:
        answer = {
            "__type": f"com.amazonaws.dynamodb.v20120810#{error.code}",
            "message": error.message,
        }
        body = json.dumps(answer).encode()
        headers = [*_reply_headers(body, "emulator-error"), ("x-amzn-ErrorType", error.code)]
        self.write(error.status, headers, body)

    def _forward(self, raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _SKIP_HEADERS}
        status, answer_headers, data = self.emulator.upstream_connections.send(
            self.path, raw, headers
        )
        kept = [(k, v) for k, v in answer_headers if k.lower() not in _SKIP_RESPONSE_HEADERS]
        return status, kept, data

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        op = (self.headers.get("X-Amz-Target") or "").removeprefix(TARGET_PREFIX)
        emulator = self.emulator
        try:
            if op == "SearchVectors":
                self._send_json(200, emulator.search_vectors(json.loads(raw)))
                return
            body: Json = json.loads(raw) if raw else {}
            indexes: list[VectorIndex] = []
            if op == "CreateTable" and "VectorIndexes" in body:
                body, indexes = emulator.create_table(body)
                raw = json.dumps(body).encode()
            elif op == "UpdateTable" and "VectorIndexUpdates" in body:
                left = emulator.update_vector_indexes(body)
                if left is None:
                    status, described = emulator.upstream(
                        "DescribeTable", {"TableName": body["TableName"]}
                    )
                    table = emulator.with_indexes(body["TableName"], described["Table"])
                    self._send_json(200, {"TableDescription": table})
                    return
                raw = json.dumps(left).encode()
        except EmulatedError as error:
            self._send_error(error)
            return
        status, headers, data = self._forward(raw)
        if status == 200 and op in (
            "CreateTable",
            "DescribeTable",
            "DeleteTable",
            "UpdateTable",
            *_WRITE_OPS,
        ):
            answer = json.loads(data or b"{}")
            if op == "CreateTable":
                answer = emulator.created(body, indexes, answer)
            elif op == "DescribeTable":
                emulator.with_indexes(body["TableName"], answer.get("Table", {}))
            elif op == "UpdateTable":
                emulator.with_indexes(body["TableName"], answer.get("TableDescription", {}))
            elif op == "DeleteTable":
                emulator.forget(body["TableName"])
            else:
                emulator.after_write(op, body, answer)
            if op in ("CreateTable", "DescribeTable", "UpdateTable"):
                data = json.dumps(answer).encode()
                headers = [(k, v) for k, v in headers if k.lower() != "x-amz-crc32"]
                headers.append(("x-amz-crc32", str(zlib.crc32(data) & 0xFFFFFFFF)))
        self.write(status, headers, data)


VectorSearchEmulator.handler = _Handler  # the class its server runs, defined after it
