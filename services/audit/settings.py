"""Audit settings: ``PRINTCLOUD_AUDIT_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    """Configuration of the audit service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_AUDIT_", extra="ignore")

    retention_days: int = Field(
        default=400, ge=1, le=36500,
        description="Entries are kept this long after their change, then deleted.",
    )  # fmt: skip
    purge_interval_s: float = Field(
        default=3600.0, gt=0, description="How often entries past their retention are sought."
    )
    export_batch: int = Field(
        default=500, ge=1, le=10_000, description="Entries read per round trip of an export."
    )
