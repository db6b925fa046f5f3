"""Registry domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, Gone, NotFound


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


@dataclass
class ClaimCodeNotFound(NotFound):
    code: str = "claim-code-not-found"


@dataclass
class ClaimCodeExpired(Gone):
    code: str = "claim-code-expired"


@dataclass
class RegistrationNotFound(NotFound):
    code: str = "registration-not-found"


@dataclass
class AlreadyClaimed(Conflict):
    code: str = "device-already-claimed"


@dataclass
class ConnectorNotFound(NotFound):
    code: str = "connector-not-found"
