"""What every handler that changes a job does: save, record the history (which wakes
the event streams) and add the events, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from services.queues import repository as repo
from services.queues.domain.model import Job
from shared.db.outbox import Emitter
from shared.events.contracts.notifications import DeviceNotified
from shared.events.envelope import EventData


def now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


async def record(
    conn: asyncpg.Connection,
    out: Emitter,
    before: Job | None,
    after: Job,
    events: Sequence[EventData],
    detail: dict[str, Any] | None = None,
) -> None:
    """Persist ``after`` (inserted when ``before`` is None), its history and ``events``."""
    if before is None:
        await repo.insert_job(conn, after)
    else:
        await repo.save_job(conn, after)
    if before is None or (before.state, before.printer_id) != (after.state, after.printer_id):
        await repo.add_history(conn, out.schema, after, detail)
    for event in events:
        await out.emit(conn, event, tenant_id=after.tenant_id)


async def notify(
    conn: asyncpg.Connection,
    out: Emitter,
    tenant_id: uuid.UUID,
    printer_id: uuid.UUID,
    kind: Literal["work_available", "job_canceled", "session_opened", "session_closed"],
    job_ids: Sequence[uuid.UUID] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """A hint for the device holding the printer's websocket (itself or its connector)."""
    holder = await repo.holder_of(conn, printer_id)
    await out.emit(
        conn,
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


async def notify_if_fetchable(conn: asyncpg.Connection, out: Emitter, job: Job) -> None:
    """work_available for a job that the printer may download now."""
    if job.printer_id is None or job.state != "queued":
        return
    if job.release == "secure" and not await repo.has_session(
        conn, job.printer_id, job.owner_id, now()
    ):
        return
    await notify(conn, out, job.tenant_id, job.printer_id, "work_available", [job.id])
