"""SQL for the device command ledger."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

__all__ = ["ack_command", "device_holder", "insert_command", "pending_commands"]


async def device_holder(
    conn: asyncpg.Connection, device_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID | None] | None:
    """(tenant, the device holding the websocket, the bridged printer or None) for a
    printer or connector id; a bridged printer's commands go to its connector."""
    row = await conn.fetchrow(
        """
        SELECT p.tenant_id, coalesce(d.connector_id, p.id) AS holder,
               CASE WHEN d.connector_id IS NULL THEN NULL ELSE p.id END AS target
        FROM printers p LEFT JOIN connector_devices d ON d.printer_id = p.id
        WHERE p.id = $1
        UNION ALL
        SELECT c.tenant_id, c.id, NULL FROM connectors c WHERE c.id = $1
        """,
        device_id,
    )
    return (row["tenant_id"], row["holder"], row["target"]) if row else None


async def insert_command(
    conn: asyncpg.Connection,
    command_id: uuid.UUID,
    holder: uuid.UUID,
    tenant_id: uuid.UUID,
    target: uuid.UUID | None,
    name: str,
    payload: dict[str, Any],
    issued_at: datetime,
) -> None:
    """Record a pending command."""
    await conn.execute(
        "INSERT INTO device_commands (command_id, device_id, tenant_id, target_device_id, "
        "name, payload, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        command_id, holder, tenant_id, target, name, payload, issued_at,
    )  # fmt: skip


async def pending_commands(conn: asyncpg.Connection, device_id: uuid.UUID) -> list[asyncpg.Record]:
    """The device's unacknowledged commands, oldest first."""
    return list(
        await conn.fetch(
            "SELECT command_id, device_id, tenant_id, target_device_id, name, payload, issued_at "
            "FROM device_commands WHERE device_id = $1 AND state = 'pending' ORDER BY issued_at",
            device_id,
        )
    )


async def ack_command(
    conn: asyncpg.Connection,
    command_id: uuid.UUID,
    device_id: uuid.UUID,
    outcome: str,
    detail: str,
    at: datetime,
) -> str | None:
    """Mark a command acknowledged; returns its previous state (None: unknown command)."""
    previous: str | None = await conn.fetchval(
        """
        UPDATE device_commands c SET state = $3, detail = $4, acked_at = $5
        FROM (SELECT state FROM device_commands WHERE command_id = $1 AND device_id = $2
              FOR UPDATE) AS before
        WHERE c.command_id = $1
        RETURNING before.state
        """,
        command_id,
        device_id,
        outcome,
        detail,
        at,
    )
    return previous
