"""IPP jobs (an integer job-id per Printcloud job) and how Printcloud states read in IPP."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.ipp.protocol.constants import JobState, PrinterState

TargetKind = Literal["printer", "virtual-printer"]


@dataclass(frozen=True)
class Marker:
    """One supply as the device reports it (the consumables service's latest level)."""

    name: str
    kind: str
    colour: str
    level: int | None
    low: bool = False


@dataclass(frozen=True)
class Target:
    """What a printer URI names: a printer or a virtual printer, and what it reports."""

    id: uuid.UUID
    kind: TargetKind
    name: str
    location: str
    make_and_model: str
    online: bool
    markers: tuple[Marker, ...] = ()


@dataclass(frozen=True)
class IppJob:
    """An IPP job: its job-id on this endpoint, its owner and, once it has its document,
    the Printcloud job. A Create-Job without Send-Document yet has no ``job_uuid``; a
    held job (``hold_until``, RFC 8011 job-hold-until) has its stored ``document_id``
    and no Printcloud job until Release-Job."""

    id: int
    target_id: uuid.UUID
    owner_id: str
    tenant_id: uuid.UUID | None
    name: str
    settings: dict[str, object]
    job_uuid: uuid.UUID | None
    state: Literal["awaiting-document", "held", "submitted", "canceled"]
    created_at: datetime
    hold_until: str | None = None
    document_id: uuid.UUID | None = None

    def submitted(self, job_uuid: uuid.UUID) -> IppJob:
        """The job once its Printcloud job exists."""
        return replace(self, job_uuid=job_uuid, state="submitted")

    def canceled(self) -> IppJob:
        """A job canceled before it became a Printcloud job (waiting for its document
        or held)."""
        return replace(self, state="canceled")

    def stored(self, document_id: uuid.UUID) -> IppJob:
        """A held job whose document is in the blob store, waiting for Release-Job."""
        return replace(self, document_id=document_id, state="held")

    def holding(self, hold_until: str | None) -> IppJob:
        """A job waiting for its document, to be held (or not) once it has it."""
        return replace(self, hold_until=hold_until)


JOB_STATES: dict[str, tuple[JobState, str]] = {
    "pending": (JobState.PENDING, "job-incoming"),
    "held": (JobState.PENDING_HELD, "job-hold-until-specified"),
    "queued": (JobState.PENDING, "job-queued"),
    "sent": (JobState.PROCESSING, "job-transforming"),
    "printing": (JobState.PROCESSING, "job-printing"),
    "completed": (JobState.COMPLETED, "job-completed-successfully"),
    "failed": (JobState.ABORTED, "aborted-by-system"),
    "canceled": (JobState.CANCELED, "job-canceled-by-user"),
    "expired": (JobState.ABORTED, "job-canceled-at-device"),
}
"""A Printcloud job state as IPP job-state and job-state-reasons."""

AWAITING_DOCUMENT = (JobState.PENDING_HELD, "job-incoming")
HELD = (JobState.PENDING_HELD, "job-hold-until-specified")
HOLD_UNTIL = ("no-hold", "indefinite")
"""job-hold-until values: a held job waits for Release-Job (no time of day is kept)."""
CREATE_CANCELED = (JobState.CANCELED, "job-canceled-by-user")


def ipp_job_state(state: str) -> tuple[JobState, str]:
    """IPP job-state and its reason for a Printcloud job state."""
    return JOB_STATES.get(state, (JobState.PENDING, "none"))


def virtual_target(
    target_id: uuid.UUID, name: str, location: str, members: Sequence[Target]
) -> Target:
    """A virtual printer as its member printers make it: online (``idle``) when any
    member is, offline (``stopped``) when none is or it has none; its supplies are every
    member's, each named after its printer ("Floor 2 laser: Black toner"), so a low one
    is a state reason of the virtual printer too."""
    markers = tuple(
        replace(m, name=f"{member.name or member.id}: {m.name or m.kind}")
        for member in members
        for m in member.markers
    )
    online = any(member.online for member in members)
    return Target(target_id, "virtual-printer", name, location, "Printcloud virtual printer",
                  online, markers)  # fmt: skip


def printer_state(target: Target) -> tuple[PrinterState, list[str]]:
    """printer-state and printer-state-reasons from the printer's presence and supplies."""
    low = {
        MARKER_LOW.get(m.kind, "marker-supply-low") + "-warning" for m in target.markers if m.low
    }
    if target.online:
        return PrinterState.IDLE, sorted(low) or ["none"]
    return PrinterState.STOPPED, ["offline-report", *sorted(low)]


MARKER_TYPES = {"toner": "toner", "ink": "ink-cartridge", "drum": "opc", "waste": "waste-toner",
                "fuser": "fuser", "staples": "staples", "other": "toner"}  # fmt: skip
"""A supply kind as IPP marker-types."""
MARKER_LOW = {"toner": "toner-low", "ink": "marker-supply-low", "drum": "opc-near-eol",
              "waste": "marker-waste-almost-full", "staples": "staple-low"}  # fmt: skip
MARKER_COLOURS = {"black": "#000000", "cyan": "#00FFFF", "magenta": "#FF00FF",
                  "yellow": "#FFFF00"}  # fmt: skip


def final(state: JobState) -> bool:
    """Whether a job in ``state`` is done (completed, canceled or aborted)."""
    return state in (JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED)
