"""How consumables' views reach the service, and who may call them."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.consumables.repository import ConsumablesRepository
from services.consumables.settings import ConsumablesSettings
from shared.crypto.sealing import KeyEncryptionKey
from shared.db.uow import PostgresTransactions
from shared.errors import FieldError, ValidationFailed
from shared.http.context import ServiceContext
from shared.http.middleware import caller

CONTEXT = ServiceContext(ConsumablesSettings)

READ, WRITE = "printers:read", "printers:write"


def transactions(request: web.Request) -> PostgresTransactions[ConsumablesRepository]:
    """Units of work on consumables' schema; events carry the request's correlation id."""
    return CONTEXT.transactions(request, ConsumablesRepository)


def kek(request: web.Request) -> KeyEncryptionKey | None:
    """The key that seals suppliers' secrets, when configured."""
    secret = CONTEXT.settings(request).key_encryption_key
    return KeyEncryptionKey.from_text(secret.get_secret_value()) if secret else None


def listing_tenant(request: web.Request, requested: uuid.UUID | None) -> uuid.UUID | None:
    """Whose items a listing shows: the caller's tenant, or for operators the one they
    name or every tenant (None)."""
    own = caller(request, READ).tenant_scope()
    if own is None:
        return requested
    if requested is not None and requested != own:
        raise ValidationFailed("unknown tenant", [FieldError("tenant_id", "unknown tenant")])
    return own
