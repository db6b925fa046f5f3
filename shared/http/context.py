"""The one typed way a view reaches its service's dependencies.

Each service declares ``CONTEXT = ServiceContext(<its settings class>)`` in
``services/<name>/api/context.py``; a view asks it for what it needs::

    async with CONTEXT.pool(request).acquire() as conn: ...
    settings = CONTEXT.settings(request)      # typed as the service's settings
    out = CONTEXT.emitter(request)            # events carry the correlation id and the caller
    tx = CONTEXT.transactions(request, Repo)  # units of work (shared.db.uow)

The runtime is stored on the app by :mod:`shared.service` from the service's own
spec, so its settings are of the declared class: no ``isinstance`` checks at the
call sites.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

import asyncpg
from aiohttp import web

from shared.db.outbox import Emitter
from shared.db.uow import PostgresTransactions
from shared.http.middleware import PRINCIPAL, correlation_id
from shared.service import RUNTIME, Runtime
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
R = TypeVar("R")


class ServiceContext(Generic[S]):
    """Typed access to the running service (its runtime, settings, pool, emitter)."""

    def __init__(self, settings_cls: type[S]) -> None:
        self.settings_cls = settings_cls

    def runtime(self, request: web.Request | web.Application) -> Runtime[S]:
        """The service instance's runtime."""
        app = request if isinstance(request, web.Application) else request.app
        return cast(Runtime[S], app[RUNTIME])

    def settings(self, request: web.Request) -> S:
        """The service's settings."""
        return self.runtime(request).settings

    def pool(self, request: web.Request) -> asyncpg.Pool:
        """The service's connection pool (its own schema)."""
        return self.runtime(request).pool

    def emitter(self, request: web.Request) -> Emitter:
        """An outbox emitter whose events carry the request's correlation id and its
        authenticated caller as their ``actor`` (none on a public route)."""
        who = request.get(PRINCIPAL)
        actor = who.actor if who is not None else None
        return self.runtime(request).emitter(correlation_id(request), actor)

    def transactions(
        self, request: web.Request, repository: Callable[[asyncpg.Connection], R]
    ) -> PostgresTransactions[R]:
        """Units of work on the service's pool with ``repository`` built on each
        connection; their events carry the request's correlation id."""
        return PostgresTransactions(self.pool(request), self.emitter(request), repository)
