"""The command line on a 15,000-checkpoint table (workload ``k``, ``cli``; ours only).

A chat graph (LangGraph, messages, one node) writes 200 threads of 25 turns (15,000
checkpoints with their pending writes) through the saver; then the console script,
``langgraph-dynamodb``, runs as a user runs it, each command timed from process start to
exit: ``threads``, ``stats``, ``history``, ``show``, ``export`` with 1 and 4 parallel
segments, ``import`` into an empty table and again (everything skipped). The exported
file's size and the import's result (every checkpoint read back equal) are checked.
Requests are not counted per command: the console script runs in a process of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

THREADS = 200
TURNS = 25
"""Each turn writes 3 checkpoints (the input, the start, the node's step): 15,000 in all."""
QUICK_THREADS = 10
"""Threads with ``--quick`` (and in the warm-up run): 750 checkpoints."""


def _fill(saver: Any, threads: int) -> None:
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.graph import START, MessagesState, StateGraph

    def bot(state: MessagesState) -> dict[str, Any]:
        n = len(state["messages"])
        return {"messages": [AIMessage(f"answer {n}: " + "lorem ipsum " * 8, id=f"a{n}")]}

    g = StateGraph(MessagesState)
    g.add_node("bot", bot)
    g.add_edge(START, "bot")
    graph = g.compile(checkpointer=saver)
    for t in range(threads):
        config = {"configurable": {"thread_id": f"user-{t:04d}"}}
        for turn in range(TURNS):
            graph.invoke({"messages": [HumanMessage(f"question {turn}", id=f"h{turn}")]}, config)


def cli(h: Any) -> None:
    """The workload (see the module docstring)."""
    exe = shutil.which("langgraph-dynamodb", path=os.path.dirname(sys.executable))
    if exe is None:
        raise RuntimeError("langgraph-dynamodb is not installed: pip install -e '.[cli]'")
    saver = h.saver
    table = saver.table_name
    threads = QUICK_THREADS if h.args.sizes == "quick" else THREADS
    with h.phase("fill"):
        _fill(saver, threads)
    h.note("checkpoints", sum(1 for _ in saver.list(None)))
    h.note("threads", threads)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": h.args.endpoint,
        "AWS_REGION": h.args.region,
        "LANGGRAPH_DYNAMODB_TABLE": table,
    }
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    copy = f"{table}-copy"
    timings: dict[str, float] = {}

    def run(name: str, *args: str) -> str:
        started = time.perf_counter()
        done = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=600)
        timings[name] = round((time.perf_counter() - started) * 1000, 1)
        if done.returncode != 0:
            raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr[-500:]}")
        return done.stdout + done.stderr

    try:
        run("threads", "threads")
        run("threads --json", "threads", "--json")
        run("stats", "stats")
        run("history (one thread)", "history", "user-0007")
        run("show", "show", "user-0007")
        run("export, 1 segment", "export", "--segments", "1", "-o", str(work / "one.jsonl"))
        run("export, 4 segments", "export", "--segments", "4", "-o", str(work / "all.jsonl"))
        h.note("export_bytes", (work / "all.jsonl").stat().st_size)
        h.note("export_lines", sum(1 for _ in (work / "all.jsonl").open()))
        run("setup (the copy's table)", "--table", copy, "setup")
        run("import (every checkpoint)", "--table", copy, "import", str(work / "all.jsonl"))
        out = run("import again (all skipped)", "--table", copy, "import", str(work / "all.jsonl"))
        h.note("reimport", out.strip().splitlines()[-1])
        from langgraph_dynamodb import DynamoDBSaver

        with DynamoDBSaver(
            table_name=copy, endpoint_url=h.args.endpoint, region_name=h.args.region
        ) as target:
            same = all(
                list(target.list({"configurable": {"thread_id": f"user-{t:04d}"}}))
                == list(saver.list({"configurable": {"thread_id": f"user-{t:04d}"}}))
                for t in range(0, threads, max(1, threads // 10))
            )
        h.note("import_equal_sampled", same)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        h.note("timings_ms", timings)


WORKLOADS = {"cli": cli}
