"""Usage: each completed job once, and the roll-up windows' latest totals."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.counters.domain.model import JobUsage, UsageWindow


class UsageRepository:
    """Usage per job and per window in counters' schema."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add_job_usage(self, u: JobUsage) -> bool:
        """Record a job's usage; False when this job's usage is already recorded."""
        status = await self.conn.execute(
            """
            INSERT INTO job_usage (job_id, tenant_id, user_id, printer_id, pages, colour_pages,
                                   sheets, completed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
            """,
            u.job_id, u.tenant_id, u.user_id, u.printer_id, u.pages, u.colour_pages, u.sheets,
            u.completed_at,
        )  # fmt: skip
        return str(status).endswith(" 1")

    async def put_windows(self, windows: list[UsageWindow]) -> None:
        """Upsert window totals; a window keeps the totals with the most jobs (the latest)."""
        await self.conn.executemany(
            """
            INSERT INTO usage_windows (tenant_id, granularity, dimension, subject_id,
                                       window_start, window_end, pages, colour_pages, jobs,
                                       sheets, duplex_sheets)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (tenant_id, granularity, dimension, subject_id, window_start) DO UPDATE
            SET pages = EXCLUDED.pages, colour_pages = EXCLUDED.colour_pages,
                jobs = EXCLUDED.jobs, sheets = EXCLUDED.sheets,
                duplex_sheets = EXCLUDED.duplex_sheets, window_end = EXCLUDED.window_end,
                updated_at = now()
            WHERE usage_windows.jobs < EXCLUDED.jobs
            """,
            [
                (w.tenant_id, w.granularity, w.dimension, w.subject_id, w.window_start,
                 w.window_end, w.pages, w.colour_pages, w.jobs, w.sheets, w.duplex_sheets)
                for w in windows
            ],
        )  # fmt: skip

    async def usage_windows(
        self,
        *,
        tenant_id: uuid.UUID,
        granularity: str,
        dimension: str,
        subject_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
        limit: int,
    ) -> list[UsageWindow]:
        """Windows of one subject starting in [start, end), oldest first."""
        rows = await self.conn.fetch(
            """
            SELECT window_start, window_end, pages, colour_pages, jobs, sheets, duplex_sheets
              FROM usage_windows
            WHERE tenant_id = $1 AND granularity = $2 AND dimension = $3 AND subject_id = $4
              AND ($5::timestamptz IS NULL OR window_start >= $5)
              AND ($6::timestamptz IS NULL OR window_start < $6)
            ORDER BY window_start LIMIT $7
            """,
            tenant_id, granularity, dimension, subject_id, start, end, limit,
        )  # fmt: skip
        return [UsageWindow(tenant_id, granularity, dimension, subject_id, **dict(r)) for r in rows]

    async def month_windows(self, tenant_id: uuid.UUID, start: datetime) -> list[UsageWindow]:
        """Every monthly window of the tenant starting at ``start``: the tenant's, each
        user's and each printer's."""
        rows = await self.conn.fetch(
            """
            SELECT dimension, subject_id, window_start, window_end, pages, colour_pages, jobs,
                   sheets, duplex_sheets
              FROM usage_windows
             WHERE tenant_id = $1 AND granularity = 'month' AND window_start = $2
             ORDER BY dimension, subject_id
            """,
            tenant_id, start,
        )  # fmt: skip
        return [UsageWindow(tenant_id=tenant_id, granularity="month", **dict(r)) for r in rows]
