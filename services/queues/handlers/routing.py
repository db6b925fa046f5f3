"""Routing's decisions and the printers' reports: the job moves through its states."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from services.queues.domain.model import (
    FINAL,
    WAITING,
    Job,
    completion_usage,
    hold_reason,
    queue_reason,
    transition,
)
from services.queues.handlers.common import Work, notify_if_fetchable, now, record
from shared.errors import PermanentEventError
from shared.events.contracts.gateway import DeviceJobStatusReported
from shared.events.contracts.jobs import (
    JobCanceled,
    JobCompleted,
    JobFailed,
    JobHeld,
    JobMoved,
    JobPrinting,
    JobQueued,
    JobRouted,
    JobSent,
)
from shared.events.envelope import EventData
from shared.printing.settings import JobSettings


async def apply_routed(uow: Work, decision: JobRouted, held_ttl_s: int) -> None:
    """Queue the job at a printer or hold it, unless the decision is stale (an equal or
    newer one was applied) or the job can no longer move (it reached a printer's device
    or a final state). A reservation's job keeps its deadline whatever routing decides."""
    job = await uow.repo.get_job(decision.job_id, for_update=True)
    if job is None or job.tenant_id != decision.tenant_id:
        raise PermanentEventError(f"no job {decision.job_id} in tenant {decision.tenant_id}")
    if decision.decision <= job.decision or job.state not in WAITING:
        return
    job = with_policies(job, decision)
    at = now()
    deadline = job.expires_at if job.reservation_id is not None else None
    common = {"job_id": job.id, "tenant_id": job.tenant_id, "owner_id": job.owner_id, "at": at}
    if decision.action == "refuse":
        after = transition(
            job, "failed", at, decision=decision.decision, state_detail=decision.detail
        )
        failed = JobFailed(**common, printer_id=None, reason=decision.detail or "refused")
        refusal = decision.refusal.model_dump(mode="json") if decision.refusal else None
        await record(uow, job, after, [failed], {"detail": decision.detail, "refusal": refusal})
        return
    if decision.action == "hold":
        expires = deadline or at + timedelta(seconds=held_ttl_s)
        after = replace(job, decision=decision.decision, state_detail=decision.detail)
        if job.state != "held":
            after = transition(
                after,
                "held",
                at,
                hold_reason=hold_reason(decision.reason),
                expires_at=expires,
                queued_at=None,
                state_detail=decision.detail,
            )
            event = JobHeld(
                **common,
                reason=hold_reason(decision.reason),
                detail=decision.detail,
                expires_at=expires,
            )
            history = {"reason": after.hold_reason, "detail": decision.detail, **_noted(decision)}
            await record(uow, job, after, [event], history)
        else:
            # Still held, maybe for another reason (a quota's hold become a pull's: now
            # its owner may release it).
            await uow.repo.save_job(replace(after, hold_reason=hold_reason(decision.reason)))
        return
    if decision.printer_id is None:
        raise PermanentEventError("a queue decision names no printer")
    printer = await uow.repo.get_printer(decision.printer_id)
    if printer is None or printer.tenant_id != job.tenant_id:
        raise PermanentEventError(f"no printer {decision.printer_id} in the job's tenant")
    if job.state == "queued" and job.printer_id == decision.printer_id:
        await uow.repo.save_job(replace(job, decision=decision.decision))
        return
    reason = queue_reason(decision.reason)
    events: list[EventData] = []
    if job.state == "queued":
        reason = "failover"
        events.append(
            JobMoved(
                **common,
                from_printer_id=job.printer_id,
                from_virtual_printer_id=None,
                to_printer_id=decision.printer_id,
                reason="failover",
                by_user_id=None,
            )
        )
    after = transition(
        job,
        "queued",
        at,
        printer_id=decision.printer_id,
        decision=decision.decision,
        queued_at=at,
        hold_reason=None,
        expires_at=deadline,
        state_detail=decision.detail,
    )
    events.append(
        JobQueued(**common, printer_id=decision.printer_id, reason=reason, detail=decision.detail)
    )
    history = {"reason": reason, "detail": decision.detail, **_noted(decision)}
    await record(uow, job, after, events, history)
    await notify_if_fetchable(uow, after)


def with_policies(job: Job, decision: JobRouted) -> Job:
    """The job as the print policies of its first decision left it: the settings (and
    release) they changed, the policy version, what changed or the refusal."""
    if decision.policy_version is None or job.policy_version is not None:
        return job
    settings = job.settings
    release = job.release
    for change in decision.adjustments:
        if change.setting == "release":
            release = "secure" if change.after == "secure" else release
        else:
            settings = settings.model_copy(update={change.setting: change.after})
    return replace(
        job,
        settings=JobSettings.model_validate(settings.model_dump()),
        release=release,
        policy_version=decision.policy_version,
        policy_adjustments=tuple(a.model_dump(mode="json") for a in decision.adjustments),
        policy_refusal=decision.refusal.model_dump(mode="json") if decision.refusal else None,
    )


def _noted(decision: JobRouted) -> dict[str, Any]:
    """What the job's history tells of its print policies (first decision only)."""
    if decision.policy_version is None or decision.decision != 1:
        return {}
    return {
        "policy_version": decision.policy_version,
        "adjustments": [a.model_dump(mode="json") for a in decision.adjustments],
    }


_REPORTED = {
    "received": "sent",
    "printing": "printing",
    "completed": "completed",
    "failed": "failed",
    "canceled": "canceled",
}


async def apply_status(uow: Work, report: DeviceJobStatusReported) -> None:
    """A printer's report on one of its jobs moves the job along; a late or repeated
    report changes nothing; a report about another printer's job is refused."""
    job = await uow.repo.get_job(report.job_id, for_update=True)
    if job is None or job.tenant_id != report.tenant_id:
        raise PermanentEventError(f"no job {report.job_id} in tenant {report.tenant_id}")
    if job.printer_id != report.device_id:
        raise PermanentEventError(f"job {job.id} is not at printer {report.device_id}")
    if report.via_connector is not None:
        holder = await uow.repo.holder_of(job.printer_id)
        if holder != report.via_connector:
            raise PermanentEventError(
                f"connector {report.via_connector} does not hold printer {job.printer_id}"
            )
    target = _REPORTED[report.state]
    if job.state in FINAL or job.state == target or job.state in ("pending", "held"):
        return  # late, repeated, or about a job the printer may not have yet
    if target == "sent" and job.state != "queued":
        return  # a later state was reported first
    at = now()
    common = {"job_id": job.id, "tenant_id": job.tenant_id, "owner_id": job.owner_id, "at": at}
    event: EventData
    if target == "sent":
        event = JobSent(**common, printer_id=job.printer_id)
    elif target == "printing":
        event = JobPrinting(**common, printer_id=job.printer_id)
    elif target == "completed":
        event = JobCompleted(**common, printer_id=job.printer_id, **completion_usage(job))
    elif target == "failed":
        event = JobFailed(**common, printer_id=job.printer_id, reason=report.detail or "failed")
    else:
        event = JobCanceled(
            **common, previous_state=job.state, by_user_id=None, printer_id=job.printer_id
        )
    detail = (report.detail or "the printer reported a failure") if target == "failed" else ""
    after = transition(job, target, at, state_detail=detail)  # type: ignore[arg-type]
    await record(uow, job, after, [event], {"detail": report.detail} if report.detail else None)
