"""SQL for scans a printer sends to a person's phone."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.queues.domain.model import Scan

_COLUMNS = (
    "id, tenant_id, owner_id, printer_id, key_id, public_key, state, document_id, "
    "created_at, delivered_at"
)


class Scans:
    """The scans table."""

    conn: asyncpg.Connection

    async def insert_scan(self, scan: Scan) -> None:
        """Record a requested scan."""
        await self.conn.execute(
            f"INSERT INTO scans ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            scan.id, scan.tenant_id, scan.owner_id, scan.printer_id, scan.key_id,
            scan.public_key, scan.state, scan.document_id, scan.created_at, scan.delivered_at,
        )  # fmt: skip

    async def get_scan(self, scan_id: uuid.UUID, *, for_update: bool = False) -> Scan | None:
        """A scan by id (``for_update`` locks it)."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM scans WHERE id = $1{lock}", scan_id)
        return None if row is None else Scan(**dict(row))

    async def requested_scans(self, printer_ids: list[uuid.UUID]) -> list[Scan]:
        """The scans waiting at these printers, oldest first."""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM scans WHERE printer_id = ANY($1::uuid[]) "
            "AND state = 'requested' ORDER BY created_at LIMIT 100",
            printer_ids,
        )
        return [Scan(**dict(r)) for r in rows]

    async def deliver_scan(self, scan_id: uuid.UUID, document_id: uuid.UUID, at: datetime) -> None:
        """The scan's document arrived."""
        await self.conn.execute(
            "UPDATE scans SET state = 'delivered', document_id = $2, delivered_at = $3 "
            "WHERE id = $1",
            scan_id, document_id, at,
        )  # fmt: skip
