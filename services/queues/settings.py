"""Queues settings: ``PRINTCLOUD_QUEUES_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, home

DAY_S = 86_400


class QueuesSettings(ServiceSettings):
    """Configuration of the queues service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_QUEUES_", extra="ignore")

    blob_dir: Path = Field(
        default_factory=lambda: home() / "blobs",
        description="Directory of the document store (shared by every replica).",
    )
    max_document_bytes: int = Field(
        default=2 << 30, ge=1, description="Largest document accepted, in bytes."
    )
    tenant_storage_bytes: int = Field(
        default=20 << 30,
        ge=1,
        description="Bytes of documents a tenant may hold in the document store at once "
        "(until their retention deletes them); an upload past it is refused (413).",
    )
    held_job_ttl_s: int = Field(
        default=DAY_S, ge=1, description="A held job not released within this time expires."
    )
    document_retention_s: int = Field(
        default=DAY_S,
        ge=0,
        description="A document is deleted this long after the last of its jobs finished "
        "(kept documents: after they stop being kept).",
    )
    idempotency_key_ttl_s: int = Field(
        default=DAY_S,
        ge=1,
        description="How long a submission's Idempotency-Key is remembered: a retry "
        "within this time answers the first request's job or document.",
    )
    maintenance_interval_s: float = Field(
        default=30, gt=0, description="How often expiry and retention run."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8084",
        description="Base URL devices and people use; document links are built from it.",
    )
    sse_heartbeat_s: float = Field(
        default=15, gt=0, description="Comment line sent on an idle event stream."
    )
    max_streams_per_credential: int = Field(
        default=16,
        ge=1,
        description="Job event streams one credential (an API token, a device, the operator "
        "token) may hold open at once per replica; one more is refused with 429.",
    )
