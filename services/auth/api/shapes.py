"""How auth's entities look on the wire (JSON), and the query models of its lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.auth.domain.model import ApiToken, DeviceCredential, User
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
