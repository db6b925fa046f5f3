"""Registry settings: ``PRINTCLOUD_REGISTRY_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Configuration of the registry service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_REGISTRY_", extra="ignore")

    public_url: str = Field(
        default="http://127.0.0.1:8081",
        description="Base URL people use; claim URLs are built from it.",
    )
    gateway_url: str = Field(
        default="ws://127.0.0.1:8083/v1/devices/ws",
        description="Where claimed devices connect; told to them with their identity.",
    )
    claim_code_ttl_s: int = Field(default=1800, ge=60, description="How long a claim code lives.")
    claim_failures_limit: int = Field(
        default=10, ge=1, description="Failed claims per tenant per window before 429."
    )
    registrations_limit: int = Field(
        default=30, ge=1, description="New registrations per source address per window."
    )
    onboarding_window_s: int = Field(default=900, ge=1, description="The limits' window.")
    poll_clock_skew_s: int = Field(
        default=120, ge=1, description="How far a device's poll timestamp may be off."
    )
