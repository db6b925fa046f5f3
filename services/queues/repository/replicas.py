"""Read models kept from other services' events: printers, virtual printers, which
connector holds a printer, users' names, sessions at printers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.printing.capabilities import Capabilities
from shared.readmodels.devices import PrinterTable, VirtualPrinterTable, guard_tenant

PRINTERS = PrinterTable(key="id", fields=("name", "model", "region"))
"""The queues' printers read model (``printers``, keyed by ``id``)."""
VIRTUAL_PRINTERS = VirtualPrinterTable(key="id")
"""The queues' virtual printers read model (``virtual_printers``, keyed by ``id``)."""

__all__ = [
    "PRINTERS",
    "VIRTUAL_PRINTERS",
    "get_printer",
    "get_virtual_printer",
    "has_session",
    "holder_of",
    "open_session",
    "open_sessions",
    "printers_capabilities",
    "printers_held_by",
    "set_connection",
    "upsert_user",
]


async def get_printer(conn: asyncpg.Connection, printer_id: uuid.UUID) -> asyncpg.Record | None:
    """A printer of the read model."""
    return await conn.fetchrow("SELECT * FROM printers WHERE id = $1", printer_id)


async def printers_capabilities(
    conn: asyncpg.Connection, printer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Capabilities | None]:
    """The latest capabilities of each printer known (None: not reported yet)."""
    rows = await conn.fetch(
        "SELECT id, capabilities FROM printers WHERE id = ANY($1::uuid[])", list(printer_ids)
    )
    return {
        r["id"]: Capabilities.model_validate(r["capabilities"]) if r["capabilities"] else None
        for r in rows
    }


async def set_connection(
    conn: asyncpg.Connection, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
) -> None:
    """A printer's connection state, unless a later one is stored (:class:`TenantMismatch`
    when the printer is another tenant's)."""
    await guard_tenant(conn, PRINTERS, printer_id, tenant_id)
    await conn.execute(
        """
        INSERT INTO printers (id, tenant_id, connection_state, connection_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET connection_state = $3, connection_at = $4
        WHERE (printers.connection_at IS NULL OR printers.connection_at <= $4)
          AND printers.tenant_id = $2
        """,
        printer_id,
        tenant_id,
        state,
        at,
    )


async def get_virtual_printer(
    conn: asyncpg.Connection, virtual_printer_id: uuid.UUID
) -> asyncpg.Record | None:
    """A virtual printer of the read model."""
    return await conn.fetchrow("SELECT * FROM virtual_printers WHERE id = $1", virtual_printer_id)


async def holder_of(conn: asyncpg.Connection, printer_id: uuid.UUID) -> uuid.UUID:
    """The device holding the printer's websocket: its connector, or the printer itself."""
    holder = await conn.fetchval(
        "SELECT connector_id FROM printer_holders WHERE printer_id = $1", printer_id
    )
    return holder or printer_id


async def printers_held_by(
    conn: asyncpg.Connection, device_id: uuid.UUID, tenant_id: uuid.UUID
) -> list[uuid.UUID]:
    """The printers a device answers for: itself, and those it bridges as a connector."""
    rows = await conn.fetch(
        "SELECT printer_id FROM printer_holders WHERE connector_id = $1 AND tenant_id = $2",
        device_id,
        tenant_id,
    )
    own = await conn.fetchval(
        "SELECT id FROM printers WHERE id = $1 AND tenant_id = $2", device_id, tenant_id
    )
    return ([own] if own else []) + [r["printer_id"] for r in rows]


async def upsert_user(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    display_name: str,
    revision: int,
    deleted: bool,
) -> None:
    """A user's display name, unless an equal or newer revision is stored."""
    await conn.execute(
        """
        INSERT INTO users (id, tenant_id, display_name, revision, deleted)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET display_name = $3, revision = $4, deleted = $5
        WHERE users.revision < $4 OR ($5 AND NOT users.deleted)
        """,
        user_id,
        tenant_id,
        display_name,
        revision,
        deleted,
    )


async def open_session(conn: asyncpg.Connection, **values: Any) -> bool:
    """Record a session at a printer; False when it was already recorded."""
    return bool(
        await conn.fetchval(
            """
            INSERT INTO sessions (id, tenant_id, printer_id, user_id, display_name, opened_at,
                                  expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING true
            """,
            values["id"],
            values["tenant_id"],
            values["printer_id"],
            values["user_id"],
            values["display_name"],
            values["opened_at"],
            values["expires_at"],
        )
    )


async def has_session(
    conn: asyncpg.Connection, printer_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> bool:
    """Whether the user has an open session at the printer."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE printer_id = $1 AND user_id = $2 "
            "AND expires_at > $3)",
            printer_id,
            user_id,
            now,
        )
    )


async def open_sessions(
    conn: asyncpg.Connection, printer_ids: Sequence[uuid.UUID], now: datetime
) -> list[asyncpg.Record]:
    """Open sessions at the printers, newest first."""
    return list(
        await conn.fetch(
            "SELECT * FROM sessions WHERE printer_id = ANY($1::uuid[]) AND expires_at > $2 "
            "ORDER BY opened_at DESC",
            list(printer_ids),
            now,
        )
    )
