"""Events the queues publish: a job's life and its documents' deletion on
``queues.jobs``/``queues.documents``, and hints to devices on ``devices.notifications``.
The contracts live in :mod:`shared.events.contracts.jobs` and
:mod:`shared.events.contracts.notifications`, where the services that read them find them."""

from __future__ import annotations

from shared.events.contracts.jobs import (
    DocumentDeleted,
    JobCanceled,
    JobCompleted,
    JobExpired,
    JobFailed,
    JobHeld,
    JobMoved,
    JobOriginRecorded,
    JobPrinting,
    JobQueued,
    JobSent,
    JobSubmitted,
)
from shared.events.contracts.notifications import DeviceNotified

EVENTS = (
    JobOriginRecorded, JobSubmitted, JobHeld, JobQueued, JobMoved, JobSent, JobPrinting,
    JobCompleted, JobFailed, JobCanceled, JobExpired, DocumentDeleted, DeviceNotified,
)  # fmt: skip

__all__ = [
    "EVENTS",
    "DeviceNotified",
    "DocumentDeleted",
    "JobCanceled",
    "JobCompleted",
    "JobExpired",
    "JobFailed",
    "JobHeld",
    "JobMoved",
    "JobOriginRecorded",
    "JobPrinting",
    "JobQueued",
    "JobSent",
    "JobSubmitted",
]
