"""SQL for connectors and the printers each one bridges."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.registry.domain.model import BridgedPrinter, Connector
from shared.db.uow import AlreadyExists

_COLUMNS = "id, tenant_id, name, model, region, location, revision, created_at, updated_at"


class Connectors:
    """Connectors of every tenant."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(
        self,
        connector_id: uuid.UUID,
        tenant_id: uuid.UUID,
        name: str,
        model: str,
        region: str,
        location: str | None,
    ) -> Connector:
        """Insert a connector; AlreadyExists if the tenant has one of that name."""
        try:
            row = await self.conn.fetchrow(
                "INSERT INTO connectors (id, tenant_id, name, model, region, location) "
                f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
                connector_id, tenant_id, name, model, region, location,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None
        return Connector(**dict(row))

    async def get(self, connector_id: uuid.UUID, *, for_update: bool = False) -> Connector | None:
        """A connector by id."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM connectors WHERE id = $1{lock}", connector_id
        )
        return Connector(**dict(row)) if row else None

    async def devices(self, connector_id: uuid.UUID) -> list[BridgedPrinter]:
        """The printers a connector is responsible for, by printer name."""
        rows = await self.conn.fetch(
            "SELECT d.printer_id, d.uri, p.name, p.model, d.files_uri FROM connector_devices d "
            "JOIN printers p ON p.id = d.printer_id WHERE d.connector_id = $1 ORDER BY p.name",
            connector_id,
        )
        return [BridgedPrinter(**dict(r)) for r in rows]

    async def replace_devices(
        self,
        connector_id: uuid.UUID,
        devices: list[tuple[uuid.UUID, str, str | None]],
        now: datetime,
    ) -> None:
        """Make ``devices`` (printer id, URI, file endpoint) the connector's whole list;
        AlreadyExists if a printer is bridged by another connector (the enclosing
        transaction stays usable)."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    "DELETE FROM connector_devices WHERE connector_id = $1", connector_id
                )
                await self.conn.execute(
                    "INSERT INTO connector_devices (connector_id, printer_id, uri, files_uri) "
                    "SELECT $1, p, u, f FROM unnest($2::uuid[], $3::text[], $4::text[])"
                    " AS x(p, u, f)",
                    connector_id,
                    [d[0] for d in devices],
                    [d[1] for d in devices],
                    [d[2] for d in devices],
                )
                await self.conn.execute(
                    "UPDATE connectors SET revision = revision + 1, updated_at = $2 WHERE id = $1",
                    connector_id,
                    now,
                )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("printer_id") from None
