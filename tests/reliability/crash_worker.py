"""Worker process of the crash and concurrency tests (run with ``python``, never imported
by pytest).

``python tests/reliability/crash_worker.py --job '<json>'`` runs one job and exits:

- ``{"op": "put" | "put_writes" | "delete_thread" | "prune" | "copy_thread" |
  "delete_for_runs", ...}``: one saver operation of a crash case (see ``crashlab``);
- ``{"op": "resume", ...}``: resume an interrupted graph thread (``test_concurrency``).

``python tests/reliability/crash_worker.py --serve`` imports everything once, prints
``ready``, then reads one JSON job per line from stdin and forks a child for each,
printing ``pid <pid>`` when it starts and ``exit <pid> <wait status>`` when it ends. The
test kills children with SIGKILL by that PID. End of input: wait for the children, exit.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from tests.reliability import crashlab  # noqa: E402 - after the path set-up


def resume(job: dict[str, Any]) -> None:
    """Resume an interrupted thread: touch ``job["ready"]``, wait for ``job["go"]`` (so
    that two workers resume at the same moment), then resume with ``job["answer"]``."""
    from langgraph.types import Command

    from langgraph_dynamodb import DynamoDBSaver
    from tests.reliability.graphs import approval_graph

    saver = DynamoDBSaver(
        table_name=job["table"], endpoint_url=job["endpoint"], region_name=crashlab.REGION
    )
    graph = approval_graph(slow_resume=job.get("slow", 0.0)).compile(checkpointer=saver)
    config = {"configurable": {"thread_id": job["thread"]}}
    Path(job["ready"]).touch()
    go = Path(job["go"])
    while not go.exists():
        time.sleep(0.002)
    graph.invoke(Command(resume=job["answer"]), config)
    saver.close()


def run(job: dict[str, Any]) -> None:
    if job["op"] == "resume":
        resume(job)
    else:
        crashlab.execute_job(job)


def serve() -> None:
    import aiobotocore.session  # noqa: F401 - imported once here rather than in every child
    import boto3  # noqa: F401

    import tests.reliability.graphs  # noqa: F401

    fd = sys.stdin.fileno()
    pending = b""
    children: set[int] = set()
    eof = False
    print("ready", flush=True)
    while not eof or children:
        if not eof:
            readable, _, _ = select.select([fd], [], [], 0.005)
            if readable:
                data = os.read(fd, 65536)
                eof = not data
                pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            job = json.loads(line)
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    run(job)
                except BaseException:
                    traceback.print_exc()
                    code = 1
                finally:
                    sys.stderr.flush()
                    os._exit(code)
            children.add(pid)
            print(f"pid {pid}", flush=True)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            children.discard(pid)
            print(f"exit {pid} {status}", flush=True)
        if eof and children:
            time.sleep(0.005)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        serve()
        return 0
    if len(argv) == 2 and argv[0] == "--job":
        run(json.loads(argv[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
