"""How auth's views reach the running service (typed by its settings), and auth's
caller checks."""

from __future__ import annotations

from aiohttp import web

from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.uow import PostgresTransactions
from shared.http.auth import Principal
from shared.http.context import ServiceContext
from shared.http.middleware import principal

CONTEXT = ServiceContext(AuthSettings)
KEYRING = web.AppKey("auth_keyring", KeyRing)
"""The signing keys, readied at start-up (``api.routes``)."""


def keyring(request: web.Request) -> KeyRing:
    """The service's signing key ring."""
    return request.app[KEYRING]


def admin(request: web.Request, scope: str) -> Principal:
    """The caller, who must be an administrator holding ``scope``."""
    who = principal(request)
    who.require_role("admin")
    who.require_scope(scope)
    return who


def transactions(request: web.Request) -> PostgresTransactions[AuthRepository]:
    """Units of work on auth's pool; their events carry the request's correlation id."""
    return CONTEXT.transactions(request, AuthRepository)
