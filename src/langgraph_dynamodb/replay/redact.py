"""Redaction of what the replay model shows: any string that matches one of the
patterns, and the value under any key that matches one, becomes ``"[redacted]"``; in a
message (an error's text), each match does. Pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langgraph_dynamodb.errors import InvalidInputError

REDACTED = "[redacted]"
"""What a redacted value is replaced by."""


class Redactor:
    """Redacts plain (JSON-able) values with regular expressions.

    Args:
        patterns: Regular expressions (Python's ``re``), searched anywhere in a string.

    Raises:
        InvalidInputError: A pattern is not a valid regular expression.
    """

    def __init__(self, patterns: Sequence[str] = ()) -> None:
        compiled = []
        for pattern in patterns:
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise InvalidInputError(
                    f"redaction pattern {pattern!r} is not a regular expression ({exc}); "
                    "write it as Python's re module reads it, e.g. 'sk-[A-Za-z0-9]+'"
                ) from exc
        self.patterns: tuple[re.Pattern[str], ...] = tuple(compiled)

    def matches(self, text: str) -> bool:
        """Whether a string matches one of the patterns."""
        return any(p.search(text) for p in self.patterns)

    def mask(self, text: str) -> str:
        """A message with each match of a pattern replaced by ``"[redacted]"``: an
        error's text keeps what it says around the value it names."""
        for pattern in self.patterns:
            text = pattern.sub(REDACTED, text)
        return text

    def __call__(self, value: Any) -> Any:
        """A copy of a plain value with what matches redacted (the value itself when there
        are no patterns)."""
        if not self.patterns:
            return value
        return self._redact(value)

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            return REDACTED if self.matches(value) else value
        if isinstance(value, dict):
            return {
                k: REDACTED if self.matches(str(k)) else self._redact(v) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._redact(v) for v in value]
        return value
