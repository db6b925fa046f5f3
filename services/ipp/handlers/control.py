"""Hold-Job, Release-Job, Close-Job and Cancel-My-Jobs (RFC 8011 §4.3.5-4.3.6,
PWG 5100.11 §4.2).

A hold is the IPP endpoint's own: a held job's document is in the blob store and the
job becomes an ordinary Printcloud job when it is released. Printcloud holds no job
once it is queued at a printer, so Hold-Job on such a job is ``client-error-not-possible``;
a job held for pull release at a virtual printer is released at a member printer
(``POST /v1/printers/{id}/release`` or the printer's panel), not by Release-Job.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.ipp.domain.model import HOLD_UNTIL, IppJob, final, ipp_job_state
from services.ipp.handlers.common import Call, api_failure
from services.ipp.handlers.jobs import cancel_job, created, own_job, settle, submit
from services.ipp.protocol.codec import Attribute, Group, IppError, Message
from services.ipp.protocol.constants import JobState, Status, Tag
from services.ipp.upstream import ApiError


async def _state(call: Call, job: IppJob) -> tuple[JobState, dict[str, Any] | None]:
    """The job's IPP job-state (its Printcloud job's, once it has one) and that job."""
    if job.job_uuid is None:
        return (JobState.CANCELED if job.state == "canceled" else JobState.PENDING_HELD), None
    try:
        upstream = await call.api.job(job.job_uuid)
    except ApiError as exc:
        raise api_failure(exc, call.request.request_id) from exc
    return ipp_job_state(str(upstream.get("state", "")))[0], upstream


def _hold_until(call: Call) -> str:
    """The operation's job-hold-until (``indefinite`` when absent)."""
    rid = call.request.request_id
    attr = call.operation.get("job-hold-until")
    if attr is None:
        return "indefinite"
    if len(attr.values) != 1 or attr.tag not in (Tag.KEYWORD, Tag.NAME):
        raise IppError(Status.BAD_REQUEST, "job-hold-until: wrong syntax", rid)
    if attr.first not in HOLD_UNTIL or attr.first == "no-hold":
        call.unsupported.append(attr)
        raise IppError(Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                       "job-hold-until: only indefinite holds", rid)  # fmt: skip
    return str(attr.first)


async def hold_job(call: Call) -> Message:
    """Hold a job that is not a Printcloud job yet (it waits for its document, or is
    held already); a queued or finished job cannot be held."""
    rid = call.request.request_id
    job = await own_job(call)
    hold_until = _hold_until(call)
    if job.state == "held":
        return created(call, job, None)
    if job.state == "awaiting-document":
        async with call.tx() as uow:
            now = await uow.repo.get(job.id, lock=True)
            if now is None or now.state != "awaiting-document":
                raise IppError(Status.NOT_POSSIBLE, "the job got its document meanwhile", rid)
            job = now.holding(hold_until)
            await uow.repo.save(job)
        return created(call, job, None)
    state, _ = await _state(call, job)
    reason = "it is finished" if final(state) else "Printcloud holds no job once it is queued"
    raise IppError(Status.NOT_POSSIBLE, f"the job cannot be held: {reason}", rid)


async def release_job(call: Call) -> Message:
    """Release a held job: its stored document becomes an ordinary Printcloud job."""
    rid = call.request.request_id
    job = await own_job(call)
    if job.state == "awaiting-document":
        if job.hold_until is None:
            raise IppError(Status.NOT_POSSIBLE, "the job is not held", rid)
        async with call.tx() as uow:
            now = await uow.repo.get(job.id, lock=True)
            if now is None or now.state != "awaiting-document":
                raise IppError(Status.NOT_POSSIBLE, "the job changed meanwhile", rid)
            job = now.holding(None)
            await uow.repo.save(job)
        return created(call, job, None)
    if job.state == "held":
        assert job.document_id is not None
        upstream = await submit(call, str(job.document_id), dict(job.settings), job.name)
        job, upstream = await settle(call, job.id, "held", upstream)
        return created(call, job, upstream)
    state, _ = await _state(call, job)
    if state == JobState.PENDING_HELD:
        raise IppError(Status.NOT_POSSIBLE,
                       "a pull-print job is released at a member printer", rid)  # fmt: skip
    raise IppError(Status.NOT_POSSIBLE, "the job is not held", rid)


async def close_job(call: Call) -> Message:
    """No more documents for a Create-Job: one with its document is complete as it is;
    one without any is canceled (there is nothing to print)."""
    rid = call.request.request_id
    job = await own_job(call)
    if job.state == "awaiting-document":
        async with call.tx() as uow:
            now = await uow.repo.get(job.id, lock=True)
            if now is not None and now.state == "awaiting-document":
                job = now.canceled()
                await uow.repo.save(job)
        return created(call, job, None)
    if job.state == "canceled":
        raise IppError(Status.NOT_POSSIBLE, "the job is canceled", rid)
    _, upstream = await _state(call, job)
    return created(call, job, upstream)


async def cancel_my_jobs(call: Call) -> Message:
    """Cancel the caller's unfinished jobs at this printer (those in job-ids, or all);
    job-ids naming a job that is not the caller's, or finished, refuse the whole request."""
    rid = call.request.request_id
    ids = call.operation.get("job-ids")
    async with call.tx() as uow:
        mine = await uow.repo.list_for(call.target.id, call.owner_id, 1000)
    if ids is not None:
        if any(v.tag != Tag.INTEGER for v in ids.values):
            raise IppError(Status.BAD_REQUEST, "job-ids: wrong syntax", rid)
        wanted = {int(v.value) for v in ids.values}  # type: ignore[call-overload]
        by_id = {j.id: j for j in mine}
        if wanted - by_id.keys():
            missing = sorted(wanted - by_id.keys())
            call.unsupported.append(Attribute.of("job-ids", Tag.INTEGER, *missing))
            raise IppError(Status.NOT_FOUND, "job-ids names jobs that are not yours here", rid)
        chosen = [by_id[i] for i in sorted(wanted)]
    else:
        chosen = mine
    pending = []
    for job in chosen:
        state, _ = await _state(call, job)
        if not final(state):
            pending.append(job)
        elif ids is not None:
            call.unsupported.append(Attribute.of("job-ids", Tag.INTEGER, job.id))
    if call.unsupported:
        raise IppError(Status.NOT_POSSIBLE, "job-ids names finished jobs", rid)
    canceled = 0
    for job in pending:
        try:
            await cancel_job(_for(call, job))
            canceled += 1
        except IppError as exc:  # finished meanwhile
            if exc.status != Status.NOT_POSSIBLE:
                raise
    return call.answer(Status.OK, f"{canceled} jobs canceled")


def _for(call: Call, job: IppJob) -> Call:
    """The same call, naming one job (as Cancel-Job would)."""
    op = call.operation
    attrs = [a for a in op.attributes if a.name not in ("job-ids", "job-id")]
    named = Group(op.tag, [*attrs, Attribute.of("job-id", Tag.INTEGER, job.id)])
    request = Message(call.request.version, call.request.code, call.request.request_id,
                      [named, *call.request.groups[1:]])  # fmt: skip
    return replace(call, request=request, unsupported=[])
