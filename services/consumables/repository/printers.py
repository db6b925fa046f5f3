"""The printer read model (region and model, for the rules), kept from registry.printers."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def apply_printer(conn: asyncpg.Connection, p: Any) -> bool:
    """Store a printer's state from registry.printers unless a newer revision is held."""
    status = await conn.execute(
        """
        INSERT INTO printers (printer_id, tenant_id, name, model, region, location, revision)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (printer_id) DO UPDATE
           SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name, model = EXCLUDED.model,
               region = EXCLUDED.region, location = EXCLUDED.location,
               revision = EXCLUDED.revision, updated_at = now()
         WHERE printers.revision < EXCLUDED.revision
        """,
        p.printer_id, p.tenant_id, p.name, p.model, p.region, p.location, p.revision,
    )  # fmt: skip
    return bool(status.endswith(" 1"))


async def get_printer(conn: asyncpg.Connection, printer_id: uuid.UUID) -> asyncpg.Record | None:
    """A printer of the read model."""
    return await conn.fetchrow("SELECT * FROM printers WHERE printer_id = $1", printer_id)
