"""Read models kept from other services' events: printers, virtual printers, which
connector holds a printer, users' names, sessions at printers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared.printing.capabilities import Capabilities

__all__ = [
    "get_printer",
    "get_virtual_printer",
    "has_session",
    "holder_of",
    "open_session",
    "open_sessions",
    "printers_capabilities",
    "printers_held_by",
    "replace_connector_devices",
    "set_capabilities",
    "set_connection",
    "upsert_printer",
    "upsert_user",
    "upsert_virtual_printer",
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


async def upsert_printer(conn: asyncpg.Connection, data: Any) -> None:
    """A printer's descriptive state, unless an equal or newer revision is stored."""
    await conn.execute(
        """
        INSERT INTO printers (id, tenant_id, name, model, region, revision)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET name = $3, model = $4, region = $5, revision = $6
        WHERE printers.revision < $6 AND printers.tenant_id = $2
        """,
        data.printer_id,
        data.tenant_id,
        data.name,
        data.model,
        data.region,
        data.revision,
    )


async def set_capabilities(
    conn: asyncpg.Connection,
    printer_id: uuid.UUID,
    tenant_id: uuid.UUID,
    version: int,
    document: dict[str, Any],
) -> None:
    """A printer's capabilities, unless a newer version is stored."""
    await conn.execute(
        """
        INSERT INTO printers (id, tenant_id, capabilities, capabilities_version)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET capabilities = $3, capabilities_version = $4
        WHERE printers.capabilities_version < $4 AND printers.tenant_id = $2
        """,
        printer_id,
        tenant_id,
        document,
        version,
    )


async def set_connection(
    conn: asyncpg.Connection, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
) -> None:
    """A printer's connection state, unless a later one is stored."""
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


async def upsert_virtual_printer(conn: asyncpg.Connection, data: Any) -> None:
    """A virtual printer's state, unless an equal or newer revision is stored."""
    await conn.execute(
        """
        INSERT INTO virtual_printers (id, tenant_id, name, revision, members)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET name = $3, revision = $4, members = $5
        WHERE virtual_printers.revision < $4 AND virtual_printers.tenant_id = $2
        """,
        data.virtual_printer_id,
        data.tenant_id,
        data.name,
        data.revision,
        data.members,
    )


async def replace_connector_devices(
    conn: asyncpg.Connection,
    connector_id: uuid.UUID,
    tenant_id: uuid.UUID,
    revision: int,
    printer_ids: Sequence[uuid.UUID],
) -> bool:
    """Make the connector the holder of exactly ``printer_ids``; False for a stale revision."""
    applied = await conn.fetchval(
        """
        INSERT INTO connectors (id, tenant_id, revision) VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE SET revision = $3
        WHERE connectors.revision < $3 AND connectors.tenant_id = $2
        RETURNING true
        """,
        connector_id,
        tenant_id,
        revision,
    )
    if not applied:
        return False
    await conn.execute(
        "DELETE FROM printer_holders WHERE connector_id = $1 AND NOT printer_id = ANY($2::uuid[])",
        connector_id,
        list(printer_ids),
    )
    await conn.execute(
        """
        INSERT INTO printer_holders (printer_id, connector_id, tenant_id)
        SELECT p, $1, $2 FROM unnest($3::uuid[]) AS p
        ON CONFLICT (printer_id) DO UPDATE SET connector_id = $1, tenant_id = $2
        """,
        connector_id,
        tenant_id,
        list(printer_ids),
    )
    return True


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
