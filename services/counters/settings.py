"""Counters settings: ``PRINTCLOUD_COUNTERS_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ProcessSettings, ServiceSettings

DAY_S = 86_400


class CountersSettings(ServiceSettings):
    """Configuration of the counters service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_COUNTERS_", extra="ignore")

    http_port: int = Field(default=8086, ge=0, le=65535)
    quota_rollover_s: float = Field(
        default=60, gt=0, description="How often a replica starts the new period of due quotas."
    )


class RollupSettings(ProcessSettings):
    """Configuration of the roll-up worker (``python -m services.counters.streams worker``).

    It shares the counters prefix; it needs Kafka only, no database.
    """

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_COUNTERS_", extra="ignore")

    rollup_app_id: str = Field(
        default="printcloud-counters-rollups",
        min_length=1,
        description="Consumer group and prefix of the roll-up worker's internal topics.",
    )
    rollup_allowed_lateness_s: float = Field(
        default=7 * DAY_S,
        ge=0,
        description="A job.completed whose time is older than the newest one seen minus this "
        "is too late for its windows: it is parked on the dead-letter topic.",
    )
    rollup_data_dir: str = Field(
        default="", description="Worker data directory (default: a temporary directory)."
    )
    rollup_partitions: int = Field(
        default=6, ge=1, description="Partitions of the worker's repartition and table topics."
    )
    rollup_replication: int = Field(
        default=1, ge=1, description="Replication factor of the worker's internal topics."
    )
    rollup_metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Port of the worker's /metrics (0: none)."
    )
    rollup_web_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of faust's own web server, bound to http_host (0: off, the default; "
        "nothing in Printcloud uses it).",
    )
