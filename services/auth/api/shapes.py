"""How auth's entities look on the wire (JSON), and the query models of its lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.auth.domain.model import ApiToken, DeviceCredential, PhoneKey, User
from shared.crypto.encoding import b64url_encode


class UserPage(BaseModel):
    """Keyset pagination; operators may narrow to one tenant or to platform accounts."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None
    platform: bool = False


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def user_json(u: User) -> dict[str, Any]:
    """A user as the API shows it."""
    return {
        "id": str(u.id),
        "tenant_id": str(u.tenant_id) if u.tenant_id else None,
        "kind": u.kind,
        "email": u.email,
        "display_name": u.display_name,
        "roles": sorted(u.roles),
        "disabled": u.disabled,
        "revision": u.revision,
        "created_at": u.created_at.isoformat(),
        "updated_at": u.updated_at.isoformat(),
    }


def token_json(t: ApiToken) -> dict[str, Any]:
    """An API token as the API shows it: never its secret or its hash."""
    now = datetime.now(UTC)
    status = "revoked" if t.revoked_at else "active" if t.usable(now) else "expired"
    return {
        "id": str(t.id),
        "user_id": str(t.user_id),
        "tenant_id": str(t.tenant_id) if t.tenant_id else None,
        "name": t.name,
        "scopes": sorted(t.scopes),
        "status": status,
        "created_at": t.created_at.isoformat(),
        "expires_at": _iso(t.expires_at),
        "revoked_at": _iso(t.revoked_at),
        "last_used_at": _iso(t.last_used_at),
    }


def credential_json(c: DeviceCredential) -> dict[str, Any]:
    """A device credential as the API shows it (the key as base64url SPKI DER)."""
    return {
        "device_id": str(c.device_id),
        "tenant_id": str(c.tenant_id),
        "subject_type": c.subject_type,
        "subject_id": str(c.subject_id),
        "public_key": b64url_encode(c.public_key),
        "key_algorithm": c.key_algorithm,
        "fingerprint": c.fingerprint,
        "model": c.model,
        "status": c.status,
        "claimed_at": c.claimed_at.isoformat(),
        "issued_at": c.issued_at.isoformat(),
        "revoked_at": _iso(c.revoked_at),
    }


class PhoneKeyView(BaseModel):
    """A phone key as the API shows it (never anything secret: it is a public key)."""

    key_id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    label: str
    algorithm: Literal["ecdsa-p256", "ed25519"]
    fingerprint: str = Field(description="Lowercase hex SHA-256 of the SPKI DER.")
    public_key: str = Field(description="base64url of the SubjectPublicKeyInfo DER.")
    status: Literal["active", "revoked"]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: PhoneKey) -> PhoneKeyView:
        """The view of a phone key."""
        return cls(
            key_id=k.id,
            user_id=k.user_id,
            tenant_id=k.tenant_id,
            label=k.label,
            algorithm=k.algorithm,
            fingerprint=k.fingerprint,
            public_key=b64url_encode(k.public_key),
            status=k.status,
            created_at=k.created_at,
            last_used_at=k.last_used_at,
            revoked_at=k.revoked_at,
        )


class PhoneKeyList(BaseModel):
    """A user's phone keys, oldest first, revoked ones included."""

    items: list[PhoneKeyView]


class DeviceTokenAnswer(BaseModel):
    """A device access token (JWT: sub = device id, role and scope ``device``)."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until it expires.")


class LoginChallengeAnswer(BaseModel):
    """A one-time login challenge for a printer, and the QR payload to show."""

    challenge: str = Field(description="32 random bytes, base64url.")
    printer_id: uuid.UUID
    expires_at: datetime
    qr_payload: str = Field(
        description="`printcloud-login:` + base64url of JSON {u: API base URL, p: printer id, "
        "c: challenge, e: expiry in unix seconds}."
    )


class DeviceLoginAnswer(BaseModel):
    """An approved phone login: the session opened at the printer."""

    session_id: uuid.UUID
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    action: Literal["open_session", "release_all"]
    approved_at: datetime
    expires_at: datetime
