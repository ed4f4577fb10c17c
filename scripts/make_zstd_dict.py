"""Make the zstd dictionary of codec ``zstd+d1`` (how ``zstd_d1.bin`` was made).

The dictionary is raw content: the uncompressed payloads of a few small, generic LangGraph
graphs (a tool-calling agent with an approval interrupt, a ``Send`` fan-out, a
subgraph), so that what every checkpoint repeats (``channel_versions``,
``versions_seen``, ``branch:to:`` channels, LangChain message fields, serializer type
names) costs a few bytes instead of its literal text. It holds no benchmark text.

A dictionary is part of the stored format: items written with ``zstd+d1`` can only be
read with exactly these bytes, so the file is never regenerated in place (its digest is
checked when it is loaded). A better dictionary would be a new codec name.

Run (needs DynamoDB Local, see the README): ``python scripts/make_zstd_dict.py OUT``.
"""

from __future__ import annotations

import operator
import os
import sys
from typing import Annotated, Any

import boto3
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.local import DynamoDBLocal, install

MAX_BYTES = 32768


class AgentState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def agent_graph() -> StateGraph:
    def agent(state: AgentState) -> dict[str, Any]:
        if isinstance(state["messages"][-1], ToolMessage):
            return {"messages": [AIMessage(content="Done.", id="ai-2")]}
        call = {"name": "lookup", "args": {"query": "status"}, "id": "call-1"}
        return {"messages": [AIMessage(content="", id="ai-1", tool_calls=[call])]}

    def tools(state: AgentState) -> dict[str, Any]:
        approved = interrupt({"question": "run lookup?"})
        return {
            "messages": [ToolMessage(content=f"ok {approved}", tool_call_id="call-1", id="tool-1")]
        }

    def route(state: AgentState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    b = StateGraph(AgentState)
    b.add_node("agent", agent)
    b.add_node("tools", tools)
    b.add_edge(START, "agent")
    b.add_conditional_edges("agent", route, ["tools", END])
    b.add_edge("tools", "agent")
    return b


class FanState(TypedDict, total=False):
    items: list[str]
    results: Annotated[list[str], operator.add]
    summary: str


class SubState(TypedDict, total=False):
    summary: str


def fan_graph() -> StateGraph:
    sub = StateGraph(SubState)
    sub.add_node("write", lambda s: {"summary": "summary"})
    sub.add_edge(START, "write")
    sub.add_edge("write", END)

    def fan(state: FanState) -> list[Send]:
        return [Send("worker", {"items": [x]}) for x in state["items"]]

    b = StateGraph(FanState)
    b.add_node("worker", lambda s: {"results": [f"result {s['items'][0]}"]})
    b.add_node("report", sub.compile())
    b.add_conditional_edges(START, fan, ["worker"])
    b.add_edge("worker", "report")
    b.add_edge("report", END)
    return b


def main(out: str) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    install()
    with DynamoDBLocal() as ddb:
        table = "zstd-dict-sample"
        saver = DynamoDBSaver(
            table_name=table,
            endpoint_url=ddb.endpoint_url,
            region_name="us-east-1",
            compression=None,
        )
        saver.setup()
        agent = agent_graph().compile(checkpointer=saver)
        cfg: Any = {"configurable": {"thread_id": "agent"}}
        agent.invoke({"messages": [HumanMessage(content="Check the status.", id="human-1")]}, cfg)
        agent.invoke(Command(resume="yes"), cfg)
        fan = fan_graph().compile(checkpointer=saver)
        fan.invoke({"items": ["a", "b", "c"]}, {"configurable": {"thread_id": "fan"}})
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint_url, region_name="us-east-1")
        items = client.scan(TableName=table)["Items"]
    writes = sorted(i["p"]["B"] for i in items if i["k"]["S"] == "w" and "p" in i)
    heads = sorted(i["p"]["B"] for i in items if i["k"]["S"] == "c" and "p" in i)
    # zstd finds recent (later) dictionary content cheaper: heads, the commonest, last.
    content = b"".join(dict.fromkeys([*writes, *heads]))[-MAX_BYTES:]
    with open(out, "wb") as f:
        f.write(content)
    print(f"{out}: {len(content)} bytes from {len(writes)} writes and {len(heads)} heads")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "zstd_d1.bin")
