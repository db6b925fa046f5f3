"""Gateway settings: ``PRINTCLOUD_GATEWAY_*``."""

from __future__ import annotations

import os
import socket

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.protocols.device import MAX_FRAME_BYTES
from shared.settings import ProcessSettings


class GatewaySettings(ProcessSettings):
    """Configuration of a gateway replica (it keeps no durable state: no database)."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_GATEWAY_", extra="ignore")

    instance: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        description="This replica's name in presence events.",
    )
    registry_url: str = Field(
        default="http://127.0.0.1:8081", description="Where unacknowledged commands are read."
    )
    service_token: SecretStr | None = Field(
        default=None,
        description="The gateway's own service token (pcsvc_gateway_...): it reads devices' "
        "unacknowledged commands from the registry as itself, with only that scope. The "
        "registry holds its digest (service_identities). Unset: commands wait for the feed.",
    )
    heartbeat_interval_s: float = Field(default=20, gt=0)
    idle_timeout_s: float = Field(
        default=60, gt=0, description="A device silent this long is disconnected."
    )
    auth_timeout_s: float = Field(default=10, gt=0, description="Time to answer hello.")
    max_frame_bytes: int = Field(default=MAX_FRAME_BYTES, ge=1024, le=16 * 1024 * 1024)
    send_queue_frames: int = Field(
        default=256, ge=1, description="Frames queued for a slow device before it is dropped."
    )
