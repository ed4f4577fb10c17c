"""Counts the reliability tests report at the end of the session (and the issue asks for):
requests failed on purpose, graph runs, crashes injected, checkpoints lost.

Set ``RELIABILITY_REPORT=path.json`` to also write them to a file.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter

TALLY: Counter[str] = Counter()
_LOCK = threading.Lock()


def add(**counts: int) -> None:
    """Add to the session's counters (zeros too: "checkpoints lost: 0" is a figure)."""
    with _LOCK:
        for name, n in counts.items():
            TALLY[name] += n


def report_lines() -> list[str]:
    """The counters, one per line, sorted by name."""
    with _LOCK:
        return [f"{name}: {TALLY[name]}" for name in sorted(TALLY)]


def write_report() -> None:
    """Write the counters to ``$RELIABILITY_REPORT`` if it is set."""
    path = os.environ.get("RELIABILITY_REPORT")
    if path:
        with _LOCK, open(path, "w", encoding="utf-8") as fh:
            json.dump(dict(sorted(TALLY.items())), fh, indent=2)
