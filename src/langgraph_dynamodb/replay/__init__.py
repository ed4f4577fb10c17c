"""See and replay what an agent did: one read model of a table (threads, checkpoints,
diffs, finds, memories; redacted) that the web UI (``langgraph-dynamodb ui``) and the MCP
server (``langgraph-dynamodb mcp``) both serve.

==========  ====================================================================
``model``   :class:`ReplayModel`, the read model (reads only)
``redact``  redaction of values by regular expression (pure)
``mcp``     the read-only MCP server over stdio (the ``mcp`` extra)
==========  ====================================================================
"""

from __future__ import annotations

from langgraph_dynamodb.replay.model import ReplayModel
from langgraph_dynamodb.replay.redact import REDACTED, Redactor

__all__ = ["REDACTED", "ReplayModel", "Redactor"]
