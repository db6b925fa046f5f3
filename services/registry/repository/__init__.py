"""SQL for the registry's own schema: one class per table family, built on a connection,
returning domain objects; :class:`RegistryRepository` bundles them for a unit of work
(``shared.db.uow``)."""

from __future__ import annotations

import asyncpg

from services.registry.repository.commands import DeviceCommands
from services.registry.repository.connectors import Connectors
from services.registry.repository.onboarding import OnboardingAttempts, Registrations
from services.registry.repository.printers import Printers
from services.registry.repository.sharing import Sharing
from services.registry.repository.tenants import Tenants
from services.registry.repository.virtual_printers import VirtualPrinters


class RegistryRepository:
    """Every table of the registry's schema, on one connection (one transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.tenants = Tenants(conn)
        self.printers = Printers(conn)
        self.virtual_printers = VirtualPrinters(conn)
        self.registrations = Registrations(conn)
        self.attempts = OnboardingAttempts(conn)
        self.connectors = Connectors(conn)
        self.commands = DeviceCommands(conn)
        self.sharing = Sharing(conn)


__all__ = [
    "Connectors",
    "DeviceCommands",
    "OnboardingAttempts",
    "Printers",
    "Registrations",
    "RegistryRepository",
    "Sharing",
    "Tenants",
    "VirtualPrinters",
]
