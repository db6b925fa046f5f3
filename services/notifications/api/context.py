"""How notifications' views reach the service, and who may call them."""

from __future__ import annotations

from aiohttp import web

from services.notifications.delivery import policy_of
from services.notifications.handlers.endpoints import UrlCheck
from services.notifications.repository import NotificationsRepository
from services.notifications.settings import NotificationsSettings
from shared.crypto.sealing import KeyEncryptionKey
from shared.db.uow import PostgresTransactions
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(NotificationsSettings)

READ, WRITE = "printers:read", "printers:write"
"""Endpoints are tenant configuration: administrators with these scopes manage them."""


def transactions(request: web.Request) -> PostgresTransactions[NotificationsRepository]:
    """Units of work on notifications' schema; events carry the request's correlation id."""
    return CONTEXT.transactions(request, NotificationsRepository)


def kek(request: web.Request) -> KeyEncryptionKey | None:
    """The key that seals endpoints' secrets, when configured."""
    secret = CONTEXT.settings(request).key_encryption_key
    return KeyEncryptionKey.from_text(secret.get_secret_value()) if secret else None


def url_check(request: web.Request) -> UrlCheck:
    """The outbound URL rules of this service's settings."""
    return policy_of(CONTEXT.settings(request)).refusal
