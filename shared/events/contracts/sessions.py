"""Users logging in at a printer (owner: auth).

Auth verifies the proof (a phone's signature over a one-time challenge the
printer showed) and publishes ``device.login_approved``; queues opens the
user's session at that printer and releases what the action asks for.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData


class DeviceLoginApproved(EventData):
    """A user proved they stand at a printer; their session there may open."""

    event_type: ClassVar[str] = "device.login_approved"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.device-logins"

    session_id: uuid.UUID
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str = Field(max_length=200)
    action: Literal["open_session", "release_all"] = Field(
        description="open_session: secure-release jobs become printable while the session "
        "lasts; release_all: also move every held pull-print job of the user to the printer."
    )
    method: Literal["phone"] = "phone"
    approved_at: AwareDatetime
    expires_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.printer_id)


EVENTS = (DeviceLoginApproved,)
