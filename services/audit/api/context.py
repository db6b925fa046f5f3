"""How audit's views reach the service, and who may call them."""

from __future__ import annotations

from aiohttp import web

from services.audit.repository import AuditRepository
from services.audit.settings import AuditSettings
from shared.db.uow import PostgresTransactions
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(AuditSettings)

READ = "users:read"
"""The audit trail tells what people did: administrators whose token may read users."""


def transactions(request: web.Request) -> PostgresTransactions[AuditRepository]:
    """Units of work on audit's schema."""
    return CONTEXT.transactions(request, AuditRepository)
