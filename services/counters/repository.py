"""SQL for counters' own schema (asyncpg, no ORM)."""

from __future__ import annotations

import json
import uuid
from dataclasses import astuple, fields
from datetime import datetime
from typing import Any

import asyncpg

from services.counters.domain.model import Kept, Quota, Step

# ------------------------------------------------------------------ device counters


async def reading_seen(conn: asyncpg.Connection, reading_id: uuid.UUID) -> bool:
    """Whether a reading with this id was handled already (applied or dropped)."""
    return bool(
        await conn.fetchval("SELECT 1 FROM counter_readings WHERE reading_id = $1", reading_id)
    )


async def record_reading(
    conn: asyncpg.Connection,
    *,
    reading_id: uuid.UUID,
    printer_id: uuid.UUID,
    tenant_id: uuid.UUID,
    read_at: datetime,
    attempts: int,
    source: str,
    outcome: str,
) -> None:
    """Remember a reading and what became of it."""
    await conn.execute(
        """
        INSERT INTO counter_readings
            (reading_id, printer_id, tenant_id, read_at, attempts, source, outcome)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
        """,
        reading_id, printer_id, tenant_id, read_at, attempts, source, outcome,
    )  # fmt: skip


async def kept_counters(conn: asyncpg.Connection, printer_id: uuid.UUID) -> dict[str, Kept]:
    """The printer's kept counter values, locked until the transaction ends."""
    rows = await conn.fetch(
        "SELECT counter, value, read_at FROM printer_counters WHERE printer_id = $1 FOR UPDATE",
        printer_id,
    )
    return {r["counter"]: Kept(r["value"], r["read_at"]) for r in rows}


async def apply_steps(
    conn: asyncpg.Connection,
    printer_id: uuid.UUID,
    tenant_id: uuid.UUID,
    reading_id: uuid.UUID,
    read_at: datetime,
    steps: list[Step],
) -> None:
    """Keep the new values, store the increments and the resets of one reading."""
    await conn.executemany(
        """
        INSERT INTO printer_counters
            (printer_id, counter, tenant_id, unit, value, usage, read_at, reading_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (printer_id, counter) DO UPDATE SET
            value = EXCLUDED.value, unit = EXCLUDED.unit,
            usage = printer_counters.usage + EXCLUDED.usage,
            read_at = EXCLUDED.read_at, reading_id = EXCLUDED.reading_id
        """,
        [
            (printer_id, s.counter, tenant_id, s.unit, s.value, s.increment, read_at, reading_id)
            for s in steps
        ],
    )
    increments = [s for s in steps if s.increment > 0]
    if increments:
        await conn.executemany(
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
        await conn.executemany(
            """
            INSERT INTO counter_resets
                (printer_id, counter, tenant_id, reading_id, previous_value, new_value, read_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            [
                (printer_id, s.counter, tenant_id, reading_id, s.reset_from, s.value, read_at)
                for s in resets
            ],
        )


async def record_refusal(
    conn: asyncpg.Connection,
    *,
    event_id: uuid.UUID,
    reading_id: uuid.UUID,
    printer_id: uuid.UUID,
    tenant_id: uuid.UUID,
    activity_before: int,
    activity_after: int,
    reason: str,
) -> bool:
    """Remember a refused reading; False when this event was refused before."""
    status = await conn.execute(
        """
        INSERT INTO refused_readings
            (event_id, reading_id, printer_id, tenant_id, activity_before, activity_after, reason)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
        """,
        event_id, reading_id, printer_id, tenant_id, activity_before, activity_after, reason,
    )  # fmt: skip
    return str(status).endswith(" 1")


async def inbox_position(
    conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID
) -> asyncpg.Record | None:
    """Where the consumer read an event (its inbox claim): topic, partition, offset."""
    return await conn.fetchrow(
        "SELECT topic, kafka_partition, kafka_offset FROM processed_events "
        "WHERE consumer = $1 AND event_id = $2",
        consumer,
        event_id,
    )


async def add_raw_outbox(
    conn: asyncpg.Connection,
    *,
    event_id: uuid.UUID,
    topic: str,
    key: str,
    payload: str,
    headers: dict[str, str],
) -> None:
    """An outbox row carrying an already-encoded message (a parked event, unchanged)."""
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, payload, headers) "
        "VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        event_id,
        topic,
        key,
        payload,
        json.dumps(headers),
    )


async def printer_counters(conn: asyncpg.Connection, printer_id: uuid.UUID) -> list[asyncpg.Record]:
    """The printer's kept counters."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT counter, tenant_id, unit, value, usage, read_at, reading_id "
        "FROM printer_counters WHERE printer_id = $1 ORDER BY counter",
        printer_id,
    )
    return rows


# ------------------------------------------------------------------ usage per job


async def add_job_usage(
    conn: asyncpg.Connection,
    *,
    job_id: uuid.UUID,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    printer_id: uuid.UUID,
    pages: int,
    colour_pages: int,
    sheets: int,
    completed_at: datetime,
) -> bool:
    """Record a job's usage; False when this job's usage is already recorded."""
    status = await conn.execute(
        """
        INSERT INTO job_usage
            (job_id, tenant_id, user_id, printer_id, pages, colour_pages, sheets, completed_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
        """,
        job_id, tenant_id, user_id, printer_id, pages, colour_pages, sheets, completed_at,
    )  # fmt: skip
    return str(status).endswith(" 1")


async def put_windows(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Upsert window totals; a window keeps the totals with the most jobs (the latest)."""
    await conn.executemany(
        """
        INSERT INTO usage_windows (tenant_id, granularity, dimension, subject_id, window_start,
                                   window_end, pages, colour_pages, jobs)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (tenant_id, granularity, dimension, subject_id, window_start) DO UPDATE SET
            pages = EXCLUDED.pages, colour_pages = EXCLUDED.colour_pages, jobs = EXCLUDED.jobs,
            window_end = EXCLUDED.window_end, updated_at = now()
        WHERE usage_windows.jobs < EXCLUDED.jobs
        """,
        rows,
    )


async def usage_windows(
    conn: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    granularity: str,
    dimension: str,
    subject_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Windows of one subject starting in [start, end), oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT window_start, window_end, pages, colour_pages, jobs FROM usage_windows
        WHERE tenant_id = $1 AND granularity = $2 AND dimension = $3 AND subject_id = $4
          AND ($5::timestamptz IS NULL OR window_start >= $5)
          AND ($6::timestamptz IS NULL OR window_start < $6)
        ORDER BY window_start LIMIT $7
        """,
        tenant_id, granularity, dimension, subject_id, start, end, limit,
    )  # fmt: skip
    return rows


# ------------------------------------------------------------------ quotas

_QUOTA_COLUMNS = (
    'id, tenant_id, subject_kind, subject_id, members, metric, period, "limit", policy, '
    "period_start, used, override_until, override_reason, revision, created_at, updated_at"
)
_SAVED = [f.name for f in fields(Quota) if f.name != "deleted"]


def _quota(row: asyncpg.Record) -> Quota:
    return Quota(**{**dict(row), "members": tuple(row["members"])})


async def insert_quota(conn: asyncpg.Connection, q: Quota) -> None:
    """Insert a new quota."""
    values = list(astuple(q))[: len(_SAVED)]
    values[_SAVED.index("members")] = list(q.members)
    await conn.execute(
        f"INSERT INTO quotas ({_QUOTA_COLUMNS}) VALUES "
        f"({', '.join(f'${i + 1}' for i in range(len(_SAVED)))})",
        *values,
    )


async def save_quota(conn: asyncpg.Connection, q: Quota) -> None:
    """Write a quota's changeable state."""
    await conn.execute(
        """
        UPDATE quotas SET members = $2, "limit" = $3, policy = $4, period_start = $5, used = $6,
            override_until = $7, override_reason = $8, revision = $9, updated_at = $10
        WHERE id = $1
        """,
        q.id, list(q.members), q.limit, q.policy, q.period_start, q.used, q.override_until,
        q.override_reason, q.revision, q.updated_at,
    )  # fmt: skip


async def get_quota(
    conn: asyncpg.Connection, quota_id: uuid.UUID, *, for_update: bool = False
) -> Quota | None:
    """A quota by id (locked for the transaction when ``for_update``)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_QUOTA_COLUMNS} FROM quotas WHERE id = $1{lock}", quota_id)
    return _quota(row) if row else None


async def delete_quota(conn: asyncpg.Connection, quota_id: uuid.UUID) -> None:
    """Remove a quota and its overrides."""
    await conn.execute("DELETE FROM quotas WHERE id = $1", quota_id)


async def list_quotas(
    conn: asyncpg.Connection, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
) -> list[Quota]:
    """Quotas in id order (one tenant's, or all), keyset-paginated."""
    rows = await conn.fetch(
        f"SELECT {_QUOTA_COLUMNS} FROM quotas WHERE ($1::uuid IS NULL OR tenant_id = $1) "
        "AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        tenant_id,
        after,
        limit,
    )
    return [_quota(r) for r in rows]


async def quotas_for_user(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> list[Quota]:
    """The tenant's quotas a job of ``user_id`` counts against, locked, in id order."""
    rows = await conn.fetch(
        f"""
        SELECT {_QUOTA_COLUMNS} FROM quotas
        WHERE tenant_id = $1 AND (subject_kind = 'tenant'
            OR (subject_kind = 'user' AND subject_id = $2)
            OR (subject_kind = 'group' AND $2 = ANY (members)))
        ORDER BY id FOR UPDATE
        """,
        tenant_id,
        user_id,
    )
    return [_quota(r) for r in rows]


async def due_quotas(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Quota]:
    """Quotas whose period ended before ``now``, locked (others' locked rows skipped)."""
    rows = await conn.fetch(
        f"""
        SELECT {_QUOTA_COLUMNS} FROM quotas
        WHERE period_start + CASE period WHEN 'day' THEN interval '1 day'
            WHEN 'week' THEN interval '7 days' WHEN 'month' THEN interval '1 month'
            ELSE interval '1 year' END <= $1
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
        """,
        now,
        limit,
    )
    return [_quota(r) for r in rows]


async def add_override(
    conn: asyncpg.Connection, quota_id: uuid.UUID, until: datetime, reason: str, by: str
) -> None:
    """Record an administrator's override."""
    await conn.execute(
        "INSERT INTO quota_overrides (quota_id, until, reason, by_subject) VALUES ($1, $2, $3, $4)",
        quota_id,
        until,
        reason,
        by,
    )
