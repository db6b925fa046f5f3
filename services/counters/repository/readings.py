"""Device counters: readings and what became of them, kept values, increments, resets."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from services.counters.domain.model import (
    EventOrigin,
    Kept,
    PrinterCounter,
    Reading,
    RefusedReading,
    Step,
)


class ReadingRepository:
    """Device counter readings in counters' schema."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def reading_seen(self, reading_id: uuid.UUID) -> bool:
        """Whether a reading with this id was handled already (applied or dropped)."""
        return bool(
            await self.conn.fetchval(
                "SELECT 1 FROM counter_readings WHERE reading_id = $1", reading_id
            )
        )

    async def record_reading(self, r: Reading) -> None:
        """Remember a reading and what became of it."""
        await self.conn.execute(
            """
            INSERT INTO counter_readings
                (reading_id, printer_id, tenant_id, read_at, attempts, source, outcome)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
            """,
            r.reading_id, r.printer_id, r.tenant_id, r.read_at, r.attempts, r.source, r.outcome,
        )  # fmt: skip

    async def bind_printer(self, printer_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
        """Bind the printer to ``tenant_id`` on its first reading (locked until the
        transaction ends); False when it belongs to another tenant."""
        await self.conn.execute(
            "INSERT INTO counter_printers (printer_id, tenant_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            printer_id,
            tenant_id,
        )
        owner = await self.conn.fetchval(
            "SELECT tenant_id FROM counter_printers WHERE printer_id = $1 FOR UPDATE", printer_id
        )
        return bool(owner == tenant_id)

    async def kept_counters(self, tenant_id: uuid.UUID, printer_id: uuid.UUID) -> dict[str, Kept]:
        """The printer's kept counter values, locked until the transaction ends."""
        rows = await self.conn.fetch(
            "SELECT counter, value, read_at FROM printer_counters "
            "WHERE tenant_id = $1 AND printer_id = $2 FOR UPDATE",
            tenant_id,
            printer_id,
        )
        return {r["counter"]: Kept(r["value"], r["read_at"]) for r in rows}

    async def apply_steps(
        self,
        printer_id: uuid.UUID,
        tenant_id: uuid.UUID,
        reading_id: uuid.UUID,
        read_at: datetime,
        steps: list[Step],
    ) -> None:
        """Keep the new values, store the increments and the resets of one reading."""
        await self.conn.executemany(
            """
            INSERT INTO printer_counters
                (printer_id, counter, tenant_id, unit, value, usage, read_at, reading_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (tenant_id, printer_id, counter) DO UPDATE SET
                value = EXCLUDED.value, unit = EXCLUDED.unit,
                usage = printer_counters.usage + EXCLUDED.usage,
                read_at = EXCLUDED.read_at, reading_id = EXCLUDED.reading_id
            """,
            [
                (printer_id, s.counter, tenant_id, s.unit, s.value, s.increment, read_at,
                 reading_id)
                for s in steps
            ],
        )  # fmt: skip
        increments = [s for s in steps if s.increment > 0]
        if increments:
            await self.conn.executemany(
                """
                INSERT INTO counter_increments
                    (printer_id, counter, tenant_id, reading_id, increment, value, read_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    (printer_id, s.counter, tenant_id, reading_id, s.increment, s.value, read_at)
                    for s in increments
                ],
            )
        resets = [s for s in steps if s.reset_from is not None]
        if resets:
            await self.conn.executemany(
                """
                INSERT INTO counter_resets
                    (printer_id, counter, tenant_id, reading_id, previous_value, new_value,
                     read_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    (printer_id, s.counter, tenant_id, reading_id, s.reset_from, s.value, read_at)
                    for s in resets
                ],
            )

    async def record_refusal(self, r: RefusedReading) -> bool:
        """Remember a refused reading; False when this event was refused before."""
        status = await self.conn.execute(
            """
            INSERT INTO refused_readings (event_id, reading_id, printer_id, tenant_id,
                                          activity_before, activity_after, reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
            """,
            r.event_id, r.reading_id, r.printer_id, r.tenant_id, r.activity_before,
            r.activity_after, r.reason,
        )  # fmt: skip
        return str(status).endswith(" 1")

    async def inbox_position(self, consumer: str, event_id: uuid.UUID) -> EventOrigin | None:
        """Where the consumer read an event (its inbox claim): topic, partition, offset."""
        row = await self.conn.fetchrow(
            "SELECT topic, kafka_partition, kafka_offset FROM processed_events "
            "WHERE consumer = $1 AND event_id = $2",
            consumer,
            event_id,
        )
        if row is None:
            return None
        return EventOrigin(row["topic"], row["kafka_partition"], row["kafka_offset"])

    async def add_raw_outbox(
        self, *, event_id: uuid.UUID, topic: str, key: str, payload: str, headers: dict[str, str]
    ) -> None:
        """An outbox row carrying an already-encoded message (a parked event, unchanged)."""
        await self.conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload, headers) "
            "VALUES ($1, $2, $3, $4, $5::text::jsonb)",
            event_id,
            topic,
            key,
            payload,
            json.dumps(headers),
        )

    async def printer_counters(self, printer_id: uuid.UUID) -> list[PrinterCounter]:
        """The printer's kept counters."""
        rows = await self.conn.fetch(
            "SELECT counter, tenant_id, unit, value, usage, read_at, reading_id "
            "FROM printer_counters WHERE printer_id = $1 ORDER BY counter",
            printer_id,
        )
        return [PrinterCounter(**dict(r)) for r in rows]
