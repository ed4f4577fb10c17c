"""Which channels a new head stores and which it refers to. Pure.

Only channels in ``new_versions`` are serialized from the checkpoint (as LangGraph's own
savers do: LangGraph may still be changing the objects of the other channels while a
background ``put`` runs). An unchanged channel is stored again only from bytes already
held (a small value's :attr:`~.index.ChannelRef.inline` bytes); otherwise it refers to the
head that holds it, found in the parent's index, or, when the parent's index has no entry
at that version, by version among older heads at read time.

With a TTL, every head a new head needs must live at least as long as it: heads expiring
earlier are listed in ``touch``, and the writer extends their expiry before it writes the
new head. Expiries are rounded up to a window (:func:`expiry`), so a holder is touched at
most once per window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import ChannelVersions, Checkpoint

from langgraph_dynamodb import limits
from langgraph_dynamodb.storage.index import ChannelIndex, ChannelRef
from langgraph_dynamodb.storage.schema import Ref


def expiry(now: float, ttl_seconds: float) -> int:
    """The expiry (epoch seconds) of items written at ``now``: at least ``ttl_seconds``
    later, rounded up to a window of :data:`~langgraph_dynamodb.limits.TTL_WINDOW_FRACTION`
    of the TTL, so that items written in one window expire together."""
    window = max(1.0, ttl_seconds * limits.TTL_WINDOW_FRACTION)
    return int(math.ceil((now + ttl_seconds) / window) * window)


@dataclass(frozen=True)
class ChannelPlan:
    """What a new head does with each channel of its checkpoint.

    Attributes:
        stored: Channels serialized from the checkpoint (its ``new_versions``).
        refs: Unchanged channels stored by reference.
        copies: Unchanged small channels stored again from bytes held (their entries).
        bases: The parent's entries of stored channels, for deltas.
        referred: The entries of ``refs`` as the new head's index holds them.
        touch: Heads whose expiry must be extended to the new head's first.
    """

    stored: tuple[str, ...]
    refs: dict[str, Ref] = field(default_factory=dict)
    copies: dict[str, ChannelRef] = field(default_factory=dict)
    bases: dict[str, ChannelRef] = field(default_factory=dict)
    referred: ChannelIndex = field(default_factory=dict)
    touch: frozenset[str] = frozenset()


def _outlived(entry: ChannelRef, expires_at: int | None) -> bool:
    """Whether a head ``entry`` needs expires before a head written now."""
    return expires_at is not None and (entry.expires is None or entry.expires < expires_at)


def plan_channels(
    checkpoint: Checkpoint,
    new_versions: ChannelVersions,
    parent_index: Mapping[str, ChannelRef] | None,
    *,
    expires_at: int | None,
) -> ChannelPlan:
    """Decide, per channel, whether the new head stores it, copies it or refers to it."""
    versions: Mapping[str, Any] = checkpoint["channel_versions"]
    parent = parent_index or {}
    refs: dict[str, Ref] = {}
    copies: dict[str, ChannelRef] = {}
    referred: ChannelIndex = {}
    touch: set[str] = set()
    for ch, ver in versions.items():
        if ch in new_versions:
            continue
        entry = parent.get(ch)
        if entry is None or entry.version != ver:
            refs[ch] = Ref(None, 0)
            continue
        if entry.inline is not None:
            copies[ch] = entry
            continue
        refs[ch] = Ref(entry.holder, entry.depth + 1)
        if _outlived(entry, expires_at):
            touch.update(entry.heads())
            referred[ch] = entry.referred(expires_at)
        else:
            referred[ch] = entry.referred()
    stored = tuple(new_versions)
    bases = {ch: parent[ch] for ch in stored if ch in parent}
    return ChannelPlan(stored, refs, copies, bases, referred, frozenset(touch))
