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
    flat: list[Candidate] = []
    vectors: list[Sequence[float]] = []
    scoreless = []
    for candidate in candidates:
        for vector in candidate.vectors:
            flat.append(candidate)
            vectors.append(vector)
        if not candidate.vectors:
            scoreless.append(candidate)
    scored = sorted(
        zip(cosine(query_vector, vectors), flat, strict=False), key=lambda x: x[0], reverse=True
    )
    seen: set[tuple[tuple[str, ...], str]] = set()
    kept: list[tuple[Candidate, float | None]] = []
    for score, candidate in scored:
        ident = (candidate.namespace, candidate.key)
        if ident in seen:
            continue
        position = len(seen)
        seen.add(ident)
        if position >= offset + limit:
            break
        if position < offset:
            continue
        kept.append((candidate, score))
    if scoreless and len(kept) < limit:
        kept.extend((c, None) for c in scoreless[: limit - len(kept)])
    return kept


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
