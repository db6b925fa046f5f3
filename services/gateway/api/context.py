"""How the gateway's views reach their replica (the gateway has no database, so no
:class:`~shared.http.context.ServiceContext`: its state is one typed app key)."""

from __future__ import annotations

from aiohttp import web

from services.gateway.replica import Gateway

GATEWAY = web.AppKey("gateway", Gateway)


def gateway(request: web.Request) -> Gateway:
    """This replica's state."""
    return request.app[GATEWAY]
