"""What callers ask the auth service to do; validated at the edge, pure values inside."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from services.auth.domain.model import API_TOKEN_PATTERN, Kind, Role, Scope
from shared.crypto.keys import KeyAlgorithm
from shared.protocols.phone import LoginAction

NAME_PATTERN = r"^\S(.*\S)?$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
B64URL_PATTERN = r"^[A-Za-z0-9_-]+$"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateUser(_Command):
    """Add a person or a service account to a tenant.

    Tenant admins may omit ``tenant_id`` (their own tenant). Operators name it; an
    operator may leave it null for a platform service account (``kind: service``,
    no role), such as the gateway's.
    """

    tenant_id: uuid.UUID | None = None
    kind: Kind = "person"
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    display_name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    roles: list[Role] = Field(default_factory=list, max_length=2)
    disabled: bool = False


class UpdateUser(_Command):
    """Change a user; absent fields stay as they are."""

    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    display_name: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=NAME_PATTERN
    )
    roles: list[Role] | None = Field(default=None, max_length=2)
    disabled: bool | None = None

    def changes(self) -> dict[str, object]:
        """The fields the caller sent."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class CreateApiToken(_Command):
    """Create an API token for a user; its secret is shown once in the answer."""

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the token stops working; null: never."
    )


class TokenRequest(_Command):
    """Exchange an API token for a short-lived access token (OAuth 2.0 style)."""

    grant_type: Literal["api_token"]
    api_token: str = Field(pattern=API_TOKEN_PATTERN, description="The `pc_...` secret.")
    scope: str | None = Field(
        default=None,
        max_length=1000,
        pattern=r"^[a-z]+:[a-z]+( [a-z]+:[a-z]+)*$",
        description="Space-separated subset of the API token's scopes; default: all of them.",
    )


class DeviceTokenRequest(_Command):
    """A device proves its key to get a short-lived device access token."""

    device_id: uuid.UUID = Field(description="The printer's or connector's id.")
    timestamp: int = Field(
        ge=0,
        le=2**40,
        description="Unix seconds; within a minute of the server's clock and greater than "
        "the last one this device used.",
    )
    signature: str = Field(
        min_length=40,
        max_length=200,
        pattern=B64URL_PATTERN,
        description="base64url signature of `printcloud-device-token\\n{device_id}\\n"
        "{timestamp}` by the device's key (Ed25519; P-256: raw r||s or DER).",
    )


class RegisterPhoneKey(_Command):
    """Register a phone's public key for the calling user."""

    public_key: str = Field(
        min_length=40,
        max_length=1000,
        description="PEM (BEGIN PUBLIC KEY) or base64url of the SubjectPublicKeyInfo DER.",
    )
    algorithm: KeyAlgorithm = Field(description="`ecdsa-p256` or `ed25519`; must match the key.")
    label: str = Field(
        min_length=1, max_length=100, pattern=NAME_PATTERN, description="E.g. the phone's name."
    )


class RequestLoginChallenge(_Command):
    """A printer asks for a challenge for itself; a connector names a printer it bridges."""

    printer_id: uuid.UUID | None = Field(
        default=None, description="Required for a connector; a printer may omit it."
    )


class PublishE2EKey(_Command):
    """A printer's ephemeral end-to-end key, signed with its device key."""

    key_id: uuid.UUID = Field(description="The ephemeral key's id (chosen by the printer).")
    public_key: str = Field(
        pattern=B64URL_PATTERN, min_length=43, max_length=43,
        description="The X25519 public key: base64url of its 32 raw bytes.",
    )  # fmt: skip
    expires_at: int = Field(ge=0, description="When the offer expires (unix seconds).")
    signature: str = Field(
        pattern=B64URL_PATTERN, min_length=40, max_length=200,
        description="The device key's signature over the offer (see the operation).",
    )  # fmt: skip


class ApproveDeviceLogin(_Command):
    """A phone's proof that its user stands at the printer showing the challenge."""

    key_id: uuid.UUID = Field(description="The phone key that signed.")
    challenge: str = Field(
        min_length=43, max_length=43, pattern=B64URL_PATTERN, description="From the QR code."
    )
    printer_id: uuid.UUID = Field(description="From the QR code.")
    action: LoginAction = Field(
        description="open_session: the user's secure-release jobs may print while the session "
        "lasts; release_all: also release all the user's held pull-print jobs to this printer."
    )
    signature: str = Field(
        min_length=40,
        max_length=200,
        pattern=B64URL_PATTERN,
        description="base64url signature of the UTF-8 bytes `printcloud-device-login\\n"
        "{challenge}\\n{printer_id}\\n{action}` (ECDSA P-256 SHA-256 DER, or Ed25519).",
    )


class WebAuthnCredential(_Command):
    """What ``navigator.credentials.create()`` or ``get()`` returned, as JSON (the
    WebAuthn Level 3 ``toJSON()`` form: base64url fields)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    id: str = Field(min_length=1, max_length=1400, pattern=B64URL_PATTERN)
    raw_id: str = Field(alias="rawId", min_length=1, max_length=1400, pattern=B64URL_PATTERN)
    type: Literal["public-key"]
    response: dict[str, str | list[str] | None] = Field(
        description="clientDataJSON, and attestationObject (registration) or "
        "authenticatorData, signature and userHandle (sign-in), base64url."
    )


class RegisterPasskey(_Command):
    """Add a passkey made for a registration challenge of ``POST
    /v1/users/me/passkey-options`` to the calling user."""

    label: str = Field(default="Passkey", min_length=1, max_length=100, pattern=NAME_PATTERN)
    credential: WebAuthnCredential


class PasskeyLogin(_Command):
    """Sign in with a passkey: an assertion made for a challenge of ``POST
    /v1/passkey-challenges``."""

    credential: WebAuthnCredential


class ConfigureProvider(_Command):
    """Set the tenant's OpenID Connect identity provider: its issuer (discovery at
    ``<issuer>/.well-known/openid-configuration``), the portal's client there, and the
    claim whose values map to roles (``role_map``: claim value → role)."""

    issuer: str = Field(min_length=8, max_length=500)
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretStr = Field(min_length=1, max_length=500)
    role_claim: str = Field(default="groups", min_length=1, max_length=100)
    role_map: dict[str, Role] = Field(default_factory=dict, max_length=100)
    default_role: Role | None = None
    group_claim: str | None = Field(default="groups", max_length=100)


class OidcLogin(_Command):
    """Sign in through the tenant's identity provider: the authorization code the
    browser brought back, the redirect URI and PKCE verifier it was asked for with, and
    the nonce the sign-in started with."""

    tenant_id: uuid.UUID
    code: str = Field(min_length=1, max_length=2000)
    redirect_uri: str = Field(min_length=1, max_length=2000)
    code_verifier: str = Field(min_length=43, max_length=128, pattern=B64URL_PATTERN)
    nonce: str = Field(min_length=16, max_length=200)
