"""The gateway's readiness is honest: it says ready only when every cache a device's
frame is checked against has caught up with its topic (no I/O: the caches' ``ready``
events are set by hand, as their topic readers do once caught up)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.api.context import GATEWAY
from services.gateway.api.views import readyz
from services.gateway.replica import Gateway
from services.gateway.settings import GatewaySettings


async def _ready(gw: Gateway) -> tuple[int, dict[str, Any]]:
    app = web.Application()
    app[GATEWAY] = gw
    response = await readyz(make_mocked_request("GET", "/readyz", app=app))
    assert isinstance(response, web.Response) and response.text is not None
    return response.status, json.loads(response.text)["checks"]


async def test_readiness_waits_for_the_bridged_printers_and_the_key_cache() -> None:
    gw = Gateway(GatewaySettings(kafka_bootstrap="unused:9092", instance="gw-unit"))
    try:
        await _walk_through_the_caches(gw)
    finally:
        await gw.producer.stop()  # never started: nothing to flush


async def _walk_through_the_caches(gw: Gateway) -> None:
    gw.accepting = True
    gw.feed_ready.set()
    gw.credentials.ready.set()
    # The connectors' printers are still loading: a connector's report would be refused.
    status, checks = await _ready(gw)
    assert (status, checks["bridged"]) == (503, "loading"), checks
    gw.bridged.ready.set()
    gw.credentials.ready.clear()
    status, checks = await _ready(gw)
    assert (status, checks["credentials"]) == (503, "loading"), checks
    gw.credentials.ready.set()
    status, checks = await _ready(gw)
    assert status == 200 and set(checks.values()) == {"ok"}, checks
