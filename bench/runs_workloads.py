"""The run-deletion workload (r, ``runs``): what ``delete_for_runs`` costs as the table
grows, beside the Scan it replaced. Ours only (spec ``ours-runs``: the saver's defaults).

LangGraph's Agent Server calls ``delete_for_runs`` on every ``multitask_strategy=
"rollback"`` and every ``runs.delete``. Until commit 9b7d4ee it found the runs' threads
with one filtered Scan of the whole table; now a run's first ``put`` in a thread writes a
run marker (``pk = "u#" + run id``, ``sk`` = the thread's partition key) and
``delete_for_runs`` Queries each run's markers, then each thread they name.

The table: ``runs_threads`` points (1x, then 100x), each thread ``runs_per_thread`` runs
of the chat graph of workload (a), each run an ``invoke`` with its ``run_id`` in the
config's metadata, as the Agent Server sends it (``runs_fill_workers`` threads filled at
once: the fill is not what is timed). At each point, on threads filled at that point:

- ``rollback_*@N``: ``runs_rollbacks`` times, the latest run of one thread (a rollback);
- ``batch_*@N``: ``runs_batches`` times, the latest runs of ``runs_batch`` threads at once.

For each, three phases, in this order (the first two only read):

- ``*_scan@N``: the Scan the old ``delete_for_runs`` sent, exactly (:func:`old_scan`),
  paginated to the end, through the counting proxy: the cost of finding the runs' threads
  the old way, the part the markers replace (after it, the old code Queried and deleted
  each thread as the new code does);
- ``*_find@N``: the new way of finding them: the Query of each run's markers, the
  library's own request (``storage.requests.query`` of ``schema.run_pk``), paginated;
- ``*@N``: ``delete_for_runs`` itself, the whole call (the marker Queries, then a Query
  of each thread and its deletes, the markers' among them).

Then checks, uncounted: the Scan found the threads the markers name; each touched thread
lost its latest run (``get_state`` and ``list``); no marker of a deleted run is left.

The markers' write cost: after the 1x fill, the same 1x threads and runs without a
``run_id`` on a table of their own (``fill_no_run_id``): requests, capacity and bytes
written by item kind per run, with and without, and the bytes stored by item kind.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

NAMESPACE = uuid.UUID("6f1c7a52-3c1e-4d7e-9a55-2b1f6f3e9d10")
"""Of the deterministic thread and run ids (UUIDs, as the Agent Server's)."""


def thread_id(i: int, plain: bool = False) -> str:
    """The ``i``-th thread (``plain``: of the table without run ids): a UUID string."""
    return str(uuid.uuid5(NAMESPACE, f"{'plain' if plain else 'thread'}-{i}"))


def run_id(i: int, run: int) -> str:
    """The ``run``-th run of thread ``i``: a UUID string."""
    return str(uuid.uuid5(NAMESPACE, f"run-{i}-{run}"))


def run_config(thread: str, run: str | None) -> dict[str, Any]:
    """An invoke's config as the Agent Server sends it: the run id in the metadata."""
    config: dict[str, Any] = {"configurable": {"thread_id": thread}}
    if run is not None:
        config["metadata"] = {"run_id": run}
    return config


def old_scan(table: str, run_ids: list[str]) -> dict[str, Any]:
    """The request the old ``delete_for_runs`` sent to find the runs' checkpoints (commit
    9b7d4ee^, ``storage.requests.scan_runs`` read by ``flows.bulk.read_all``): a Scan of
    the whole table for the heads whose ``rid`` is listed (at most 100 ids a Scan),
    projecting the keys and the thread id, strongly consistent (the saver's default)."""
    if not 1 <= len(run_ids) <= 100:
        raise ValueError("the old Scan took 1 to 100 run ids")
    placeholders = ", ".join(f":r{i}" for i in range(len(run_ids)))
    return {
        "TableName": table,
        "FilterExpression": f"#rid IN ({placeholders})",
        "ExpressionAttributeNames": {"#rid": "rid", "#pk": "pk", "#sk": "sk", "#tid": "tid"},
        "ExpressionAttributeValues": {f":r{i}": {"S": r} for i, r in enumerate(run_ids)},
        "ProjectionExpression": "#pk, #sk, #tid",
        "ConsistentRead": True,
    }


def paginate(
    client: Any, op: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[float]]:
    """Every item of a Query or Scan, following ``LastEvaluatedKey``; and each page's
    time in ms (as many as pages)."""
    items: list[dict[str, Any]] = []
    times: list[float] = []
    page = dict(params)
    while True:
        started = time.perf_counter()
        resp = getattr(client, op)(**page)
        times.append((time.perf_counter() - started) * 1000)
        items.extend(resp.get("Items", []))
        start = resp.get("LastEvaluatedKey")
        if not start:
            return items, times
        page["ExclusiveStartKey"] = start


def threads_of_scan(items: list[dict[str, Any]]) -> set[str]:
    """The partition keys of the threads a Scan found (``t#...``)."""
    return {i["pk"]["S"] for i in items if i["pk"]["S"].startswith("t#")}


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - started) * 1000


def _fill(h: Any, graph: Any, threads: range, runs: int, plain: bool = False) -> None:
    """``runs`` runs of the chat graph in each of ``threads`` (several threads at once)."""
    wl = h.load("workloads")

    def one(i: int) -> None:
        for run in range(runs):
            rid = None if plain else run_id(i, run)
            graph.invoke(wl.chat_input(run), run_config(thread_id(i, plain), rid))

    with ThreadPoolExecutor(max_workers=h.size("runs_fill_workers")) as pool:
        for _ in pool.map(one, threads):
            pass


def _stored(h: Any, table: str) -> dict[str, Any]:
    found = h.table_bytes(table)
    return {k: found[k] for k in ("items", "bytes", "bytes_with_overhead", "by_kind")}


def runs(h: Any) -> None:
    """Fill to 1x, measure; the twin without run ids; fill to 100x, measure."""
    import boto3

    from langgraph_dynamodb import schema
    from langgraph_dynamodb.storage import requests

    wl = h.load("workloads")
    points = list(h.size("runs_threads"))
    per_thread = h.size("runs_per_thread")
    rollbacks, batch, batches = (
        h.size("runs_rollbacks"),
        h.size("runs_batch"),
        h.size("runs_batches"),
    )
    if rollbacks + batch * batches > min(b - a for a, b in zip([0, *points], points, strict=False)):
        raise ValueError("each point must add a thread for every rollback and batch")
    table = h.result["table"]
    h.note("threads", points)
    h.note("runs_per_thread", per_thread)
    h.note("rollbacks", rollbacks)
    h.note("batch", batch)
    h.note("batches", batches)
    h.note("fill_workers", h.size("runs_fill_workers"))
    client = boto3.client("dynamodb", endpoint_url=h.args.endpoint, region_name=h.args.region)
    direct = boto3.client("dynamodb", endpoint_url=h.args.direct, region_name=h.args.region)
    graph = wl.build_chat_graph().compile(checkpointer=h.saver)
    done = 0
    for n in points:
        with h.phase(f"fill@{n}"):
            _fill(h, graph, range(done, n), per_thread)
        h.note(f"fill@{n}_runs", (n - done) * per_thread)
        h.note(f"stored@{n}", _stored(h, table))
        if done == 0:
            _plain_twin(h, n, per_thread)
        start = done
        done = n
        cases = [("rollback", [[i] for i in range(start, start + rollbacks)])]
        start += rollbacks
        cases.append(
            (
                "batch",
                [list(range(start + b * batch, start + (b + 1) * batch)) for b in range(batches)],
            )
        )
        for case, groups in cases:
            wanted = [[run_id(i, per_thread - 1) for i in group] for group in groups]
            scanned: list[set[str]] = []
            pages: list[list[float]] = []
            with h.phase(f"{case}_scan@{n}"):
                for ids in wanted:
                    (items, times), ms = _timed(
                        lambda ids=ids: paginate(client, "scan", old_scan(table, ids))
                    )
                    h.sample("scan", ms)
                    pages.append(times)
                    scanned.append(threads_of_scan(items))
            h.note(f"{case}_scan@{n}_pages", [len(t) for t in pages])
            # A page's time (the client's, through the proxy) of the first Scan: the first
            # page's, the median, the last page's.
            ordered = sorted(pages[0])
            h.note(
                f"{case}_scan@{n}_page_ms",
                [round(t, 1) for t in (pages[0][0], ordered[len(ordered) // 2], pages[0][-1])],
            )
            found: list[set[str]] = []
            with h.phase(f"{case}_find@{n}"):
                for ids in wanted:
                    started = time.perf_counter()
                    threads: set[str] = set()
                    for rid in ids:
                        params = requests.query(schema.run_pk(rid), consistent=True)
                        items, _ = paginate(client, "query", {"TableName": table, **params})
                        threads.update(i["sk"]["S"] for i in items)
                    h.sample("find", (time.perf_counter() - started) * 1000)
                    found.append(threads)
            with h.phase(f"{case}@{n}"):
                for ids in wanted:
                    h.saver.delete_for_runs(ids)
            h.note(f"{case}@{n}_checks", _check(h, graph, direct, groups, wanted, scanned, found))
    client.close()
    direct.close()


def _plain_twin(h: Any, n: int, per_thread: int) -> None:
    """The 1x threads and runs again, without a ``run_id``, on a table of their own."""
    savers, instrument = h.load("savers"), h.load("instrument")
    twin = f"{h.result['table']}-plain"
    saver = instrument.instrument(savers.make_saver("ours", twin, h.args.endpoint, h.args.region))
    h.extra.append(saver)
    graph = h.load("workloads").build_chat_graph().compile(checkpointer=saver)
    with h.phase("fill_no_run_id"):
        _fill(h, graph, range(n), per_thread, plain=True)
    h.note("fill_no_run_id_runs", n * per_thread)
    h.note("stored_no_run_id", _stored(h, twin))


def _check(
    h: Any,
    graph: Any,
    direct: Any,
    groups: list[list[int]],
    wanted: list[list[str]],
    scanned: list[set[str]],
    found: list[set[str]],
) -> dict[str, Any]:
    """Whether the calls did what they should (uncounted: outside every phase)."""
    from langgraph_dynamodb import schema

    per_thread = h.size("runs_per_thread")
    calls = len(groups)
    right = left = markers_left = 0
    for group, ids in zip(groups, wanted, strict=True):
        for i, rid in zip(group, ids, strict=True):
            config = run_config(thread_id(i), None)
            messages = graph.get_state(config).values.get("messages", [])
            runs_left = {(c.metadata or {}).get("run_id") for c in h.saver.list(config)}
            right += len(messages) == 2 * (per_thread - 1) and rid not in runs_left
            left += len(runs_left - {None})
            got = direct.query(
                TableName=h.result["table"],
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": schema.run_pk(rid)}},
                ConsistentRead=True,
            )
            markers_left += got["Count"]
    return {
        "calls": calls,
        "runs": sum(len(ids) for ids in wanted),
        "scan_found_the_marked_threads": sum(a == b for a, b in zip(scanned, found, strict=True)),
        "threads_per_call": sorted({len(f) for f in found}),
        "threads_rolled_back": right,
        "runs_left_in_them": left,
        "markers_left": markers_left,
    }


WORKLOADS = {"runs": runs}
