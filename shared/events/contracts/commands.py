"""Commands for devices and their acknowledgements.

``device.command_issued`` (owner: registry, which keeps the ledger of what each
device has not acknowledged yet) is delivered by the gateway to the device that
holds the websocket: the printer itself, or the connector bridging it
(``target_device_id`` then names the printer). ``device.command_acked`` (owner:
gateway) is the device's answer; only then does the ledger forget the command.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData


class DeviceCommandIssued(EventData):
    """A command for a device, delivered until the device acknowledges it."""

    event_type: ClassVar[str] = "device.command_issued"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.commands"

    command_id: uuid.UUID
    device_id: uuid.UUID = Field(description="The device holding the websocket (the key).")
    tenant_id: uuid.UUID
    target_device_id: uuid.UUID | None = Field(
        default=None, description="The bridged printer, when the command goes to a connector."
    )
    name: str = Field(min_length=1, max_length=100, description="What to do, e.g. print_job.")
    payload: dict[str, Any] = Field(default_factory=dict)
    issued_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.device_id)


class DeviceCommandAcked(EventData):
    """The device finished with a command: done, failed or rejected."""

    event_type: ClassVar[str] = "device.command_acked"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.command-acks"

    command_id: uuid.UUID
    device_id: uuid.UUID
    tenant_id: uuid.UUID
    outcome: Literal["done", "failed", "rejected"]
    detail: str = ""
    session_id: uuid.UUID
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.device_id)


EVENTS = (DeviceCommandIssued, DeviceCommandAcked)
