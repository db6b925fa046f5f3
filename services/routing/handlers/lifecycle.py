"""Following where queues put a job, from its lifecycle events."""

from __future__ import annotations

from typing import Any

from services.routing.handlers.decisions import Work
from shared.events.contracts import jobs


async def track_lifecycle(uow: Work, event_type: str, data: Any) -> None:
    """Follow where queues put a job; forget a job that finished.

    Queues' events that apply routing's own decisions change nothing here (routing
    recorded them when it decided, and a late one must not undo a newer decision);
    what people do (release a pull job, hold one) and what printers do is recorded.
    """
    repo = uow.repo
    job_id = data.job_id
    match event_type:
        case jobs.JobQueued.event_type:
            if data.reason in ("released", "reservation") or (
                await repo.hold_reason(job_id) == "requested"
            ):
                await repo.track(job_id, "queued", data.printer_id)
        case jobs.JobMoved.event_type:
            if data.reason == "released":
                await repo.track(job_id, "queued", data.to_printer_id)
        case jobs.JobHeld.event_type:
            if data.reason == "requested":
                await repo.track(job_id, "held", None, "requested")
        case jobs.JobSent.event_type | jobs.JobPrinting.event_type:
            await repo.track(job_id, "sent", data.printer_id)
        case (
            jobs.JobCompleted.event_type
            | jobs.JobFailed.event_type
            | jobs.JobCanceled.event_type
            | jobs.JobExpired.event_type
        ):
            await repo.forget_job(job_id)
