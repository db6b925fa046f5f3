"""Tenants, printers and virtual printers (owner: registry).

The registry publishes them; queues, routing, consumables and analytics keep
what they need of them in their own schemas."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.contracts.devices import ConnectorDevicesChanged, ConnectorRegistered
from shared.events.envelope import EventData
from shared.printing.capabilities import Capabilities
from shared.sharing import SharedWith


class TenantCreated(EventData):
    """A tenant (an organisation using Printcloud) was created."""

    event_type: ClassVar[str] = "tenant.created"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.tenants"

    tenant_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)

    def partition_key(self) -> str:
        return str(self.tenant_id)


class _PrinterState(EventData):
    """The full descriptive state of a printer after a change."""

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int = Field(ge=1, description="Increases by one with every change.")
    name: str
    model: str
    region: str
    location: str | None

    def partition_key(self) -> str:
        return str(self.printer_id)


class PrinterRegistered(_PrinterState):
    """A printer was added to a tenant (revision 1)."""

    event_type: ClassVar[str] = "printer.registered"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.printers"


class PrinterUpdated(_PrinterState):
    """A printer's descriptive attributes changed; carries the full new state."""

    event_type: ClassVar[str] = "printer.updated"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.printers"

    revision: int = Field(ge=2, description="Increases by one with every change.")
    changed: list[str] = Field(description="Names of the fields that changed.")


class PrinterCapabilitiesChanged(EventData):
    """A printer reported capabilities that differ from its last version."""

    event_type: ClassVar[str] = "printer.capabilities_changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.printers"

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    version: int = Field(ge=1, description="1 for the first report, +1 for each change.")
    capabilities: Capabilities
    fingerprint: str = Field(description="SHA-256 of the canonical capabilities document.")

    def partition_key(self) -> str:
        return str(self.printer_id)


class PrinterConnectionChanged(EventData):
    """A printer went online or offline (as seen by the gateway)."""

    event_type: ClassVar[str] = "printer.connection_changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.printers"

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    connection_state: Literal["online", "offline"]
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.printer_id)


class _VirtualPrinterState(EventData):
    virtual_printer_id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int = Field(ge=1)
    name: str
    members: list[uuid.UUID] = Field(description="Member printer ids, in the admin's order.")

    def partition_key(self) -> str:
        return str(self.virtual_printer_id)


class VirtualPrinterCreated(_VirtualPrinterState):
    """A virtual printer (shared pull-print queue) was created."""

    event_type: ClassVar[str] = "virtual_printer.created"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.virtual-printers"


class VirtualPrinterUpdated(_VirtualPrinterState):
    """A virtual printer was renamed or its members changed; carries the full state."""

    event_type: ClassVar[str] = "virtual_printer.updated"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.virtual-printers"

    revision: int = Field(ge=2)
    changed: list[str]


class PrinterSharingChanged(EventData):
    """With whom a printer is shared changed (the full sharing). A printer that never
    had one is shared with its whole tenant."""

    event_type: ClassVar[str] = "printer.sharing_changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.printers"

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int = Field(ge=1, description="1 for the first change, +1 for each next one.")
    shared_with: SharedWith

    def partition_key(self) -> str:
        return str(self.printer_id)


class VirtualPrinterSharingChanged(EventData):
    """With whom a virtual printer is shared changed (the full sharing). A virtual
    printer that never had one is shared with its whole tenant."""

    event_type: ClassVar[str] = "virtual_printer.sharing_changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.virtual-printers"

    virtual_printer_id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int = Field(ge=1, description="1 for the first change, +1 for each next one.")
    shared_with: SharedWith

    def partition_key(self) -> str:
        return str(self.virtual_printer_id)


EVENTS = (
    TenantCreated,
    PrinterRegistered,
    PrinterUpdated,
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
    PrinterSharingChanged,
    VirtualPrinterSharingChanged,
    ConnectorRegistered,
    ConnectorDevicesChanged,
)
