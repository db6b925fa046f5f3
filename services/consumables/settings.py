"""Consumables settings: ``PRINTCLOUD_CONSUMABLES_*``."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ConsumablesSettings(ServiceSettings):
    """Configuration of the consumables service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_CONSUMABLES_", extra="ignore")

    public_url: str = Field(
        default="http://127.0.0.1:8087",
        description="Base URL suppliers call back (shipped/delivered); sent with each order.",
    )
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "base64 of 32 random bytes; seals suppliers' webhook secrets at rest "
            "(AES-256-GCM). Needed to create suppliers and send orders."
        ),
    )
    install_rise_points: int = Field(
        default=20, ge=1, le=100,
        description="How far above its lowest level a low supply must rise to count as replaced.",
    )  # fmt: skip
    delivery_poll_s: float = Field(
        default=1.0, gt=0, description="How often due webhooks are sought."
    )
    delivery_batch: int = Field(default=20, ge=1, le=500, description="Webhooks sent at once.")
    delivery_timeout_s: float = Field(
        default=10.0, gt=0, description="One webhook attempt's limit."
    )
    delivery_lease_s: float = Field(
        default=60.0, gt=0,
        description="A claimed attempt is retried by any replica after this (a crash mid-call).",
    )  # fmt: skip
    retry_base_s: float = Field(default=2.0, gt=0, description="First retry delay (doubles).")
    retry_cap_s: float = Field(default=600.0, gt=0, description="Longest delay between retries.")
    webhook_allow_private: bool = Field(
        default=False,
        description=(
            "Allow webhooks to loopback, private and link-local addresses (a supplier on the "
            "same network). Off: such addresses are refused, so tenants cannot reach internals."
        ),
    )
    callback_tolerance_s: float = Field(
        default=120, gt=0, le=900,
        description=(
            "How far a supplier's signed callback's timestamp may be from now; its nonce is "
            "remembered for twice this, so the same callback is accepted only once."
        ),
    )  # fmt: skip
    history_retention_days: int = Field(
        default=90, ge=1, description="Level history older than this is deleted."
    )
