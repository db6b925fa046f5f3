"""Sign-in with a tenant's identity provider (OpenID Connect): the provider's settings,
the roles its claims map to, and who a verified ID token's person is. Pure values, no I/O;
the ID token itself is verified in ``services.auth.handlers.oidc``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from services.auth.domain.errors import SignInRefused
from services.auth.domain.model import ROLE_SCOPES, User, normalise_email
from shared.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class IdentityProvider:
    """A tenant's OpenID Connect provider. ``role_claim`` names the claim whose values
    map to roles through ``role_map`` (claim value → role); a person whose values map to
    none gets ``default_role`` (or is refused when it is None). ``group_claim`` names the
    claim holding the person's groups, kept with the identity."""

    tenant_id: uuid.UUID
    issuer: str
    client_id: str
    client_secret: str
    role_claim: str
    role_map: Mapping[str, str]
    default_role: str | None
    group_claim: str | None
    updated_at: datetime


def check_provider_shape(
    issuer: str, client_id: str, role_map: Mapping[str, str], default_role: str | None
) -> None:
    """An https issuer (http only on a loopback host), a client id, and known roles."""
    errors = []
    parts = urlsplit(issuer)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        errors.append(FieldError("issuer", "must be an https URL (http only on loopback)"))
    if parts.query or parts.fragment:
        errors.append(FieldError("issuer", "has no query or fragment"))
    if not client_id.strip():
        errors.append(FieldError("client_id", "required"))
    for value, role in role_map.items():
        if role not in ROLE_SCOPES:
            errors.append(FieldError(f"role_map.{value}", f"unknown role {role!r}"))
    if default_role is not None and default_role not in ROLE_SCOPES:
        errors.append(FieldError("default_role", f"unknown role {default_role!r}"))
    if errors:
        raise ValidationFailed("the identity provider is not valid", errors)


def claim_values(claims: Mapping[str, Any], name: str | None) -> list[str]:
    """A claim's values as strings: a list of strings or one string (space-separated
    values are one value); a dotted name reaches into nested objects
    (``realm_access.roles``). Absent or of another type: none."""
    if not name:
        return []
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def roles_from_claims(provider: IdentityProvider, claims: Mapping[str, Any]) -> frozenset[str]:
    """The roles a verified ID token's claims grant; SignInRefused when none and the
    provider has no default role."""
    mapped = {provider.role_map[v] for v in claim_values(claims, provider.role_claim)
              if v in provider.role_map}  # fmt: skip
    if not mapped and provider.default_role is not None:
        mapped = {provider.default_role}
    if not mapped:
        raise SignInRefused("your account at the identity provider grants no role here")
    return frozenset(mapped)


@dataclass(frozen=True)
class Identity:
    """A person as the identity provider names them (issuer + subject), with their
    email, display name and groups from the ID token."""

    issuer: str
    subject: str
    email: str
    display_name: str
    groups: tuple[str, ...]


def identity_of(provider: IdentityProvider, claims: Mapping[str, Any]) -> Identity:
    """The person a verified ID token names; SignInRefused without a subject or an
    email (a person here always has one)."""
    subject, email = claims.get("sub"), claims.get("email")
    if not isinstance(subject, str) or not subject:
        raise SignInRefused("the identity provider named no subject")
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused("the identity provider gave no email address for you")
    name = claims.get("name")
    display = name if isinstance(name, str) and name.strip() else email
    groups = tuple(claim_values(claims, provider.group_claim))
    return Identity(provider.issuer, subject, normalise_email(email), display[:200], groups)


def provisioned(
    existing: User | None, tenant_id: uuid.UUID, identity: Identity,
    roles: frozenset[str], now: datetime,
) -> User:  # fmt: skip
    """The user for a sign-in: a new person on first sign-in, else the known one with
    the roles and email the provider says now (a disabled user stays disabled)."""
    if existing is None:
        return User(
            id=uuid.uuid4(), tenant_id=tenant_id, kind="person", email=identity.email,
            display_name=identity.display_name, roles=roles, disabled=False, revision=1,
            created_at=now, updated_at=now,
        )  # fmt: skip
    if existing.roles == roles and existing.email == identity.email:
        return existing
    after, _ = existing.updated({"roles": roles, "email": identity.email}, now)
    return after
