"""Apps under test on real loopback ports: a service's app with a client of it, and any
aiohttp app (a stand-in for another service) served on a port of its own."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shared.service import ServiceSpec, create_app
from shared.settings import ServiceSettings


@contextlib.asynccontextmanager
async def service_client(
    spec: ServiceSpec[Any], settings: ServiceSettings, **spec_changes: Any
) -> AsyncIterator[TestClient]:
    """The service's app (HTTP, consumers, relay, workers) started on a loopback port, and
    a client of it; ``spec_changes`` replace parts of the spec (its authenticator)."""
    if spec_changes:
        spec = dataclasses.replace(spec, **spec_changes)
    async with TestClient(TestServer(create_app(spec, settings))) as client:
        yield client


async def serve(
    app: web.Application, port: int = 0, *, shutdown_timeout: float = 60.0
) -> web.AppRunner:
    """Start serving ``app`` on 127.0.0.1 (on ``port``, or one the OS picks); the runner's
    ``cleanup()`` stops it."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def base_url(runner: web.AppRunner) -> str:
    """``http://127.0.0.1:<port>`` of a started runner."""
    return f"http://127.0.0.1:{runner.addresses[0][1]}"


@contextlib.asynccontextmanager
async def serving(
    app: web.Application, port: int = 0, *, shutdown_timeout: float = 1.0
) -> AsyncIterator[str]:
    """``app`` served on 127.0.0.1 during the block; its base URL."""
    runner = await serve(app, port, shutdown_timeout=shutdown_timeout)
    try:
        yield base_url(runner)
    finally:
        await runner.cleanup()
