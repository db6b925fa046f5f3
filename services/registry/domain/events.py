"""Events the registry publishes (the contract other services and analytics read)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import EventData


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


EVENTS = (TenantCreated, PrinterRegistered, PrinterUpdated)
