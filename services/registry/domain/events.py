"""Events the registry publishes: the contract lives in
:mod:`shared.events.contracts.registry`, where the services that read them find it."""

from __future__ import annotations

from shared.events.contracts.devices import ConnectorDevicesChanged, ConnectorRegistered
from shared.events.contracts.registry import (
    EVENTS,
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterUpdated,
    TenantCreated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)

__all__ = [
    "EVENTS",
    "ConnectorDevicesChanged",
    "ConnectorRegistered",
    "PrinterCapabilitiesChanged",
    "PrinterConnectionChanged",
    "PrinterRegistered",
    "PrinterUpdated",
    "TenantCreated",
    "VirtualPrinterCreated",
    "VirtualPrinterUpdated",
]
