"""Time travel on a table, for the web UI's ``--allow-writes``: fork a checkpoint with
edited channels (LangGraph's ``update_state``), resume or replay the graph from a
checkpoint, and answer an interrupt (``Command(resume=...)``), a subgraph's checkpoints
included as far as LangGraph runs from them. Every write goes through the application's
own compiled graph, so what it writes is what LangGraph would."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import InvalidUpdateError
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.types import Command

from langgraph_dynamodb.errors import ConfigurationError, InvalidInputError, NotFoundError
from langgraph_dynamodb.saver import DynamoDBSaver

SUBGRAPH_REPLAY = (
    "LangGraph runs a subgraph only inside its parent graph, and a replay from an earlier "
    "checkpoint of a subgraph reruns the subgraph from its start (langgraph issue #8458), "
    "not from the checkpoint chosen"
)
"""Why a subgraph's checkpoint that is not where its run stopped is not run from."""


def compiled_graph(graph: Any, saver: DynamoDBSaver) -> Pregel[Any, Any, Any, Any]:
    """The graph a ``--graph module:attr`` names, checkpointing to ``saver``: a
    ``StateGraph`` builder is compiled, a compiled graph is copied with the saver."""
    if isinstance(graph, StateGraph):
        return graph.compile(checkpointer=saver)
    if isinstance(graph, Pregel):
        return graph.copy(update={"checkpointer": saver})
    raise ConfigurationError(
        f"--graph must name a StateGraph builder or a compiled graph, got {type(graph).__name__}"
    )


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str | None) -> RunnableConfig:
    conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _where(config: RunnableConfig) -> dict[str, str]:
    conf = config.get("configurable", {})
    return {
        "thread_id": str(conf.get("thread_id", "")),
        "checkpoint_ns": str(conf.get("checkpoint_ns", "")),
        "checkpoint_id": str(conf.get("checkpoint_id", "")),
    }


class TimeTravel:
    """Writes through a compiled graph (see :func:`compiled_graph`)."""

    def __init__(self, graph: Pregel[Any, Any, Any, Any]) -> None:
        self.graph = graph

    def fork(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        values: dict[str, Any],
        *,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """A new checkpoint after ``checkpoint_id`` with ``values`` written to its channels
        (through their reducers, as ``as_node`` would have written them): a branch of the
        thread. A subgraph's checkpoint (``checkpoint_ns`` not empty) is updated in its own
        namespace, through the root graph with that checkpoint's config, as LangGraph's
        ``update_state`` does (the subgraph's channels and nodes). Returns where the new
        one is."""
        if not isinstance(values, dict) or not values:
            raise InvalidInputError("a fork needs the channels to write: {channel: value}")
        config = _config(thread_id, checkpoint_ns, checkpoint_id)
        try:
            created = self.graph.update_state(config, values, as_node=as_node)
        except (InvalidUpdateError, ValueError, KeyError) as exc:  # a channel or node it lacks
            raise InvalidInputError(
                f"LangGraph refused the fork: {type(exc).__name__}: {exc}"
            ) from exc
        return {"created": _where(created), "error": None}

    def resume(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> dict[str, Any]:
        """Run the graph on from ``checkpoint_id`` (the latest: resume; an older one:
        replay, which branches).

        A subgraph runs only inside the root graph: from a subgraph's checkpoint where its
        run stopped (the latest of its namespace, under the root graph's latest checkpoint;
        a fork just made there, say), the root graph resumes and the subgraph goes on from
        that checkpoint, as LangGraph resumes a run.

        Raises:
            InvalidInputError: A subgraph's checkpoint where its run did not stop: LangGraph
                would rerun the subgraph from its start instead (the error names the root
                graph's checkpoint to replay from).
            NotFoundError: No such checkpoint.
        """
        return self._run(None, thread_id, checkpoint_ns, checkpoint_id)

    def answer(
        self,
        thread_id: str,
        checkpoint_ns: str,
        checkpoint_id: str,
        value: Any,
        *,
        interrupt_id: str | None = None,
    ) -> dict[str, Any]:
        """Answer the interrupt pending at ``checkpoint_id`` with ``value``
        (``Command(resume=value)``; with ``interrupt_id``, only that interrupt). A
        subgraph's interrupt is answered through the root graph, as :meth:`resume` runs.

        Raises:
            InvalidInputError: As :meth:`resume`.
            NotFoundError: No such checkpoint.
        """
        resume = {interrupt_id: value} if interrupt_id else value
        return self._run(Command(resume=resume), thread_id, checkpoint_ns, checkpoint_id)

    def _run(
        self, command: Command[Any] | None, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> dict[str, Any]:
        config = (
            _config(thread_id, "", checkpoint_id)
            if not checkpoint_ns
            else self._where_subgraph_stopped(thread_id, checkpoint_ns, checkpoint_id)
        )
        error = None
        try:
            self.graph.invoke(command, config)
        except Exception as exc:  # noqa: BLE001 - the run's error is the answer, stored as a write
            error = f"{type(exc).__name__}: {exc}"
        latest = self.graph.get_state(_config(thread_id, "", None)).config
        return {"created": _where(latest), "error": error}

    def _where_subgraph_stopped(
        self, thread_id: str, checkpoint_ns: str, checkpoint_id: str
    ) -> RunnableConfig:
        """The root graph's config that goes on from a subgraph's checkpoint: its latest,
        when the checkpoint is the latest of its namespace and each graph above it is at
        the checkpoint it ran the subgraph from (its metadata's ``parents``)."""
        saver = self.graph.checkpointer
        if not isinstance(saver, BaseCheckpointSaver):
            raise ConfigurationError("time travel needs the graph's checkpointer")
        chosen = saver.get_tuple(_config(thread_id, checkpoint_ns, checkpoint_id))
        if chosen is None:
            raise NotFoundError(
                f"thread {thread_id!r} has no checkpoint {checkpoint_id!r} in namespace "
                f"{checkpoint_ns!r}"
            )
        parents = {
            str(k): str(v) for k, v in ((chosen.metadata or {}).get("parents") or {}).items()
        }
        for ns, at in [*parents.items(), (checkpoint_ns, checkpoint_id)]:
            latest = saver.get_tuple(_config(thread_id, ns, None))
            if latest is None or latest.config["configurable"].get("checkpoint_id") != at:
                root = parents.get("")
                instead = f"its checkpoint {root!r}" if root else "the checkpoint that ran it"
                raise InvalidInputError(
                    f"checkpoint {checkpoint_id!r} of the subgraph {checkpoint_ns!r} is not "
                    "where its run stopped (the latest of its namespace, under the root "
                    f"graph's latest): {SUBGRAPH_REPLAY}. Replay the root graph from "
                    f"{instead} instead: the step that ran this subgraph, which then runs "
                    "from its start"
                )
        return _config(thread_id, "", None)
