"""What a search and a namespace listing keep, exactly as LangGraph's ``InMemoryStore``
decides it: filters (``$eq $ne $gt $gte $lt $lte``, nested values), namespace conditions
(prefix, suffix, ``*``), cosine similarity with max pooling over an item's fields, and
``offset``/``limit``. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import MatchCondition

from langgraph_dynamodb.errors import InvalidInputError

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")


def _number(value: Any, operator: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"filter operator {operator} compares numbers, and {value!r} is not one"
        ) from exc


def _apply(value: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    if operator == "$gt":
        return _number(value, operator) > _number(operand, operator)
    if operator == "$gte":
        return _number(value, operator) >= _number(operand, operator)
    if operator == "$lt":
        return _number(value, operator) < _number(operand, operator)
    if operator == "$lte":
        return _number(value, operator) <= _number(operand, operator)
    raise InvalidInputError(
        f"unsupported filter operator {operator!r}; use one of {', '.join(OPERATORS)}"
    )


def value_matches(value: Any, expected: Any) -> bool:
    """Whether a value matches a filter's value: operators, nested dicts (every key),
    lists (element by element) or equality."""
    if isinstance(expected, dict):
        if any(k.startswith("$") for k in expected):
            return all(_apply(value, op, operand) for op, operand in expected.items())
        if not isinstance(value, dict):
            return False
        return all(value_matches(value.get(k), v) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(expected)
            and all(value_matches(v, e) for v, e in zip(value, expected, strict=False))
        )
    return bool(value == expected)


def check_filter(expected: Any) -> None:
    """Refuse a filter with an operator no store supports, before anything is read."""
    if isinstance(expected, dict):
        for k, v in expected.items():
            if isinstance(k, str) and k.startswith("$") and k not in OPERATORS:
                raise InvalidInputError(
                    f"unsupported filter operator {k!r}; use one of {', '.join(OPERATORS)}"
                )
            check_filter(v)
    elif isinstance(expected, (list, tuple)):
        for v in expected:
            check_filter(v)


def item_matches(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value matches a search filter (every top-level key)."""
    if not filter:
        return True
    return all(value_matches(value.get(k), expected) for k, expected in filter.items())


def namespace_matches(condition: MatchCondition, namespace: Sequence[str]) -> bool:
    """Whether a namespace meets a prefix or suffix condition (``*`` matches any label)."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise InvalidInputError(
            f"unsupported namespace match type {condition.match_type!r}; use 'prefix' or 'suffix'"
        )
    return all(p == "*" or n == p for n, p in pairs)


def literal_prefix(path: Sequence[str]) -> tuple[str, ...]:
    """The labels of a prefix condition before its first ``*``: what a key range can use."""
    out: list[str] = []
    for label in path:
        if label == "*":
            break
        out.append(label)
    return tuple(out)


def cosine(query: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """Cosine similarity of ``query`` with each vector (0 for a zero vector), in float64
    as ``InMemoryStore`` computes it."""
    if not vectors:
        return []
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - depends on the environment
        q_norm = math.sqrt(sum(a * a for a in query))
        out = []
        for v in vectors:
            v_norm = math.sqrt(sum(a * a for a in v))
            dot = sum(a * b for a, b in zip(query, v, strict=False))
            out.append(dot / (q_norm * v_norm) if q_norm > 0 and v_norm > 0 else 0.0)
        return out
    x = np.asarray(query, dtype=np.float64)
    y = np.asarray(vectors, dtype=np.float64)
    y_norm = np.linalg.norm(y, axis=1)
    x_norm = np.linalg.norm(x)
    scores = np.zeros_like(y_norm)
    mask = y_norm != 0
    scores[mask] = np.dot(y[mask], x) / (y_norm[mask] * x_norm)
    return [float(s) for s in scores]


@dataclass(frozen=True)
class Candidate:
    """An item a search may return, with its embeddings (none when not indexed)."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]
    created: int
    updated: int
    vectors: tuple[Sequence[float], ...] = ()


class TopScores:
    """The page of a semantic search, kept as candidates arrive: the best
    ``offset + limit`` scored so far and the first ``limit`` without embeddings, so memory
    is bounded by the page, not by the items under the prefix.

    Order is ``InMemoryStore``'s: by score (an item's best field), ties in arrival order
    (``where`` orders the arrivals of merged rankings: a group's index, say); then the
    unscored items fill the page. Each candidate carries an ``extra`` (the item read).
    """

    def __init__(self, query_vector: Sequence[float], *, offset: int, limit: int) -> None:
        self.query_vector = query_vector
        self.offset = offset
        self.limit = limit
        self._scored: list[tuple[float, tuple[int, ...], Candidate, Any]] = []
        self._scoreless: list[tuple[Candidate, Any]] = []
        self._arrivals = 0

    def add(self, candidates: Iterable[tuple[Candidate, Any]]) -> None:
        """Score and keep what may still make the page."""
        owners: list[int] = []
        vectors: list[Sequence[float]] = []
        batch = list(candidates)
        for i, (candidate, extra) in enumerate(batch):
            if not candidate.vectors:
                if len(self._scoreless) < self.limit:
                    self._scoreless.append((candidate, extra))
                continue
            for vector in candidate.vectors:
                owners.append(i)
                vectors.append(vector)
        best: dict[int, tuple[float, tuple[int, ...]]] = {}
        for owner, score in zip(owners, cosine(self.query_vector, vectors), strict=True):
            arrival: tuple[int, ...] = (self._arrivals,)
            self._arrivals += 1
            if owner not in best or score > best[owner][0]:
                best[owner] = (score, arrival)
        for owner, (best_score, best_arrival) in best.items():
            candidate, extra = batch[owner]
            self._scored.append((best_score, best_arrival, candidate, extra))
        self._trim(2)

    def merge(self, other: TopScores, where: tuple[int, ...]) -> None:
        """Take another ranking's page (its arrivals after this one's, ordered by ``where``)."""
        self._scored.extend((s, (*where, *a), c, x) for s, a, c, x in other._scored)
        room = self.limit - len(self._scoreless)
        self._scoreless.extend(other._scoreless[: max(0, room)])
        self._trim(2)

    def _trim(self, slack: int) -> None:
        keep = self.offset + self.limit
        if len(self._scored) > slack * max(keep, 1):
            self._scored.sort(key=lambda e: (-e[0], e[1]))
            del self._scored[keep:]

    def page(self) -> list[tuple[Candidate, float | None, Any]]:
        """The page: the scored items after ``offset``, then unscored ones to fill it."""
        self._trim(0)
        kept: list[tuple[Candidate, float | None, Any]] = [
            (c, s, x) for s, _, c, x in self._scored[self.offset : self.offset + self.limit]
        ]
        if self._scoreless and len(kept) < self.limit:
            kept.extend((c, None, x) for c, x in self._scoreless[: self.limit - len(kept)])
        return kept


def rank(
    candidates: Sequence[Candidate],
    query_vector: Sequence[float] | None,
    *,
    offset: int,
    limit: int,
) -> list[tuple[Candidate, float | None]]:
    """The page of a search: without a query, the candidates in order; with one, by
    score (the best of an item's fields), then the unscored items to fill the page."""
    if query_vector is None:
        return [(c, None) for c in candidates[offset : offset + limit]]
    top = TopScores(query_vector, offset=offset, limit=limit)
    top.add((c, None) for c in candidates)
    return [(c, score) for c, score, _ in top.page()]


def page_namespaces(
    namespaces: Iterable[tuple[str, ...]],
    conditions: Sequence[MatchCondition],
    *,
    max_depth: int | None,
    offset: int,
    limit: int,
) -> list[tuple[str, ...]]:
    """The page of a namespace listing: matching, truncated to ``max_depth``, sorted."""
    kept = [n for n in namespaces if all(namespace_matches(c, n) for c in conditions)]
    if max_depth is not None:
        found = sorted({n[:max_depth] for n in kept})
    else:
        found = sorted(set(kept))
    return found[offset : offset + limit]
