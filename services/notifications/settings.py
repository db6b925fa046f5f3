"""Notifications settings: ``PRINTCLOUD_NOTIFICATIONS_*``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Configuration of the notifications service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_NOTIFICATIONS_", extra="ignore")

    http_port: int = Field(default=8089, ge=0, le=65535)
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "base64 of 32 random bytes; seals endpoints' signing secrets at rest "
            "(AES-256-GCM). Needed to create endpoints and to deliver."
        ),
    )
    allow_http: bool = Field(
        default=False,
        description="Accept http:// endpoints (tests, local development); off: https only.",
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description=(
            "CIDRs endpoints may resolve to although they are loopback, private, link-local "
            "or otherwise not public (an operator's allow-list, e.g. '10.20.0.0/16')."
        ),
    )
    delivery_poll_s: float = Field(
        default=0.5, gt=0, description="How often due webhooks are sought."
    )
    delivery_concurrency: int = Field(
        default=64, ge=1, le=1000, description="Webhook attempts in flight per replica."
    )
    endpoint_concurrency: int = Field(
        default=4, ge=1, le=100,
        description="Attempts in flight per endpoint (all replicas): a slow endpoint waits on "
        "its own deliveries only.",
    )  # fmt: skip
    delivery_timeout_s: float = Field(default=10.0, gt=0, description="One attempt's limit.")
    delivery_lease_s: float = Field(
        default=60.0, gt=0,
        description="A claimed attempt is retried by any replica after this (a crash mid-call).",
    )  # fmt: skip
    max_response_bytes: int = Field(
        default=4096, ge=0, le=1_048_576, description="Of an answer, read and kept at most."
    )
    retry_base_s: float = Field(default=5.0, gt=0, description="First retry delay (doubles).")
    retry_cap_s: float = Field(default=3600.0, gt=0, description="Longest delay between retries.")
    retry_for_s: float = Field(
        default=86400.0,
        gt=0,
        description="A delivery failing this long after its event is given up.",
    )
    disable_after_failures: int = Field(
        default=20,
        ge=1,
        description="Consecutive failed attempts before an endpoint may be disabled.",
    )
    disable_after_s: float = Field(
        default=86400.0, ge=0,
        description="An endpoint failing without a success for this long (and at least "
        "disable_after_failures times) is disabled, with webhook_endpoint.disabled.",
    )  # fmt: skip
    secret_overlap_s: int = Field(
        default=86400, ge=0, le=30 * 86400,
        description="After a rotation, how long the old secret still signs (default overlap).",
    )  # fmt: skip
    delivery_retention_days: int = Field(
        default=30, ge=1,
        description="Finished deliveries (and what is known of jobs) are deleted after this.",
    )  # fmt: skip
