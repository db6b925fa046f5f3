"""Routing settings: ``PRINTCLOUD_ROUTING_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    """Configuration of the routing service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_ROUTING_", extra="ignore")

    default_offline_after_s: int = Field(
        default=120,
        ge=0,
        description="How long a printer without a policy may be offline before its jobs "
        "are held instead of queued.",
    )
    sweep_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="How often one replica re-decides held jobs and jobs queued at "
        "printers that stayed offline.",
    )
    sweep_batch_size: int = Field(
        default=500, ge=1, description="Jobs re-examined per sweep, least recently first."
    )
    decisions_retention_days: int = Field(
        default=30, ge=1, description="How long decisions of finished jobs stay readable."
    )
