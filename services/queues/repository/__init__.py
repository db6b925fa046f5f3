"""SQL for the queues' own schema (asyncpg, no ORM): one repository on a connection,
returning the domain's objects."""

from __future__ import annotations

import functools
from collections.abc import Callable

import asyncpg

from services.queues.repository.idempotency import Idempotency
from services.queues.repository.jobs import HistoryCursor, Jobs, changes_channel
from services.queues.repository.replicas import PRINTERS, VIRTUAL_PRINTERS, Replicas
from services.queues.repository.scans import Scans


class QueuesRepository(Jobs, Replicas, Idempotency, Scans):
    """The queues' repository on one connection (the caller's transaction). ``schema``
    names the channel on which recorded history wakes the event streams."""

    def __init__(self, conn: asyncpg.Connection, schema: str = "") -> None:
        self.conn = conn
        self.schema = schema

    @classmethod
    def of_schema(cls, schema: str) -> Callable[[asyncpg.Connection], QueuesRepository]:
        """Builds the repository on connections of ``schema`` (what units of work take)."""
        return functools.partial(cls, schema=schema)


__all__ = [
    "PRINTERS",
    "VIRTUAL_PRINTERS",
    "HistoryCursor",
    "QueuesRepository",
    "changes_channel",
]
