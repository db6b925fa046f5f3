"""Helpers for tests against the run's real Kafka and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient

from shared.testing.infra import TestInfra

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Poll ``check`` until it is true; fail with the timeout otherwise."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - polling state owned by other processes
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running(*tasks: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """Run task factories (relay.run, consumer.run) until the block ends, then stop them."""
    stop = asyncio.Event()
    running_tasks = [asyncio.create_task(t(stop)) for t in tasks]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*running_tasks)


@pytest.fixture(scope="session")
def bootstrap(infra: TestInfra) -> str:
    return infra.bootstrap


@dataclass(frozen=True)
class RegistryUnderTest:
    """A registry app on its own fresh schema, reachable over real HTTP."""

    client: TestClient
    dsn: str
    schema: str


RegistryFactory = Callable[..., contextlib.AbstractAsyncContextManager[RegistryUnderTest]]


@pytest.fixture
def registry_app(service_db: Any, bootstrap: str, topics: object) -> RegistryFactory:
    """``async with registry_app(token, **settings) as reg``: a started registry."""
    from aiohttp.test_utils import TestClient, TestServer

    from services.registry.app import SPEC
    from services.registry.settings import RegistrySettings
    from shared.service import create_app
    from shared.testing.fixtures import unique

    @contextlib.asynccontextmanager
    async def start(token: str, **overrides: Any) -> AsyncIterator[RegistryUnderTest]:
        db = await service_db(unique("registry"), SPEC.migrations_dir)
        settings = RegistrySettings(
            database_url=db.dsn, db_schema=db.name, kafka_bootstrap=bootstrap,
            operator_token=token, outbox_poll_s=0.5, **overrides,
        )  # fmt: skip
        async with TestClient(TestServer(create_app(SPEC, settings))) as client:
            yield RegistryUnderTest(client, db.dsn, db.name)

    return start
