"""Submitting and canceling jobs (the owner's side)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.queues.domain.commands import SubmitJob
from services.queues.domain.errors import (
    DocumentNotFound,
    JobNotFound,
    PrinterNotReady,
    SettingsRejected,
    TargetNotFound,
)
from services.queues.domain.model import Document, Job, transition
from services.queues.handlers.common import Work, notify, now, record
from services.queues.handlers.idempotency import IdempotencyKey, claim
from services.queues.repository import QueuesRepository
from shared.crypto.e2e import E2E_FORMAT
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.events.contracts.jobs import JobCanceled, JobOriginRecorded, JobSubmitted, Release
from shared.http.auth import Principal
from shared.printing.capabilities import Capabilities, intersect
from shared.printing.settings import JobSettings, check


@dataclass(frozen=True)
class Target:
    """Where a job goes and what it can print there."""

    printer_id: uuid.UUID | None
    virtual_printer_id: uuid.UUID | None
    release: Release
    capabilities: Capabilities


async def resolve_target(uow: Work, cmd: SubmitJob, who: Principal) -> Target:
    """The caller's printer or virtual printer, with the capabilities a job is checked
    against (a virtual printer's: what every member can do). One of another tenant, or
    not shared with the caller, is not found, exactly as a missing one."""
    assert who.tenant_id is not None
    tenant_id = who.tenant_id
    viewer = await uow.repo.viewer(who)
    if cmd.printer_id is not None:
        printer = await uow.repo.get_printer(cmd.printer_id)
        if (
            printer is None
            or printer.tenant_id != tenant_id
            or not printer.revision
            or not await uow.repo.may_use(cmd.printer_id, viewer)
        ):
            raise TargetNotFound("no such printer", [FieldError("printer_id", "unknown printer")])
        if printer.capabilities is None:
            raise PrinterNotReady("the printer has not reported what it can print yet")
        return Target(cmd.printer_id, None, cmd.release, printer.capabilities)
    assert cmd.virtual_printer_id is not None
    virtual = await uow.repo.get_virtual_printer(cmd.virtual_printer_id)
    if (
        virtual is None
        or virtual.tenant_id != tenant_id
        or not await uow.repo.may_use(virtual.id, viewer)
    ):
        raise TargetNotFound(
            "no such virtual printer",
            [FieldError("virtual_printer_id", "unknown virtual printer")],
        )
    members = list(virtual.members)
    known = await uow.repo.printers_capabilities(members)
    not_ready = [str(m) for m in members if known.get(m) is None]
    if not members or not_ready:
        raise PrinterNotReady(
            "the virtual printer has no members"
            if not members
            else f"members without reported capabilities: {', '.join(not_ready)}"
        )
    caps = intersect([c for c in known.values() if c is not None])
    return Target(None, cmd.virtual_printer_id, "pull", caps)


def check_settings(target: Target, settings: JobSettings, document_format: str | None) -> None:
    """SettingsRejected naming every setting the target cannot honour and what it accepts."""
    problems = check(settings, target.capabilities, document_format)
    if not problems:
        return
    raise SettingsRejected(
        "the printer cannot print the job as asked: "
        + "; ".join(f"{p.setting}: {p.reason}" for p in problems),
        [
            FieldError(
                p.setting if p.setting == "document_format" else f"settings.{p.setting}", p.reason
            )
            for p in problems
        ],
        extensions={
            "invalid_settings": [
                {"setting": p.setting, "value": p.value, "allowed": p.allowed, "reason": p.reason}
                for p in problems
            ]
        },
    )


def printable_format(target: Target, document_format: str) -> str | None:
    """The format to check against the target's: none for a protected document (its real
    format is sealed inside, the device checks it), which goes to one printer only (it
    is encrypted to that printer's key)."""
    if document_format != E2E_FORMAT:
        return document_format
    if target.virtual_printer_id is not None:
        reason = (
            "a protected document is encrypted to one printer's key: send it to that "
            "printer (encrypt it at release time, standing at the printer)"
        )
        raise ValidationFailed(reason, [FieldError("virtual_printer_id", reason)])
    return None


@dataclass(frozen=True)
class Submitted:
    """The job a submission created, or (``replayed``) the one its key's first request
    created, as it is now."""

    job: Job
    replayed: bool = False


async def submit_job(
    tx: Transactions[QueuesRepository],
    cmd: SubmitJob,
    document_id: uuid.UUID,
    who: Principal,
    key: IdempotencyKey | None = None,
) -> Submitted:
    """Register a job for a stored document: target and settings checked, job pending,
    job.submitted and the idempotency key in the same transaction."""
    assert who.tenant_id is not None
    owner = uuid.UUID(who.subject)
    job_id = uuid.uuid4()
    async with tx() as uow:
        if (first := await claim(uow, key, who, "job", job_id)) is not None:
            return await replayed_job(uow, first)
        document = await uow.repo.get_document(document_id, for_update=True)
        if document is None or document.tenant_id != who.tenant_id or (document.owner_id != owner):
            raise DocumentNotFound(
                "no such document", [FieldError("document_id", "unknown document")]
            )
        return Submitted(await create_job(uow, cmd, job_id, document, who))


async def replayed_job(uow: Work, job_id: uuid.UUID) -> Submitted:
    """The job a key's first request created, answered again."""
    job = await uow.repo.get_job(job_id)
    assert job is not None, "jobs are never deleted"
    return Submitted(job, replayed=True)


async def create_job(
    uow: Work,
    cmd: SubmitJob,
    job_id: uuid.UUID,
    document: Document,
    who: Principal,
) -> Job:
    """In the caller's transaction: the job for the caller's (locked) document, target
    and settings checked, pending, with job.submitted."""
    assert who.tenant_id is not None
    owner = uuid.UUID(who.subject)
    target = await resolve_target(uow, cmd, who)
    check_settings(target, cmd.settings, printable_format(target, document.format))
    pages = document.pages  # counted by the server from the content, never the client's
    if cmd.pages is not None and cmd.pages != pages:
        reason = f"the document has {pages} pages, not {cmd.pages}"
        raise ValidationFailed(reason, [FieldError("pages", reason)])
    at = now()
    job = Job(
        id=job_id,
        tenant_id=who.tenant_id,
        owner_id=owner,
        document_id=document.id,
        release=target.release,
        title=cmd.title if cmd.title is not None else document.title,
        pages=pages,
        settings=cmd.settings,
        state="pending",
        printer_id=target.printer_id,
        virtual_printer_id=target.virtual_printer_id,
        submitted_at=at,
    )
    submitted = JobSubmitted(
        job_id=job.id,
        tenant_id=job.tenant_id,
        owner_id=owner,
        at=at,
        printer_id=job.printer_id,
        virtual_printer_id=job.virtual_printer_id,
        release=job.release,
        title=job.title,
        document_id=document.id,
        document_sha256=document.sha256,
        document_size=document.size,
        document_format=document.format,
        pages=pages,
        printed_pages=job.printed_pages,
        colour=cmd.settings.colour,
        settings=cmd.settings,
        hold_until_release=job.release == "pull",
    )
    await record(uow, None, job, [*origin(job, who, cmd.callback_url, at), submitted])
    return job


def origin(
    job: Job, who: Principal, callback_url: str | None, at: datetime
) -> list[JobOriginRecorded]:
    """job.origin_recorded, when the submission came with an API token or a callback."""
    if who.token_id is None and callback_url is None:
        return []
    return [
        JobOriginRecorded(
            job_id=job.id, tenant_id=job.tenant_id, owner_id=job.owner_id,
            at=at, token_id=who.token_id, callback_url=callback_url,
        )
    ]  # fmt: skip


def visible(job: Job | None, who: Principal) -> bool:
    """Whether the caller may see the job: its owner, its tenant's admins, operators."""
    if job is None or not who.can_access(job.tenant_id):
        return False
    return who.is_operator or "admin" in who.roles or str(job.owner_id) == who.subject


async def cancel_job(tx: Transactions[QueuesRepository], job_id: uuid.UUID, who: Principal) -> Job:
    """Cancel a job before it completes; a printer that has it is told to drop it."""
    async with tx() as uow:
        job = await uow.repo.get_job(job_id, for_update=True)
        if job is None or not visible(job, who):
            raise JobNotFound("no such job")
        return await cancel_locked(uow, job, who, now())


async def cancel_locked(uow: Work, job: Job, who: Principal, at: datetime) -> Job:
    """Cancel a job locked in ``uow`` (``job.canceled`` through the outbox); a printer
    that has it is told to drop it."""
    after = transition(job, "canceled", at)
    by = uuid.UUID(who.subject) if not who.is_operator else None
    event = JobCanceled(
        job_id=job.id,
        tenant_id=job.tenant_id,
        owner_id=job.owner_id,
        at=at,
        previous_state=job.state,
        by_user_id=by,
        printer_id=job.printer_id,
    )
    await record(uow, job, after, [event])
    if job.state in ("sent", "printing") and job.printer_id is not None:
        await notify(uow, job.tenant_id, job.printer_id, "job_canceled", [job.id])
    return after


async def visible_job(tx: Transactions[QueuesRepository], job_id: uuid.UUID, who: Principal) -> Job:
    """A job the caller may see; the same 404 for an unknown and an invisible one."""
    async with tx() as uow:
        job = await uow.repo.get_job(job_id)
    if job is None or not visible(job, who):
        raise JobNotFound("no such job")
    return job


async def shared_printer(
    tx: Transactions[QueuesRepository], printer_id: uuid.UUID, who: Principal
) -> None:
    """TargetNotFound (field ``printer_id``) when the printer is not one the caller may
    see: a listing by a printer not shared with them answers as for an unknown one."""
    async with tx() as uow:
        if await uow.repo.may_use(printer_id, await uow.repo.viewer(who)):
            return
    raise TargetNotFound("no such printer", [FieldError("printer_id", "unknown printer")])


async def list_jobs(
    tx: Transactions[QueuesRepository],
    *,
    tenant_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    state: str | None,
    printer_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Job]:
    """A page of jobs in id order, narrowed by the filters that are set."""
    async with tx() as uow:
        return await uow.repo.list_jobs(
            tenant_id=tenant_id, owner_id=owner_id, state=state, printer_id=printer_id,
            after=after, limit=limit,
        )  # fmt: skip
