"""Supply levels: the latest per supply (with its low episode) and their history."""

from __future__ import annotations

import uuid
from dataclasses import astuple

import asyncpg

from services.consumables.domain.model import KnownPrinter, Level, LevelHistory
from services.consumables.repository.printers import get_printer

_LEVEL_COLUMNS = (
    "printer_id, kind, colour, tenant_id, name, level_percent, source, reported_at, "
    "low_since, low_threshold, low_lowest"
)


class LevelRepository:
    """Reported supply levels, and the printers they are judged for."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def printer(self, printer_id: uuid.UUID) -> KnownPrinter | None:
        """A printer of the read model (tenant, name, model, region, location)."""
        return await get_printer(self.conn, printer_id)

    async def lock_level(self, printer_id: uuid.UUID, kind: str, colour: str) -> Level | None:
        """The latest level of one supply, locked: reports of one supply apply one at a
        time. A transaction lock on the supply's key covers the first report too (no row
        yet)."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock("
            "hashtextextended($1::uuid::text || '/' || $2 || '/' || $3, 0))",
            printer_id, kind, colour,
        )  # fmt: skip
        row = await self.conn.fetchrow(
            f"SELECT {_LEVEL_COLUMNS} FROM supply_levels "
            "WHERE printer_id = $1 AND kind = $2 AND colour = $3 FOR UPDATE",
            printer_id, kind, colour,
        )  # fmt: skip
        return Level(**dict(row)) if row else None

    async def save_level(self, level: Level) -> None:
        """Insert or replace the latest level of one supply (with its low episode)."""
        await self.conn.execute(
            """
            INSERT INTO supply_levels (printer_id, kind, colour, tenant_id, name, level_percent,
                                       source, reported_at, low_since, low_threshold,
                                       low_lowest)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (printer_id, kind, colour) DO UPDATE
               SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name,
                   level_percent = EXCLUDED.level_percent, source = EXCLUDED.source,
                   reported_at = EXCLUDED.reported_at, low_since = EXCLUDED.low_since,
                   low_threshold = EXCLUDED.low_threshold, low_lowest = EXCLUDED.low_lowest
            """,
            *astuple(level),
        )

    async def add_history(
        self, printer_id: uuid.UUID, event_id: uuid.UUID, levels: list[LevelHistory]
    ) -> None:
        """Append the levels one report (``event_id``) told to the history."""
        await self.conn.executemany(
            "INSERT INTO supply_level_history (printer_id, kind, colour, level_percent, "
            "reported_at, event_id) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (printer_id, h.kind, h.colour, h.level_percent, h.reported_at, event_id)
                for h in levels
            ],
        )

    async def levels_of(self, printer_id: uuid.UUID) -> list[Level]:
        """The latest level of every supply of a printer."""
        rows = await self.conn.fetch(
            f"SELECT {_LEVEL_COLUMNS} FROM supply_levels WHERE printer_id = $1 "
            "ORDER BY kind, colour",
            printer_id,
        )
        return [Level(**dict(r)) for r in rows]

    async def history_of(self, printer_id: uuid.UUID, limit: int) -> list[LevelHistory]:
        """The most recent reported levels of a printer, newest first."""
        rows = await self.conn.fetch(
            "SELECT kind, colour, level_percent, reported_at FROM supply_level_history "
            "WHERE printer_id = $1 ORDER BY reported_at DESC, id DESC LIMIT $2",
            printer_id, limit,
        )  # fmt: skip
        return [LevelHistory(**dict(r)) for r in rows]

    async def purge_history(self, older_than_days: int) -> int:
        """Delete history older than the retention; returns how many rows went."""
        status = await self.conn.execute(
            "DELETE FROM supply_level_history "
            "WHERE reported_at < now() - make_interval(days => $1)",
            older_than_days,
        )
        return int(status.split()[-1])
