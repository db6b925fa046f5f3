"""Units of work inside a transaction the caller already holds: a consumer applies an
event in its inbox transaction, so that the event's effects, the events they announce
and the inbox record commit together."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from services.consumables.repository import ConsumablesRepository
from shared.db.outbox import Emitter
from shared.db.uow import Transactions, UnitOfWork
from shared.events.envelope import EventData


class _Held:
    def __init__(self, conn: asyncpg.Connection, out: Emitter) -> None:
        self._conn = conn
        self._out = out
        self._repo = ConsumablesRepository(conn)

    @property
    def repo(self) -> ConsumablesRepository:
        return self._repo

    async def emit(self, data: EventData, *, tenant_id: uuid.UUID | None) -> None:
        await self._out.emit(self._conn, data, tenant_id=tenant_id)


def on_connection(conn: asyncpg.Connection, out: Emitter) -> Transactions[ConsumablesRepository]:
    """Units of work on ``conn`` (each a savepoint of the caller's transaction),
    announcing through ``out``."""

    @contextlib.asynccontextmanager
    async def unit() -> AsyncIterator[UnitOfWork[ConsumablesRepository]]:
        async with conn.transaction():
            yield _Held(conn, out)

    return unit
