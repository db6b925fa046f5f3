"""Configuration of an edge process: ``PRINTCLOUD_EDGE_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ProcessSettings

EDGE_PORT = 8080


class EdgeSettings(ProcessSettings):
    """Configuration of an edge process: ``PRINTCLOUD_EDGE_*``."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_EDGE_", extra="ignore")

    http_port: int = Field(default=EDGE_PORT, ge=0, le=65535)
    upstreams: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Base URL of each service (JSON object, service name -> URL); a route to a "
            "service without one answers 503."
        ),
    )
    connect_timeout_s: float = Field(default=5, gt=0, description="To open an upstream connection.")
    forwarded_proto: str = Field(
        default="", description="X-Forwarded-Proto to send; empty: the scheme the edge received."
    )
    openapi_file: Path | None = Field(
        default=None, description="The JSON OpenAPI document to serve at /openapi.json."
    )
