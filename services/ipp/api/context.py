"""How the IPP views reach the service: settings, pool, the HTTP client of the public
API and the access tokens it got for API tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from services.ipp.repository import IppRepository
from services.ipp.settings import IppSettings
from services.ipp.upstream import TokenCache
from shared.db.uow import PostgresTransactions
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(IppSettings)

HTTP = web.AppKey("ipp_http", aiohttp.ClientSession)
TOKENS = web.AppKey("ipp_tokens", TokenCache)
STARTED = web.AppKey("ipp_started", datetime)


def transactions(request: web.Request) -> PostgresTransactions[IppRepository]:
    """Units of work on the IPP schema."""
    return PostgresTransactions(CONTEXT.pool(request), CONTEXT.emitter(request), IppRepository)


async def _client(app: web.Application) -> None:
    settings = CONTEXT.runtime(app).settings
    app[STARTED] = datetime.now(UTC)
    app[TOKENS] = TokenCache(settings.token_cache_s)
    app[HTTP] = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=settings.api_timeout_s)
    )


async def _close(app: web.Application) -> None:
    if HTTP in app:
        await app[HTTP].close()


def install(app: web.Application) -> None:
    """The client session and token cache of the app's lifetime."""
    app.on_startup.append(_client)
    app.on_cleanup.append(_close)
