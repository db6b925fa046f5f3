"""Reservation printing: a user's kept documents queued at a printer in order."""

from __future__ import annotations

import uuid

from services.queues.domain.commands import CreateReservation, SubmitJob
from services.queues.domain.errors import ReservationNotFound
from services.queues.domain.model import Document, Job, Reservation
from services.queues.handlers.common import now, record
from services.queues.handlers.jobs import cancel_locked, resolve_target
from services.queues.repository import QueuesRepository
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.events.contracts.jobs import JobSubmitted
from shared.http.auth import Principal
from shared.printing.settings import check


async def create_reservation(
    tx: Transactions[QueuesRepository], cmd: CreateReservation, who: Principal
) -> tuple[uuid.UUID, list[Job]]:
    """Submit the caller's kept documents to the printer: highest priority first, oldest
    first on ties, at most ``max_count`` of them and ``max_pages`` pages in all; each job
    expires if not printed by the deadline. Documents the printer cannot print, or whose
    pages are unknown, are left kept. Like every job, each goes through routing (quotas,
    the printer's offline policy and failover) before it is queued."""
    assert who.tenant_id is not None
    at = now()
    if cmd.deadline <= at:
        raise ValidationFailed("the deadline has passed", [FieldError("deadline", "in the past")])
    owner = uuid.UUID(who.subject)
    reservation_id = uuid.uuid4()
    async with tx() as uow:
        target = await resolve_target(
            uow, SubmitJob(printer_id=cmd.printer_id, settings=cmd.settings), who
        )
        chosen: list[Document] = []
        pages = 0
        for doc in await uow.repo.kept_documents(who.tenant_id, owner, limit=1000):
            if len(chosen) == cmd.max_count:
                break
            if doc.pages is None or check(cmd.settings, target.capabilities, doc.format):
                continue
            printed = cmd.settings.printed_pages(doc.pages) or 0
            if pages + printed > cmd.max_pages:
                continue
            chosen.append(doc)
            pages += printed
        await uow.repo.insert_reservation(
            id=reservation_id,
            tenant_id=who.tenant_id,
            owner_id=owner,
            printer_id=cmd.printer_id,
            deadline=cmd.deadline,
        )
        jobs = []
        for sequence, doc in enumerate(chosen, start=1):
            job = Job(
                id=uuid.uuid4(),
                tenant_id=who.tenant_id,
                owner_id=owner,
                document_id=doc.id,
                release="direct",
                title=doc.title,
                pages=doc.pages,
                settings=cmd.settings,
                state="pending",
                printer_id=cmd.printer_id,
                virtual_printer_id=None,
                expires_at=cmd.deadline,
                reservation_id=reservation_id,
                sequence=sequence,
                submitted_at=at,
            )
            common = {"job_id": job.id, "tenant_id": job.tenant_id, "owner_id": owner, "at": at}
            submitted = JobSubmitted(
                **common,
                printer_id=cmd.printer_id,
                virtual_printer_id=None,
                release="direct",
                title=job.title,
                document_id=doc.id,
                document_sha256=doc.sha256,
                document_size=doc.size,
                document_format=doc.format,
                pages=doc.pages,
                printed_pages=job.printed_pages,
                colour=cmd.settings.colour,
                settings=cmd.settings,
                reservation_id=reservation_id,
            )
            await record(uow, None, job, [submitted], {"reason": "reservation"})
            await uow.repo.set_document_kept(doc.id, False)
            jobs.append(job)
    return reservation_id, jobs


def _visible(reservation: Reservation | None, who: Principal) -> bool:
    """The owner's and their tenant's administrators'; nobody else's (not even in name)."""
    if reservation is None or not who.can_access(reservation.tenant_id):
        return False
    return who.is_operator or "admin" in who.roles or str(reservation.owner_id) == who.subject


async def list_reservations(
    tx: Transactions[QueuesRepository],
    who: Principal,
    *,
    mine: bool,
    printer_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[tuple[Reservation, list[Job]]]:
    """A page of the caller's reservations (an administrator's: the tenant's, unless
    ``mine``), each with its jobs in print order."""
    assert who.tenant_id is not None
    owner = uuid.UUID(who.subject) if mine or "admin" not in who.roles else None
    async with tx() as uow:
        found = await uow.repo.list_reservations(
            tenant_id=who.tenant_id, owner_id=owner, printer_id=printer_id, after=after,
            limit=limit,
        )  # fmt: skip
        jobs = await uow.repo.reservation_jobs([r.id for r in found])
    return [(r, [j for j in jobs if j.reservation_id == r.id]) for r in found]


async def cancel_reservation(
    tx: Transactions[QueuesRepository], reservation_id: uuid.UUID, who: Principal
) -> tuple[Reservation, list[Job]]:
    """Cancel a reservation and, in the same transaction, every job of it not final yet
    (``job.canceled`` each; a printer that has one is told to drop it). Cancelling it
    again changes nothing."""
    async with tx() as uow:
        reservation = await uow.repo.get_reservation(reservation_id, for_update=True)
        if reservation is None or not _visible(reservation, who):
            raise ReservationNotFound("no such reservation")
        at = now()
        jobs = []
        for job in await uow.repo.reservation_jobs([reservation_id], for_update=True):
            jobs.append(job if job.is_final else await cancel_locked(uow, job, who, at))
        await uow.repo.set_reservation_canceled(reservation_id, at)
        reservation = await uow.repo.get_reservation(reservation_id)
        assert reservation is not None
    return reservation, jobs
