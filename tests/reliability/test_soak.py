"""Short soak (10 threads x 20 steps, sync and async): no error, no lost step, sockets
and aiobotocore clients released. ``scripts/soak.py`` runs the long one (50 x 200) and
judges memory flatness; ``RELIABILITY_LONG=1`` runs it here too."""

from __future__ import annotations

import os

import pytest

from . import tally
from .soaklib import run_async, run_sync, table_lines

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

LONG = os.environ.get("RELIABILITY_LONG") == "1"
THREADS, STEPS = (50, 200) if LONG else (10, 20)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_soak(mode: str, ddb_endpoint: str, table_name: str) -> None:
    run = run_sync if mode == "sync" else run_async
    fig = run(ddb_endpoint, table_name, THREADS, STEPS, trace=LONG)
    print("\n".join(table_lines([fig])))
    tally.add(soak_invokes=fig.invokes, soak_checkpoints=fig.checkpoints)
    assert not fig.errors, fig.errors[:5]
    assert fig.lost_steps == 0
    assert fig.checkpoints > THREADS * STEPS
    assert fig.sockets["after close"] <= fig.sockets["before"], fig.sockets
    if mode == "async":
        assert fig.aio_clients["during"] <= fig.aio_clients["before"] + 1, fig.aio_clients
        assert fig.aio_clients["after close"] <= fig.aio_clients["before"], fig.aio_clients
        assert fig.aiohttp_sessions_open_after == 0
