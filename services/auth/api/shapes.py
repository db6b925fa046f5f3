"""How auth's entities look on the wire (JSON): the query models of its lists and the
shapes of its answers, as the OpenAPI document describes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.auth.domain import model as domain
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


def user_json(u: domain.User) -> dict[str, Any]:
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


def token_json(t: domain.ApiToken) -> dict[str, Any]:
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


def credential_json(c: domain.DeviceCredential) -> dict[str, Any]:
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


class E2EKeyView(BaseModel):
    """A printer's ephemeral end-to-end key offer and the device key that signed it."""

    device_id: uuid.UUID
    key_id: uuid.UUID
    public_key: str = Field(description="The X25519 public key: base64url of 32 raw bytes.")
    expires_at: int = Field(description="When the offer expires (unix seconds).")
    signature: str = Field(description="base64url: the device key's signature over the offer.")
    device_public_key: str = Field(description="base64url of the device key's SPKI DER.")
    device_key_algorithm: Literal["ed25519", "ecdsa-p256"]
    device_key_fingerprint: str = Field(description="Lowercase hex SHA-256 of that SPKI DER.")

    @classmethod
    def of(cls, offer: Any, credential: domain.DeviceCredential) -> E2EKeyView:
        """The view of a published offer (a ``shared.crypto.e2e.KeyOffer``)."""
        return cls(
            **offer.as_json(),
            device_public_key=b64url_encode(credential.public_key),
            device_key_algorithm=credential.key_algorithm,
            device_key_fingerprint=credential.fingerprint,
        )


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
    def of(cls, k: domain.PhoneKey) -> PhoneKeyView:
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


NEXT_AFTER = "Pass as `after` for the next page; `null` when this page is not full."


class AccessToken(BaseModel):
    """A new access token."""

    access_token: str = Field(
        description="The JWT; send it as `Authorization: Bearer <access_token>` to any service."
    )
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until it expires.")
    scope: str = Field(description="The scopes it carries, space-separated.")


class Jwk(BaseModel):
    """An Ed25519 public key that verifies access tokens."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url.")
    kid: str = Field(description="RFC 7638 thumbprint of the key.")
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class Jwks(BaseModel):
    """A JSON Web Key Set (RFC 7517), newest key first."""

    keys: list[Jwk]


class SigningKey(BaseModel):
    """A new signing key."""

    kid: str
    created_at: datetime = Field(description="Published in the JWKS from now on.")
    activates_at: datetime = Field(description="Signs access tokens from this moment.")


class User(BaseModel):
    """A person or a service account."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None = Field(description="`null` for a platform service account.")
    kind: Literal["person", "service"]
    email: str | None = Field(description="The domain is stored in lower case.")
    display_name: str
    roles: list[Literal["admin", "user"]]
    disabled: bool
    revision: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime


class UserList(BaseModel):
    """One page of users, in id order."""

    items: list[User]
    next_after: uuid.UUID | None = Field(description=NEXT_AFTER)


class ApiToken(BaseModel):
    """An API token, never its secret."""

    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    name: str
    scopes: list[str]
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When it was last exchanged for an access token."
    )


class CreatedApiToken(ApiToken):
    """A new API token, with its secret."""

    token: str = Field(
        pattern=r"^pc_[A-Za-z0-9_-]{43}$",
        description="The secret. Shown in this answer only; store it now.",
    )


class ApiTokenList(BaseModel):
    """A user's API tokens, newest first."""

    items: list[ApiToken]


class DeviceCredential(BaseModel):
    """A printer's or connector's public key."""

    device_id: uuid.UUID
    tenant_id: uuid.UUID
    subject_type: Literal["printer", "connector"]
    subject_id: uuid.UUID = Field(
        description="The printer or connector the key is bound to (equals `device_id`)."
    )
    public_key: str = Field(description="base64url of the key's SubjectPublicKeyInfo DER.")
    key_algorithm: Literal["ed25519", "ecdsa-p256"]
    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.",
    )
    model: str
    status: Literal["active", "revoked"]
    claimed_at: datetime
    issued_at: datetime
    revoked_at: datetime | None


class PasskeyView(BaseModel):
    """A passkey as the API shows it (nothing secret: a public key and its id)."""

    passkey_id: uuid.UUID
    user_id: uuid.UUID
    label: str
    credential_id: str = Field(description="The WebAuthn credential id, base64url.")
    status: Literal["active", "revoked"]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: domain.Passkey) -> PasskeyView:
        """The view of a passkey."""
        return cls(
            passkey_id=k.id,
            user_id=k.user_id,
            label=k.label,
            credential_id=b64url_encode(k.credential_id),
            status="active" if k.revoked_at is None else "revoked",
            created_at=k.created_at,
            last_used_at=k.last_used_at,
            revoked_at=k.revoked_at,
        )


class PasskeyList(BaseModel):
    """A user's passkeys, oldest first."""

    items: list[PasskeyView]


class WebAuthnOptions(BaseModel):
    """Options for ``navigator.credentials.create()`` or ``get()``."""

    public_key: dict[str, Any] = Field(
        alias="publicKey",
        description="PublicKeyCredentialCreationOptions or ...RequestOptions, as JSON "
        "(binary fields base64url: `PublicKeyCredential.parse*OptionsFromJSON` reads it).",
    )
    model_config = ConfigDict(populate_by_name=True)


class IdentityProviderView(BaseModel):
    """A tenant's identity provider as administrators see it (the client secret never)."""

    tenant_id: uuid.UUID
    issuer: str
    client_id: str
    role_claim: str
    role_map: dict[str, str] = Field(description="Claim value → role.")
    default_role: str | None
    group_claim: str | None
    updated_at: datetime

    @classmethod
    def of(cls, p: Any) -> IdentityProviderView:
        """The view of a domain identity provider."""
        return cls(
            tenant_id=p.tenant_id, issuer=p.issuer, client_id=p.client_id,
            role_claim=p.role_claim, role_map=dict(p.role_map), default_role=p.default_role,
            group_claim=p.group_claim, updated_at=p.updated_at,
        )  # fmt: skip


class SignInProvider(BaseModel):
    """What a sign-in page needs to send a person to their tenant's identity provider."""

    tenant_id: uuid.UUID
    issuer: str
    client_id: str
