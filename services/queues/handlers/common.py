"""What every handler that changes a job does: save, record the history (which wakes
the event streams) and announce the events, in the caller's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from services.queues.domain.events import DeviceNotified
from services.queues.domain.model import Job
from services.queues.repository import QueuesRepository
from shared.db.uow import UnitOfWork
from shared.events.envelope import EventData

Work = UnitOfWork[QueuesRepository]
"""A unit of work on the queues' repository."""


def now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


async def record(
    uow: Work,
    before: Job | None,
    after: Job,
    events: Sequence[EventData],
    detail: dict[str, Any] | None = None,
) -> None:
    """Persist ``after`` (inserted when ``before`` is None), its history and ``events``."""
    if before is None:
        await uow.repo.insert_job(after)
    else:
        await uow.repo.save_job(after)
    if before is None or (before.state, before.printer_id) != (after.state, after.printer_id):
        await uow.repo.add_history(after, detail)
    for event in events:
        await uow.emit(event, tenant_id=after.tenant_id)


async def notify(
    uow: Work,
    tenant_id: uuid.UUID,
    printer_id: uuid.UUID,
    kind: Literal["work_available", "job_canceled", "session_opened", "session_closed"],
    job_ids: Sequence[uuid.UUID] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """A hint for the device holding the printer's websocket (itself or its connector)."""
    holder = await uow.repo.holder_of(printer_id)
    await uow.emit(
        DeviceNotified(
            device_id=holder,
            tenant_id=tenant_id,
            target_device_id=printer_id if holder != printer_id else None,
            kind=kind,
            job_ids=list(job_ids),
            detail=detail or {},
            at=now(),
        ),
        tenant_id=tenant_id,
    )


async def notify_if_fetchable(uow: Work, job: Job) -> None:
    """work_available for a job that the printer may download now."""
    if job.printer_id is None or job.state != "queued":
        return
    if job.release == "secure" and not await uow.repo.has_session(
        job.printer_id, job.owner_id, now()
    ):
        return
    await notify(uow, job.tenant_id, job.printer_id, "work_available", [job.id])
