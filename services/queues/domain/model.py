"""Print jobs and their state machine: pure values, no I/O.

The allowed transitions are data (:data:`TRANSITIONS`); :func:`transition`
refuses every other change with :class:`TransitionRefused`. A job in a final
state never changes again.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, get_args

from services.queues.domain.errors import TransitionRefused
from shared.events.contracts.jobs import JobState, Release
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings

STATES: tuple[JobState, ...] = get_args(JobState)
FINAL: frozenset[JobState] = frozenset({"completed", "failed", "canceled", "expired"})
WAITING: frozenset[JobState] = frozenset({"pending", "held", "queued"})
"""States in which routing may still move a job."""
AT_PRINTER: frozenset[JobState] = frozenset({"queued", "sent", "printing"})
"""States in which the job is in a printer's queue (the device lists it)."""

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    "pending": frozenset({"held", "queued", "failed", "canceled"}),
    "held": frozenset({"queued", "canceled", "expired", "failed"}),
    # queued -> queued: moved to another printer's queue (failover).
    "queued": frozenset(
        {"queued", "held", "sent", "printing", "completed", "failed", "canceled", "expired"}
    ),
    "sent": frozenset({"printing", "completed", "failed", "canceled"}),
    "printing": frozenset({"completed", "failed", "canceled"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
    "expired": frozenset(),
}


def can_transition(before: JobState, after: JobState) -> bool:
    """Whether the state machine allows ``before`` -> ``after``."""
    return after in TRANSITIONS[before]


@dataclass(frozen=True)
class Job:
    """A print job as the queues see it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    document_id: uuid.UUID
    release: Release
    title: str
    pages: int | None
    settings: JobSettings
    state: JobState
    printer_id: uuid.UUID | None
    virtual_printer_id: uuid.UUID | None
    decision: int = 0
    hold_reason: str | None = None
    expires_at: datetime | None = None
    reservation_id: uuid.UUID | None = None
    sequence: int | None = None
    submitted_at: datetime | None = None
    queued_at: datetime | None = None
    finished_at: datetime | None = None
    state_detail: str = ""
    """Why the job is in its state, in words for its owner (empty: nothing to say)."""
    policy_version: int | None = None
    """The tenant's print policy version routing decided the job with (None: not yet)."""
    policy_adjustments: tuple[dict[str, Any], ...] = ()
    """The settings print policies changed (each naming its policy)."""
    policy_refusal: dict[str, Any] | None = None
    """The print policy that refused the job."""

    @property
    def is_final(self) -> bool:
        """Completed, failed, canceled or expired."""
        return self.state in FINAL

    @property
    def printed_pages(self) -> int | None:
        """Selected pages x copies, when the document's pages are known."""
        return self.settings.printed_pages(self.pages)


def transition(job: Job, after: JobState, at: datetime, **changes: Any) -> Job:
    """``job`` in state ``after`` (with ``changes``), or TransitionRefused."""
    if not can_transition(job.state, after):
        raise TransitionRefused(f"a {job.state} job cannot become {after}")
    finished = at if after in FINAL else job.finished_at
    changes.setdefault("state_detail", "")  # a reason belongs to the state it explained
    return replace(job, state=after, finished_at=finished, **changes)


def sheets(settings: JobSettings, document_pages: int | None) -> tuple[int, int]:
    """(printed pages, sheets of media) of a completed job; 0 when pages are unknown."""
    printed = settings.printed_pages(document_pages) or 0
    per_copy = printed // settings.copies if settings.copies else 0
    duplex = settings.sides is not None and settings.sides != "one-sided"
    return printed, math.ceil(per_copy / 2) * settings.copies if duplex else printed


def completion_usage(job: Job) -> dict[str, Any]:
    """The usage fields of job.completed for ``job``."""
    printed, used = sheets(job.settings, job.pages)
    return {
        "pages": job.pages,
        "printed_pages": printed,
        "colour_pages": printed if job.settings.colour else 0,
        "sheets": used,
        "copies": job.settings.copies,
        "sides": job.settings.sides or "one-sided",
        "media": job.settings.media,
    }


HoldReason = Literal["pull", "printer_offline", "quota", "requested"]
QueueReason = Literal["direct", "failover", "released", "quota_override", "reservation"]


def hold_reason(routed_reason: str) -> HoldReason:
    """job.held's reason for a routing decision's reason."""
    if routed_reason in ("pull", "printer_offline"):
        return routed_reason  # type: ignore[return-value]
    if routed_reason in ("quota", "quota_warning"):
        return "quota"
    return "requested"


def queue_reason(routed_reason: str) -> QueueReason:
    """job.queued's reason for a routing decision's reason."""
    if routed_reason in ("failover", "quota_override"):
        return routed_reason  # type: ignore[return-value]
    return "direct"


def fetchable(job: Job, owner_has_session: bool) -> bool:
    """Whether the printer may download the document now: secure release waits for the
    owner's session at the printer."""
    return job.state in AT_PRINTER and (job.release != "secure" or owner_has_session)


@dataclass(frozen=True)
class Scan:
    """A page a person asked a printer to scan, to be encrypted to their phone's key."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    printer_id: uuid.UUID
    key_id: uuid.UUID
    public_key: str
    state: Literal["requested", "delivered"]
    document_id: uuid.UUID | None
    created_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class Document:
    """A stored document (its content is in the blob store, addressed by sha256)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    sha256: str
    size: int
    format: str
    pages: int | None
    title: str
    keep: bool
    priority: int
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Reservation:
    """Kept documents queued at a printer by their owner, printed by a deadline or
    expired; ``canceled_at`` set: cancelled, with its jobs not printed yet."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    printer_id: uuid.UUID
    deadline: datetime
    created_at: datetime
    canceled_at: datetime | None = None


@dataclass(frozen=True)
class Printer:
    """The queues' replica of a registry printer (revision 0: only heard of through
    capabilities or a connection change, not registered yet)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int
    capabilities: Capabilities | None


@dataclass(frozen=True)
class VirtualPrinter:
    """The queues' replica of a virtual printer: its members, in the admin's order."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    members: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Session:
    """A user logged in at a printer (phone login) until ``expires_at``."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    opened_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class KeyClaim:
    """Who holds an idempotency key: the resource its first request created."""

    fingerprint: str
    resource: str
    resource_id: uuid.UUID


@dataclass(frozen=True)
class QueuedJob:
    """A job in a printer's queue with what a device shows and fetches."""

    job: Job
    sha256: str
    size: int
    format: str
    owner_name: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One state change of a job, at (tx, id) in commit order."""

    id: int
    tx: int
    job_id: uuid.UUID
    state: JobState
    printer_id: uuid.UUID | None
    detail: dict[str, Any]
    at: datetime
