"""The device side: a printer (or the connector bridging it) lists its queue and
downloads documents; nothing of another printer is ever visible."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.queues.domain.errors import JobNotFound, ReleaseRequired
from services.queues.domain.events import JobSent
from services.queues.domain.model import (
    AT_PRINTER,
    Document,
    QueuedJob,
    Session,
    VirtualPrinter,
    fetchable,
    transition,
)
from services.queues.handlers.common import Work, now, record
from services.queues.repository import QueuesRepository
from shared.db.uow import Transactions
from shared.http.auth import Principal
from shared.printing.capabilities import Capabilities, intersect


async def printers_of(uow: Work, who: Principal) -> list[uuid.UUID]:
    """The printers a device answers for (Forbidden for anything but a device token)."""
    device_id = who.require_device()
    assert who.tenant_id is not None
    return await uow.repo.printers_held_by(device_id, who.tenant_id)


@dataclass(frozen=True)
class DeviceItem:
    """A job in the device's queue, whether it may be fetched now, and whether its
    owner must log in at the printer first."""

    queued: QueuedJob
    fetchable: bool
    requires_login: bool


async def queue_of(tx: Transactions[QueuesRepository], who: Principal) -> list[DeviceItem]:
    """The jobs in the device's printers' queues, in order, with fetchability."""
    async with tx() as uow:
        printers = await printers_of(uow, who)
        assert who.tenant_id is not None
        queued = await uow.repo.jobs_at_printers(who.tenant_id, printers)
        at = now()
        sessions = {(s.printer_id, s.user_id) for s in await uow.repo.open_sessions(printers, at)}
    items = []
    for q in queued:
        job = q.job
        has_session = (job.printer_id, job.owner_id) in sessions
        items.append(
            DeviceItem(q, fetchable(job, has_session), job.release == "secure" and not has_session)
        )
    return items


async def sessions_of(tx: Transactions[QueuesRepository], who: Principal) -> list[Session]:
    """Open sessions at the device's printers."""
    async with tx() as uow:
        printers = await printers_of(uow, who)
        return await uow.repo.open_sessions(printers, now())


async def virtual_printers_of(
    tx: Transactions[QueuesRepository], who: Principal
) -> list[tuple[VirtualPrinter, Capabilities]]:
    """The virtual printers the device's printers are members of, each with what every
    member that has reported capabilities supports."""
    async with tx() as uow:
        printers = await printers_of(uow, who)
        found = [vp for vp in await uow.repo.virtual_printers_with(printers)
                 if vp.tenant_id == who.tenant_id]  # fmt: skip
        reported = await uow.repo.printers_capabilities(
            sorted({m for vp in found for m in vp.members})
        )
    return [
        (vp, intersect([c for m in vp.members if (c := reported.get(m)) is not None]))
        for vp in found
    ]


async def start_download(
    tx: Transactions[QueuesRepository], who: Principal, job_id: uuid.UUID
) -> Document:
    """The document of a job in one of the device's printers' queues; the first download
    of a queued job makes it sent (job.sent). Secure jobs wait for the owner's session."""
    async with tx() as uow:
        printers = await printers_of(uow, who)
        job = await uow.repo.get_job(job_id, for_update=True)
        if job is None or job.printer_id not in printers or job.state not in AT_PRINTER:
            raise JobNotFound("no such job in this printer's queue")
        assert job.printer_id is not None
        if job.release == "secure" and not await uow.repo.has_session(
            job.printer_id, job.owner_id, now()
        ):
            raise ReleaseRequired("the owner has not logged in at the printer yet")
        document = await uow.repo.any_document(job.document_id)
        assert document is not None, "a job's document row is never deleted"
        if job.state == "queued":
            at = now()
            event = JobSent(
                job_id=job.id,
                tenant_id=job.tenant_id,
                owner_id=job.owner_id,
                at=at,
                printer_id=job.printer_id,
            )
            await record(uow, job, transition(job, "sent", at), [event])
        return document
