"""How the registry's views reach the running service (typed by its settings)."""

from __future__ import annotations

from aiohttp import web

from services.registry.repository import RegistryRepository
from services.registry.settings import RegistrySettings
from shared.db.uow import PostgresTransactions
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(RegistrySettings)


def transactions(request: web.Request) -> PostgresTransactions[RegistryRepository]:
    """Units of work on the registry's pool; their events carry the request's correlation
    id."""
    return CONTEXT.transactions(request, RegistryRepository)
