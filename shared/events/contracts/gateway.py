"""Events the gateway publishes about connected devices (owner: gateway).

``device_id`` is the printer's or the connector's id. For a printer bridged by a
connector, the connector reports on the printer's behalf and ``via_connector``
names it.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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


class CounterValue(BaseModel):
    """One counter of a device: what it counts, and its value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Literal[
        "total", "colour", "mono", "duplex", "sheets", "impressions", "impressions_colour",
        "impressions_mono", "sheets_duplex", "media",
    ]  # fmt: skip
    unit: Literal["impressions", "sheets"] = "impressions"
    media: str | None = Field(default=None, max_length=255, description="For per-media counters.")
    value: int = Field(ge=0, le=2**63 - 1)


class DeviceCountersReported(_DeviceEvent):
    """A consistent reading of a device's counters.

    The device read its job-activity sequence before and after reading the
    counters; the reading is consistent only when both are equal (no job ran
    while it was read). ``attempts`` says how many reads it took.
    """

    event_type: ClassVar[str] = "device.counters_reported"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.telemetry"

    reading_id: uuid.UUID = Field(description="Unique per reading: a repeat is a duplicate.")
    counters: list[CounterValue] = Field(min_length=1, max_length=256)
    activity_before: int = Field(ge=0, description="Job-activity sequence before the read.")
    activity_after: int = Field(ge=0, description="Job-activity sequence after the read.")
    attempts: int = Field(ge=1, le=100, default=1)
    source: Literal["device", "ipp"] = "device"
    reported_at: AwareDatetime
    via_connector: uuid.UUID | None = None


class SupplyLevel(BaseModel):
    """One supply: its kind, its colour (for marking agents) and its level."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["toner", "ink", "drum", "waste", "fuser", "staples", "other"]
    colour: Literal["black", "cyan", "magenta", "yellow", "none", "other"] = "none"
    level_percent: int | None = Field(
        ge=0, le=100, description="0-100; None when the device reports it unknown."
    )
    name: str = Field(default="", max_length=255, description="The device's own name for it.")


class DeviceSuppliesReported(_DeviceEvent):
    """A device's supply levels (marker-levels of an IPP printer)."""

    event_type: ClassVar[str] = "device.supplies_reported"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.telemetry"

    supplies: list[SupplyLevel] = Field(min_length=1, max_length=64)
    source: Literal["device", "ipp"] = "device"
    reported_at: AwareDatetime
    via_connector: uuid.UUID | None = None


EVENTS = (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceDisconnected,
    DeviceStatusReported,
    DeviceJobStatusReported,
    DeviceCountersReported,
    DeviceSuppliesReported,
)
