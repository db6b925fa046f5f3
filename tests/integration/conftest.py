"""Helpers for tests against the run's real Kafka and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

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
