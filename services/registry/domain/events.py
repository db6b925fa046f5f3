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
    PrinterUpdated,
    TenantCreated,
    VirtualPrinterCreated,
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
    "PrinterUpdated",
    "TenantCreated",
    "VirtualPrinterCreated",
    "VirtualPrinterUpdated",
]
