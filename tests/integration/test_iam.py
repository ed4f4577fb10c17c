"""Every DynamoDB request the library sends is granted, recorded with botocore events
(``before-parameter-build.dynamodb``) on every client made while it runs:

- the Lambda story (README.md, docs/async.md, docs/iac.md): the saver made and
  ``setup()`` called in the init phase, then invocations, with and without ``ttl=`` (and
  what ``ttl=`` sends about ttl/2 into production), on a table made as the templates
  declare it, against every template's runtime policy: the CloudFormation, SAM, CDK,
  Terraform and JSON policies of docs/iac.md and docs/security.md, and the incident
  example's SAM template and CDK spec (whose own handler runs too);
- each option and command against its row of docs/security.md's tables.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import json
import operator
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict
from unittest import mock

import boto3
import botocore.session
import pytest
import yaml
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import START, StateGraph

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore

from ..conftest import REGION, SEARCH_VECTORS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ACCOUNT = "123456789012"
INDEX_NAME = "langgraph-store-vectors"


def needs(*modules: str) -> None:
    """Skip where an extra is not installed (the floors' test run has no [infra], [cli])."""
    for module in modules:
        pytest.importorskip(module)


# --- recording ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One request: its IAM action, table and index (``None``: the table itself)."""

    action: str
    table: str
    index: str | None = None


@dataclass
class Recorder:
    requests: list[Request] = field(default_factory=list)

    def actions(self) -> set[str]:
        return {r.action for r in self.requests}

    def take(self) -> list[Request]:
        taken, self.requests = self.requests, []
        return taken


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Every DynamoDB request of every botocore client made inside the block."""
    recorder = Recorder()

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        tables = (
            [params["TableName"]]
            if "TableName" in params
            else list(params.get("RequestItems") or {})
        )
        for table in tables or [""]:
            recorder.requests.append(
                Request(f"dynamodb:{model.name}", table, params.get("IndexName"))
            )

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("before-parameter-build.dynamodb", note)
        return client

    with mock.patch.object(botocore.session.Session, "create_client", create_client):
        yield recorder


# --- policies -------------------------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass
class Policy:
    """A runtime policy's statements, and the ARN it names the checkpoint table by."""

    name: str
    statements: list[dict[str, Any]]
    table_arn: str

    def _matches(self, st: dict[str, Any], action: str, resource: str) -> bool:
        if not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in as_list(st["Action"])):
            return False
        if "NotResource" in st:
            return not any(fnmatch.fnmatch(resource, r) for r in as_list(st["NotResource"]))
        return any(fnmatch.fnmatch(resource, r) for r in as_list(st["Resource"]))

    def allows(self, request: Request) -> bool:
        resource = self.table_arn + (f"/index/{request.index}" if request.index else "")
        deny = [s for s in self.statements if s["Effect"] == "Deny"]
        allow = [s for s in self.statements if s["Effect"] == "Allow"]
        if any(self._matches(s, request.action, resource) for s in deny):
            return False
        return any(self._matches(s, request.action, resource) for s in allow)

    def refused(self, requests: list[Request]) -> list[str]:
        return sorted(
            {
                f"{r.action}{'/' + r.index if r.index else ''}"
                for r in requests
                if not self.allows(r)
            }
        )


def blocks(page: str, lang: str) -> list[str]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == lang]


def one(found: list[Any], what: str) -> Any:
    assert len(found) == 1, f"{what}: {len(found)} found"
    return found[0]


def _resolve(value: Any) -> Any:
    from tests.examples.iam import resolve

    return resolve(value)


def docs_policies() -> list[Policy]:
    """The runtime policies docs/iac.md and docs/security.md tell users to deploy."""
    from tests.examples.iam import table_arn

    arn = table_arn("CheckpointTable")
    out = []

    def template(resource_type: str, what: str) -> Any:
        found = [yaml.safe_load(b) for b in blocks("docs/iac.md", "yaml") if resource_type in b]
        return one(found, what)

    cfn = template("AWS::IAM::ManagedPolicy", "CloudFormation")
    doc = cfn["Resources"]["RuntimePolicy"]["Properties"]["PolicyDocument"]
    out.append(Policy("docs/iac.md CloudFormation", _resolve(doc["Statement"]), arn))
    sam = template("AWS::Serverless::Function", "SAM")
    policies = sam["Resources"]["GraphFunction"]["Properties"]["Policies"]
    statements = [st for p in policies if isinstance(p, dict) for st in p["Statement"]]
    out.append(Policy("docs/iac.md SAM", _resolve(statements), arn))
    cdk = one([b for b in blocks("docs/iac.md", "python") if "RUNTIME_ACTIONS" in b], "CDK")
    actions = one(
        [
            ast.literal_eval(node.value)
            for node in ast.walk(ast.parse(cdk))
            if isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", "") == "RUNTIME_ACTIONS"
        ],
        "RUNTIME_ACTIONS",
    )
    out.append(
        Policy("docs/iac.md CDK", [{"Effect": "Allow", "Action": actions, "Resource": arn}], arn)
    )
    hcl = one(blocks("docs/iac.md", "hcl"), "Terraform")
    document = one(
        re.findall(r'data "aws_iam_policy_document".*?\n}\n', hcl, re.DOTALL), "policy document"
    )
    actions = re.findall(r'"(dynamodb:\w+)"', document)
    out.append(
        Policy(
            "docs/iac.md Terraform", [{"Effect": "Allow", "Action": actions, "Resource": arn}], arn
        )
    )
    for page, sid in [
        ("docs/iac.md", "RunGraphs"),
        ("docs/security.md", "LangGraphCheckpointsAndMemory"),
    ]:
        policy = one([json.loads(b) for b in blocks(page, "json") if f'"{sid}"' in b], sid)
        statements = policy["Statement"]
        out.append(
            Policy(
                f"{page} JSON", statements, one(sorted({s["Resource"] for s in statements}), sid)
            )
        )
    return out


def incident_policies() -> list[Policy]:
    """The incident example's function policy: its SAM template and the CDK app's spec."""
    from samtranslator.yaml_helper import yaml_parse

    from examples.incident.infra import spec
    from tests.examples.iam import resolve, table_arn

    template = yaml_parse(
        (Path(spec.__file__).with_name("template.yaml")).read_text(encoding="utf-8")
    )
    params = {name: str(p["Default"]) for name, p in template["Parameters"].items()}
    policies = template["Resources"]["InvestigatorFunction"]["Properties"]["Policies"]
    statements = [
        resolve(st, params) for p in policies if isinstance(p, dict) for st in p["Statement"]
    ]
    arn = table_arn("CheckpointTable")
    cdk = [
        {"Effect": "Allow", "Action": list(spec.CHECKPOINT_TABLE_ACTIONS), "Resource": arn},
        {
            "Effect": "Allow",
            "Action": list(spec.MEMORY_SEARCH_ACTIONS),
            "Resource": f"{arn}/index/{INDEX_NAME}",
        },
    ]
    return [Policy("incident SAM template", statements, arn), Policy("incident CDK spec", cdk, arn)]


# --- tables as the templates declare them ---------------------------------------------------
def template_table(client: Any, name: str) -> str:
    """A table made as docs/iac.md's SAM template declares it (keys, billing, TTL on)."""
    sam = one(
        [
            yaml.safe_load(b)
            for b in blocks("docs/iac.md", "yaml")
            if "AWS::Serverless::Function" in b
        ],
        "SAM",
    )
    props = sam["Resources"]["CheckpointTable"]["Properties"]
    client.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
    ttl = props["TimeToLiveSpecification"]
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": ttl["Enabled"]},
    )
    return name


@pytest.fixture
def local(ddb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client of DynamoDB Local, with the environment a user's shell would have."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb_endpoint)
    monkeypatch.setenv("AWS_REGION", REGION)
    return boto3.client("dynamodb", endpoint_url=ddb_endpoint, region_name=REGION)


def a_later_put(saver: DynamoDBSaver, thread_id: str) -> None:
    """What ``ttl=`` sends once a TTL window has passed: a new checkpoint that refers to an
    older one extends the older one's expiry (UpdateItem). With ``ttl=2`` a window is 1 s."""
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    first = empty_checkpoint()
    version = saver.get_next_version(None, None)
    first["channel_values"] = {"notes": "a value too large to store twice " * 40}
    first["channel_versions"] = {"notes": version}
    config = saver.put(config, first, {"source": "input", "step": -1}, {"notes": version})
    time.sleep(1.1)
    second = empty_checkpoint()
    second["channel_values"] = dict(first["channel_values"])
    second["channel_versions"] = dict(first["channel_versions"])
    saver.put(config, second, {"source": "loop", "step": 0}, {})


# --- the Lambda story -----------------------------------------------------------------------
def readme_lambda() -> str:
    return one(
        [
            b
            for b in blocks("README.md", "python")
            if "def handler(event" in b and "saver.setup(" in b
        ],
        "README's Lambda block",
    )


@pytest.mark.parametrize("ttl", [None, 2], ids=["no-ttl", "ttl"])
def test_readme_lambda_cold_start_and_invocations_are_granted_by_every_template(
    local: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ttl: int | None
) -> None:
    needs("parliament", "samtranslator")  # the templates' checks: the [infra] extra
    name = template_table(local, f"lambda-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("CHECKPOINT_TABLE", name)
    code = readme_lambda()
    if ttl is not None:
        assert code.count("DynamoDBSaver(table_name=") == 1
        code = code.replace("DynamoDBSaver(table_name=", f"DynamoDBSaver(ttl={ttl}, table_name=")
    namespace: dict[str, Any] = {"__name__": "lambda_function"}
    with recording() as rec:
        exec(compile(code, "README.md", "exec"), namespace)  # init, then one invocation
        assert "from lambda" in capsys.readouterr().out
        namespace["handler"]({"thread_id": "t-3", "text": "again"}, None)
        if ttl is not None:
            a_later_put(namespace["saver"], "t-later")
    namespace["saver"].close()
    seen = rec.take()
    assert {r.table for r in seen} == {name}
    expected = {"dynamodb:DescribeTable", "dynamodb:Query", "dynamodb:PutItem"}
    if ttl is not None:
        expected |= {"dynamodb:DescribeTimeToLive", "dynamodb:UpdateItem"}
    assert expected <= {r.action for r in seen}, {r.action for r in seen}
    assert not {"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"} & {r.action for r in seen}
    for policy in docs_policies() + incident_policies():
        assert policy.refused(seen) == [], policy.name


def test_incident_handler_cold_start_and_invocation_are_granted(
    local: Any, scenarios: dict[str, Any]
) -> None:
    """The incident example's handler, with the story's ``setup()`` at init, against its
    own templates (its store, its idempotency records and the saver on one table)."""
    needs("parliament", "samtranslator", "aws_lambda_powertools")
    from examples.incident import handler

    name = template_table(local, f"incident-iam-{uuid.uuid4().hex[:8]}")
    event = {**scenarios["checkout-latency"]["event"], "id": str(uuid.uuid4())}
    settings = handler.Settings(table=name, region=REGION, endpoint_url=local.meta.endpoint_url)
    with recording() as rec:
        runtime = handler.build_runtime(settings)
        runtime.saver.setup(prepare_async=False)  # the story: setup() in the init phase
        handler.set_runtime(runtime)
        try:
            response = handler.handler(event, None)
        finally:
            handler.set_runtime(None)
            runtime.saver.close()
    assert response["statusCode"] == 200, response
    seen = rec.take()
    assert {"dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:PutItem"} <= {
        r.action for r in seen
    }
    for policy in incident_policies():
        assert policy.refused(seen) == [], policy.name


@pytest.fixture(scope="session")
def scenarios() -> dict[str, Any]:
    needs("aws_lambda_powertools")  # the example's own dependencies: the [examples] extra
    from examples.incident.telemetry import load_scenarios

    return load_scenarios()


# --- every option against docs/security.md ------------------------------------------------
def documented() -> dict[str, set[str]]:
    """docs/security.md's table rows: the first cell, and the actions the row names."""
    out: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "security.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.startswith("|") or set(cells[0]) <= {"-"}:
            continue
        actions = set(re.findall(r"dynamodb:(\w+)", " ".join(cells[1:])))
        if actions:
            assert cells[0] not in out, f"docs/security.md: two rows {cells[0]!r}"
            out[cells[0]] = {f"dynamodb:{a}" for a in actions}
    return out


def check(seen: list[Request], rows: list[str]) -> set[str]:
    table = documented()
    missing = [r for r in rows if r not in table]
    assert not missing, f"docs/security.md has no rows {missing}; it has {sorted(table)}"
    allowed = set().union(*(table[r] for r in rows))
    actions = {r.action for r in seen}
    assert actions <= allowed, (rows, sorted(actions - allowed))
    return actions


GRAPH = (
    "running graphs: `get_tuple`, `put`, `put_writes`, `list(config)`, `get_delta_channel_history`"
)
STORE = "`get`, `put`, `delete`, `search`, `list_namespaces`"


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def run_graph(saver: DynamoDBSaver, thread_id: str, big: bool = False) -> None:
    """Two turns of a chat on a thread, then its history; with ``big``, a reply of 800 KB
    (400 KB compressed: chunks)."""

    def reply(state: State) -> dict[str, list[str]]:
        extra = os.urandom(400_000).hex() if big else ""
        return {"messages": [f"echo: {state['messages'][-1]}{extra}"]}

    builder = StateGraph(State)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread_id}}
    for text in ("hi", "again"):
        graph.invoke({"messages": [text]}, config)
    list(graph.get_state_history(config))


def test_saver_options_stay_within_their_rows(local: Any) -> None:
    table = template_table(local, f"iam-saver-{uuid.uuid4().hex[:8]}")
    with recording() as rec:
        plain = DynamoDBSaver(table_name=table)
        plain.setup(prepare_async=False)
        got = check(rec.take(), ["`setup()` on an existing table"])
        assert got == {"dynamodb:DescribeTable"}
        run_graph(plain, "g-1", big=True)
        run_graph(plain, "g-2")
        got = check(rec.take(), [GRAPH])
        assert {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem"} <= got
        for rows, call in [
            (["`copy_thread`"], lambda: plain.copy_thread("g-1", "g-1c")),
            (['`prune(strategy="keep_latest")`'], lambda: plain.prune(["g-1c"])),
            (["`list(None)` (every thread)"], lambda: list(plain.list(None, limit=3))),
            (["`delete_for_runs`"], lambda: plain.delete_for_runs(["no-such-run"])),
            (['`delete_thread`, `prune(strategy="delete")`'], lambda: plain.delete_thread("g-2")),
        ]:
            call()
            check(rec.take(), rows)
        plain.close()
        timed = DynamoDBSaver(table_name=table, ttl=2, ttl_refresh_on_read=True)
        timed.setup(prepare_async=False)
        got = check(rec.take(), ["`setup()` on an existing table", "`ttl=`"])
        assert got == {"dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"}
        a_later_put(timed, "ttl-1")
        got = check(rec.take(), [GRAPH, "`ttl=`"])
        assert "dynamodb:UpdateItem" in got  # about ttl/2 into production
        config = {"configurable": {"thread_id": "ttl-1"}}
        timed.get_tuple(config)
        time.sleep(1.1)
        timed.get_tuple(config)  # past half its lifetime: rewritten
        check(rec.take(), [GRAPH, "`ttl=`", "`ttl_refresh_on_read=True`"])
        timed.close()
        fresh = DynamoDBSaver(table_name=f"iam-new-{uuid.uuid4().hex[:8]}", ttl=60)
        fresh.setup(prepare_async=False)
        got = check(rec.take(), ["`setup()` that creates the table"])
        assert {"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"} <= got
        fresh.close()


def test_store_options_stay_within_their_rows(local: Any) -> None:
    table = template_table(local, f"iam-store-{uuid.uuid4().hex[:8]}")
    with recording() as rec:
        store = DynamoDBStore(table_name=table, ttl={"default_ttl": 0.05, "refresh_on_read": True})
        store.setup(prepare_async=False)
        got = check(rec.take(), ["the store's `setup()` on an existing table"])
        assert got == {"dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"}
        store.put(("memories", "u"), "m", {"text": "tea"})
        store.get(("memories", "u"), "m")
        store.search(("memories",), filter={"text": "tea"})
        store.list_namespaces()
        # on a slow machine the get may come over 0.3 s after the put: a refresh already
        check(rec.take(), [STORE, "the store's TTL refresh on read"])
        time.sleep(1.1)
        store.get(("memories", "u"), "m")  # refreshed: its expiry moves by over a tenth
        got = check(rec.take(), [STORE, "the store's TTL refresh on read"])
        assert "dynamodb:UpdateItem" in got
        store.delete(("memories", "u"), "m")
        check(rec.take(), [STORE])
        store.close()


CACHE = "the cache's `get`, `set`, `clear`"


def test_cache_stays_within_its_rows(local: Any) -> None:
    from langgraph_dynamodb import DynamoDBCache

    table = template_table(local, f"iam-cache-{uuid.uuid4().hex[:8]}")
    with recording() as rec:
        cache = DynamoDBCache(table_name=table)
        cache.setup(prepare_async=False)
        got = check(rec.take(), ["the cache's `setup()` on an existing table"])
        assert got == {"dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"}
        big = os.urandom(400_000).hex()  # chunked
        cache.set({(("n",), "k"): ("v", 60), (("n",), "big"): (big, None)})
        assert cache.get([(("n",), "k"), (("n",), "big")])[(("n",), "big")] == big
        cache.clear([("n",)])
        cache.clear()
        got = check(rec.take(), [CACHE])
        assert got == {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query"}
        cache.close()
    new_table = f"iam-cache-new-{uuid.uuid4().hex[:8]}"
    with recording() as rec:
        with DynamoDBCache(table_name=new_table) as cache:
            cache.setup(prepare_async=False)
        check(rec.take(), ["the cache's `setup()` that creates the table"])


def test_store_vector_search_stays_within_its_row_and_the_index_grant(
    vector_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not SEARCH_VECTORS:
        pytest.skip("this botocore has no SearchVectors")
    from .test_store import INDEX
    from .test_store_vectors import wait_active

    monkeypatch.setenv("AWS_REGION", REGION)
    table = f"iam-vec-{uuid.uuid4().hex[:8]}"
    with recording() as rec:
        store = DynamoDBStore(
            table_name=table, endpoint_url=vector_emulator.endpoint_url, index=INDEX
        )
        store.setup(prepare_async=False)
        got = check(rec.take(), ["the store's `setup()` that creates the table"])
        assert "dynamodb:CreateTable" in got
        wait_active(store)
        assert store.vector_index_status().usable
        store.put(("memories", "u"), "m", {"text": "tea"})
        rec.take()
        store.search(("memories",), query="tea", limit=1)
        seen = rec.take()
        got = check(
            seen, [STORE, "the store's `index=` (semantic search through the vector index)"]
        )
        assert "dynamodb:SearchVectors" in got
        assert {r.index for r in seen if r.action == "dynamodb:SearchVectors"} == {INDEX_NAME}
        store.close()
    needs("parliament", "samtranslator")
    for policy in incident_policies():  # its templates grant SearchVectors on the index only
        renamed = [Request(r.action, "CheckpointTable", r.index) for r in seen]
        assert policy.refused(renamed) == [], policy.name


def test_mcp_command_stays_within_its_row(local: Any) -> None:
    """Every read of the replay model the ``mcp`` command's tools make (one call each)."""
    needs("deepdiff")  # the [mcp] extra
    from langgraph_dynamodb import DynamoDBCache
    from langgraph_dynamodb.replay import ReplayModel

    table = template_table(local, f"iam-mcp-{uuid.uuid4().hex[:8]}")
    with DynamoDBSaver(table_name=table) as saver:
        run_graph(saver, "m-1")
    with (
        recording() as rec,
        DynamoDBSaver(table_name=table) as saver,
        DynamoDBStore(table_name=table) as store,
        DynamoDBCache(table_name=table) as cache,
    ):
        model = ReplayModel(saver, store=store, cache=cache)
        model.threads()
        model.thread("m-1")
        latest = model.latest_id("m-1")
        model.checkpoint("m-1", "", latest)
        model.value("m-1", "", latest, "messages")
        model.diff("m-1", "", latest)
        model.find("m-1", path="messages[-1]", regex="again")
        model.namespaces()
        model.items(())
        model.cache_entries()
        # a template's table: its thread directory is not marked complete, so the threads
        # are listed by a Scan after the GetItem that asks
        assert check(rec.take(), ["`mcp`"]) == {
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
        }
        saver.mark_directory_complete()  # as index-threads does (not the tools)
        rec.take()
        ReplayModel(saver).threads()
        assert check(rec.take(), ["`mcp`"]) == {"dynamodb:GetItem", "dynamodb:Query"}


def test_command_line_stays_within_its_rows(
    local: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs("rich")  # the [cli] extra
    from langgraph_dynamodb.cli import main

    table = template_table(local, f"iam-cli-{uuid.uuid4().hex[:8]}")
    other = f"iam-cli-copy-{uuid.uuid4().hex[:8]}"
    with DynamoDBSaver(table_name=table) as saver:
        run_graph(saver, "c-1")
    from langgraph_dynamodb import DynamoDBCache

    with DynamoDBCache(table_name=table) as cache:
        cache.set({(("n",), "k"): ("v", None)})
    dump = str(tmp_path / "all.jsonl")
    commands: list[tuple[list[str], str]] = [
        (["doctor"], "`doctor`"),
        (["threads"], "`threads`"),
        (["history", "c-1"], "`history`, `show`, `diff`"),
        (["show", "c-1"], "`history`, `show`, `diff`"),
        (["diff", "c-1", "parent", "latest"], "`history`, `show`, `diff`"),
        (["stats"], "`stats`"),
        (["index-threads"], "`index-threads`"),
        (["export", "-o", dump], "`export`"),
        (["copy", "c-1", "c-2"], "`copy`"),
        (["prune", "c-2", "--keep-latest", "--yes"], "`prune --keep-latest`"),
        (["delete", "c-2", "--yes"], "`delete`, `prune --delete`"),
        (["cache"], "`cache`"),
        (["cache", "--clear-all", "--yes"], "`cache --clear`, `cache --clear-all`"),
    ]
    with recording() as rec:
        for argv, row in commands:
            assert main(["--table", table, *argv]) == 0, (argv, capsys.readouterr())
            check(rec.take(), [row])
        assert main(["--table", other, "setup"]) == 0
        check(rec.take(), ["`setup()` that creates the table"])
        assert main(["--table", other, "import", dump]) == 0, capsys.readouterr()
        check(rec.take(), ["`import`"])


def test_ui_command_stays_within_its_rows(local: Any) -> None:
    """The replay UI's app as ``ui`` serves it: every read endpoint once (read-only), then
    fork, answer and resume through the fixture graph (``--allow-writes``)."""
    needs("starlette", "deepdiff")  # the [ui] extra
    from starlette.testclient import TestClient

    from langgraph_dynamodb import DynamoDBCache
    from langgraph_dynamodb.replay.actions import TimeTravel, compiled_graph
    from langgraph_dynamodb.replay.model import ReplayModel
    from langgraph_dynamodb.replay.web import make_app
    from tests.replay.graphs import builder

    table = template_table(local, f"iam-ui-{uuid.uuid4().hex[:8]}")
    with DynamoDBSaver(table_name=table) as saver:
        builder.compile(checkpointer=saver).invoke(
            {"topic": "otters"}, {"configurable": {"thread_id": "u-1"}}
        )  # waits on the interrupt
    with (
        recording() as rec,
        DynamoDBSaver(table_name=table) as saver,
        DynamoDBStore(table_name=table) as store,
        DynamoDBCache(table_name=table) as cache,
    ):
        app = make_app(
            ReplayModel(saver, store=store, cache=cache),
            token="t",
            time_travel=TimeTravel(compiled_graph(builder, saver)),
            allow_writes=True,
        )
        client = TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": "Bearer t"})
        checkpoints = client.get("/api/thread?thread=u-1").json()["checkpoints"]
        latest, first = checkpoints[0]["checkpoint_id"], checkpoints[-1]["checkpoint_id"]
        at = {"thread": "u-1", "ns": "", "id": latest}
        for path, params in [
            ("threads", {}),
            ("threads", {"q": "otters"}),
            ("checkpoint", at),
            ("value", {**at, "channel": "topic"}),
            ("diff", at),
            ("find", {"thread": "u-1", "path": "topic", "regex": "ott"}),
            ("namespaces", {}),
            ("items", {}),
            ("cache", {}),
        ]:
            assert client.get(f"/api/{path}", params=params).status_code == 200, path
        check(rec.take(), ["`ui`"])
        for action, body in [
            ("fork", {**at, "values": {"topic": "seals"}}),
            ("answer", {**at, "value": True}),
            ("resume", {**at, "id": first}),
        ]:
            assert client.post(f"/api/{action}", json=body).json()["error"] is None, action
        check(rec.take(), ["`ui`", "`ui --allow-writes`"])
