"""What every routing view takes from the app: ``CONTEXT`` (the typed runtime,
settings, pool and emitter), and units of work on routing's repository."""

from __future__ import annotations

from aiohttp import web

from services.routing.repository import RoutingRepository
from services.routing.settings import RoutingSettings
from shared.db.uow import PostgresTransactions
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(RoutingSettings)


def transactions(request: web.Request) -> PostgresTransactions[RoutingRepository]:
    """Units of work on routing's schema; their events carry the request's correlation id."""
    return CONTEXT.transactions(request, RoutingRepository)
