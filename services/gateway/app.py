"""The gateway process: device websockets in, events to Kafka, commands out.

The gateway has no database: it builds its own app (:func:`create_app`) around one
:class:`~services.gateway.replica.Gateway`, whose lifetime the app's cleanup context owns.
"""

from __future__ import annotations

from aiohttp import web

from services.gateway.api import views
from services.gateway.api.context import GATEWAY
from services.gateway.api.routes import add_routes
from services.gateway.replica import Gateway
from services.gateway.settings import GatewaySettings
from shared.events.contracts import gateway as gateway_events
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.registry import EventRegistry
from shared.http.health import healthz, metrics
from shared.http.middleware import AUTHENTICATOR, MIDDLEWARES
from shared.service import UNREADY, ServiceSpec, operator_authenticator

__all__ = ["GATEWAY", "SPEC", "create_app"]


def create_app(settings: GatewaySettings) -> web.Application:
    """The gateway's aiohttp app; its cleanup context owns Kafka and the sessions."""
    app = web.Application(middlewares=MIDDLEWARES)
    app[AUTHENTICATOR] = operator_authenticator(settings)
    gw = Gateway(settings)
    app[GATEWAY] = gw
    add_routes(app)
    app[UNREADY] = lambda: setattr(gw, "accepting", False)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", views.readyz)
    app.router.add_get("/metrics", metrics)

    app.on_shutdown.append(lambda _: gw.sessions.close_all())
    app.cleanup_ctx.append(gw.lifetime)
    return app


SPEC = ServiceSpec(
    name="gateway",
    settings_cls=GatewaySettings,
    registry=EventRegistry([*gateway_events.EVENTS, DeviceCommandAcked]),
    add_routes=add_routes,
    app_factory=create_app,
)
