"""How the portal's views reach the service: settings, pool, the HTTP client of the
public API, and the session of the request."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from services.portal.domain.model import Session
from services.portal.repository import PortalRepository
from services.portal.settings import PortalSettings
from services.portal.upstream import PrintcloudApi
from shared.db.uow import PostgresTransactions
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(PortalSettings)

HTTP = web.AppKey("portal_http", aiohttp.ClientSession)
SESSION = "portal_session"
"""The request's live session (``request[SESSION]``), or None."""


def transactions(request: web.Request) -> PostgresTransactions[PortalRepository]:
    """Units of work on the portal's schema."""
    return PostgresTransactions(CONTEXT.pool(request), CONTEXT.emitter(request), PortalRepository)


def session_of(request: web.Request) -> Session | None:
    """The signed-in session of the request, if any."""
    found: Session | None = request.get(SESSION)
    return found


def api(request: web.Request, session: Session | None = None) -> PrintcloudApi:
    """The public API as the request's person (anonymous without a session)."""
    token = session.access_token if session else ""
    return PrintcloudApi(request.app[HTTP], CONTEXT.settings(request).api_url, token)


async def _client(app: web.Application) -> None:
    settings = CONTEXT.runtime(app).settings
    app[HTTP] = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=settings.api_timeout_s)
    )


async def _close(app: web.Application) -> None:
    if HTTP in app:
        await app[HTTP].close()


def install(app: web.Application) -> None:
    """The API client of the app's lifetime."""
    app.on_startup.append(_client)
    app.on_cleanup.append(_close)
