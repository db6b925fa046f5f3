"""Events the registry publishes. Other services read all of them, so their models
live in :mod:`shared.events.contracts` (registry, devices, commands) and are
re-exported here."""

from __future__ import annotations

from shared.events.contracts.commands import DeviceCommandIssued
from shared.events.contracts.devices import (
    ConnectorDevicesChanged,
    ConnectorRegistered,
    DeviceClaimed,
)
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterSharingChanged,
    PrinterUpdated,
    TenantCreated,
    VirtualPrinterCreated,
    VirtualPrinterSharingChanged,
    VirtualPrinterUpdated,
)

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
    DeviceClaimed,
    DeviceCommandIssued,
)

__all__ = [
    "EVENTS",
    "ConnectorDevicesChanged",
    "ConnectorRegistered",
    "DeviceClaimed",
    "DeviceCommandIssued",
    "PrinterCapabilitiesChanged",
    "PrinterConnectionChanged",
    "PrinterRegistered",
    "PrinterSharingChanged",
    "PrinterUpdated",
    "TenantCreated",
    "VirtualPrinterCreated",
    "VirtualPrinterSharingChanged",
    "VirtualPrinterUpdated",
]
