"""The web side of the replay UI (``replay/web.py``, ``replay/actions.py``) through
Starlette's TestClient: the token, the local-host check, every JSON endpoint over a
recording stand-in for the read model, read-only refusing writes, and time travel on a
real LangGraph graph with an in-memory checkpointer. No DynamoDB, no browser."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from starlette.testclient import TestClient
from typing_extensions import TypedDict

from langgraph_dynamodb.errors import InvalidInputError, NotFoundError
from langgraph_dynamodb.replay.actions import TimeTravel, compiled_graph
from langgraph_dynamodb.replay.redact import REDACTED, Redactor
from langgraph_dynamodb.replay.web import READ_ONLY, TOKEN_COOKIE, make_app

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class RecordingModel:
    """Answers as the read model would, and records how it was called."""

    def __init__(self, redact: Sequence[str] = ()) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.redact = Redactor(redact)

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, args, kwargs))

    def threads(self, **kwargs: Any) -> dict[str, Any]:
        self._record("threads", **kwargs)
        return {"threads": [{"thread_id": "t1", "status": "finished"}], "cursor": None}

    def thread(self, thread_id: str, **kwargs: Any) -> dict[str, Any]:
        self._record("thread", thread_id, **kwargs)
        if thread_id == "missing":
            raise NotFoundError("no thread 'missing'")
        return {"thread_id": thread_id, "checkpoints": [], "cursor": None}

    def checkpoint(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._record("checkpoint", *args, **kwargs)
        return {"state": {"x": 1}, "metadata": {}, "next": []}

    def value(self, *args: Any) -> Any:
        self._record("value", *args)
        return "all of it"

    def diff(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._record("diff", *args, **kwargs)
        return {"a": "p", "b": args[2], "channels": []}

    def find(self, thread_id: str, **kwargs: Any) -> dict[str, Any] | None:
        self._record("find", thread_id, **kwargs)
        return {"checkpoint_id": "c3", "checkpoint_ns": "", "step": 3, "value": "bad"}

    def namespaces(self, prefix: Sequence[str] = ()) -> list[list[str]]:
        self._record("namespaces", list(prefix))
        return [["users", "u1"]]

    def items(self, namespace: Sequence[str], **kwargs: Any) -> dict[str, Any]:
        self._record("items", list(namespace), **kwargs)
        return {"items": [], "semantic": False}

    def cache_entries(self) -> list[dict[str, Any]]:
        self._record("cache_entries")
        return [{"node": "n", "entries": 2}]


@pytest.fixture
def model() -> RecordingModel:
    return RecordingModel()


def client(model: Any, **kwargs: Any) -> TestClient:
    return TestClient(make_app(model, token=TOKEN, **kwargs), base_url="http://127.0.0.1")


def test_every_request_but_static_files_needs_the_token(model: RecordingModel) -> None:
    c = client(model)
    assert c.get("/").status_code == 401
    assert c.get("/api/threads").status_code == 401
    assert c.get("/api/threads", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/threads?token=wrong").status_code == 401
    assert c.get("/static/app.js").status_code == 200  # the page's code holds no data
    assert model.calls == []

    page = c.get(f"/?token={TOKEN}")
    assert page.status_code == 200 and "<title>" in page.text
    assert page.cookies.get(TOKEN_COOKIE) == TOKEN
    assert c.get("/api/threads").status_code == 200  # the page's requests carry the cookie
    assert client(model).get("/api/threads", headers=AUTH).status_code == 200


def test_only_local_host_names_are_answered(model: RecordingModel) -> None:
    c = TestClient(make_app(model, token=TOKEN), base_url="http://attacker.example")
    assert c.get("/api/threads", headers=AUTH).status_code == 400
    local = TestClient(make_app(model, token=TOKEN), base_url="http://localhost:8123")
    assert local.get("/api/threads", headers=AUTH).status_code == 200


def test_every_json_endpoint_passes_its_parameters_to_the_model(model: RecordingModel) -> None:
    c = client(model, info={"table": "checkpoints"})
    where = {"thread": "t1", "ns": "sub:1", "id": "c2"}
    answers = {
        "info": c.get("/api/info", headers=AUTH).json(),
        "threads": c.get("/api/threads?q=alice&cursor=k&limit=5", headers=AUTH).json(),
        "refresh": c.get("/api/threads?refresh=1", headers=AUTH).json(),
        "thread": c.get("/api/thread?thread=t1&cursor=k2&limit=7", headers=AUTH).json(),
        "checkpoint": c.get("/api/checkpoint", params=where, headers=AUTH).json(),
        "value": c.get("/api/value", params={**where, "channel": "x"}, headers=AUTH).json(),
        "diff": c.get("/api/diff", params={**where, "against": "c0"}, headers=AUTH).json(),
        "find": c.get(
            "/api/find", params={"thread": "t1", "path": "a.b", "equals": "3"}, headers=AUTH
        ).json(),
        "namespaces": c.get("/api/namespaces?prefix=users", headers=AUTH).json(),
        "items": c.get(
            "/api/items",
            params={"ns": "users/u1", "q": "tea", "filter": '{"k": 1}', "offset": "20"},
            headers=AUTH,
        ).json(),
        "cache": c.get("/api/cache", headers=AUTH).json(),
    }
    assert answers["info"] == {
        "table": "checkpoints",
        "writes": False,
        "read_only_reason": READ_ONLY,
    }
    assert answers["threads"]["threads"][0]["thread_id"] == "t1"
    assert answers["value"] == {"value": "all of it"}
    assert answers["find"]["found"]["step"] == 3
    assert answers["namespaces"] == {"namespaces": [["users", "u1"]]}
    assert answers["cache"] == {"entries": [{"node": "n", "entries": 2}]}
    assert model.calls == [
        ("threads", (), {"query": "alice", "cursor": "k", "limit": 5, "refresh": False}),
        ("threads", (), {"query": None, "cursor": None, "limit": 50, "refresh": True}),
        ("thread", ("t1",), {"cursor": "k2", "limit": 7}),
        ("checkpoint", ("t1", "sub:1", "c2"), {"max_chars": 2000}),
        ("value", ("t1", "sub:1", "c2", "x"), {}),
        ("diff", ("t1", "sub:1", "c2"), {"against": "c0"}),
        ("find", ("t1",), {"path": "a.b", "checkpoint_ns": "", "equals": 3}),
        ("namespaces", (["users"],), {}),
        (
            "items",
            (["users", "u1"],),
            {"query": "tea", "filter": {"k": 1}, "limit": 20, "offset": 20},
        ),
        ("cache_entries", (), {}),
    ]


def test_find_by_regex(model: RecordingModel) -> None:
    r = client(model).get("/api/find?thread=t1&path=status&regex=^fail", headers=AUTH)
    assert r.status_code == 200
    assert model.calls[-1] == (
        "find",
        ("t1",),
        {"path": "status", "checkpoint_ns": "", "regex": "^fail"},
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/api/thread", "'thread' is missing"),
        ("/api/threads?limit=ten", "'limit' must be a number"),
        ("/api/find?thread=t&path=p", "exactly one of 'equals' (JSON) and 'regex'"),
        ("/api/find?thread=t&path=p&equals=1&regex=x", "exactly one"),
        ("/api/find?thread=t&path=p&equals={oops", "'equals' must be JSON"),
        ("/api/items?filter=[1]", "'filter' must be a JSON object"),
    ],
)
def test_a_bad_parameter_is_a_400_that_says_which(
    model: RecordingModel, url: str, says: str
) -> None:
    r = client(model).get(url, headers=AUTH)
    assert r.status_code == 400
    assert says in r.json()["error"]


def test_an_unexpected_failure_is_a_500_that_says_what(model: RecordingModel) -> None:
    model.cache_entries = lambda: 1 / 0  # type: ignore[method-assign,assignment,return-value]
    r = client(model).get("/api/cache", headers=AUTH)
    assert r.status_code == 500
    assert r.json() == {"error": "ZeroDivisionError: division by zero"}


def test_what_is_not_there_is_a_404(model: RecordingModel) -> None:
    r = client(model).get("/api/thread?thread=missing", headers=AUTH)
    assert r.status_code == 404
    assert r.json() == {"error": "no thread 'missing'"}


def test_error_texts_are_redacted_too() -> None:
    """A value an error's text names (a library error, an unexpected one, a run's) is
    redacted as the values are; the rest of the text stays."""
    secret = "sk-live-0123456789"
    model = RecordingModel(redact=[r"sk-live-\w+"])

    def raising(exc: Exception) -> Any:
        def call(*args: Any) -> Any:
            raise exc

        return call

    model.value = raising(NotFoundError(f"no {secret} here"))  # type: ignore[method-assign]
    model.cache_entries = raising(KeyError(secret))  # type: ignore[method-assign]
    travel = RecordingTimeTravel()
    travel.resume = lambda *a: {"created": {}, "error": f"ValueError: bad key {secret}"}  # type: ignore[method-assign]
    c = client(model, time_travel=travel, allow_writes=True)
    where = {"thread": "t", "ns": "", "id": "c"}
    answers = [
        c.get("/api/value", params={**where, "channel": "x"}, headers=AUTH).json(),
        c.get("/api/cache", headers=AUTH).json(),
        c.post("/api/resume", json=where, headers=AUTH).json(),
    ]
    assert [a["error"] for a in answers] == [
        f"no {REDACTED} here",
        f"KeyError: '{REDACTED}'",
        f"ValueError: bad key {REDACTED}",
    ]


class RecordingTimeTravel(TimeTravel):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def fork(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("fork", args, kwargs))
        return {"created": {"checkpoint_id": "new"}, "error": None}

    def resume(self, *args: Any) -> dict[str, Any]:
        self.calls.append(("resume", args))
        return {"created": {"checkpoint_id": "new"}, "error": None}

    def answer(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("answer", args, kwargs))
        return {"created": {"checkpoint_id": "new"}, "error": None}


@pytest.mark.parametrize(
    "setup",
    [{}, {"allow_writes": True}, {"time_travel": "graph"}],
    ids=["read-only", "writes-without-graph", "graph-without-allow-writes"],
)
def test_read_only_refuses_every_write_with_403(
    model: RecordingModel, setup: dict[str, Any]
) -> None:
    travel = RecordingTimeTravel()
    kwargs = {**setup, **({"time_travel": travel} if "time_travel" in setup else {})}
    c = client(model, **kwargs)
    for action in ("fork", "resume", "answer", "threads"):
        r = c.post(f"/api/{action}", json={"thread": "t", "id": "c"}, headers=AUTH)
        assert r.status_code == 403
        assert r.json() == {"error": READ_ONLY}
    assert travel.calls == []
    assert c.get("/api/info", headers=AUTH).json()["writes"] is False


def test_writes_go_to_time_travel(model: RecordingModel) -> None:
    travel = RecordingTimeTravel()
    c = client(model, time_travel=travel, allow_writes=True)
    assert c.get("/api/info", headers=AUTH).json()["writes"] is True
    where = {"thread": "t", "ns": "", "id": "c1"}
    assert c.post("/api/fork", json={**where, "values": {"x": 2}}, headers=AUTH).status_code == 200
    assert c.post("/api/resume", json=where, headers=AUTH).status_code == 200
    r = c.post(
        "/api/answer", json={**where, "value": {"ok": True}, "interrupt_id": "i1"}, headers=AUTH
    )
    assert r.json() == {"created": {"checkpoint_id": "new"}, "error": None}
    assert travel.calls == [
        ("fork", ("t", "", "c1", {"x": 2}), {"as_node": None}),
        ("resume", ("t", "", "c1")),
        ("answer", ("t", "", "c1", {"ok": True}), {"interrupt_id": "i1"}),
    ]
    assert (
        c.post("/api/fork", json=where, headers=AUTH)
        .json()["error"]
        .startswith("the field 'values'")
    )
    assert "'value'" in c.post("/api/answer", json=where, headers=AUTH).json()["error"]
    assert c.post("/api/jump", json=where, headers=AUTH).status_code == 400
    assert c.post("/api/fork", content=b"{oops", headers=AUTH).status_code == 400
    assert c.post("/api/fork", json=[1], headers=AUTH).status_code == 400
    assert c.post("/api/fork", json={"thread": 3, "id": "c"}, headers=AUTH).status_code == 400
    assert c.post("/api/fork", json=where).status_code == 401


# --- time travel on a real graph (InMemorySaver: the writes are LangGraph's own) -------------
class State(TypedDict):
    log: Annotated[list[str], operator.add]
    answer: str


def _ask(state: State) -> dict[str, Any]:
    return {"answer": interrupt({"question": "go on?"})}


def _graph() -> StateGraph[State]:
    g = StateGraph(State)
    g.add_node("start", lambda s: {"log": ["start"]})
    g.add_node("ask", _ask)
    g.add_node("end", lambda s: {"log": [f"end:{s['answer']}"]})
    g.add_edge(START, "start")
    g.add_edge("start", "ask")
    g.add_edge("ask", "end")
    g.add_edge("end", END)
    return g


def test_time_travel_forks_resumes_and_answers_through_langgraph() -> None:
    saver = InMemorySaver()
    graph = compiled_graph(_graph(), saver)  # type: ignore[arg-type]
    travel = TimeTravel(graph)
    cfg = {"configurable": {"thread_id": "t"}}
    graph.invoke({"log": [], "answer": ""}, cfg)
    paused = graph.get_state(cfg)
    assert paused.next == ("ask",)
    at = paused.config["configurable"]["checkpoint_id"]

    done = travel.answer("t", "", at, "yes")
    assert done["error"] is None
    assert graph.get_state(cfg).values["log"] == ["start", "end:yes"]

    forked = travel.fork("t", "", at, {"log": ["edited"]})["created"]
    branch = graph.get_state({"configurable": {**forked}})
    assert branch.values["log"] == ["start", "edited"]
    assert branch.parent_config["configurable"]["checkpoint_id"] == at  # a branch of `at`

    again = travel.answer("t", "", forked["checkpoint_id"], "no")
    assert graph.get_state(cfg).values["log"] == ["start", "edited", "end:no"]
    assert (
        again["created"]["checkpoint_id"]
        == graph.get_state(cfg).config["configurable"]["checkpoint_id"]
    )

    replayed = travel.resume("t", "", at)  # asks again: the run stops at the interrupt
    assert replayed["error"] is None
    assert graph.get_state(cfg).next == ("ask",)

    with pytest.raises(InvalidInputError, match="channels to write"):
        travel.fork("t", "", at, {})
    with pytest.raises(InvalidInputError, match="LangGraph refused the fork: InvalidUpdateError"):
        travel.fork("t", "", at, {"log": ["x"]}, as_node="nowhere")


def test_a_subgraph_checkpoint_forks_in_its_own_namespace() -> None:
    from tests.replay.graphs import builder

    saver = InMemorySaver()
    graph = compiled_graph(builder, saver)  # type: ignore[arg-type]
    graph.invoke({"topic": "otters"}, {"configurable": {"thread_id": "s"}})
    sub = next(c for c in saver.list(None) if c.config["configurable"]["checkpoint_ns"])
    ns, at = (
        sub.config["configurable"]["checkpoint_ns"],
        sub.config["configurable"]["checkpoint_id"],
    )
    assert ns.startswith("research:")

    created = TimeTravel(graph).fork("s", ns, at, {"summary": "edited"})["created"]
    assert created["checkpoint_ns"] == ns and created["checkpoint_id"] != at
    forked = saver.get_tuple({"configurable": created})
    assert forked is not None and forked.checkpoint["channel_values"]["summary"] == "edited"
    assert forked.parent_config is not None
    assert forked.parent_config["configurable"]["checkpoint_id"] == at


def test_subgraph_time_travel_over_http_goes_on_where_langgraph_does() -> None:
    """Through the app: a fork of the subgraph's checkpoint where the run stopped resumes
    from the fork; a resume from a subgraph checkpoint the run left is a 400 naming the
    root graph's checkpoint to replay from, and writes nothing."""
    from tests.replay.graphs import UNSEARCHABLE, builder

    saver = InMemorySaver()
    graph = compiled_graph(builder, saver)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        graph.invoke({"topic": UNSEARCHABLE}, {"configurable": {"thread_id": "s"}})
    stopped = next(
        c for c in saver.list(None) if c.config["configurable"]["checkpoint_ns"]
    )  # the newest of the subgraph: where its search failed
    where = {
        "thread": "s",
        "ns": stopped.config["configurable"]["checkpoint_ns"],
        "id": stopped.config["configurable"]["checkpoint_id"],
    }
    c = client(RecordingModel(), time_travel=TimeTravel(graph), allow_writes=True)
    forked = c.post("/api/fork", json={**where, "values": {"topic": "stars"}}, headers=AUTH)
    assert forked.status_code == 200, forked.text
    fork = forked.json()["created"]
    assert fork["checkpoint_ns"] == where["ns"]
    resumed = c.post("/api/resume", json={**where, "id": fork["checkpoint_id"]}, headers=AUTH)
    assert resumed.status_code == 200 and resumed.json()["error"] is None
    assert resumed.json()["created"]["checkpoint_ns"] == ""
    state = graph.get_state({"configurable": {"thread_id": "s"}})
    assert state.next == ("approve",) and state.values["summary"].startswith("Summary of stars")

    written = len(list(saver.list(None)))
    left = c.post("/api/resume", json=where, headers=AUTH)  # the run has left it
    assert left.status_code == 400
    root = stopped.metadata["parents"][""]
    assert "#8458" in left.json()["error"] and f"checkpoint {root!r}" in left.json()["error"]
    assert len(list(saver.list(None))) == written


def test_an_interrupt_inside_a_subgraph_is_answered_through_the_root_graph() -> None:
    from tests.replay.graphs import chain

    sub = chain(State, ("ask", _ask)).compile()
    g = chain(State, ("sub", sub), ("end", lambda s: {"log": [f"end:{s['answer']}"]}))
    saver = InMemorySaver()
    graph = compiled_graph(g, saver)  # type: ignore[arg-type]
    cfg = {"configurable": {"thread_id": "i"}}
    graph.invoke({"log": [], "answer": ""}, cfg)
    asked = next(c for c in saver.list(None) if c.config["configurable"]["checkpoint_ns"])
    conf = asked.config["configurable"]
    done = TimeTravel(graph).answer("i", conf["checkpoint_ns"], conf["checkpoint_id"], "yes")
    assert done["error"] is None and done["created"]["checkpoint_ns"] == ""
    assert graph.get_state(cfg).values["log"] == ["end:yes"]


def test_compiled_graph_takes_a_builder_or_a_compiled_graph_only() -> None:
    saver = InMemorySaver()
    assert compiled_graph(_graph().compile(), saver).checkpointer is saver  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="StateGraph builder or a compiled graph, got dict"):
        compiled_graph({}, saver)  # type: ignore[arg-type]


# --- the command's usage mistakes (before it connects to anything) ----------------------------
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ui", "--allow-writes"], "--allow-writes needs --graph MODULE:ATTR"),
        (["ui", "--port", "70000"], "--port must be between 0 and 65535"),
        (["ui", "--graph", "tests.replay.nowhere:builder"], "--graph: cannot import"),
        (["ui", "--graph", "tests.replay.graphs:nothing"], "has no 'nothing'"),
        (["ui", "--graph", "tests.replay.graphs"], "--graph must be MODULE:NAME"),
    ],
)
def test_ui_command_says_what_is_wrong(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from langgraph_dynamodb.cli import main

    assert main(["--table", "t", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err, err


def test_a_port_in_use_is_a_usage_error() -> None:
    from langgraph_dynamodb.cli.connect import UsageError
    from langgraph_dynamodb.cli.webui import listening_socket

    taken = listening_socket(0)
    try:
        with pytest.raises(UsageError, match=rf"--port {taken.getsockname()[1]}: .*in use"):
            listening_socket(taken.getsockname()[1])
    finally:
        taken.close()
