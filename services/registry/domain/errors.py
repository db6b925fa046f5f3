"""Registry domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, NotFound


@dataclass
class TenantNotFound(NotFound):
    code: str = "tenant-not-found"


@dataclass
class PrinterNotFound(NotFound):
    code: str = "printer-not-found"


@dataclass
class CapabilitiesNotFound(NotFound):
    code: str = "capabilities-not-found"


@dataclass
class DuplicateName(Conflict):
    code: str = "duplicate-name"


@dataclass
class VirtualPrinterNotFound(NotFound):
    code: str = "virtual-printer-not-found"
