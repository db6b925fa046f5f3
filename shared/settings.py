"""Settings every service shares; each service subclasses with its own env prefix.

``RegistrySettings`` reads ``PRINTCLOUD_REGISTRY_DATABASE_URL``,
``PRINTCLOUD_REGISTRY_KAFKA_BOOTSTRAP`` and so on: one prefix per service, so one
environment can hold the configuration of every service without collisions.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Configuration common to every Printcloud service process."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_", extra="ignore")

    database_url: SecretStr = Field(
        description="DSN of this service's own login role (search_path = its schema)."
    )
    db_schema: str = Field(default="", description="Schema; defaults to the service name.")
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    kafka_bootstrap: str = "127.0.0.1:9092"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_json: bool = True
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_poll_s: float = Field(
        default=5.0, gt=0, description="Safety poll when no NOTIFY arrives."
    )
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    inbox_retention_days: int = Field(
        default=35,
        ge=1,
        description="Keep inbox rows longer than any topic keeps messages (30 days).",
    )
    shutdown_grace_s: float = Field(
        default=2.0, ge=0, description="Time between readiness=false and stopping work."
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="Bootstrap operator bearer token (platform-wide admin).",
    )
