"""Configuration of an edge process: ``PRINTCLOUD_EDGE_*``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ProcessSettings

EDGE_PORT = 8080
MiB = 1024 * 1024


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
    max_body_bytes: int = Field(
        default=MiB,
        ge=1024,
        description=(
            "Largest request body on a route that is not a stream (JSON APIs), counted as it "
            "arrives; larger ones are refused with 413 before the service sees them."
        ),
    )
    max_stream_body_bytes: int = Field(
        default=(2 << 30) + MiB,
        ge=1024,
        description="Largest request body on a stream route (document uploads).",
    )
    ws_max_message_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest websocket message in either direction (no compression is offered).",
    )
    max_websockets_per_client: int = Field(
        default=256,
        ge=1,
        description="Websockets one client address may hold open through the edge at once.",
    )
    max_event_streams_per_client: int = Field(
        default=32,
        ge=1,
        description="Server-sent event streams one client address may hold open through the "
        "edge at once; one more is answered 429 too-many-streams.",
    )
    trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(
        default_factory=list,
        description=(
            "Networks of the proxies in front of the edge (JSON list of CIDRs). Only a peer "
            "in one of them may pass X-Forwarded-For on; anyone else's is replaced by the "
            "peer's own address, so services see the real client."
        ),
    )
    openapi_file: Path | None = Field(
        default=None, description="The JSON OpenAPI document to serve at /openapi.json."
    )
