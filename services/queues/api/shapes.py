"""The JSON shapes of the queues' HTTP API (also the OpenAPI document's models)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from services.queues.domain.model import Document, Job, Reservation
from shared.events.contracts.jobs import JobState, PolicyAdjustment, PolicyRefusal, Release
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings


class DocumentOut(BaseModel):
    """A stored document."""

    document_id: uuid.UUID
    sha256: str
    size: int
    format: str
    pages: int | None
    title: str
    keep: bool
    priority: int
    created_at: AwareDatetime


class JobPolicyOut(BaseModel):
    """The print policy version a job was decided with, and what its policies did."""

    version: int = Field(ge=0, description="The tenant's print policy version (0: none set).")
    adjustments: list[PolicyAdjustment] = Field(
        description="Settings a policy changed, each naming the policy (settings shows the result)."
    )
    refusal: PolicyRefusal | None = Field(description="The policy that refused the job.")


class JobOut(BaseModel):
    """A print job."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    document_id: uuid.UUID
    printer_id: uuid.UUID | None = Field(description="The printer whose queue holds the job.")
    virtual_printer_id: uuid.UUID | None
    release: Release
    title: str
    pages: int | None
    printed_pages: int | None
    settings: JobSettings
    state: JobState
    hold_reason: str | None
    state_detail: str = Field(
        default="",
        description="Why the job is in its state, in words (a hold over quota, a failover, "
        "the printer's reason for a failure); empty when there is nothing to say.",
    )
    expires_at: AwareDatetime | None
    reservation_id: uuid.UUID | None
    submitted_at: AwareDatetime | None
    queued_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    policy: JobPolicyOut | None = Field(
        default=None,
        description="What the tenant's print policies did to the job; null until routing "
        "decided it.",
    )


class JobPage(BaseModel):
    """A page of jobs; pass ``next_after`` as ``after`` for the next one."""

    items: list[JobOut]
    next_after: uuid.UUID | None


class Released(BaseModel):
    """Jobs moved into the printer's queue."""

    released: list[JobOut]


class DeviceDocument(BaseModel):
    """Where and what a printer downloads."""

    url: str
    sha256: str
    size: int
    format: str


class DeviceJob(BaseModel):
    """A job in the printer's queue, as the printer shows and fetches it."""

    job_id: uuid.UUID
    printer_id: uuid.UUID
    state: Literal["queued", "sent", "printing"]
    title: str
    pages: int | None
    owner_id: uuid.UUID
    owner_name: str
    release: Release
    document: DeviceDocument
    settings: JobSettings
    fetchable: bool = Field(description="False while a secure job waits for its owner's login.")
    requires_login: bool


class DeviceJobs(BaseModel):
    """The printer's queue, in the order to print it."""

    items: list[DeviceJob]


class SessionOut(BaseModel):
    """A user's open session at a printer."""

    session_id: uuid.UUID
    printer_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    opened_at: AwareDatetime
    expires_at: AwareDatetime


class Sessions(BaseModel):
    """Open sessions at the device's printers."""

    items: list[SessionOut]


class DeviceVirtualPrinter(BaseModel):
    """A virtual printer one of the device's printers is a member of."""

    virtual_printer_id: uuid.UUID
    name: str
    members: list[uuid.UUID]
    effective_capabilities: Capabilities = Field(
        description="What every member that has reported capabilities supports."
    )


class DeviceVirtualPrinters(BaseModel):
    """The virtual printers the device's printers are members of (at most 100, by name)."""

    items: list[DeviceVirtualPrinter]


class ReservationOut(BaseModel):
    """A reservation: the kept documents queued at a printer, in order."""

    reservation_id: uuid.UUID
    printer_id: uuid.UUID
    deadline: AwareDatetime
    jobs: list[JobOut]


class ReservationItem(BaseModel):
    """A reservation as listed: who made it, for which printer, and its jobs in print
    order (``canceled_at`` set: cancelled, with its jobs not printed by then)."""

    reservation_id: uuid.UUID
    owner_id: uuid.UUID
    printer_id: uuid.UUID
    deadline: AwareDatetime
    created_at: AwareDatetime
    canceled_at: AwareDatetime | None
    jobs: list[JobOut]


class ReservationPage(BaseModel):
    """A page of reservations; pass ``next_after`` as ``after`` for the next one."""

    items: list[ReservationItem]
    next_after: uuid.UUID | None


def reservation_item(reservation: Reservation, jobs: list[Job]) -> ReservationItem:
    """The public shape of a listed reservation."""
    return ReservationItem(
        reservation_id=reservation.id,
        owner_id=reservation.owner_id,
        printer_id=reservation.printer_id,
        deadline=reservation.deadline,
        created_at=reservation.created_at,
        canceled_at=reservation.canceled_at,
        jobs=[job_out(j) for j in jobs],
    )


def job_out(job: Job) -> JobOut:
    """The public shape of a job."""
    return JobOut(
        id=job.id,
        tenant_id=job.tenant_id,
        owner_id=job.owner_id,
        document_id=job.document_id,
        printer_id=job.printer_id,
        virtual_printer_id=job.virtual_printer_id,
        release=job.release,
        title=job.title,
        pages=job.pages,
        printed_pages=job.printed_pages,
        settings=job.settings,
        state=job.state,
        hold_reason=job.hold_reason,
        state_detail=job.state_detail,
        expires_at=job.expires_at,
        reservation_id=job.reservation_id,
        submitted_at=job.submitted_at,
        queued_at=job.queued_at,
        finished_at=job.finished_at,
        policy=None
        if job.policy_version is None
        else JobPolicyOut(
            version=job.policy_version,
            adjustments=[PolicyAdjustment.model_validate(a) for a in job.policy_adjustments],
            refusal=PolicyRefusal.model_validate(job.policy_refusal)
            if job.policy_refusal
            else None,
        ),
    )


def document_out(document: Document) -> DocumentOut:
    """The public shape of a document."""
    return DocumentOut(
        document_id=document.id,
        sha256=document.sha256,
        size=document.size,
        format=document.format,
        pages=document.pages,
        title=document.title,
        keep=document.keep,
        priority=document.priority,
        created_at=document.created_at,
    )


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready form of an answer."""
    return model.model_dump(mode="json")


class ScanOut(BaseModel):
    """A scan to a phone: requested at a printer, then delivered as a protected document."""

    scan_id: uuid.UUID
    printer_id: uuid.UUID
    key_id: uuid.UUID = Field(description="The phone's ephemeral key the page is encrypted to.")
    public_key: str = Field(description="That key's X25519 public half (base64url).")
    state: Literal["requested", "delivered"]
    document_id: uuid.UUID | None = Field(
        description="The encrypted page (application/vnd.printcloud.e2e), once delivered."
    )
    created_at: datetime
    delivered_at: datetime | None


class DeviceScans(BaseModel):
    """The scans waiting at the device's printers."""

    items: list[ScanOut]
