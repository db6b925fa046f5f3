"""Units of work inside a transaction the caller already holds: a consumer applies an
event in its inbox transaction, so that the event's effects, the events they announce
and the inbox record commit together."""

from __future__ import annotations

import asyncpg

from services.consumables.repository import ConsumablesRepository
from shared.db.outbox import Emitter
from shared.db.uow import Transactions
from shared.db.uow import on_connection as _on_connection


def on_connection(conn: asyncpg.Connection, out: Emitter) -> Transactions[ConsumablesRepository]:
    """Units of work on ``conn`` (each a savepoint of the caller's transaction),
    announcing through ``out``."""
    return _on_connection(conn, out, ConsumablesRepository)
