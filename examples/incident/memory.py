"""Incident memory: past investigations remembered in a LangGraph store, similar ones recalled.

Each finished investigation is stored under ``("incidents", <service>)``, keyed by its
execution id, with a ``text`` describing the alarm and the conclusion. The consensus node
searches that namespace with the new incident's description and reports the most similar
past incidents (:class:`~examples.incident.model.Precedent`) beside the vote; the vote
itself does not change, so a run without a store decides exactly as one with it.

Embeddings come from :func:`hashing_embed`, a deterministic, offline bag-of-words embedder
(signed feature hashing, L2-normalised): no model, no network, the same vector on every
machine, good enough to find incidents with the same alarm and wording. Swap in a real
embedding model by passing another ``embed`` to :func:`index_config`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from langgraph.store.base import BaseStore, IndexConfig

from .model import Consensus, Incident, Precedent, Result

NAMESPACE_ROOT = "incidents"
"""First label of the memory namespaces: ``("incidents", <service>)``."""

EMBEDDING_DIMS = 256
"""Dimensions of :func:`hashing_embed`'s vectors."""

RECALL_LIMIT = 3
"""Past incidents recalled for one consensus."""

MIN_SCORE = 0.2
"""Cosine similarity below which a past incident is not reported as similar."""

_WORD = re.compile(r"[a-z0-9]+")


def _bucket(token: str, dims: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % dims, 1.0 if value >> 63 else -1.0


def hashing_embed(texts: Sequence[str], dims: int = EMBEDDING_DIMS) -> list[list[float]]:
    """Embed texts offline: word and word-pair counts hashed into ``dims`` signed buckets.

    Args:
        texts: The texts.
        dims: Vector size.

    Returns:
        One unit vector per text (all zeros for a text without words).
    """
    vectors = []
    for text in texts:
        words = _WORD.findall(text.lower())
        vector = [0.0] * dims
        for token in [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]:
            index, sign = _bucket(token, dims)
            vector[index] += sign
        norm = math.sqrt(sum(v * v for v in vector))
        vectors.append([v / norm for v in vector] if norm else vector)
    return vectors


def index_config(
    embed: Callable[[Sequence[str]], list[list[float]]] = hashing_embed,
    dims: int = EMBEDDING_DIMS,
) -> IndexConfig:
    """The store's semantic index for incident memories (embeds their ``text`` field)."""
    return IndexConfig(dims=dims, embed=embed, fields=["text"])


def namespace(service: str) -> tuple[str, str]:
    """Where a service's incidents are remembered."""
    return (NAMESPACE_ROOT, service)


def describe(incident: Incident) -> str:
    """The searchable description of an incident's alarm."""
    metric = incident.get("metric") or {}
    metric_name = metric.get("name") or ""
    return (
        f"{incident['service']} {incident['severity']} {incident['alarm']} {metric_name}: "
        f"{incident['alarm_reason']}"
    )


def recall(
    store: BaseStore | None, incident: Incident, limit: int = RECALL_LIMIT
) -> list[Precedent]:
    """The past incidents of the same service most similar to this one, best first.

    The incident itself is never its own precedent (a resumed or repeated run may have
    remembered it already).
    """
    if store is None:
        return []
    hits = store.search(namespace(incident["service"]), query=describe(incident), limit=limit + 1)
    precedents = []
    for hit in hits:
        if hit.key == incident["execution_id"] or (hit.score or 0.0) < MIN_SCORE:
            continue
        value = hit.value
        precedents.append(
            Precedent(
                execution_id=hit.key,
                score=round(float(hit.score or 0.0), 4),
                alarm=str(value.get("alarm", "")),
                status=str(value.get("status", "")),
                category=str(value.get("category", "")),
                suspect=str(value.get("suspect", "")),
                action=str(value.get("action", "")),
            )
        )
    return precedents[:limit]


def memory_of(result: Result) -> dict[str, Any] | None:
    """What to remember of a finished investigation (``None`` for an invalid event)."""
    if result["error"] is not None or "service" not in result["incident"]:
        return None
    incident = cast(Incident, result["incident"])
    recommendation = result["recommendation"]
    return {
        "text": f"{describe(incident)}. Concluded {recommendation['category']} "
        f"{recommendation['suspect']}".strip(),
        "alarm": incident["alarm"],
        "service": incident["service"],
        "started_at": incident["started_at"],
        "status": result["status"],
        "category": recommendation["category"],
        "suspect": recommendation["suspect"],
        "action": recommendation["action"],
    }


def remember(store: BaseStore | None, result: Result) -> bool:
    """Store a finished investigation (idempotent: its key is the execution id).

    Returns:
        Whether anything was stored.
    """
    memory = memory_of(result) if store is not None else None
    if store is None or memory is None:
        return False
    store.put(namespace(memory["service"]), result["execution_id"], memory)
    return True


def agreeing(precedents: Sequence[Precedent], consensus: Consensus | None) -> list[Precedent]:
    """The precedents that concluded the same category as this consensus."""
    if consensus is None or consensus["status"] != "AGREED":
        return []
    return [p for p in precedents if p["category"] == consensus["category"]]
