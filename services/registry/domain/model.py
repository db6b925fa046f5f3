"""Registry entities: pure values and rules, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from shared.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class Tenant:
    """An organisation using Printcloud."""

    id: uuid.UUID
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Printer:
    """A printer of one tenant; ``revision`` counts its changes from 1."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    model: str
    region: str
    location: str | None
    connection_state: str
    revision: int
    created_at: datetime
    updated_at: datetime
    capabilities_version: int = 0
    last_seen_at: datetime | None = None
    presence_session: uuid.UUID | None = None

    def updated(self, changes: dict[str, str | None], now: datetime) -> tuple[Printer, list[str]]:
        """The printer after ``changes`` and the names of the fields that really changed."""
        nulls = [k for k, v in changes.items() if v is None and k != "location"]
        if nulls:
            raise ValidationFailed(
                "these fields cannot be cleared", [FieldError(k, "may not be null") for k in nulls]
            )
        changed = sorted(k for k, v in changes.items() if getattr(self, k) != v)
        if not changed:
            return self, []
        return (
            replace(self, **changes, revision=self.revision + 1, updated_at=now),  # type: ignore[arg-type]
            changed,
        )


def presence_after(
    p: Printer, *, connected: bool, session: uuid.UUID, at: datetime
) -> Printer | None:
    """The printer after a presence event, or None when the event changes nothing.

    Events of an older session are ignored: a device that reconnected to another
    gateway replica may have its new ``connected`` arrive before the old
    socket's ``disconnected``.
    """
    if p.last_seen_at is not None and at < p.last_seen_at:
        return None
    if connected:
        return replace(p, connection_state="online", presence_session=session, last_seen_at=at)
    if p.presence_session not in (None, session):
        return None
    return replace(p, connection_state="offline", presence_session=None, last_seen_at=at)


@dataclass(frozen=True)
class VirtualPrinter:
    """A shared queue: jobs wait here until released at one of the member printers."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    revision: int
    members: tuple[uuid.UUID, ...]
    created_at: datetime
    updated_at: datetime

    def updated(
        self, name: str | None, members: list[uuid.UUID] | None, now: datetime
    ) -> tuple[VirtualPrinter, list[str]]:
        """The virtual printer after a change and the names of what really changed."""
        changes: dict[str, object] = {}
        if name is not None and name != self.name:
            changes["name"] = name
        if members is not None and tuple(dict.fromkeys(members)) != self.members:
            changes["members"] = tuple(dict.fromkeys(members))
        if not changes:
            return self, []
        after = replace(self, **changes, revision=self.revision + 1, updated_at=now)  # type: ignore[arg-type]
        return after, sorted(changes)


@dataclass(frozen=True)
class CapabilitiesVersion:
    """One version of what a printer reported it can do (the document as reported)."""

    printer_id: uuid.UUID
    version: int
    fingerprint: str
    document: dict[str, object]
    reported_at: datetime


@dataclass(frozen=True)
class Connector:
    """A device that bridges printers which cannot connect themselves."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    model: str
    region: str
    location: str | None
    revision: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BridgedPrinter:
    """A printer a connector is responsible for, and how the connector reaches it."""

    printer_id: uuid.UUID
    uri: str
    name: str
    model: str
    files_uri: str | None = None


@dataclass(frozen=True)
class CommandRoute:
    """Where a device's commands go: the device holding the websocket (a bridged
    printer's connector), naming the bridged printer as target."""

    tenant_id: uuid.UUID
    holder: uuid.UUID
    target: uuid.UUID | None


@dataclass(frozen=True)
class DeviceCommand:
    """A command in the device command ledger."""

    command_id: uuid.UUID
    device_id: uuid.UUID
    tenant_id: uuid.UUID
    target_device_id: uuid.UUID | None
    name: str
    payload: dict[str, object]
    issued_at: datetime
