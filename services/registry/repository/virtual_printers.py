"""SQL for virtual printers and their members."""

from __future__ import annotations

import uuid

import asyncpg

from services.registry.domain.model import VirtualPrinter
from shared.db.uow import AlreadyExists
from shared.readmodels.sharing import shared_clause, viewer_params
from shared.sharing import Viewer

_VP_SELECT = """
    SELECT v.id, v.tenant_id, v.name, v.revision, v.created_at, v.updated_at,
           coalesce(array_agg(m.printer_id ORDER BY m.position)
                    FILTER (WHERE m.printer_id IS NOT NULL), '{}') AS members
    FROM virtual_printers v LEFT JOIN virtual_printer_members m ON m.virtual_printer_id = v.id
"""


def _vp(row: asyncpg.Record) -> VirtualPrinter:
    return VirtualPrinter(**{**dict(row), "members": tuple(row["members"])})


class VirtualPrinters:
    """Shared pull-print queues over some of a tenant's printers."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, vp: VirtualPrinter) -> None:
        """Insert a virtual printer and its members; AlreadyExists on a taken name."""
        try:
            await self.conn.execute(
                "INSERT INTO virtual_printers (id, tenant_id, name, revision, created_at, "
                "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                vp.id, vp.tenant_id, vp.name, vp.revision, vp.created_at, vp.updated_at,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None
        await self._write_members(vp)

    async def save(self, vp: VirtualPrinter) -> None:
        """Write a virtual printer's name, revision and members back; AlreadyExists on a
        taken name."""
        try:
            await self.conn.execute(
                "UPDATE virtual_printers SET name = $2, revision = $3, updated_at = $4 "
                "WHERE id = $1",
                vp.id,
                vp.name,
                vp.revision,
                vp.updated_at,
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None
        await self.conn.execute(
            "DELETE FROM virtual_printer_members WHERE virtual_printer_id = $1", vp.id
        )
        await self._write_members(vp)

    async def _write_members(self, vp: VirtualPrinter) -> None:
        await self.conn.execute(
            "INSERT INTO virtual_printer_members (virtual_printer_id, printer_id, position) "
            "SELECT $1, m, pos FROM unnest($2::uuid[]) WITH ORDINALITY AS u(m, pos)",
            vp.id,
            list(vp.members),
        )

    async def get(self, vp_id: uuid.UUID, *, for_update: bool = False) -> VirtualPrinter | None:
        """A virtual printer with its members; ``for_update`` locks it."""
        if for_update:
            await self.conn.execute(
                "SELECT 1 FROM virtual_printers WHERE id = $1 FOR UPDATE", vp_id
            )
        row = await self.conn.fetchrow(_VP_SELECT + " WHERE v.id = $1 GROUP BY v.id", vp_id)
        return _vp(row) if row else None

    async def list(
        self,
        *,
        tenant_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
        viewer: Viewer | None = None,
    ) -> list[VirtualPrinter]:
        """Virtual printers in id order, keyset-paginated; only those shared with
        ``viewer`` when given."""
        shared = f" AND {shared_clause('v.id', 4)}" if viewer is not None else ""
        rows = await self.conn.fetch(
            _VP_SELECT + " WHERE ($1::uuid IS NULL OR v.tenant_id = $1) AND "
            "($2::uuid IS NULL OR v.id > $2)" + shared + " GROUP BY v.id ORDER BY v.id LIMIT $3",
            tenant_id,
            after,
            limit,
            *(viewer_params(viewer) if viewer is not None else []),
        )
        return [_vp(r) for r in rows]
