"""The printer read model (region and model, for the rules), kept from registry.printers
by :mod:`shared.readmodels.devices` (the newest revision wins; another tenant's is refused)."""

from __future__ import annotations

import uuid

import asyncpg

from services.consumables.domain.model import KnownPrinter
from shared.readmodels.devices import PRINTER_FIELDS, PrinterTable

PRINTERS = PrinterTable(key="printer_id", fields=PRINTER_FIELDS, touched="updated_at")
"""The printers read model (what rules match on), applied by :mod:`shared.readmodels.devices`."""


async def get_printer(conn: asyncpg.Connection, printer_id: uuid.UUID) -> KnownPrinter | None:
    """A printer of the read model."""
    row = await conn.fetchrow(
        "SELECT printer_id, tenant_id, name, model, region, location, revision "
        "FROM printers WHERE printer_id = $1",
        printer_id,
    )
    return KnownPrinter(**dict(row)) if row else None
