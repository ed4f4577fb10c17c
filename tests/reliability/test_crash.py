"""Crash consistency: SIGKILL the process running put, put_writes, delete_thread, prune,
copy_thread or delete_for_runs at every request it makes, and check what remains.

For each operation, a fault-free run in a worker records the requests it makes. Then, for
each write request (and the first read), a fresh case is built and the operation is run
again in a worker that is killed with SIGKILL while request N is held by the proxy:
before it reaches DynamoDB, after DynamoDB applied it, and, for a BatchWriteItem, after
DynamoDB applied part of it (what a crash between a batch and the retry of its
``UnprocessedItems`` leaves). A few more kills come at random times. After each kill
``crashlab.Lab`` checks (see its docstring) that every visible checkpoint is whole and
equals its old or new value, that nothing that should survive is lost, that running the
operation again reaches the new state exactly, and that prune and delete_thread leave no
leftover in the table.

CI kills each operation at 6 of these points, evenly spread (sync and async
alternating); ``RELIABILITY_LONG=1`` takes every point, adds every read, runs both APIs
for each and more random kills, and
``scripts/crash_soak.py`` repeats everything for as many rounds as asked.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator

import boto3
import pytest

from langgraph_dynamodb import DynamoDBSaver

from ..conftest import REGION
from . import tally
from .crashlab import OPS, Kill, Lab, Outcome, kill_points, spread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

LONG = os.environ.get("RELIABILITY_LONG") == "1"
CI_POINTS_PER_OP = 6
"""CI kills each operation at this many of its kill points, evenly spread over its
requests (all of them in the long run)."""


@pytest.fixture(scope="module")
def lab(ddb_endpoint: str) -> Iterator[Lab]:
    """A lab on its own table: ``delete_for_runs`` scans the whole table, so a table
    shared with other tests would make its request count (and its kill points) drift."""
    table = f"crash-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=table, endpoint_url=ddb_endpoint, region_name=REGION) as s:
        s.setup()
    lab = Lab(ddb_endpoint, table)
    try:
        yield lab
    finally:
        lab.close()
        boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION).delete_table(
            TableName=table
        )


def record(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        print(
            f"{o.op:16} {o.mode:5} kill at {o.kill!s:24} held {o.held_op or '-':15} "
            f"killed {o.killed!s:5} visible {o.visible:2} lost {o.lost} "
            f"leftovers {o.leftovers} ({o.seconds:.2f} s)"
        )
    tally.add(
        crash_runs=len(outcomes),
        crashes_injected=sum(o.killed for o in outcomes),
        crash_checkpoints_lost=sum(o.lost for o in outcomes),
        crash_leftovers_removed=sum(o.leftovers for o in outcomes),
    )


@pytest.mark.parametrize("op", OPS)
def test_kill_at_each_request(lab: Lab, op: str) -> None:
    ops, _ = lab.journal_once(op)
    points = list(kill_points(ops, every_read=LONG))
    chosen = spread(points, None if LONG else CI_POINTS_PER_OP)
    print(f"{op}: {len(ops)} requests {ops}; {len(chosen)} of {len(points)} kill points")
    outcomes = []
    for i, kill in enumerate(chosen):
        for mode in ("sync", "async") if LONG else (("sync", "async")[i % 2],):
            outcome = lab.crash(op, mode, kill)
            outcomes.append(outcome)
            assert outcome.killed, f"{op} never reached {kill} ({mode})"
    record(outcomes)
    assert outcomes
    assert sum(o.lost for o in outcomes) == 0


def test_kill_at_random_times(lab: Lab) -> None:
    rng = random.Random(os.environ.get("RELIABILITY_SEED", "crash"))
    outcomes = []
    for op in OPS:
        _, seconds = lab.journal_once(op)
        for i in range(4 if LONG else 1):
            delay = rng.uniform(0.0, seconds)
            outcomes.append(lab.crash(op, ("sync", "async")[i % 2], Kill(after_s=delay)))
    # and a plain `python` process (not a fork), killed while it imports or works
    outcomes.append(lab.crash("put", "sync", Kill(after_s=rng.uniform(1.0, 3.0), plain=True)))
    record(outcomes)
    assert sum(o.lost for o in outcomes) == 0
