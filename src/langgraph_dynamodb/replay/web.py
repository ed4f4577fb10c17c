"""The replay UI's web side: a Starlette (ASGI) app that serves the page in ``static/``
and the read model (:mod:`.model`) as JSON, behind a token, with time travel
(:mod:`.actions`) only when writes are allowed. ``langgraph-dynamodb ui`` serves it with
uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from langgraph_dynamodb.errors import (
    AccessDeniedError,
    DynamoDBSaverError,
    InvalidInputError,
    NotFoundError,
)
from langgraph_dynamodb.replay.actions import TimeTravel

if TYPE_CHECKING:
    from langgraph_dynamodb.replay.model import ReplayModel

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
"""The page, its script and its style (package data: shipped in the wheel)."""

TOKEN_COOKIE = "langgraph_dynamodb_ui"
"""Set when the page is opened with the right ``?token=``, so its requests carry it."""

LOCAL_HOSTS = ["127.0.0.1", "localhost"]
"""The only ``Host`` headers answered: a page elsewhere cannot reach the UI through a
name that resolves to this machine (DNS rebinding)."""

READ_ONLY = (
    "the UI is read-only: start it with --graph MODULE:ATTR --allow-writes to fork, resume "
    "and answer interrupts"
)


def new_token() -> str:
    """A random token for the URL (as Jupyter's)."""
    return secrets.token_urlsafe(24)


class BadRequest(InvalidInputError):
    """A request's parameter is missing or malformed (400)."""


def status_of(exc: DynamoDBSaverError) -> int:
    """The HTTP status of a library error: what was asked for is not there (404), the
    request was wrong (400), IAM said no (403), anything else (500)."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InvalidInputError):
        return 400
    if isinstance(exc, AccessDeniedError):
        return 403
    return 500


class TokenGate(BaseHTTPMiddleware):
    """Every request but the static files' needs the token: ``?token=``, an
    ``Authorization: Bearer`` header, or the cookie the page gets when opened with it."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token

    def _given(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        return (
            request.query_params.get("token")
            or (auth[7:] if auth.lower().startswith("bearer ") else "")
            or request.cookies.get(TOKEN_COOKIE, "")
        )

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path.startswith("/static/"):
            return await call_next(request)
        if not secrets.compare_digest(self._given(request), self.token):
            return JSONResponse(
                {"error": "a token is needed: open the URL langgraph-dynamodb ui printed"},
                status_code=401,
            )
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        return response


def _text(request: Request, name: str, default: str | None = None) -> str:
    value = request.query_params.get(name, default)
    if value is None:
        raise BadRequest(f"the parameter {name!r} is missing")
    return value


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    try:
        return default if raw in (None, "") else int(raw)
    except ValueError as exc:
        raise BadRequest(f"the parameter {name!r} must be a number, got {raw!r}") from exc


def _json_param(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the parameter {name!r} must be JSON, got {raw!r}") from exc


def _namespace(text: str) -> list[str]:
    return [part for part in text.split("/") if part]


Handler = Callable[[Request], Any]


def _json_endpoint(
    handler: Handler, mask: Callable[[str], str]
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that runs ``handler`` in a worker thread (the model does blocking
    DynamoDB calls) and answers its result as JSON, a library error as its status; an
    error's text is ``mask``ed (redacted) as the values it may name."""

    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(handler, request))
        except DynamoDBSaverError as exc:
            return JSONResponse({"error": mask(str(exc))}, status_code=status_of(exc))
        except Exception as exc:  # noqa: BLE001 - said on the page; the traceback in the log
            logger.exception("%s failed", request.url.path)
            return JSONResponse({"error": mask(f"{type(exc).__name__}: {exc}")}, status_code=500)

    return endpoint


def make_app(
    model: ReplayModel,
    *,
    token: str,
    time_travel: TimeTravel | None = None,
    allow_writes: bool = False,
    info: dict[str, Any] | None = None,
) -> Starlette:
    """The app: the page at ``/``, reads under ``/api/``, writes (``POST /api/fork``,
    ``/api/resume``, ``/api/answer``) only with ``allow_writes`` and a graph. ``info`` is
    shown in the page's header (the table's name...). Answers are the model's, redacted;
    the text of an error (a request's, a run's) is redacted too."""
    writes = allow_writes and time_travel is not None
    mask = model.redact.mask

    def where(request: Request) -> tuple[str, str, str]:
        return _text(request, "thread"), _text(request, "ns", ""), _text(request, "id")

    def get_info(request: Request) -> dict[str, Any]:
        return {**(info or {}), "writes": writes, "read_only_reason": None if writes else READ_ONLY}

    def threads(request: Request) -> dict[str, Any]:
        return model.threads(
            query=request.query_params.get("q") or None,
            cursor=request.query_params.get("cursor") or None,
            limit=_int(request, "limit", 50),
            refresh=request.query_params.get("refresh") == "1",
        )

    def thread(request: Request) -> dict[str, Any]:
        return model.thread(
            _text(request, "thread"),
            cursor=request.query_params.get("cursor") or None,
            limit=_int(request, "limit", 200),
        )

    def checkpoint(request: Request) -> dict[str, Any]:
        return model.checkpoint(*where(request), max_chars=_int(request, "max_chars", 2000))

    def value(request: Request) -> Any:
        return {"value": model.value(*where(request), _text(request, "channel"))}

    def diff(request: Request) -> dict[str, Any]:
        return model.diff(*where(request), against=request.query_params.get("against") or None)

    def find(request: Request) -> dict[str, Any]:
        regex = request.query_params.get("regex") or None
        equals = _json_param(request, "equals") if "equals" in request.query_params else ...
        if (regex is None) == (equals is ...):
            raise BadRequest("find needs exactly one of 'equals' (JSON) and 'regex'")
        found = model.find(
            _text(request, "thread"),
            path=_text(request, "path"),
            checkpoint_ns=_text(request, "ns", ""),
            **({"regex": regex} if regex is not None else {"equals": equals}),
        )
        return {"found": found}

    def namespaces(request: Request) -> dict[str, Any]:
        return {"namespaces": model.namespaces(_namespace(_text(request, "prefix", "")))}

    def items(request: Request) -> dict[str, Any]:
        filter_ = _json_param(request, "filter")
        if filter_ is not None and not isinstance(filter_, dict):
            raise BadRequest("the parameter 'filter' must be a JSON object")
        return model.items(
            _namespace(_text(request, "ns", "")),
            query=request.query_params.get("q") or None,
            filter=filter_,
            limit=_int(request, "limit", 20),
            offset=_int(request, "offset", 0),
        )

    def cache(request: Request) -> dict[str, Any]:
        return {"entries": model.cache_entries()}

    async def write(request: Request) -> Response:
        if not writes or time_travel is None:
            return JSONResponse({"error": READ_ONLY}, status_code=403)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the request body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the request body must be a JSON object"}, 400)
        action = request.path_params["action"]

        def act(_: Request) -> dict[str, Any]:
            done = _act(time_travel, action, body)
            if done.get("error"):  # the run's error: its text may name a value
                done["error"] = mask(str(done["error"]))
            return done

        return await _json_endpoint(act, mask)(request)

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    reads: dict[str, Handler] = {
        "info": get_info,
        "threads": threads,
        "thread": thread,
        "checkpoint": checkpoint,
        "value": value,
        "diff": diff,
        "find": find,
        "namespaces": namespaces,
        "items": items,
        "cache": cache,
    }
    routes = [
        Route("/", page),
        *(Route(f"/api/{name}", _json_endpoint(h, mask)) for name, h in reads.items()),
        Route("/api/{action:str}", write, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS),
            Middleware(TokenGate, token=token),
        ],
    )


def _act(time_travel: TimeTravel, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """One write, its parameters from the request's JSON body."""

    def field(name: str) -> str:
        value = body.get(name, "" if name == "ns" else None)
        if not isinstance(value, str):
            raise BadRequest(f"the field {name!r} must be a string")
        return value

    thread_id, ns, checkpoint_id = field("thread"), field("ns"), field("id")
    if action == "fork":
        values = body.get("values")
        if not isinstance(values, dict):
            raise BadRequest("the field 'values' must be an object: {channel: value}")
        as_node = body.get("as_node") or None
        return time_travel.fork(thread_id, ns, checkpoint_id, values, as_node=as_node)
    if action == "resume":
        return time_travel.resume(thread_id, ns, checkpoint_id)
    if action == "answer":
        if "value" not in body:
            raise BadRequest("the field 'value' (the answer, any JSON) is missing")
        interrupt_id = body.get("interrupt_id") or None
        return time_travel.answer(
            thread_id, ns, checkpoint_id, body["value"], interrupt_id=interrupt_id
        )
    raise BadRequest(f"no action {action!r}: fork, resume or answer")
