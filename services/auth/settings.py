"""Auth settings: ``PRINTCLOUD_AUTH_*``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

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
        default=900, ge=1, le=DAY_S, description="Lifetime of an access token (JWT)."
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
