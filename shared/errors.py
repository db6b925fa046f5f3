"""Errors as data: every domain error has a stable code, an HTTP status and details.

The HTTP middleware turns them into ``application/problem+json``; the gateway
into error frames; a consumer that meets one parks the event on the dead-letter
topic (it can never be applied, retrying would not help).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One offending input field (dotted path) and why it was refused."""

    field: str
    reason: str


@dataclass
class DomainError(Exception):
    """Base of every error a caller can cause; subclasses fix ``code`` and ``status``."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    code: str = "invalid-request"
    status: int = 400
    title: str = "Invalid request"
    extensions: dict[str, object] = field(default_factory=dict, kw_only=True)
    """Extra problem members (RFC 9457 extensions), e.g. the values a field accepts."""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass
class ValidationFailed(DomainError):
    """Input that does not satisfy the model; ``errors`` names each field."""

    code: str = "validation-failed"
    status: int = 422
    title: str = "Input is not valid"


@dataclass
class NotFound(DomainError):
    """The resource does not exist for this caller (also: belongs to another tenant)."""

    code: str = "not-found"
    status: int = 404
    title: str = "Not found"


@dataclass
class Conflict(DomainError):
    """The request contradicts the current state (duplicate name, lost race)."""

    code: str = "conflict"
    status: int = 409
    title: str = "Conflict"


@dataclass
class Unauthenticated(DomainError):
    """No or bad credentials."""

    code: str = "unauthenticated"
    status: int = 401
    title: str = "Authentication required"


@dataclass
class Forbidden(DomainError):
    """Authenticated, but the role does not allow this action."""

    code: str = "forbidden"
    status: int = 403
    title: str = "Forbidden"


@dataclass
class TooManyRequests(DomainError):
    """A rate or attempt limit was reached; ``retry_after`` seconds until it eases."""

    code: str = "too-many-requests"
    status: int = 429
    title: str = "Too many requests"
    retry_after: int = 60


@dataclass
class Gone(DomainError):
    """The resource existed but can no longer be used (an expired code)."""

    code: str = "gone"
    status: int = 410
    title: str = "Gone"


class PermanentEventError(Exception):
    """A consumer handler's way to say: this event can never be applied (park it)."""
