"""The queues' domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, DomainError, Forbidden, NotFound


@dataclass
class JobNotFound(NotFound):
    """No such job for this caller (also: another tenant's or another printer's)."""

    code: str = "job-not-found"


@dataclass
class DocumentNotFound(NotFound):
    """No such document for this caller."""

    code: str = "document-not-found"


@dataclass
class TargetNotFound(NotFound):
    """No such printer or virtual printer for this caller."""

    code: str = "printer-not-found"


@dataclass
class PrinterNotReady(Conflict):
    """The target has not reported what it can print yet."""

    code: str = "printer-not-ready"
    title: str = "Printer not ready"


@dataclass
class SettingsRejected(DomainError):
    """The target cannot print the job as asked; names each setting and what it accepts."""

    code: str = "settings-not-supported"
    status: int = 422
    title: str = "Settings not supported by the printer"


@dataclass
class TransitionRefused(Conflict):
    """The job's state does not allow this change."""

    code: str = "invalid-transition"
    title: str = "Not allowed in the job's state"


@dataclass
class ReleaseConflict(Conflict):
    """A job to release is no longer waiting for release (released elsewhere, canceled...)."""

    code: str = "release-conflict"


@dataclass
class ReleaseRequired(Forbidden):
    """A secure-release job's document is withheld until its owner logs in at the printer."""

    code: str = "release-required"
    title: str = "Release required"


@dataclass
class IdempotencyKeyReused(DomainError):
    """The key already answered a different request (another body, document or path)."""

    code: str = "idempotency-key-reused"
    status: int = 422
    title: str = "Idempotency key reused for another request"


@dataclass
class ReservationNotFound(NotFound):
    """No such reservation for this caller (also: another tenant's or another user's)."""

    code: str = "reservation-not-found"
