"""Events the gateway publishes about connected devices (owner: gateway).

``device_id`` is the printer's or the connector's id. For a printer bridged by a
connector, the connector reports on the printer's behalf and ``via_connector``
names it.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData
from shared.printing.capabilities import Capabilities


class _DeviceEvent(EventData):
    device_id: uuid.UUID
    tenant_id: uuid.UUID

    def partition_key(self) -> str:
        return str(self.device_id)


class DeviceCapabilitiesReported(_DeviceEvent):
    """A device reported what it can do (at connect and whenever it changes)."""

    event_type: ClassVar[str] = "device.capabilities_reported"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.telemetry"

    capabilities: Capabilities
    reported_at: AwareDatetime
    via_connector: uuid.UUID | None = None


class DeviceConnected(_DeviceEvent):
    """A device completed authentication on a gateway replica."""

    event_type: ClassVar[str] = "device.connected"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.presence"

    session_id: uuid.UUID
    gateway: str = Field(max_length=200, description="The gateway replica holding the socket.")
    at: AwareDatetime


class DeviceDisconnected(_DeviceEvent):
    """A device's websocket closed (or its heartbeats stopped)."""

    event_type: ClassVar[str] = "device.disconnected"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.presence"

    session_id: uuid.UUID
    gateway: str = Field(max_length=200)
    at: AwareDatetime
    reason: Literal["closed", "heartbeat_timeout", "replaced", "shutdown", "error"]


class DeviceStatusReported(_DeviceEvent):
    """A device's state in IPP terms (printer-state and printer-state-reasons)."""

    event_type: ClassVar[str] = "device.status_reported"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.telemetry"

    state: Literal["idle", "processing", "stopped"]
    reasons: list[str] = Field(default_factory=list)
    message: str = ""
    reported_at: AwareDatetime
    via_connector: uuid.UUID | None = None


class DeviceJobStatusReported(_DeviceEvent):
    """A device reported progress of a print job."""

    event_type: ClassVar[str] = "device.job_status_reported"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.telemetry"

    job_id: uuid.UUID
    state: Literal["received", "printing", "completed", "failed", "canceled"]
    detail: str = ""
    reported_at: AwareDatetime
    via_connector: uuid.UUID | None = None


EVENTS = (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceDisconnected,
    DeviceStatusReported,
    DeviceJobStatusReported,
)
