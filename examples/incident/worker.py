"""A real crash: run an investigation in a subprocess, kill it mid-graph, resume it here.

``python -m examples.incident.worker --endpoint-url URL --table T --thread-id ID`` runs one
investigation of a recorded scenario and prints a JSON summary. With
``INCIDENT_FAULTS=hang:runbooks`` in its environment, the ``runbooks`` agent freezes while
the five others finish and their hypotheses are saved in DynamoDB;
:func:`crash_mid_graph` then kills the process with SIGKILL, as a Lambda timeout or an
out-of-memory kill would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import examples
from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore

from . import memory
from .faults import ENV_FAULTS
from .investigation import Investigator
from .model import AGENTS
from .telemetry import load_scenarios


class CrashError(RuntimeError):
    """The worker did not reach the point where it was to be killed."""


@dataclass(frozen=True)
class Crash:
    """What :func:`crash_mid_graph` did.

    Attributes:
        pid: The killed worker's process id.
        returncode: Its exit status (``-9``: killed by SIGKILL).
        finished: Agents whose hypotheses were saved before the kill (sorted).
        seconds: How long the worker ran.
    """

    pid: int
    returncode: int
    finished: list[str]
    seconds: float


def start_worker(
    *,
    endpoint_url: str,
    region: str,
    table: str,
    scenario: str,
    thread_id: str,
    faults: str,
    event_id: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``python -m examples.incident.worker`` with ``INCIDENT_FAULTS=faults``."""
    env = dict(os.environ)
    env[ENV_FAULTS] = faults
    root = str(Path(examples.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("AWS_ACCESS_KEY_ID", "local")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.incident.worker",
            "--endpoint-url",
            endpoint_url,
            "--region",
            region,
            "--table",
            table,
            "--scenario",
            scenario,
            "--thread-id",
            thread_id,
            *(["--event-id", event_id] if event_id else []),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def crash_mid_graph(
    investigator: Investigator,
    *,
    endpoint_url: str,
    region: str,
    table: str,
    scenario: str,
    thread_id: str,
    event_id: str | None = None,
    hang: str = "runbooks",
    timeout_s: float = 90.0,
) -> Crash:
    """Run a worker whose ``hang`` agent freezes; SIGKILL it once the others are saved.

    Args:
        investigator: Reads the thread's checkpoints (same table as the worker).
        endpoint_url: DynamoDB endpoint.
        region: AWS region.
        table: Checkpoint table.
        scenario: Recorded scenario to investigate.
        thread_id: The worker's checkpoint thread.
        event_id: Replace the scenario event's id (default: keep it).
        hang: The agent that freezes.
        timeout_s: Give up (and kill the worker) after this long.

    Raises:
        CrashError: The worker exited or never got there.
    """
    expected = sorted(a for a in AGENTS if a != hang)
    started = time.monotonic()
    proc = start_worker(
        endpoint_url=endpoint_url,
        region=region,
        table=table,
        scenario=scenario,
        thread_id=thread_id,
        faults=f"hang:{hang}",
        event_id=event_id,
    )
    try:
        while True:
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise CrashError(
                    f"worker exited with {proc.returncode} before the crash point: "
                    f"{err.decode(errors='replace')[-2000:]}"
                )
            if time.monotonic() - started > timeout_s:
                raise CrashError(f"the worker's agents did not finish within {timeout_s:g} s")
            finished = investigator.finished_agents(thread_id)
            if finished == expected:
                break
            time.sleep(0.1)
        proc.kill()  # SIGKILL: no cleanup, no flush, like a Lambda timeout
        proc.wait(timeout=30)
        return Crash(proc.pid, proc.returncode, finished, time.monotonic() - started)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def main(argv: list[str] | None = None) -> int:
    """Run one investigation of a recorded scenario; print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--table", required=True)
    parser.add_argument("--scenario", default="checkout-latency")
    parser.add_argument("--thread-id", required=True)
    parser.add_argument("--event-id", help="replace the scenario event's id")
    parser.add_argument("--ttl-days", type=float, default=30.0)
    parser.add_argument("--no-memory", action="store_true", help="run without the store")
    args = parser.parse_args(argv)
    event = dict(load_scenarios()[args.scenario]["event"])
    if args.event_id:
        event["id"] = args.event_id
    with (
        DynamoDBSaver.from_table(
            args.table,
            endpoint_url=args.endpoint_url,
            region_name=args.region,
            ttl=timedelta(days=args.ttl_days),
        ) as saver,
        DynamoDBStore.from_table(
            args.table,
            endpoint_url=args.endpoint_url,
            region_name=args.region,
            index=memory.index_config(),
        ) as store,
    ):
        investigator = Investigator(saver, None if args.no_memory else store)
        outcome = investigator.investigate(event, thread_id=args.thread_id)
    print(
        json.dumps(
            {
                "mode": outcome.mode,
                "status": outcome.result["status"],
                "agents_run": outcome.agents_run,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
