"""The DynamoDB clients of a saver: made lazily from its options, shared by its clones,
closed once. The one module that creates boto3 and aiobotocore clients.

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
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncGenerator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import TYPE_CHECKING, Any, cast

from langgraph_dynamodb import _hooks
from langgraph_dynamodb.calls import Where
from langgraph_dynamodb.errors import ClosedError, ConfigurationError
from langgraph_dynamodb.options import default_boto_config

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
        for given in (client, aclient):
            if given is not None:
                _hooks.install_counters(given)  # counts only during the library's calls
        self.aclient_loop: asyncio.AbstractEventLoop | None = None
        self._aowner: AsyncGenerator[None, None] | None = None
        self._user_aiosession = aiosession is not None
        self._where: dict[str, Where] = {}
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
        import boto3

        with _configuring(self.what):
            session = self.session or boto3.session.Session(profile_name=self.profile_name)
            client = session.client(
                "dynamodb", **self._client_args(session.region_name, self.session is not None)
            )
        _hooks.install(client)
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
            self._user_aiosession = False
        return self.aiosession

    def prepare_async(self) -> None:
        """Do now what the first async call would otherwise pay for: import aiobotocore,
        make its session and load DynamoDB's service model (tenths of a second). Nothing
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
        _hooks.install(aclient)
        owner = _owned_until_loop_ends(stack)
        await owner.__anext__()
        # The client of an earlier loop was closed when that loop shut down.
        self._aowner, self.aclient, self.aclient_loop = owner, aclient, loop
        self._where.pop("a", None)
        return aclient

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
