"""Auth entities and rules: pure values, no I/O."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from services.auth.domain.errors import (
    ChallengeExhausted,
    ChallengeExpired,
    ChallengeUsed,
    InvalidScope,
    UnknownChallenge,
)
from shared.errors import FieldError, ValidationFailed

Role = Literal["admin", "user"]
Kind = Literal["person", "service"]
Scope = Literal[
    "printers:read",
    "printers:write",
    "jobs:read",
    "jobs:submit",
    "users:read",
    "users:write",
    "devices:read",
    "devices:write",
    "devices:verify",
]
TOKEN_SCOPES: frozenset[str] = frozenset(get_args(Scope))
"""The scopes an API token (a user's) may carry."""
DEVICE_SCOPE = "device"
"""The scope of device access tokens only; no user is ever granted it."""
ALL_SCOPES: frozenset[str] = TOKEN_SCOPES | {DEVICE_SCOPE}
ROLE_SCOPES: Mapping[str, frozenset[str]] = {
    "user": frozenset({"printers:read", "jobs:read", "jobs:submit"}),
    "admin": TOKEN_SCOPES - {"devices:verify"},
}
# A platform service account (no tenant, no role) exists to verify devices (the gateway).
PLATFORM_SCOPES = frozenset({"devices:verify"})

API_TOKEN_PREFIX = "pc_"
API_TOKEN_PATTERN = r"^pc_[A-Za-z0-9_-]{43}$"


@dataclass(frozen=True)
class User:
    """A person or a service account of one tenant (a platform service account has none)."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    kind: Kind
    email: str | None
    display_name: str
    roles: frozenset[str]
    disabled: bool
    revision: int
    created_at: datetime
    updated_at: datetime

    def grantable_scopes(self) -> frozenset[str]:
        """The scopes this user's tokens may carry, from its roles (and platform role)."""
        granted = {s for r in self.roles for s in ROLE_SCOPES.get(r, ())}
        return frozenset(granted) | (PLATFORM_SCOPES if self.tenant_id is None else frozenset())

    def updated(self, changes: Mapping[str, Any], now: datetime) -> tuple[User, list[str]]:
        """The user after ``changes`` and the names of the fields that really changed."""
        nulls = [k for k, v in changes.items() if v is None and k != "email"]
        if nulls:
            raise ValidationFailed(
                "these fields cannot be cleared", [FieldError(k, "may not be null") for k in nulls]
            )
        values: dict[str, Any] = {
            k: frozenset(v) if k == "roles" else v for k, v in changes.items()
        }
        if "email" in values and values["email"] is not None:
            values["email"] = normalise_email(values["email"])
        changed = sorted(k for k, v in values.items() if getattr(self, k) != v)
        if not changed:
            return self, []
        after = replace(self, **values, revision=self.revision + 1, updated_at=now)
        check_user_shape(after.tenant_id, after.kind, after.email, after.roles)
        return after, changed


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively; the domain is kept lowercase."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def check_user_shape(
    tenant_id: uuid.UUID | None, kind: str, email: str | None, roles: Iterable[str]
) -> None:
    """Persons have an email and a tenant; service accounts have no email; platform
    service accounts (no tenant) have no role."""
    errors = []
    if kind == "person" and email is None:
        errors.append(FieldError("email", "required for a person"))
    if kind == "service" and email is not None:
        errors.append(FieldError("email", "a service account has no email"))
    if tenant_id is None and kind == "person":
        errors.append(FieldError("tenant_id", "required for a person"))
    if tenant_id is None and set(roles):
        errors.append(FieldError("roles", "a platform service account holds no role"))
    if errors:
        raise ValidationFailed("the user is not valid", errors)


@dataclass(frozen=True)
class ApiToken:
    """A long-lived credential of a user; only the SHA-256 of its secret is kept."""

    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    name: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def new_api_token_secret() -> str:
    """``pc_`` + 32 random bytes, base64url: shown once, never stored."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(secret: str) -> bytes:
    """SHA-256 of the secret: the only form stored, and the lookup key."""
    return hashlib.sha256(secret.encode()).digest()


def check_token_scopes(
    user: User, requested: Iterable[str], creator: frozenset[str] | None
) -> None:
    """Refuse scopes the user's roles do not grant, or that the creator does not hold
    (``creator`` None: an operator, who may grant any)."""
    requested = set(requested)
    beyond_user = sorted(requested - user.grantable_scopes())
    beyond_creator = sorted(requested - creator) if creator is not None else []
    errors = []
    if beyond_user:
        errors.append(FieldError("scopes", f"not granted to this user's roles: {beyond_user}"))
    if beyond_creator:
        errors.append(FieldError("scopes", f"not held by your own credential: {beyond_creator}"))
    if errors:
        raise ValidationFailed("the token may not carry these scopes", errors)


def granted_scopes(token: ApiToken, user: User, requested: str | None) -> frozenset[str]:
    """What an access token gets: the API token's scopes that the user's current roles
    still grant, narrowed to ``requested`` (space-separated) when given."""
    available = token.scopes & user.grantable_scopes()
    if requested is not None:
        wanted = frozenset(requested.split())
        if not wanted <= available:
            raise InvalidScope(f"not granted to this API token: {sorted(wanted - available)}")
        available = wanted
    if not available:
        raise InvalidScope("none of this API token's scopes is granted to its user any more")
    return available


def access_claims(
    user: User,
    token: ApiToken | Passkey | Any,
    scopes: frozenset[str],
    *,
    now: datetime,
    ttl: timedelta,
    issuer: str,
    audience: str,
) -> dict[str, Any]:
    """The claims of an access token (RFC 9068 shape plus tenant_id and roles)."""
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": str(user.id),
        "client_id": str(token.id),
        "tenant_id": str(user.tenant_id) if user.tenant_id else None,
        "roles": sorted(user.roles),
        "scope": " ".join(sorted(scopes)),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl.total_seconds()),
        "jti": str(uuid.uuid4()),
    }


@dataclass(frozen=True)
class DeviceCredential:
    """A device's public key (SPKI DER), bound to one printer or connector of a tenant."""

    device_id: uuid.UUID
    tenant_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    public_key: bytes
    key_algorithm: str
    fingerprint: str
    model: str
    claimed_at: datetime
    issued_at: datetime
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        """``active`` or ``revoked``."""
        return "active" if self.revoked_at is None else "revoked"


def device_claims(
    c: DeviceCredential, *, now: datetime, ttl: timedelta, issuer: str, audience: str
) -> dict[str, Any]:
    """The claims of a device access token: the device is the subject, its only role
    and scope are ``device``; the ``device`` claim says what kind of device it is."""
    issued = int(now.timestamp())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": str(c.device_id),
        "client_id": str(c.device_id),
        "tenant_id": str(c.tenant_id),
        "roles": [DEVICE_SCOPE],
        "scope": DEVICE_SCOPE,
        "device": {"kind": c.subject_type, "fingerprint": c.fingerprint},
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl.total_seconds()),
        "jti": str(uuid.uuid4()),
    }


@dataclass(frozen=True)
class PhoneKey:
    """A user's phone public key (SPKI DER): signs printers' login challenges."""

    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    label: str
    algorithm: str
    public_key: bytes
    fingerprint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        """``active`` or ``revoked``."""
        return "active" if self.revoked_at is None else "revoked"


@dataclass(frozen=True)
class Passkey:
    """A user's passkey: a WebAuthn credential's id, its COSE public key and the
    signature counter the authenticator last reported."""

    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    label: str
    credential_id: bytes
    public_key: bytes
    sign_count: int
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def status(self) -> str:
        """``active`` or ``revoked``."""
        return "active" if self.revoked_at is None else "revoked"


@dataclass(frozen=True)
class PasskeyChallenge:
    """A WebAuthn challenge auth handed out; only its SHA-256 is kept."""

    challenge_hash: bytes
    purpose: Literal["register", "sign-in"]
    user_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class LoginChallenge:
    """A one-time challenge a printer shows; only its SHA-256 is kept."""

    challenge_hash: bytes
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    device_id: uuid.UUID
    created_at: datetime
    expires_at: datetime
    failures: int
    used_at: datetime | None
    key_id: uuid.UUID | None
    session_id: uuid.UUID | None


def hash_challenge(challenge: bytes) -> bytes:
    """SHA-256 of a challenge's bytes: the only form stored, and the lookup key."""
    return hashlib.sha256(challenge).digest()


def check_challenge_usable(
    challenge: LoginChallenge | None, now: datetime, max_failures: int
) -> LoginChallenge:
    """The challenge, if it may still be answered; otherwise why not (nothing is counted:
    these refusals concern the challenge, not the proof)."""
    if challenge is None:
        raise UnknownChallenge("no such login challenge; scan the printer's code again")
    if challenge.used_at is not None:
        raise ChallengeUsed("this login challenge was used already; ask the printer for a new one")
    if challenge.failures >= max_failures:
        raise ChallengeExhausted(
            "too many failed attempts with this challenge; ask the printer for a new one"
        )
    if now >= challenge.expires_at:
        raise ChallengeExpired("this login challenge has expired; ask the printer for a new one")
    return challenge
