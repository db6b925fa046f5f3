"""Usage: each completed job attributed to its owner, printer and tenant; roll-ups kept."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.counters import repository as repo
from services.counters.domain.events import UsageRolledUp
from services.counters.handlers.quotas import charge
from shared.db.outbox import Emitter
from shared.events.contracts.jobs import JobCompleted
from shared.events.registry import DecodedEvent


def completed_handler(out: Emitter) -> Any:
    """Record a completed job's usage once and charge its owner's quotas."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        job: JobCompleted = event.data
        fresh = await repo.add_job_usage(
            conn,
            job_id=job.job_id,
            tenant_id=job.tenant_id,
            user_id=job.owner_id,
            printer_id=job.printer_id,
            pages=job.printed_pages,
            colour_pages=job.colour_pages,
            sheets=job.sheets,
            completed_at=job.at,
        )
        if fresh:  # a job completes once; a second completion event adds nothing
            await charge(
                conn, job.tenant_id, job.owner_id, job.printed_pages, job.colour_pages, job.at,
                out.caused_by(event.envelope),
            )  # fmt: skip

    return apply


async def apply_rollups(conn: asyncpg.Connection, events: list[DecodedEvent[Any]]) -> None:
    """Keep the latest totals of each window (the one with the most jobs)."""
    rows = []
    for event in events:
        u: UsageRolledUp = event.data
        rows.append((
            u.tenant_id, u.granularity, u.dimension, u.subject_id, u.window_start, u.window_end,
            u.pages, u.colour_pages, u.jobs,
        ))  # fmt: skip
    await repo.put_windows(conn, rows)
