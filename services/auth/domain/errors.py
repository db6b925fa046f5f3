"""Auth domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, DomainError, NotFound


@dataclass
class UserNotFound(NotFound):
    code: str = "user-not-found"


@dataclass
class TenantNotFound(NotFound):
    code: str = "tenant-not-found"


@dataclass
class ApiTokenNotFound(NotFound):
    code: str = "api-token-not-found"


@dataclass
class DeviceCredentialNotFound(NotFound):
    code: str = "device-credential-not-found"


@dataclass
class DuplicateEmail(Conflict):
    code: str = "duplicate-email"


@dataclass
class InvalidGrant(DomainError):
    """The API token offered for an access token is unknown, expired or revoked,
    or its user is disabled; one answer for all, so a guess learns nothing."""

    code: str = "invalid-grant"
    title: str = "Invalid grant"


@dataclass
class InvalidScope(DomainError):
    """An access token was asked for scopes the API token does not carry."""

    code: str = "invalid-scope"
    title: str = "Invalid scope"
