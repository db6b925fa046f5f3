"""SQL for printers, their presence and the capabilities they report."""

from __future__ import annotations

import uuid

import asyncpg

from services.registry.domain.model import CapabilitiesVersion, Printer
from shared.db.uow import AlreadyExists
from shared.readmodels.sharing import shared_clause, viewer_params
from shared.sharing import Viewer

_PRINTER_COLUMNS = (
    "id, tenant_id, name, model, region, location, connection_state, revision, "
    "created_at, updated_at, capabilities_version, last_seen_at, presence_session"
)


def _printer(row: asyncpg.Record) -> Printer:
    return Printer(**dict(row))


class Printers:
    """Printers of every tenant, with their presence and capabilities versions."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, p: Printer) -> Printer:
        """Insert a printer; AlreadyExists if the name is taken in the tenant."""
        try:
            row = await self.conn.fetchrow(
                f"""
                INSERT INTO printers (id, tenant_id, name, model, region, location)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_PRINTER_COLUMNS}
                """,
                p.id, p.tenant_id, p.name, p.model, p.region, p.location,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None
        return _printer(row)

    async def get(self, printer_id: uuid.UUID, *, for_update: bool = False) -> Printer | None:
        """A printer by id; ``for_update`` locks its row until the transaction ends."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_PRINTER_COLUMNS} FROM printers WHERE id = $1{lock}", printer_id
        )
        return _printer(row) if row else None

    async def save(self, p: Printer) -> None:
        """Write a printer's mutable fields back; AlreadyExists on a taken name."""
        try:
            await self.conn.execute(
                """
                UPDATE printers SET name = $2, model = $3, region = $4, location = $5,
                       revision = $6, updated_at = $7
                WHERE id = $1
                """,
                p.id, p.name, p.model, p.region, p.location, p.revision, p.updated_at,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None

    async def list(
        self,
        *,
        tenant_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
        viewer: Viewer | None = None,
    ) -> list[Printer]:
        """Printers of one tenant (or all, for operators) in id order, keyset-paginated;
        only those shared with ``viewer`` when given."""
        shared = f"AND {shared_clause('id', 4)}" if viewer is not None else ""
        rows = await self.conn.fetch(
            f"""
            SELECT {_PRINTER_COLUMNS} FROM printers
            WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id > $2)
            {shared}
            ORDER BY id LIMIT $3
            """,
            tenant_id,
            after,
            limit,
            *(viewer_params(viewer) if viewer is not None else []),
        )
        return [_printer(r) for r in rows]

    async def save_presence(self, p: Printer) -> None:
        """Write a printer's connection state, session and last-seen time."""
        await self.conn.execute(
            "UPDATE printers SET connection_state = $2, presence_session = $3, "
            "last_seen_at = $4 WHERE id = $1",
            p.id,
            p.connection_state,
            p.presence_session,
            p.last_seen_at,
        )

    async def foreign_or_missing(
        self, tenant_id: uuid.UUID, printer_ids: list[uuid.UUID]
    ) -> list[uuid.UUID]:
        """The ids among ``printer_ids`` that are not printers of ``tenant_id``."""
        rows = await self.conn.fetch(
            "SELECT id FROM printers WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
            tenant_id,
            printer_ids,
        )
        found = {r["id"] for r in rows}
        return [p for p in printer_ids if p not in found]

    async def capabilities(
        self, printer_id: uuid.UUID, version: int | None = None
    ) -> CapabilitiesVersion | None:
        """The latest (or the given) capabilities version of a printer."""
        row = await self.conn.fetchrow(
            """
            SELECT c.printer_id, c.version, c.fingerprint, c.document, c.reported_at
            FROM printer_capabilities c JOIN printers p ON p.id = c.printer_id
            WHERE c.printer_id = $1 AND c.version = coalesce($2, p.capabilities_version)
            """,
            printer_id,
            version,
        )
        return CapabilitiesVersion(**dict(row)) if row else None

    async def add_capabilities(self, c: CapabilitiesVersion) -> None:
        """Store a new capabilities version and make it the printer's current one."""
        await self.conn.execute(
            "INSERT INTO printer_capabilities VALUES ($1, $2, $3, $4, $5)",
            c.printer_id, c.version, c.fingerprint, c.document, c.reported_at,
        )  # fmt: skip
        await self.conn.execute(
            "UPDATE printers SET capabilities_version = $2 WHERE id = $1", c.printer_id, c.version
        )

    async def members_capabilities(
        self, printer_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, object]]:
        """The current capabilities document of each printer that has reported one."""
        rows = await self.conn.fetch(
            """
            SELECT p.id, c.document FROM printers p
            JOIN printer_capabilities c
              ON c.printer_id = p.id AND c.version = p.capabilities_version
            WHERE p.id = ANY($1::uuid[])
            """,
            printer_ids,
        )
        return {r["id"]: r["document"] for r in rows}
