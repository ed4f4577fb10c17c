"""Fault injection, to exercise the failure matrix and crash recovery on purpose.

Faults are spelled ``kind:target[:count]`` and comma-separated, in code or in the
``INCIDENT_FAULTS`` environment variable (so a subprocess can be told to misbehave)::

    INCIDENT_FAULTS="hang:runbooks,throttle:metrics:2,tool_error:xray_traces"

| kind | target | effect |
|---|---|---|
| ``hang`` | agent | the agent node blocks forever before working (a frozen process, to be killed) |
| ``timeout`` | agent | the analyst takes longer than the agent's time budget |
| ``fail`` | agent | the analyst raises a non-retryable error |
| ``throttle`` | agent | the analyst is throttled ``count`` times (default 1), then answers |
| ``tool_error`` | tool | the action-group call raises |
| ``tool_slow`` | tool | the action-group call outlasts its time bound |
| ``tool_big`` | tool | the action-group call returns far more than its size bound |
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_FAULTS = "INCIDENT_FAULTS"
KINDS = frozenset({"hang", "timeout", "fail", "throttle", "tool_error", "tool_slow", "tool_big"})


@dataclass(frozen=True)
class Fault:
    """One injected fault."""

    kind: str
    target: str
    count: int = 1


@dataclass
class Faults:
    """A set of injected faults; empty by default.

    Throttle faults are counted down as they fire, so they are stateful; everything else
    fires every time.
    """

    faults: tuple[Fault, ...] = ()
    _remaining: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for fault in self.faults:
            self._remaining[(fault.kind, fault.target)] = fault.count

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """Parse ``kind:target[:count],...``.

        Raises:
            ValueError: An unknown kind or a malformed entry.
        """
        faults = []
        for raw in (spec or "").split(","):
            entry = raw.strip()
            if not entry:
                continue
            parts = entry.split(":")
            if len(parts) not in (2, 3) or parts[0] not in KINDS or not parts[1]:
                raise ValueError(
                    f"bad fault {entry!r}: use kind:target[:count] with kind in {sorted(KINDS)}"
                )
            count = int(parts[2]) if len(parts) == 3 else 1
            faults.append(Fault(parts[0], parts[1], count))
        return cls(tuple(faults))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Faults:
        """The faults named by ``INCIDENT_FAULTS`` (none when unset)."""
        env = os.environ if environ is None else environ
        return cls.parse(env.get(ENV_FAULTS))

    def has(self, kind: str, target: str) -> bool:
        """Whether a fault of this kind targets ``target``."""
        return any(f.kind == kind and f.target == target for f in self.faults)

    def take(self, kind: str, target: str) -> bool:
        """Fire a counted fault once; False when absent or used up."""
        with self._lock:
            left = self._remaining.get((kind, target), 0)
            if left <= 0:
                return False
            self._remaining[(kind, target)] = left - 1
            return True

    def hang_if_asked(self, agent: str) -> None:
        """Block forever if a ``hang`` fault targets this agent (the process is to be killed)."""
        if self.has("hang", agent):
            threading.Event().wait()
