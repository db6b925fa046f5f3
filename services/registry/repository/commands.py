"""SQL for the device command ledger."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.registry.domain.model import CommandRoute, DeviceCommand

_COLUMNS = "command_id, device_id, tenant_id, target_device_id, name, payload, issued_at"


class DeviceCommands:
    """Commands for devices: pending until the device acknowledges them."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def route(self, device_id: uuid.UUID) -> CommandRoute | None:
        """Where commands for a printer or connector go; a bridged printer's go to its
        connector."""
        row = await self.conn.fetchrow(
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
        return CommandRoute(row["tenant_id"], row["holder"], row["target"]) if row else None

    async def insert(self, c: DeviceCommand) -> None:
        """Record a pending command."""
        await self.conn.execute(
            f"INSERT INTO device_commands ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            c.command_id, c.device_id, c.tenant_id, c.target_device_id, c.name, c.payload,
            c.issued_at,
        )  # fmt: skip

    async def pending(self, device_id: uuid.UUID) -> list[DeviceCommand]:
        """The device's unacknowledged commands, oldest first."""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM device_commands "
            "WHERE device_id = $1 AND state = 'pending' ORDER BY issued_at",
            device_id,
        )
        return [DeviceCommand(**dict(r)) for r in rows]

    async def outcome(
        self, command_id: uuid.UUID
    ) -> tuple[DeviceCommand, str, str | None, datetime | None] | None:
        """A command, its state, the device's detail and when it was acknowledged."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS}, state, detail, acked_at FROM device_commands"
            " WHERE command_id = $1",
            command_id,
        )
        if row is None:
            return None
        values = dict(row)
        state, detail, acked_at = values.pop("state"), values.pop("detail"), values.pop("acked_at")
        return DeviceCommand(**values), state, detail, acked_at

    async def ack(
        self, command_id: uuid.UUID, device_id: uuid.UUID, outcome: str, detail: str, at: datetime
    ) -> str | None:
        """Mark a command acknowledged; returns its previous state (None: unknown command)."""
        previous: str | None = await self.conn.fetchval(
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
