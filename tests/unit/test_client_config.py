"""The botocore ``Config`` of the clients the library makes: its defaults (a pool of
connections sized for many runs at once) and that a user's own ``Config`` wins; and the
one data loader (service model, endpoint data) its two sessions share."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest
from botocore.config import Config

from langgraph_dynamodb import DynamoDBSaver, DynamoDBStore, limits
from langgraph_dynamodb.options import default_boto_config


def test_the_default_pool_is_the_named_limit_and_a_users_config_wins() -> None:
    assert default_boto_config().max_pool_connections == limits.MAX_POOL_CONNECTIONS == 64
    mine = default_boto_config(Config(max_pool_connections=5, read_timeout=3))
    assert (mine.max_pool_connections, mine.read_timeout) == (5, 3)
    assert mine.retries == {"mode": "standard", "max_attempts": 8}  # the rest stays


@pytest.mark.parametrize("cls", [DynamoDBSaver, DynamoDBStore])
@pytest.mark.parametrize("given", [None, 12])
def test_both_clients_of_a_saver_and_a_store_get_it(cls: type, given: int | None) -> None:
    config = None if given is None else Config(max_pool_connections=given)
    expected = limits.MAX_POOL_CONNECTIONS if given is None else given
    holder = cls(
        table_name="pool-config",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        boto_config=config,
    )

    async def async_pool() -> int:
        client = await holder._clients.async_()
        await holder.aclose()
        return int(client.meta.config.max_pool_connections)

    assert holder.client.meta.config.max_pool_connections == expected
    if importlib.util.find_spec("aiobotocore") is not None:  # the async extra, when installed
        assert asyncio.run(async_pool()) == expected
    holder.close()


@pytest.mark.skipif(importlib.util.find_spec("aiobotocore") is None, reason="no async extra")
def test_the_two_sessions_the_library_makes_share_one_data_loader() -> None:
    from aiobotocore.session import AioSession

    saver = DynamoDBSaver(
        table_name="loader-shared", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    saver.client  # noqa: B018 - makes the sync session and client
    loader = saver._clients._loader
    assert loader is not None
    assert saver._clients._aiosession().get_component("data_loader") is loader
    saver.close()
    mine = AioSession()  # a session passed in keeps its own
    theirs = mine.get_component("data_loader")
    given = DynamoDBSaver(
        table_name="loader-shared",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aiosession=mine,
    )
    given.client  # noqa: B018
    assert mine.get_component("data_loader") is theirs is not given._clients._loader
    given.close()


def test_making_a_client_lists_dynamodbs_folder_not_every_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """botocore checks that ``dynamodb`` is among the services it has by listing every
    service's folder (about 420, 16 ms of a cold start); the library's sessions answer from
    DynamoDB's folder, and a model missing there still gets botocore's own answer."""
    import os

    from botocore.exceptions import UnknownServiceError

    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        listed.append(str(path))
        return real_listdir(path)

    saver = DynamoDBSaver(
        table_name="loader-listing", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"
    )
    monkeypatch.setattr(os, "listdir", listdir)
    saver.client  # noqa: B018 - makes the session and the client
    monkeypatch.setattr(os, "listdir", real_listdir)
    assert listed, "botocore lists DynamoDB's versions"
    assert all(os.path.basename(p.rstrip(os.sep)) == "dynamodb" for p in listed), listed
    loader = saver._clients._loader
    assert loader.list_available_services("service-2") == ["dynamodb"]
    with pytest.raises(UnknownServiceError):  # botocore's own listing, naming what it has
        loader.load_service_model("dynamodb", "no-such-model-1")
    saver.close()
