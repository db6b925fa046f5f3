"""The device side: a printer (or the connector bridging it) lists its queue and
downloads documents; nothing of another printer is ever visible."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.queues import repository as repo
from services.queues.domain.errors import JobNotFound, ReleaseRequired
from services.queues.domain.model import AT_PRINTER, fetchable, transition
from services.queues.handlers.common import now, record
from shared.db.outbox import Emitter
from shared.events.contracts.jobs import JobSent
from shared.http.auth import Principal


async def printers_of(conn: asyncpg.Connection, who: Principal) -> list[uuid.UUID]:
    """The printers a device answers for (Forbidden for anything but a device token)."""
    device_id = who.require_device()
    assert who.tenant_id is not None
    return await repo.printers_held_by(conn, device_id, who.tenant_id)


async def queue_of(pool: asyncpg.Pool, who: Principal) -> list[dict[str, Any]]:
    """The jobs in the device's printers' queues, in order, with fetchability."""
    async with pool.acquire() as conn:
        printers = await printers_of(conn, who)
        assert who.tenant_id is not None
        rows = await repo.jobs_at_printers(conn, who.tenant_id, printers)
        at = now()
        sessions = {
            (s["printer_id"], s["user_id"]) for s in await repo.open_sessions(conn, printers, at)
        }
    items = []
    for row in rows:
        job = repo.job_of({k: row[k] for k in row.keys() if k not in _DOCUMENT_FIELDS})
        has_session = (job.printer_id, job.owner_id) in sessions
        items.append(
            {
                "job": job,
                "row": row,
                "fetchable": fetchable(job, has_session),
                "requires_login": job.release == "secure" and not has_session,
            }
        )
    return items


_DOCUMENT_FIELDS = frozenset({"sha256", "size", "format", "owner_name"})


async def sessions_of(pool: asyncpg.Pool, who: Principal) -> list[asyncpg.Record]:
    """Open sessions at the device's printers."""
    async with pool.acquire() as conn:
        printers = await printers_of(conn, who)
        return await repo.open_sessions(conn, printers, now())


async def start_download(
    pool: asyncpg.Pool, who: Principal, job_id: uuid.UUID, out: Emitter
) -> asyncpg.Record:
    """The document of a job in one of the device's printers' queues; the first download
    of a queued job makes it sent (job.sent). Secure jobs wait for the owner's session."""
    async with pool.acquire() as conn, conn.transaction():
        printers = await printers_of(conn, who)
        job = await repo.get_job(conn, job_id, for_update=True)
        if job is None or job.printer_id not in printers or job.state not in AT_PRINTER:
            raise JobNotFound("no such job in this printer's queue")
        assert job.printer_id is not None
        if job.release == "secure" and not await repo.has_session(
            conn, job.printer_id, job.owner_id, now()
        ):
            raise ReleaseRequired("the owner has not logged in at the printer yet")
        document = await conn.fetchrow("SELECT * FROM documents WHERE id = $1", job.document_id)
        if job.state == "queued":
            at = now()
            event = JobSent(
                job_id=job.id,
                tenant_id=job.tenant_id,
                owner_id=job.owner_id,
                at=at,
                printer_id=job.printer_id,
            )
            await record(conn, out, job, transition(job, "sent", at), [event])
        return document
