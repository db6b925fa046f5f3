"""What callers ask the queues to do; validated at the edge, pure values inside."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.events.contracts.jobs import JobState
from shared.printing.settings import JobSettings

MIME_PATTERN = r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreDocument(_Command):
    """Store an uploaded document (its bytes come as a stream beside this)."""

    format: str = Field(pattern=MIME_PATTERN, max_length=255, description="MIME media type.")
    title: str = Field(default="", max_length=500)
    keep: bool = Field(default=False, description="Keep for reservation printing.")
    priority: int = Field(default=0, ge=-1000, le=1000, description="For reservations.")
    pages: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Pages the client expects; the server counts them from the content "
        "and refuses a document whose count differs.",
    )
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class SubmitJob(_Command):
    """Print a stored document at a printer or a virtual printer (exactly one)."""

    document_id: uuid.UUID | None = Field(
        default=None, description="The stored document (omitted in a one-shot upload)."
    )
    printer_id: uuid.UUID | None = None
    virtual_printer_id: uuid.UUID | None = None
    settings: JobSettings = Field(default_factory=JobSettings)
    title: str | None = Field(default=None, max_length=500)
    release: Literal["direct", "secure"] = Field(
        default="direct",
        description="direct: print on arrival; secure: the owner logs in at the printer. "
        "A virtual printer's jobs are always pull (held until released at a member).",
    )
    pages: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Pages the client expects; the server counts them from the content "
        "and refuses a document whose count differs.",
    )
    callback_url: str | None = Field(
        default=None, min_length=8, max_length=2000, pattern=r"^https?://\S+$",
        description="Send this job's state changes here as signed webhooks; the URL must lie "
        "under one of the tenant's webhook endpoints (whose secret signs them).",
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_target(self) -> SubmitJob:
        if (self.printer_id is None) == (self.virtual_printer_id is None):
            raise ValueError("name exactly one of printer_id and virtual_printer_id")
        return self


class ReleaseJobs(_Command):
    """Release held pull-print jobs at a member printer: some by id, or all of them."""

    job_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    all: bool = False

    @model_validator(mode="after")
    def _something(self) -> ReleaseJobs:
        if bool(self.job_ids) == self.all:
            raise ValueError("send either job_ids or all: true")
        return self


class CreateReservation(_Command):
    """Queue the caller's kept documents at a printer, within counts and a deadline."""

    printer_id: uuid.UUID
    max_count: int = Field(ge=1, le=1000)
    max_pages: int = Field(ge=1, le=1_000_000)
    deadline: AwareDatetime
    settings: JobSettings = Field(default_factory=JobSettings)


class ReservationFilter(_Command):
    """GET /v1/reservations: narrow and page the list."""

    printer_id: uuid.UUID | None = None
    owner: Literal["me", "all"] | None = Field(
        default=None, description="me: only the caller's (admins see the tenant's)."
    )
    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None


class JobFilter(_Command):
    """GET /v1/jobs: narrow and page the list."""

    state: JobState | None = None
    printer_id: uuid.UUID | None = None
    owner: Literal["me", "all"] | None = Field(
        default=None, description="me: only the caller's jobs (admins see the tenant's)."
    )
    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None


class RequestScan(_Command):
    """Ask a printer for a scanned page, encrypted to the phone's ephemeral key."""

    printer_id: uuid.UUID
    key_id: uuid.UUID = Field(description="The phone's ephemeral key's id (its choice).")
    public_key: str = Field(
        pattern=r"^[A-Za-z0-9_-]{43}$",
        description="The phone's ephemeral X25519 public key: base64url of 32 raw bytes.",
    )
