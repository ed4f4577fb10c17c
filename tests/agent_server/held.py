"""A graph of the test's own, beside the page's: a run that stays in flight (its second node
waits while ``hold`` is true), so that a second run with ``multitask_strategy="rollback"``
meets it running, with a checkpoint already written. The page's graph ends its runs in
milliseconds, too fast to be rolled back on purpose.

Copied into the project directory as ``held.py``; langgraph.json gains
``"held": "./held.py:graph"``. The node is async and sleeps with ``asyncio.sleep``, so the
server cancels it at once (and ``langgraph dev``'s blocking-call detector stays quiet)."""

import asyncio
import operator
import time
from typing import Annotated, TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    hold: bool


async def first(state: State) -> dict:
    return {"log": ["first"]}


async def held(state: State) -> dict:
    deadline = time.monotonic() + 60  # never past the test's patience
    while state.get("hold") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return {"log": ["released"]}


builder = StateGraph(State)
builder.add_node("first", first)
builder.add_node("held", held)
builder.add_edge(START, "first")
builder.add_edge("first", "held")
graph = builder.compile()
