"""The DynamoDB clients of a saver or store: made lazily from its options, shared by its
clones, closed once, with the library's botocore event handlers on them. The one module
that creates boto3 and aiobotocore clients.

Where requests go is resolved as the AWS SDKs do, plus ``AWS_REGION``, which botocore
itself does not read: the region is ``region_name=``, else the region of the ``session=``
passed in, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION`` or the profile's
(``profile_name=`` or ``AWS_PROFILE``); the endpoint is ``endpoint_url=``, else botocore's
own (``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_ENDPOINT_URL``, the profile). A region that
cannot be resolved, a profile that does not exist or a missing async extra is the
library's own :class:`~langgraph_dynamodb.errors.ConfigurationError`, naming the options.

The async client is an aiobotocore client bound to the event loop it was made in. It is
closed by ``aclose()``, or, for a saver that outlives its loop (a module-level saver used
with ``asyncio.run``), when that loop shuts down: the client is owned by an async
generator, which ``asyncio.run`` closes before it closes the loop. So the documented
patterns leave no "Unclosed client session" behind.

The event handlers: counters on every client the library uses, and two behaviours on the
clients it makes (never on clients passed in).

- **Counters** (:func:`install_counters`, on every client): throttled attempts
  (``needs-retry``), request and response body bytes of every attempt (``before-send``,
  ``before-parse``), added to the :class:`~.stats.CallStats` of the library call being
  made. Outside the library's calls they do nothing, so a client shared with other code
  is not affected.

- **Fast items.** A ``before-parse`` handler converts the items of Query, Scan and
  BatchGetItem responses with :func:`split_response` instead of botocore's per-value
  model walk (each attribute of each item is a modelled structure, so a Query that
  returns 50 items costs botocore a few thousand Python calls on top of ``json.loads``).
  It leans on two things botocore does not promise: that the items it converts equal
  what botocore's parser returns, and that the endpoint merges
  ``customized_response_dict`` into the parsed response. Both are checked where they
  happen: the first response converted in a process is also parsed by botocore and the
  two compared, and an ``after-call`` handler checks that each converted response really
  carries the converted items (putting them in if not). If either check fails, the
  handler turns itself off for the process with one warning, and botocore's own parser
  reads everything from then on.
- **User-Agent once.** botocore builds the User-Agent header anew for every request
  (``rebuild_and_replace_user_agent_handler``: a few dozen string components, each
  sanitized; twice a request), 5% of the event loop's time when 256 runs share it. The
  string depends only on the client and on the feature ids of the request's context, so
  :func:`_memoize_user_agent` keeps one per set of feature ids: the same header, built
  once.
- **Connections.** A ``needs-retry`` handler logs a warning at the first failed
  connection of a request (botocore retries silently), and ends the retries of a refused
  connection after :data:`~langgraph_dynamodb.limits.REFUSED_CONNECTION_ATTEMPTS`
  attempts: nothing listens there, so waiting the whole retry budget (about 40 s) only
  hides the mistake. Throttling and 5xx answers keep botocore's patient retries.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import errno
import importlib.util
import json
import logging
import os
import threading
from collections.abc import AsyncGenerator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import TYPE_CHECKING, Any, cast

from langgraph_dynamodb import limits, stats
from langgraph_dynamodb._combine import Combiners
from langgraph_dynamodb.errors import ClosedError, ConfigurationError
from langgraph_dynamodb.options import default_boto_config
from langgraph_dynamodb.steps import THROTTLE_CODES, Where

if TYPE_CHECKING:
    import boto3
    from aiobotocore.session import AioSession
    from botocore.config import Config
    from types_aiobotocore_dynamodb.client import DynamoDBClient as AsyncClient
    from types_boto3_dynamodb.client import DynamoDBClient as SyncClient

ASYNC_EXTRA = "pip install 'langgraph-dynamodb[async]'"
"""How to install what the async methods need."""

ENV_REGION = "AWS_REGION"
"""Read by the library (botocore reads only ``AWS_DEFAULT_REGION``)."""


# --- items out of DynamoDB's JSON responses ----------------------------------------------
#: Operations whose items are converted here, and where their items are in the response.
ITEM_OPERATIONS = {"Query": "Items", "Scan": "Items", "BatchGetItem": "Responses"}


def attribute_value(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value, as botocore's parser returns it (binary values decoded)."""
    if len(value) != 1:
        raise ValueError(f"an attribute value has {len(value)} types")
    if "S" in value or "N" in value:
        return value
    if "B" in value:
        return {"B": base64.b64decode(value["B"])}
    if "L" in value:
        return {"L": [attribute_value(v) for v in value["L"]]}
    if "M" in value:
        return {"M": {k: attribute_value(v) for k, v in value["M"].items()}}
    if "BS" in value:
        return {"BS": [base64.b64decode(v) for v in value["BS"]]}
    return value  # SS, NS, BOOL, NULL: as JSON has them


def item(raw: dict[str, Any]) -> dict[str, Any]:
    """One item, attribute by attribute."""
    return {name: attribute_value(value) for name, value in raw.items()}


def split_response(operation: str, body: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """Take the items out of a successful response body.

    Args:
        operation: The DynamoDB operation name.
        body: The raw JSON body of a 200 response.

    Returns:
        The body without its items (for botocore to parse the rest) and the converted
        items under their response key; ``None`` when the operation has no items to
        take or the body is not what was expected (botocore then parses all of it).
    """
    key = ITEM_OPERATIONS.get(operation)
    if key is None:
        return None
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or key not in data:
            return None
        found = data.pop(key)
        taken: Any
        if key == "Responses":
            taken = {table: [item(i) for i in items] for table, items in found.items()}
        else:
            taken = [item(i) for i in found]
    except (ValueError, TypeError, AttributeError, binascii.Error):
        return None
    return json.dumps(data).encode("utf-8"), {key: taken}


# --- botocore event handlers ---------------------------------------------------------
logger = logging.getLogger("langgraph_dynamodb.client")

_ID = "langgraph-dynamodb-"

_converted: contextvars.ContextVar[tuple[str, Any] | None] = contextvars.ContextVar(
    "langgraph_dynamodb_converted", default=None
)


class _FastItems:
    """Whether the fast item parser is on in this process, and its one-time checks."""

    enabled = True
    compared = False

    @classmethod
    def turn_off(cls, why: str) -> None:
        if cls.enabled:
            cls.enabled = False
            logger.warning(
                "langgraph-dynamodb: reading items with botocore's own parser from now on (%s). "
                "Reads are correct, a little slower; please report your botocore version.",
                why,
                extra={"ddb_event": "item_parser_off"},
            )


def _botocore_items(response_dict: dict[str, Any], operation_model: Any, key: str) -> Any:
    """What botocore's own parser makes of a response's items."""
    from botocore.parsers import create_parser

    parsed = create_parser("json").parse(response_dict, operation_model.output_shape)
    return parsed.get(key)


def _before_parse(response_dict: Any, customized_response_dict: Any, **kwargs: Any) -> None:
    """Convert the items of a successful read response (see the module docstring)."""
    _converted.set(None)
    if not _FastItems.enabled:
        return
    operation_model = kwargs.get("operation_model")
    operation = getattr(operation_model, "name", "")
    headers = response_dict.get("headers", {})
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or "json" not in str(
        headers.get("content-type", "")
    ):
        return
    if not isinstance(body, bytes):
        return
    split = split_response(operation, body)
    if split is None:
        return
    rest, taken = split
    key = ITEM_OPERATIONS[operation]
    if not _FastItems.compared:
        _FastItems.compared = True
        try:
            expected = _botocore_items(response_dict, operation_model, key)
        except Exception as exc:  # botocore could not parse it either: leave it to botocore
            _FastItems.turn_off(f"checking the parser failed: {exc!r}")
            return
        if expected != taken[key]:
            _FastItems.turn_off("its items differ from botocore's for this botocore version")
            return
    response_dict["body"] = rest
    customized_response_dict.update(taken)
    _converted.set((key, taken[key]))


def _after_call(parsed: Any, **kwargs: Any) -> None:
    """Check that the items converted before parsing reached the response."""
    converted = _converted.get()
    if converted is None:
        return
    _converted.set(None)
    key, items = converted
    if isinstance(parsed, dict) and parsed.get(key) is not items:
        parsed[key] = items
        _FastItems.turn_off("this botocore does not merge customized_response_dict")


def _refused(exc: BaseException) -> bool:
    """Whether a connection error is a refused connection (nothing listens there)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        err = todo.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ConnectionRefusedError) or getattr(err, "errno", None) == (
            errno.ECONNREFUSED
        ):
            return True
        todo.extend(
            [
                getattr(err, "__cause__", None),
                getattr(err, "__context__", None),
                getattr(err, "os_error", None),
                (getattr(err, "kwargs", None) or {}).get("error"),
            ]
        )
    return False


_CONNECTION_ERRORS = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"}
)


def _needs_retry(attempts: int = 1, caught_exception: Any = None, **kwargs: Any) -> None:
    """Warn at a request's first failed connection; stop retrying refused ones."""
    if caught_exception is None or type(caught_exception).__name__ not in _CONNECTION_ERRORS:
        return
    refused = _refused(caught_exception)
    if attempts == 1:
        logger.warning(
            "cannot reach DynamoDB for %s: %s; retrying%s",
            getattr(kwargs.get("operation"), "name", "a request"),
            caught_exception,
            f" {limits.REFUSED_CONNECTION_ATTEMPTS - 1} more times" if refused else "",
            extra={
                "ddb_event": "connection_failed",
                "ddb_request": getattr(kwargs.get("operation"), "name", None),
                "ddb_refused": refused,
            },
        )
    if refused and attempts >= limits.REFUSED_CONNECTION_ATTEMPTS:
        raise caught_exception


_current_call = stats.current


def _count_sent(request: Any = None, **kwargs: Any) -> None:
    call = _current_call()
    if call is not None:
        body = getattr(request, "body", None)
        if isinstance(body, (bytes, bytearray, str)):
            call.count_sent(len(body))


def _count_received(response_dict: Any = None, **kwargs: Any) -> None:
    call = _current_call()
    if call is not None and isinstance(response_dict, dict):
        body = response_dict.get("body")
        if isinstance(body, (bytes, bytearray)):
            call.count_received(len(body))


def _count_throttle(response: Any = None, **kwargs: Any) -> None:
    if response is None:
        return
    call = _current_call()
    if call is None or not isinstance(response, tuple) or len(response) < 2:
        return
    parsed = response[1]
    if isinstance(parsed, dict) and "Error" in parsed:
        if parsed["Error"].get("Code") in THROTTLE_CODES:
            call.count_throttle()


def install_counters(client: Any) -> None:
    """Register the counting handlers on a client (idempotent: unique ids); a stand-in
    without botocore's events is left alone."""
    meta = getattr(client, "meta", None)
    events = getattr(meta, "events", None)
    operations = getattr(getattr(meta, "service_model", None), "operation_names", None)
    if events is None or operations is None:
        return
    events.register_first("before-send.dynamodb", _count_sent, unique_id=_ID + "sent")
    events.register_first("needs-retry.dynamodb", _count_throttle, unique_id=_ID + "throttle")
    # First at each operation's own level: the item parser (more specific than a
    # service-wide handler) trims the body, so the count must run before it.
    for operation in operations:
        events.register_first(
            f"before-parse.dynamodb.{operation}",
            _count_received,
            unique_id=_ID + "received" + operation,
        )


_USER_AGENTS_KEPT = 64
"""User-Agent strings one client keeps (one per set of feature ids; a handful in use)."""


def _memoize_user_agent(client: Any) -> None:
    """Make the client's User-Agent builder build each distinct header once (see the
    module docstring): its ``to_string``, which botocore calls twice a request (for the
    request, then again once the request's feature ids are known), answers from a dict
    keyed by those feature ids. A botocore without that builder is left as it is."""
    creator = getattr(client, "_user_agent_creator", None)
    build = getattr(type(creator), "to_string", None)
    if creator is None or build is None:
        return
    try:
        from botocore.context import get_context
    except ImportError:  # a botocore before request contexts (feature ids): left as it is
        return

    kept: dict[frozenset[str], str] = {}

    def to_string() -> str:
        features = frozenset(getattr(get_context(), "features", None) or ())
        header = kept.get(features)
        if header is None:
            header = build(creator)
            if len(kept) < _USER_AGENTS_KEPT:
                kept[features] = header
        return header

    creator.to_string = to_string


def install(client: Any) -> None:
    """Register the handlers on a client the library made (boto3 or aiobotocore)."""
    install_counters(client)
    _memoize_user_agent(client)
    events = client.meta.events
    for operation in ITEM_OPERATIONS:
        events.register(
            f"before-parse.dynamodb.{operation}", _before_parse, unique_id=_ID + "parse" + operation
        )
        events.register(
            f"after-call.dynamodb.{operation}", _after_call, unique_id=_ID + "check" + operation
        )
    events.register_first("needs-retry.dynamodb", _needs_retry, unique_id=_ID + "retry")


# --- the clients -----------------------------------------------------------------------
def _aiobotocore_installed() -> bool:
    return importlib.util.find_spec("aiobotocore") is not None


def _no_region(what: str) -> ConfigurationError:
    return ConfigurationError(
        f"no AWS region for {what}: pass region_name='eu-west-1' (any region works for "
        f"DynamoDB Local), or set {ENV_REGION} or AWS_DEFAULT_REGION, or use a profile "
        "with a region (profile_name= or AWS_PROFILE)"
    )


def _config_error(exc: Exception, what: str) -> ConfigurationError | None:
    """The library's error for a botocore error raised while making a client."""
    name = type(exc).__name__
    if name == "NoRegionError":
        return _no_region(what)
    if name == "ProfileNotFound":
        return ConfigurationError(
            f"{exc}: the AWS profile does not exist. Fix profile_name= or AWS_PROFILE, or "
            "add the profile to ~/.aws/config"
        )
    if name in {"InvalidRegionError", "ValueError"} and "region" in str(exc).lower():
        return ConfigurationError(f"invalid AWS region for {what}: {exc}")
    if name == "InvalidEndpointConfigurationError" or "endpoint" in name.lower():
        return ConfigurationError(f"invalid endpoint for {what}: {exc}")
    return None


def _list_dynamodb_first(loader: Any) -> None:
    """Let ``loader`` (of a session this library made) answer "which services are there"
    from DynamoDB's own folder when it holds the model asked for.

    botocore asks it twice while it makes a client (for the service model and for the
    endpoint rules), only to check that ``dynamodb`` is among them, and answers by listing
    every service's folder of every data path: about 420 folders, 16 ms of a cold start.
    The sessions made here make only DynamoDB clients; a model botocore cannot find in
    DynamoDB's folder is looked for (and reported missing) by botocore's own listing.
    """
    from botocore.exceptions import DataNotFoundError

    list_everything = loader.list_available_services

    def list_available_services(type_name: str) -> list[str]:
        try:
            loader.determine_latest_version("dynamodb", type_name)
        except DataNotFoundError:
            return cast("list[str]", list_everything(type_name))
        return ["dynamodb"]

    loader.list_available_services = list_available_services


@contextmanager
def _configuring(what: str) -> Iterator[None]:
    """Raise the library's error for a botocore error while making a client or session."""
    try:
        yield
    except ConfigurationError:
        raise
    except Exception as exc:
        translated = _config_error(exc, what)
        if translated is None:
            raise
        raise translated from exc


def _resolve_region(
    explicit: str | None, session_region: str | None, *, user_session: bool
) -> str | None:
    """``region_name=``, a session's own region, ``AWS_REGION``, then botocore's default."""
    if explicit:
        return explicit
    if user_session and session_region:
        return session_region
    return os.environ.get(ENV_REGION) or session_region or None


async def _owned_until_loop_ends(stack: AsyncExitStack) -> AsyncGenerator[None, None]:
    """Holds an async client open; closing the generator closes the client. The event
    loop closes every open async generator when it shuts down (``asyncio.run`` does)."""
    try:
        yield
    finally:
        await stack.aclose()


class Clients:
    """The DynamoDB clients of a saver, created on first use and shared by its clones.

    LangGraph clones a saver (``with_allowlist``, a shallow copy) for runs under strict
    msgpack; the clones share this object, so they share the clients and are closed with
    the saver.
    """

    def __init__(
        self,
        *,
        table: str,
        region_name: str | None,
        endpoint_url: str | None,
        profile_name: str | None,
        boto_config: Config | None,
        client: SyncClient | None,
        aclient: AsyncClient | None,
        session: boto3.session.Session | None,
        aiosession: AioSession | Any | None,
        combine_writes: bool = True,
        combine_reads: bool = True,
    ) -> None:
        if not isinstance(table, str) or not 3 <= len(table) <= 255:
            raise ConfigurationError(
                f"table_name must be a DynamoDB table name (3-255 characters), got {table!r}"
            )
        if client is not None and session is not None:
            raise ConfigurationError("pass either client= or session=, not both")
        if aclient is not None and aiosession is not None:
            raise ConfigurationError("pass either aclient= or aiosession=, not both")
        if profile_name is not None and (session is not None or aiosession is not None):
            raise ConfigurationError(
                "pass either profile_name= or a session made with that profile, not both"
            )
        self.table = table
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.profile_name = profile_name
        self.boto_config = default_boto_config(boto_config)
        self.client = client
        self.owns_client = client is None
        self.session = session
        self.aclient = aclient
        self.owns_aclient = aclient is None
        self.aiosession = aiosession
        self._native_async: bool | None = None
        for given in (client, aclient):
            if given is not None:
                install_counters(given)  # counts only during the library's calls
        self.aclient_loop: asyncio.AbstractEventLoop | None = None
        self._aowner: AsyncGenerator[None, None] | None = None
        self._user_aiosession = aiosession is not None
        self._loader: Any = None  # the data loader of the sessions made here (_share_loader)
        self._where: dict[str, Where] = {}
        self.combine_writes = bool(combine_writes)
        self.combine_reads = bool(combine_reads)
        self._combiner: Combiners | None = None
        self.closed = False
        self.lock = threading.Lock()
        self.what = f"DynamoDB table {table!r}"

    # --- where requests go -----------------------------------------------------------
    @staticmethod
    def _where_of(table: str, client: SyncClient | AsyncClient) -> Where:
        meta = getattr(client, "meta", None)
        return Where(table, getattr(meta, "region_name", None), getattr(meta, "endpoint_url", None))

    def where(self, client: SyncClient | AsyncClient) -> Where:
        """Table, region and endpoint of one of this holder's clients."""
        key = "a" if client is self.aclient and client is not None else "s"
        found = self._where.get(key)
        if found is None:
            found = self._where[key] = self._where_of(self.table, client)
        return found

    def _check_open(self) -> None:
        if self.closed:
            raise ClosedError(
                f"this saver of table {self.table!r} was closed (close(), aclose() or the "
                "end of its with block) and makes no more requests; create a new one"
            )

    # --- sync -----------------------------------------------------------------------------
    def sync(self) -> SyncClient:
        """The boto3 client (created on first use)."""
        self._check_open()
        if self.client is None:
            with self.lock:
                if self.client is None:
                    self.client = self._make_sync()
        return self.client

    def _make_sync(self) -> SyncClient:
        with _configuring(self.what):
            if self.session is not None:
                client = self.session.client(
                    "dynamodb", **self._client_args(self.session.region_name, True)
                )
            else:
                # botocore's session, not boto3's: the same client without importing boto3
                # (s3transfer, multiprocessing): about 50 ms of CPU and 2 MB of a cold start.
                import botocore.session

                session = botocore.session.Session(profile=self.profile_name)
                self._share_loader(session)
                client = cast(
                    "SyncClient",
                    session.create_client(
                        "dynamodb",
                        **self._client_args(session.get_config_variable("region"), False),
                    ),
                )
        install(client)
        return client

    def _client_args(self, session_region: str | None, user_session: bool) -> dict[str, Any]:
        """The arguments of a new client: the region resolved, endpoint and config."""
        region = _resolve_region(self.region_name, session_region, user_session=user_session)
        if region is None:
            raise _no_region(self.what)
        return {
            "region_name": region,
            "endpoint_url": self.endpoint_url,
            "config": self.boto_config,
        }

    # --- async ----------------------------------------------------------------------------
    def _aiosession(self) -> AioSession | Any:
        """The aiobotocore (or aioboto3) session async clients are made from."""
        if self.aiosession is None:
            try:
                from aiobotocore.session import AioSession
            except ImportError as exc:
                raise ConfigurationError(
                    "the async methods (ainvoke, astream, aget_tuple, ...) need aiobotocore: "
                    f"{ASYNC_EXTRA}. Sync methods (invoke) work without it."
                ) from exc
            with _configuring(self.what):
                self.aiosession = AioSession(profile=self.profile_name)
                self._share_loader(self.aiosession)  # reads the profile: errors translated
            self._user_aiosession = False
        return self.aiosession

    def _share_loader(self, session: Any) -> None:
        """Give the second session this holder makes (botocore's for the sync client,
        aiobotocore's for the async one; same profile, so the same data path) the data
        loader of the first: the two clients then hold one copy of DynamoDB's service model
        and botocore's endpoint data, what the loader parses and caches (about 27,000
        Python objects, which every full garbage collection of a busy process walks), and
        the second client does not parse them again. Sessions passed in are left alone."""
        if self._loader is None:
            self._loader = session.get_component("data_loader")
            _list_dynamodb_first(self._loader)
        else:
            session.register_component("data_loader", self._loader)

    def native_async(self) -> bool:
        """Whether the async methods have an async client: ``aclient=`` or ``aiosession=``
        was given, or aiobotocore is installed. Without one they run the sync client on
        threads (:class:`~._drivers.OwnsClients`)."""
        if self._native_async is None:
            self._native_async = (
                not self.owns_aclient or self.aiosession is not None or _aiobotocore_installed()
            )
        return self._native_async

    def prepare_async(self) -> None:
        """Do now what the first async call would otherwise pay for: import aiobotocore,
        make its session and load DynamoDB's service model (a tenth of a second; the
        model is the sync client's when this holder made that one first). Nothing
        happens when aiobotocore is not installed or the saver was given ``aclient=``."""
        if not self.owns_aclient or self.closed:
            return
        try:
            session = self._aiosession()
        except ConfigurationError:
            return
        get_component = getattr(session, "get_component", None)
        if get_component is None:  # an aioboto3 session: it loads its models itself
            return
        try:
            # The loader caches what it loads, per session: botocore's endpoints.json
            # (about 0.1 s to parse), DynamoDB's service model and its endpoint rules.
            data_loader = get_component("data_loader")
            data_loader.load_data_with_path("endpoints")
            for kind in ("service-2", "endpoint-rule-set-1"):
                data_loader.load_service_model("dynamodb", kind)
            for data in ("partitions", "_retry", "sdk-default-configuration"):
                data_loader.load_data(data)
        except Exception:  # noqa: S110 - a warm-up only: the first real call reports errors
            pass

    async def async_(self) -> AsyncClient:
        """The aiobotocore client of the running event loop (created on first use)."""
        self._check_open()
        if not self.owns_aclient:
            assert self.aclient is not None
            return self.aclient
        loop = asyncio.get_running_loop()
        if self.aclient is not None and self.aclient_loop is loop:
            return self.aclient
        stack = AsyncExitStack()
        aclient = cast("AsyncClient", await stack.enter_async_context(self._client_context()))
        if self.aclient is not None and self.aclient_loop is loop:
            await stack.aclose()  # another task of this loop won the race
            return self.aclient
        install(aclient)
        owner = _owned_until_loop_ends(stack)
        await owner.__anext__()
        # The client of an earlier loop was closed when that loop shut down.
        self._aowner, self.aclient, self.aclient_loop = owner, aclient, loop
        self._where.pop("a", None)
        return aclient

    def combiner(self, client: AsyncClient) -> Combiners | None:
        """The request combiners of ``client`` on the running event loop (:mod:`._combine`),
        made on first use; ``None`` with both ``combine_writes`` and ``combine_reads``
        off."""
        if not (self.combine_writes or self.combine_reads):
            return None
        loop = asyncio.get_running_loop()
        found = self._combiner
        if found is None or found.loop is not loop or found.client is not client:
            found = self._combiner = Combiners(
                client,
                self.where(client),
                loop,
                writes=self.combine_writes,
                reads=self.combine_reads,
            )
        return found

    def _client_context(self) -> Any:
        session: Any = self._aiosession()
        with _configuring(self.what):
            if hasattr(session, "create_client"):  # aiobotocore
                args = self._client_args(
                    session.get_config_variable("region"), self._user_aiosession
                )
                return session.create_client("dynamodb", **args)
            # an aioboto3 Session
            args = self._client_args(getattr(session, "region_name", None), self._user_aiosession)
            return session.client("dynamodb", **args)

    # --- closing --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the sync client if this holder made it; no more requests after this.

        An async client still open is closed by ``aclose()``, or when its event loop
        shuts down."""
        self.closed = True
        if self.owns_client and self.client is not None:
            self.client.close()
            self.client = None

    async def aclose(self) -> None:
        """Close both clients if this holder made them; no more requests after this."""
        self.close()
        owner, self._aowner = self._aowner, None
        loop, self.aclient_loop = self.aclient_loop, None
        if self.owns_aclient:
            self.aclient = None
        if owner is None or loop is None:
            return
        if loop is asyncio.get_running_loop():
            await owner.aclose()
        elif loop.is_running():  # the client's loop runs in another thread
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(owner.aclose(), loop))
        # else: that loop is gone, and closed the client when it shut down
