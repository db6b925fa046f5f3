"""Auth settings: ``PRINTCLOUD_AUTH_*``."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.http.auth import MAX_TOKEN_LIFETIME_S
from shared.settings import ServiceSettings

DAY_S = 86_400


class AuthSettings(ServiceSettings):
    """Configuration of the auth service.

    The issuer (``auth_issuer``) and audience (``auth_audience``) of the tokens it
    signs are the shared fields every verifying service reads too.
    """

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_AUTH_", extra="ignore")

    key_encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "base64 of 32 random bytes; seals the signing keys' private halves at rest "
            "(AES-256-GCM). Required to serve; every replica needs the same one."
        ),
    )
    access_token_ttl_s: int = Field(
        default=900, ge=1, le=MAX_TOKEN_LIFETIME_S, description="Lifetime of an access token (JWT)."
    )
    signing_key_rotation_s: int = Field(
        default=30 * DAY_S, ge=60, description="A new signing key is made when the newest is older."
    )
    signing_key_publish_ahead_s: int = Field(
        default=600,
        ge=0,
        description="A new key is published this long before it signs, so verifiers' caches "
        "know it first; keep it at least jwks_max_age_s.",
    )
    signing_key_check_s: float = Field(
        default=60, gt=0, description="How often a replica checks whether to rotate or prune."
    )
    jwks_max_age_s: int = Field(
        default=300, ge=0, description="Cache-Control max-age of /.well-known/jwks.json."
    )
    device_token_ttl_s: int = Field(
        default=600,
        ge=1,
        le=MAX_TOKEN_LIFETIME_S,
        description="Lifetime of a device access token (JWT, role and scope `device`); "
        "at most access_token_ttl_s.",
    )
    device_token_clock_skew_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="How far a device's signed timestamp may be from the server's clock.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        min_length=1,
        description="Public base URL of the API; printers' login QR codes send phones there.",
    )
    login_challenge_ttl_s: int = Field(
        default=120, ge=1, le=3600, description="How long a printer's login challenge lasts."
    )
    login_challenge_max_failures: int = Field(
        default=5, ge=1, le=100, description="Failed approvals after which a challenge is dead."
    )
    login_challenge_retention_s: int = Field(
        default=DAY_S,
        ge=60,
        description="Expired login challenges are purged this long after they expire.",
    )
    device_session_ttl_s: int = Field(
        default=300,
        ge=10,
        le=DAY_S,
        description="How long a session opened at a printer by a phone login lasts.",
    )
    passkey_rp_id: str = Field(
        default="localhost",
        min_length=1,
        description="The WebAuthn relying party id passkeys are made for: the portal's "
        "host name or a parent domain of it.",
    )
    passkey_rp_name: str = Field(default="Printcloud", description="Shown by authenticators.")
    passkey_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8091"],
        description="The origins (scheme://host[:port]) of the pages that may use passkeys: "
        "the portal's public URL.",
    )

    @field_validator("passkey_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """A JSON list or comma-separated origins."""
        if isinstance(value, str):
            text = value.strip()
            return (
                json.loads(text)
                if text.startswith("[")
                else [o.strip() for o in text.split(",") if o.strip()]
            )
        return value

    passkey_challenge_ttl_s: int = Field(
        default=300, ge=10, le=3600, description="How long a WebAuthn challenge may be used."
    )
    passkeys_per_user: int = Field(
        default=10, ge=1, le=100, description="Most active passkeys one user may have."
    )
    phone_keys_per_user: int = Field(
        default=10, ge=1, le=100, description="Most active phone keys one user may have."
    )
