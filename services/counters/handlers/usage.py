"""Usage: each completed job attributed to its owner, printer and tenant; roll-ups kept."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.counters.domain.events import UsageRolledUp, UsageRolledUpV1
from services.counters.domain.model import JobUsage, Quota, UsageWindow
from services.counters.handlers.quotas import charge
from services.counters.repository import CountersRepository, UsageRepository
from shared.db.uow import Transactions
from shared.events.contracts.jobs import JobCompleted


async def record_completed(tx: Transactions[CountersRepository], job: JobCompleted) -> list[Quota]:
    """Record a completed job's usage once and charge its owner's quotas; returns the
    quotas that changed (none when the job was recorded before)."""
    usage = JobUsage(
        job_id=job.job_id, tenant_id=job.tenant_id, user_id=job.owner_id,
        printer_id=job.printer_id, pages=job.printed_pages, colour_pages=job.colour_pages,
        sheets=job.sheets, completed_at=job.at,
    )  # fmt: skip
    async with tx() as uow:
        if not await uow.repo.add_job_usage(usage):
            return []  # a job completes once; a second completion event adds nothing
        return await charge(
            uow, job.tenant_id, job.owner_id, job.printed_pages, job.colour_pages, job.at
        )


def window_of_event(u: UsageRolledUp | UsageRolledUpV1) -> UsageWindow:
    """The window a usage.rolled_up tells the totals of (version 1: no sheets, 0)."""
    return UsageWindow(
        tenant_id=u.tenant_id, granularity=u.granularity, dimension=u.dimension,
        subject_id=u.subject_id, window_start=u.window_start, window_end=u.window_end,
        pages=u.pages, colour_pages=u.colour_pages, jobs=u.jobs,
        sheets=getattr(u, "sheets", 0), duplex_sheets=getattr(u, "duplex_sheets", 0),
    )  # fmt: skip


async def keep_windows(
    tx: Transactions[UsageRepository], rolled: list[UsageRolledUp | UsageRolledUpV1]
) -> None:
    """Keep the latest totals of each window (the one with the most jobs)."""
    windows = [window_of_event(u) for u in rolled]
    async with tx() as uow:
        await uow.repo.put_windows(windows)


async def usage_windows(
    tx: Transactions[UsageRepository],
    *,
    tenant_id: uuid.UUID,
    granularity: str,
    dimension: str,
    subject_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[UsageWindow]:
    """One subject's windows starting in [start, end), oldest first."""
    async with tx() as uow:
        return await uow.repo.usage_windows(
            tenant_id=tenant_id, granularity=granularity, dimension=dimension,
            subject_id=subject_id, start=start, end=end, limit=limit,
        )  # fmt: skip


async def month_export(
    tx: Transactions[UsageRepository], tenant_id: uuid.UUID, start: datetime
) -> list[UsageWindow]:
    """A tenant's monthly windows (tenant, users, printers) of the month at ``start``."""
    async with tx() as uow:
        return await uow.repo.month_windows(tenant_id, start)
