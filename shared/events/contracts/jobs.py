"""Print jobs (owner: queues) and where they go (owner: routing).

A job's life is told on ``queues.jobs``, keyed by ``job_id`` so every
consumer sees one job's events in order: ``job.submitted`` once, then one event
per transition of the job's state machine (pending, held, queued, sent,
printing, completed, failed, canceled, expired). Routing answers each
submission (and re-decides when a printer stays offline or a quota changes)
with ``job.routed`` on ``routing.decisions``; queues applies a decision only
while the job can still move. ``job.completed`` carries the usage that counters
attribute to user, printer and tenant.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.envelope import EventData
from shared.printing.settings import JobSettings

JobState = Literal[
    "pending", "held", "queued", "sent", "printing", "completed", "failed", "canceled", "expired"
]
Release = Literal["direct", "secure", "pull"]
"""direct: print when it reaches the printer; secure: the printer may show the job but
gets the document only after its owner logs in there; pull: held at a virtual printer
until its owner releases it at one member."""


class _JobEvent(EventData):
    job_id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID = Field(description="The user who submitted the job.")
    at: AwareDatetime = Field(description="When the transition happened.")

    def partition_key(self) -> str:
        return str(self.job_id)


class JobSubmitted(_JobEvent):
    """A job was accepted: its document is stored and its settings fit the target."""

    event_type: ClassVar[str] = "job.submitted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    printer_id: uuid.UUID | None = Field(description="Target printer (direct or secure).")
    virtual_printer_id: uuid.UUID | None = Field(description="Target virtual printer (pull).")
    release: Release
    title: str = Field(max_length=500)
    document_id: uuid.UUID
    document_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    document_size: int = Field(ge=0)
    document_format: str
    pages: int | None = Field(
        ge=0,
        description="Pages in the document, as the server counted them from its content "
        "(null only for documents stored before content checks).",
    )
    printed_pages: int | None = Field(
        ge=0, description="Pages to print x copies, from the server's count (quotas use it)."
    )
    colour: bool = Field(description="Whether the job asks for colour output.")
    settings: JobSettings
    reservation_id: uuid.UUID | None = None
    hold_until_release: bool = Field(
        default=False, description="Pull print: held until the owner releases it at a member."
    )


class JobOriginRecorded(_JobEvent):
    """Where a job came from, for those who tell its submitter about it: the API token it
    was submitted with and the callback URL its submitter asked for. Published just before
    ``job.submitted``, in the same transaction, when the submission has either."""

    event_type: ClassVar[str] = "job.origin_recorded"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    token_id: uuid.UUID | None = Field(description="The API token the job was submitted with.")
    callback_url: str | None = Field(
        max_length=2000,
        description="Where the submitter asked to hear of the job's changes (signed webhooks, "
        "when the URL lies under one of the tenant's webhook endpoints).",
    )


class JobHeld(_JobEvent):
    """The job waits: pull print, printer offline, over quota, or by request."""

    event_type: ClassVar[str] = "job.held"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    reason: Literal["pull", "printer_offline", "quota", "requested"]
    detail: str = Field(default="", max_length=2000, description="Readable reason.")
    expires_at: AwareDatetime | None = Field(description="When the held job expires.")


class JobQueued(_JobEvent):
    """The job is in a printer's queue: the printer may fetch it now."""

    event_type: ClassVar[str] = "job.queued"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    printer_id: uuid.UUID
    reason: Literal["direct", "failover", "released", "quota_override", "reservation"]
    """``reservation`` only in events of earlier versions: a reservation's jobs are now
    routed like any job (``direct``, ``failover``, ``quota_override``)."""
    detail: str = Field(default="", max_length=2000)


class JobMoved(_JobEvent):
    """The job moved into another printer's queue (pull-print release or failover),
    in one transaction with its new state."""

    event_type: ClassVar[str] = "job.moved"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    from_printer_id: uuid.UUID | None
    from_virtual_printer_id: uuid.UUID | None
    to_printer_id: uuid.UUID
    reason: Literal["released", "failover"]
    by_user_id: uuid.UUID | None = Field(description="Who released it; None for routing.")


class JobSent(_JobEvent):
    """The printer started downloading the document."""

    event_type: ClassVar[str] = "job.sent"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    printer_id: uuid.UUID


class JobPrinting(_JobEvent):
    """The printer reported that it is printing the job."""

    event_type: ClassVar[str] = "job.printing"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    printer_id: uuid.UUID


class JobCompleted(_JobEvent):
    """The printer reported the job printed; the usage counters attribute."""

    event_type: ClassVar[str] = "job.completed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    printer_id: uuid.UUID
    pages: int | None = Field(ge=0, description="Document pages, when known.")
    printed_pages: int = Field(ge=0, description="Pages printed (selected pages x copies).")
    colour_pages: int = Field(ge=0, description="Of printed_pages, printed in colour.")
    sheets: int = Field(ge=0, description="Sheets of media used (duplex halves them).")
    copies: int = Field(ge=1)
    sides: str
    media: str | None


class JobFailed(_JobEvent):
    """The job cannot be printed (the printer refused it or reported a failure)."""

    event_type: ClassVar[str] = "job.failed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    printer_id: uuid.UUID | None
    reason: str = Field(max_length=2000)


class JobCanceled(_JobEvent):
    """The job was canceled before it completed."""

    event_type: ClassVar[str] = "job.canceled"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    previous_state: JobState
    by_user_id: uuid.UUID | None
    printer_id: uuid.UUID | None


class JobExpired(_JobEvent):
    """A held (or reserved) job was not released in time."""

    event_type: ClassVar[str] = "job.expired"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.jobs"

    previous_state: JobState


class DocumentDeleted(EventData):
    """A stored document's content was deleted (retention after its jobs finished)."""

    event_type: ClassVar[str] = "document.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "queues.documents"

    document_id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    reason: Literal["retention", "owner", "expired"]
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.document_id)


RoutedReason = Literal[
    "direct", "pull", "failover", "printer_offline", "quota", "quota_warning",
    "quota_override", "printer_online",
]  # fmt: skip


class JobRoutedV1(EventData):
    """Routing's decision for a job, before print policies (still read from the topic)."""

    event_type: ClassVar[str] = "job.routed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "routing.decisions"

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    decision: int = Field(ge=1, description="1 for the first decision, +1 for each re-decision.")
    action: Literal["queue", "hold"]
    printer_id: uuid.UUID | None = Field(description="The printer to queue at (action queue).")
    reason: RoutedReason
    detail: str = Field(default="", max_length=2000, description="Readable reason.")
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.job_id)

    def upgraded(self) -> JobRouted:
        """The same decision as a version 2 event (no policy had a say)."""
        return JobRouted(**self.model_dump())


class PolicyAdjustment(BaseModel):
    """One setting of a job a print policy changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy_id: uuid.UUID
    policy_name: str = Field(max_length=200)
    policy_revision: int = Field(ge=1)
    rule: str = Field(max_length=64, description="The policy's rule that made the change.")
    setting: Literal["copies", "sides", "print_color_mode", "release"]
    before: str | int | None = Field(description="null: the printer's default.")
    after: str | int


class PolicyRefusal(BaseModel):
    """The print policy that refused a job, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy_id: uuid.UUID
    policy_name: str = Field(max_length=200)
    policy_revision: int = Field(ge=1)
    rule: str = Field(max_length=64)
    reason: str = Field(max_length=1000)


class JobRouted(EventData):
    """Routing's decision for a job: into a printer's queue now, hold it, or refuse it
    (a print policy forbids it). The first decision carries the tenant's print policy
    version it was taken with and what the policies changed: queues applies those
    changes to the job's settings (and release) before anything else."""

    event_type: ClassVar[str] = "job.routed"
    event_version: ClassVar[int] = 2
    topic: ClassVar[str] = "routing.decisions"

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    decision: int = Field(ge=1, description="1 for the first decision, +1 for each re-decision.")
    action: Literal["queue", "hold", "refuse"]
    printer_id: uuid.UUID | None = Field(description="The printer to queue at (action queue).")
    reason: Literal[
        "direct", "pull", "failover", "printer_offline", "quota", "quota_warning",
        "quota_override", "printer_online", "policy",
    ]  # fmt: skip
    detail: str = Field(default="", max_length=2000, description="Readable reason.")
    at: AwareDatetime
    policy_version: int | None = Field(
        default=None,
        ge=0,
        description="The tenant's print policy version the job was decided with (0: the "
        "tenant had no policy yet; null: decided before print policies existed).",
    )
    adjustments: list[PolicyAdjustment] = Field(
        default_factory=list,
        max_length=16,
        description="Settings the print policies changed (first decision only).",
    )
    refusal: PolicyRefusal | None = Field(
        default=None, description="The policy that refused the job (action refuse)."
    )

    def partition_key(self) -> str:
        return str(self.job_id)


EVENTS = (
    JobOriginRecorded, JobSubmitted, JobHeld, JobQueued, JobMoved, JobSent, JobPrinting,
    JobCompleted, JobFailed, JobCanceled, JobExpired, DocumentDeleted,
)  # fmt: skip
ROUTING_EVENTS = (JobRoutedV1, JobRouted)
