"""Pull print and secure release: jobs waiting for their owner at a printer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.queues.domain.errors import ReleaseConflict, TargetNotFound
from services.queues.domain.model import Job, transition
from services.queues.handlers.common import Work, notify, now, record
from services.queues.repository import QueuesRepository
from shared.db.uow import Transactions
from shared.errors import FieldError
from shared.events.contracts.jobs import JobMoved, JobQueued
from shared.events.contracts.sessions import DeviceLoginApproved


def _refusal(
    job: Job | None,
    owner: uuid.UUID,
    members: dict[uuid.UUID, list[uuid.UUID]],
    printer_id: uuid.UUID,
    unshared: set[uuid.UUID] | frozenset[uuid.UUID] = frozenset(),
) -> str | None:
    """Why ``job`` cannot be released at ``printer_id`` by ``owner`` (None: it can);
    ``unshared``: the virtual printers no longer shared with the owner."""
    if job is None or job.owner_id != owner:
        return "no such job of yours"
    if job.release == "secure":
        return "secure release: log in at the printer to print it"
    if job.virtual_printer_id is None:
        return "not a pull-print job"
    if job.state != "held":
        return f"the job is {job.state}, not waiting for release"
    if job.hold_reason != "pull":
        # A quota's hold ends by the quota easing or an administrator's override only.
        return f"the job is held ({job.hold_reason or 'not for release'}), not for release"
    if printer_id not in members.get(job.virtual_printer_id, []):
        return "this printer is not a member of the job's virtual printer"
    if job.virtual_printer_id in unshared:
        # The job stays held (and expires as usual); its owner lost access meanwhile.
        return "the job's virtual printer is no longer shared with you"
    return None


async def release_jobs(
    uow: Work,
    *,
    tenant_id: uuid.UUID,
    owner_id: uuid.UUID,
    printer_id: uuid.UUID,
    job_ids: Sequence[uuid.UUID] | None,
    strict: bool,
) -> list[Job]:
    """Move the owner's held pull jobs (``job_ids``, or all with None) into the printer's
    queue, in the caller's transaction: one job.moved and one job.queued each, then one
    work_available hint. ``strict``: any job that cannot move refuses the whole release
    with 409 naming each; otherwise such jobs are skipped."""
    viewer = await uow.repo.viewer_of_user(tenant_id, owner_id)
    printer = await uow.repo.get_printer(printer_id)
    if printer is None or printer.tenant_id != tenant_id:
        raise TargetNotFound("no such printer")
    if not await uow.repo.may_use(printer_id, viewer):
        if not strict:
            return []  # a login at a printer not shared with the user releases nothing
        raise TargetNotFound("no such printer")
    wanted = (
        list(job_ids)
        if job_ids is not None
        else await uow.repo.held_pull_jobs(tenant_id, owner_id, printer_id)
    )
    locked = await uow.repo.lock_jobs(wanted)
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    unshared: set[uuid.UUID] = set()
    for job in locked.values():
        if job.virtual_printer_id and job.virtual_printer_id not in members:
            virtual = await uow.repo.get_virtual_printer(job.virtual_printer_id)
            members[job.virtual_printer_id] = list(virtual.members) if virtual else []
            if not await uow.repo.may_use(job.virtual_printer_id, viewer):
                unshared.add(job.virtual_printer_id)
    refusals = {
        job_id: reason
        for job_id in wanted
        if (reason := _refusal(locked.get(job_id), owner_id, members, printer_id, unshared))
    }
    if refusals and strict:
        raise ReleaseConflict(
            "some jobs cannot be released here",
            [FieldError(f"job_ids.{job_id}", reason) for job_id, reason in refusals.items()],
        )
    at = now()
    released = []
    for job_id in wanted:
        if job_id in refusals:
            continue
        job = locked[job_id]
        after = transition(
            job,
            "queued",
            at,
            printer_id=printer_id,
            queued_at=at,
            expires_at=None,
            hold_reason=None,
        )
        common = {"job_id": job.id, "tenant_id": tenant_id, "owner_id": owner_id, "at": at}
        moved = JobMoved(
            **common,
            from_printer_id=job.printer_id,
            from_virtual_printer_id=job.virtual_printer_id,
            to_printer_id=printer_id,
            reason="released",
            by_user_id=owner_id,
        )
        queued = JobQueued(**common, printer_id=printer_id, reason="released")
        await record(uow, job, after, [moved, queued], {"reason": "released"})
        released.append(after)
    if released:
        await notify(uow, tenant_id, printer_id, "work_available", [j.id for j in released])
    return released


async def open_session(uow: Work, login: DeviceLoginApproved) -> None:
    """A user stands at a printer: record the session; their secure jobs there become
    printable (work_available); release_all also releases their held pull jobs there."""
    opened = await uow.repo.open_session(
        id=login.session_id,
        tenant_id=login.tenant_id,
        printer_id=login.printer_id,
        user_id=login.user_id,
        display_name=login.display_name,
        opened_at=login.approved_at,
        expires_at=login.expires_at,
    )
    if not opened or login.expires_at <= now():
        return
    printer = await uow.repo.get_printer(login.printer_id)
    if printer is None or printer.tenant_id != login.tenant_id:
        return
    await notify(
        uow,
        login.tenant_id,
        login.printer_id,
        "session_opened",
        detail={
            "session_id": str(login.session_id),
            "user_id": str(login.user_id),
            "display_name": login.display_name,
            "expires_at": login.expires_at.isoformat(),
        },
    )
    secure = await uow.repo.secure_jobs_of(login.printer_id, login.user_id)
    if secure:
        await notify(uow, login.tenant_id, login.printer_id, "work_available", secure)
    if login.action == "release_all":
        await release_jobs(
            uow,
            tenant_id=login.tenant_id,
            owner_id=login.user_id,
            printer_id=login.printer_id,
            job_ids=None,
            strict=False,
        )


async def release_at(
    tx: Transactions[QueuesRepository],
    *,
    tenant_id: uuid.UUID,
    owner_id: uuid.UUID,
    printer_id: uuid.UUID,
    job_ids: Sequence[uuid.UUID] | None,
) -> list[Job]:
    """An owner's release at a printer: all the jobs named, or none (409 naming each)."""
    async with tx() as uow:
        return await release_jobs(
            uow,
            tenant_id=tenant_id,
            owner_id=owner_id,
            printer_id=printer_id,
            job_ids=job_ids,
            strict=True,
        )
