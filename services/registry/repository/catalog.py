"""SQL for the registry's own schema."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.registry.domain.model import Printer, Tenant, VirtualPrinter

__all__ = [
    "add_capabilities",
    "current_capabilities",
    "foreign_or_missing",
    "get_printer",
    "get_tenant",
    "get_virtual_printer",
    "insert_printer",
    "insert_tenant",
    "insert_virtual_printer",
    "list_printers",
    "list_tenants",
    "list_virtual_printers",
    "members_capabilities",
    "save_presence",
    "save_printer",
    "save_virtual_printer",
]

_PRINTER_COLUMNS = (
    "id, tenant_id, name, model, region, location, connection_state, revision, "
    "created_at, updated_at, capabilities_version, last_seen_at, presence_session"
)


def _printer(row: asyncpg.Record) -> Printer:
    return Printer(**dict(row))


async def insert_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID, name: str) -> Tenant:
    """Insert a tenant; UniqueViolationError if the name is taken."""
    row = await conn.fetchrow(
        "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
        tenant_id,
        name,
    )
    return Tenant(**dict(row))


async def get_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Tenant | None:
    """A tenant by id."""
    row = await conn.fetchrow("SELECT id, name, created_at FROM tenants WHERE id = $1", tenant_id)
    return Tenant(**dict(row)) if row else None


async def list_tenants(
    conn: asyncpg.Connection, *, after: uuid.UUID | None, limit: int
) -> list[Tenant]:
    """Tenants in id order, keyset-paginated."""
    rows = await conn.fetch(
        "SELECT id, name, created_at FROM tenants WHERE ($1::uuid IS NULL OR id > $1) "
        "ORDER BY id LIMIT $2",
        after,
        limit,
    )
    return [Tenant(**dict(r)) for r in rows]


async def insert_printer(conn: asyncpg.Connection, p: Printer) -> Printer:
    """Insert a printer; UniqueViolationError if the name is taken in the tenant."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO printers (id, tenant_id, name, model, region, location)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_PRINTER_COLUMNS}
        """,
        p.id,
        p.tenant_id,
        p.name,
        p.model,
        p.region,
        p.location,
    )
    return _printer(row)


async def get_printer(
    conn: asyncpg.Connection, printer_id: uuid.UUID, *, for_update: bool = False
) -> Printer | None:
    """A printer by id; ``for_update`` locks its row until the transaction ends."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_PRINTER_COLUMNS} FROM printers WHERE id = $1{lock}", printer_id
    )
    return _printer(row) if row else None


async def save_printer(conn: asyncpg.Connection, p: Printer) -> None:
    """Write a printer's mutable fields back."""
    await conn.execute(
        """
        UPDATE printers SET name = $2, model = $3, region = $4, location = $5,
               revision = $6, updated_at = $7
        WHERE id = $1
        """,
        p.id,
        p.name,
        p.model,
        p.region,
        p.location,
        p.revision,
        p.updated_at,
    )


async def list_printers(
    conn: asyncpg.Connection, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
) -> list[Printer]:
    """Printers of one tenant (or all, for operators) in id order, keyset-paginated."""
    rows = await conn.fetch(
        f"""
        SELECT {_PRINTER_COLUMNS} FROM printers
        WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id > $2)
        ORDER BY id LIMIT $3
        """,
        tenant_id,
        after,
        limit,
    )
    return [_printer(r) for r in rows]


async def save_presence(conn: asyncpg.Connection, p: Printer) -> None:
    """Write a printer's connection state, session and last-seen time."""
    await conn.execute(
        "UPDATE printers SET connection_state = $2, presence_session = $3, last_seen_at = $4 "
        "WHERE id = $1",
        p.id,
        p.connection_state,
        p.presence_session,
        p.last_seen_at,
    )


async def current_capabilities(
    conn: asyncpg.Connection, printer_id: uuid.UUID, version: int | None = None
) -> asyncpg.Record | None:
    """The latest (or the given) capabilities version of a printer."""
    return await conn.fetchrow(
        """
        SELECT c.version, c.fingerprint, c.document, c.reported_at
        FROM printer_capabilities c JOIN printers p ON p.id = c.printer_id
        WHERE c.printer_id = $1 AND c.version = coalesce($2, p.capabilities_version)
        """,
        printer_id,
        version,
    )


async def add_capabilities(
    conn: asyncpg.Connection,
    printer_id: uuid.UUID,
    version: int,
    fingerprint: str,
    document: dict[str, object],
    reported_at: datetime,
) -> None:
    """Store a new capabilities version and make it the printer's current one."""
    await conn.execute(
        "INSERT INTO printer_capabilities VALUES ($1, $2, $3, $4, $5)",
        printer_id,
        version,
        fingerprint,
        document,
        reported_at,
    )
    await conn.execute(
        "UPDATE printers SET capabilities_version = $2 WHERE id = $1", printer_id, version
    )


async def insert_virtual_printer(conn: asyncpg.Connection, vp: VirtualPrinter) -> None:
    """Insert a virtual printer and its members; UniqueViolationError on a taken name."""
    await conn.execute(
        "INSERT INTO virtual_printers (id, tenant_id, name, revision, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        vp.id,
        vp.tenant_id,
        vp.name,
        vp.revision,
        vp.created_at,
        vp.updated_at,
    )
    await _write_members(conn, vp)


async def save_virtual_printer(conn: asyncpg.Connection, vp: VirtualPrinter) -> None:
    """Write a virtual printer's name, revision and members back."""
    await conn.execute(
        "UPDATE virtual_printers SET name = $2, revision = $3, updated_at = $4 WHERE id = $1",
        vp.id,
        vp.name,
        vp.revision,
        vp.updated_at,
    )
    await conn.execute("DELETE FROM virtual_printer_members WHERE virtual_printer_id = $1", vp.id)
    await _write_members(conn, vp)


async def _write_members(conn: asyncpg.Connection, vp: VirtualPrinter) -> None:
    await conn.execute(
        "INSERT INTO virtual_printer_members (virtual_printer_id, printer_id, position) "
        "SELECT $1, m, pos FROM unnest($2::uuid[]) WITH ORDINALITY AS u(m, pos)",
        vp.id,
        list(vp.members),
    )


_VP_SELECT = """
    SELECT v.id, v.tenant_id, v.name, v.revision, v.created_at, v.updated_at,
           coalesce(array_agg(m.printer_id ORDER BY m.position)
                    FILTER (WHERE m.printer_id IS NOT NULL), '{}') AS members
    FROM virtual_printers v LEFT JOIN virtual_printer_members m ON m.virtual_printer_id = v.id
"""


def _vp(row: asyncpg.Record) -> VirtualPrinter:
    return VirtualPrinter(**{**dict(row), "members": tuple(row["members"])})


async def get_virtual_printer(
    conn: asyncpg.Connection, vp_id: uuid.UUID, *, for_update: bool = False
) -> VirtualPrinter | None:
    """A virtual printer with its members; ``for_update`` locks it."""
    if for_update:
        await conn.execute("SELECT 1 FROM virtual_printers WHERE id = $1 FOR UPDATE", vp_id)
    row = await conn.fetchrow(_VP_SELECT + " WHERE v.id = $1 GROUP BY v.id", vp_id)
    return _vp(row) if row else None


async def list_virtual_printers(
    conn: asyncpg.Connection, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
) -> list[VirtualPrinter]:
    """Virtual printers in id order, keyset-paginated."""
    rows = await conn.fetch(
        _VP_SELECT + " WHERE ($1::uuid IS NULL OR v.tenant_id = $1) AND "
        "($2::uuid IS NULL OR v.id > $2) GROUP BY v.id ORDER BY v.id LIMIT $3",
        tenant_id,
        after,
        limit,
    )
    return [_vp(r) for r in rows]


async def foreign_or_missing(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, printer_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """The ids among ``printer_ids`` that are not printers of ``tenant_id``."""
    rows = await conn.fetch(
        "SELECT id FROM printers WHERE tenant_id = $1 AND id = ANY($2::uuid[])",
        tenant_id,
        printer_ids,
    )
    found = {r["id"] for r in rows}
    return [p for p in printer_ids if p not in found]


async def members_capabilities(
    conn: asyncpg.Connection, printer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, object]]:
    """The current capabilities document of each member that has reported one."""
    rows = await conn.fetch(
        """
        SELECT p.id, c.document FROM printers p
        JOIN printer_capabilities c ON c.printer_id = p.id AND c.version = p.capabilities_version
        WHERE p.id = ANY($1::uuid[])
        """,
        printer_ids,
    )
    return {r["id"]: r["document"] for r in rows}
