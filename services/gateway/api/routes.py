"""The gateway's URL table."""

from __future__ import annotations

from aiohttp import web

from services.gateway.api import views


def add_routes(app: web.Application) -> None:
    """The gateway's public endpoint."""
    app.router.add_get("/v1/devices/ws", views.device_ws)
