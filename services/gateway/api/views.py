"""The gateway's HTTP views: the devices' websocket and its readiness."""

from __future__ import annotations

from aiohttp import web

from services.gateway.api.context import gateway
from services.gateway.connection import serve_device
from shared.http.health import readiness
from shared.http.middleware import public


@public
async def device_ws(request: web.Request) -> web.StreamResponse:
    """GET /v1/devices/ws: a device's websocket (it authenticates inside the protocol)."""
    gw = gateway(request)
    if not gw.accepting:
        raise web.HTTPServiceUnavailable(text="gateway is not accepting devices")
    return await serve_device(request, gw.credentials, gw.settings, gw.opened, gw.frame, gw.closed)


async def readyz(request: web.Request) -> web.Response:
    """Ready when accepting, the key cache and the connectors' printers have caught up
    with their topics (before that a device would be refused as unknown, a connector's
    report as not its own), and commands and notifications are followed."""
    gw = gateway(request)
    return readiness(
        {
            "accepting": "ok" if gw.accepting else "shutting down or starting",
            "credentials": "ok" if gw.credentials.ready.is_set() else "loading",
            "bridged": "ok" if gw.bridged.ready.is_set() else "loading",
            "commands": "ok" if gw.feed_ready.is_set() else "not following",
            "notifications": "ok" if gw.feed_ready.is_set() else "not following",
            "tasks": "ok" if not gw.supervisor.failing else f"restarting {gw.supervisor.failing}",
        }
    )
