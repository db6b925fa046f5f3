"""The shapes of the registry's HTTP requests (query parameters) and answers, as the
OpenAPI document describes them (distinct from the domain's commands and entities)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.printing.capabilities import Capabilities


class Page(BaseModel):
    """Keyset pagination: ``after`` is the last id of the previous page."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None


class PrinterPage(Page):
    """A page of printers; operators may narrow it to one tenant."""

    tenant_id: uuid.UUID | None = None


class CapabilitiesQuery(BaseModel):
    """``version`` selects an older capabilities version (default: the current one)."""

    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(default=None, ge=1)


NEXT_AFTER = "Pass as `after` for the next page; `null` when this page is not full."


class Tenant(BaseModel):
    """An organisation using Printcloud."""

    id: uuid.UUID
    name: str
    created_at: datetime


class TenantList(BaseModel):
    """One page of tenants, in id order."""

    items: list[Tenant]
    next_after: uuid.UUID | None = Field(description=NEXT_AFTER)


class Printer(BaseModel):
    """A printer of one tenant."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    model: str
    region: str
    location: str | None
    connection_state: Literal["unknown", "online", "offline"] = Field(
        description="`online` while the printer holds a websocket to a gateway (a printer "
        "bridged by a connector: while its connector reports it reachable); `unknown` until "
        "it first connects or is first reported."
    )
    revision: int = Field(ge=1, description="1 at registration, one more with every change.")
    created_at: datetime
    updated_at: datetime
    capabilities_version: int = Field(
        ge=0, description="The current capabilities version; 0 until the printer first reports."
    )
    last_seen_at: datetime | None = Field(
        description="When the gateway last saw the printer connect or disconnect."
    )


class PrinterList(BaseModel):
    """One page of printers, in id order."""

    items: list[Printer]
    next_after: uuid.UUID | None = Field(description=NEXT_AFTER)


class PrinterCapabilities(BaseModel):
    """A version of what a printer reported it can do."""

    printer_id: uuid.UUID
    version: int = Field(ge=1)
    fingerprint: str = Field(description="SHA-256 (hex) of the canonical capabilities document.")
    reported_at: datetime
    capabilities: Capabilities


class VirtualPrinter(BaseModel):
    """A shared pull-print queue over some of the tenant's printers."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    revision: int = Field(ge=1)
    members: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class VirtualPrinterWithCapabilities(VirtualPrinter):
    """A virtual printer and what every member supports."""

    effective_capabilities: Capabilities = Field(
        description="The intersection of the members' current capabilities."
    )
    members_without_capabilities: list[uuid.UUID] = Field(
        description="Members that have not reported capabilities yet (left out of the "
        "intersection)."
    )


class VirtualPrinterList(BaseModel):
    """One page of virtual printers, in id order."""

    items: list[VirtualPrinter]
    next_after: uuid.UUID | None = Field(description=NEXT_AFTER)


class Registration(BaseModel):
    """A device's request to join, as the device (and its administrator) sees it."""

    registration_id: uuid.UUID
    kind: Literal["printer", "connector"]
    status: Literal["pending", "claimed", "expired"]
    fingerprint: str = Field(description="Lowercase hex SHA-256 of the key's SPKI DER.")
    expires_at: datetime
    poll_url: str
    claim_code: str | None = Field(default=None, description="Shown while pending.")
    claim_url: str | None = None
    device_id: uuid.UUID | None = Field(default=None, description="Once claimed.")
    tenant_id: uuid.UUID | None = Field(default=None, description="Once claimed.")
    gateway_url: str | None = Field(
        default=None, description="Once claimed, to the device itself: where to connect."
    )
    api_url: str | None = Field(
        default=None,
        description="Once claimed, to the device itself: the public base URL of the HTTP APIs.",
    )


class ClaimedDevice(BaseModel):
    """A device claimed for a tenant."""

    registration_id: uuid.UUID
    device_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: Literal["printer", "connector"]
    model: str
    fingerprint: str
    location: str = Field(description="Path of the new printer or connector.")


class BridgedPrinter(BaseModel):
    """A printer a connector bridges."""

    printer_id: uuid.UUID
    uri: str
    name: str
    files_uri: str | None = Field(
        default=None, description="Where the printer takes files; null: it takes none."
    )


class Connector(BaseModel):
    """A connector and the printers it is responsible for."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    model: str
    region: str
    location: str | None
    revision: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime
    devices: list[BridgedPrinter]


class CommandQueued(BaseModel):
    """A command recorded in the device command ledger."""

    command_id: uuid.UUID
    state: Literal["pending"]


class PendingCommand(BaseModel):
    """A command the device has not acknowledged yet."""

    command_id: uuid.UUID
    device_id: uuid.UUID = Field(description="The device holding the websocket.")
    tenant_id: uuid.UUID
    target_device_id: uuid.UUID | None = Field(
        description="The printer a connector bridges, when the command is for it."
    )
    name: str
    payload: dict[str, Any]
    issued_at: datetime


class CommandOutcome(PendingCommand):
    """A command and what became of it."""

    state: Literal["pending", "done", "failed", "rejected"] = Field(
        description="`pending` until the device acknowledges it; `rejected` with a detail "
        "starting `unsupported:` when the printer cannot do it (no settings, no files)."
    )
    detail: str | None = Field(description="The device's words on the outcome.")
    acked_at: datetime | None


class PendingCommands(BaseModel):
    """The pending commands, oldest first."""

    items: list[PendingCommand]
