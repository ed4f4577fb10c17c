"""The replay model as a read-only MCP server (``langgraph-dynamodb mcp``): tools
``threads``, ``history``, ``show``, ``diff``, ``find``, ``memories`` and ``cache`` for
coding assistants, over stdio, on the official MCP Python SDK (the ``mcp`` extra)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from langgraph_dynamodb import __version__, limits
from langgraph_dynamodb.errors import DynamoDBSaverError
from langgraph_dynamodb.replay.model import ReplayModel

SERVER_NAME = "langgraph-dynamodb"

INSTRUCTIONS = """\
Read-only views of LangGraph checkpoints, memories and the node cache in one DynamoDB
table. Start with `threads` (newest first; `query` searches ids and metadata), then
`history` of a thread (its checkpoints, newest first, with the nodes that ran, next tasks,
interrupts and errors), `show` one checkpoint's state, `diff` it against its parent, or
`find` the first checkpoint where a value at a path (`messages[-1].content`,
`report.status`) equals something or matches a regex. `memories` browses the store,
`cache` the node cache. Values matching the server's --redact patterns read
"[redacted]". Pages: pass back the `cursor` a result gives."""

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


def _answerer(model: ReplayModel) -> Any:
    """``answer(call)``: a tool's result, or its error as a ToolError the assistant reads
    (the message names what is wrong and what to do; a value it names is redacted)."""

    def answer(call: Any) -> Any:
        try:
            return call()
        except DynamoDBSaverError as exc:
            raise ToolError(model.redact.mask(str(exc))) from exc

    return answer


def build_server(model: ReplayModel) -> MCPServer[Any]:
    """An MCP server whose tools read through ``model`` (nothing they do writes)."""
    server: MCPServer[Any] = MCPServer(
        SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    _answer = _answerer(model)

    @server.tool(annotations=READ_ONLY)
    def threads(
        query: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        """Threads, newest activity first: status (finished, interrupted, error,
        running), steps, checkpoints, last activity, size in bytes, metadata.
        `query`: a part of a thread id or of a metadata value. Returns `threads`,
        `cursor` (the next page, or null) and `total`."""
        return _answer(lambda: model.threads(query=query, cursor=cursor, limit=limit))  # type: ignore[no-any-return]

    @server.tool(annotations=READ_ONLY)
    def history(thread_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A thread's checkpoints, newest first: `limit` of the root graph and those of
        the subgraphs that ran under them (`checkpoint_ns` not empty, `parents[""]` the
        root checkpoint above). Each: ids, step, source, `nodes` that ran to produce it,
        `next` tasks, `interrupts`, `errors`, number of pending writes."""
        return _answer(lambda: model.thread(thread_id, cursor=cursor, limit=limit))  # type: ignore[no-any-return]

    @server.tool(annotations=READ_ONLY)
    def show(
        thread_id: str,
        checkpoint_id: str | None = None,
        checkpoint_ns: str = "",
        channel: str | None = None,
        max_chars: int = limits.REPLAY_MAX_CHARS,
    ) -> dict[str, Any]:
        """One checkpoint (default: the thread's latest) decoded: `state` by channel
        (strings over `max_chars` and long lists cut, with a `__truncated__` marker),
        metadata, next tasks, interrupts, errors, pending writes. With `channel`: only
        that channel's whole value, as `{"channel", "value"}`."""

        def run() -> dict[str, Any]:
            cp = checkpoint_id or model.latest_id(thread_id, checkpoint_ns)
            if channel is not None:
                return {
                    "channel": channel,
                    "value": model.value(thread_id, checkpoint_ns, cp, channel),
                }
            return model.checkpoint(thread_id, checkpoint_ns, cp, max_chars=max_chars)

        return _answer(run)  # type: ignore[no-any-return]

    @server.tool(annotations=READ_ONLY)
    def diff(
        thread_id: str,
        checkpoint_id: str | None = None,
        against: str | None = None,
        checkpoint_ns: str = "",
    ) -> dict[str, Any]:
        """What changed from `against` (default: the checkpoint's parent) to the
        checkpoint (default: the latest), channel by channel (`change`: added, removed,
        changed, same), each change a deep diff: `{"path", "kind", "old", "new"}`."""

        def run() -> dict[str, Any]:
            cp = checkpoint_id or model.latest_id(thread_id, checkpoint_ns)
            return model.diff(thread_id, checkpoint_ns, cp, against=against)

        return _answer(run)  # type: ignore[no-any-return]

    @server.tool(annotations=READ_ONLY)
    def find(
        thread_id: str,
        path: str,
        equals: Any = None,
        regex: str | None = None,
        checkpoint_ns: str = "",
    ) -> dict[str, Any]:
        """The first (oldest) checkpoint of the thread where the value at `path` (a
        channel, then keys and list indexes: `messages[-1].content`, `report.status`)
        equals `equals` (any JSON value but null) or matches `regex` (searched; a
        non-string as its JSON text, so `^null$` finds a null). Returns `found`: the
        checkpoint id, namespace, step and the value, or null."""
        if (equals is None) == (regex is None):
            raise ToolError("find needs exactly one of equals or regex")
        if regex is not None:
            return {
                "found": _answer(
                    lambda: model.find(
                        thread_id, path=path, regex=regex, checkpoint_ns=checkpoint_ns
                    )
                )
            }
        return {
            "found": _answer(
                lambda: model.find(thread_id, path=path, equals=equals, checkpoint_ns=checkpoint_ns)
            )
        }

    @server.tool(annotations=READ_ONLY)
    def memories(
        prefix: list[str] | None = None,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The store's memories under a namespace `prefix` (default: all): `namespaces`
        there, and `items` (namespace, key, value, times, score), ranked by semantic
        search for `query` when the store has an index (`semantic`: true); `filter`:
        exact values of top-level fields."""

        def run() -> dict[str, Any]:
            labels = prefix or []
            return {
                "namespaces": model.namespaces(labels),
                **model.items(labels, query=query, filter=filter, limit=limit, offset=offset),
            }

        return _answer(run)  # type: ignore[no-any-return]

    @server.tool(annotations=READ_ONLY)
    def cache() -> dict[str, Any]:
        """The node cache by namespace: entries, expired entries, bytes."""
        return {"namespaces": _answer(model.cache_entries)}

    return server


def serve(model: ReplayModel) -> None:
    """Serve ``model`` over stdio until the client closes the connection (the threads
    are being listed meanwhile, for the first ``threads`` call)."""
    model.warm()
    build_server(model).run("stdio")
