"""Hints for devices (owner: queues), forwarded by the gateway as ``notify`` frames.

A notification is not a command: it is not acknowledged and may be lost with a
gateway replica. The state it points at lives in the cloud (the printer's queue,
its sessions) and a device reads it again on every connect, so a lost hint costs
latency, never a job.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData


class DeviceNotified(EventData):
    """Something changed for a printer: work is available, a job was canceled, a user's
    session at the printer opened or closed."""

    event_type: ClassVar[str] = "device.notified"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "devices.notifications"

    device_id: uuid.UUID = Field(description="The device holding the websocket (the key).")
    tenant_id: uuid.UUID
    target_device_id: uuid.UUID | None = Field(
        default=None, description="The bridged printer, when the hint goes to a connector."
    )
    kind: Literal["work_available", "job_canceled", "session_opened", "session_closed"]
    job_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    detail: dict[str, Any] = Field(default_factory=dict)
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.device_id)


EVENTS = (DeviceNotified,)
