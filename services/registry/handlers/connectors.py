"""Connectors: the printers each one is responsible for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from services.registry import repository as repo
from services.registry.domain.commands import AssignConnectorDevices
from services.registry.domain.errors import ConnectorNotFound
from services.registry.domain.events import ConnectorDevicesChanged
from services.registry.handlers import commands
from shared.db.outbox import Emitter
from shared.errors import Conflict, FieldError, ValidationFailed
from shared.http.auth import Principal


async def assign_devices(
    pool: asyncpg.Pool,
    connector_id: uuid.UUID,
    cmd: AssignConnectorDevices,
    who: Principal,
    out: Emitter,
) -> list[asyncpg.Record]:
    """Replace the connector's device list; each printer must be of its tenant and
    bridged by no other connector."""
    printers = [d.printer_id for d in cmd.devices]
    duplicates = {p for p in printers if printers.count(p) > 1}
    if duplicates:
        raise ValidationFailed(
            "a printer is listed twice",
            [FieldError(f"devices.{i}.printer_id", "listed twice")
             for i, p in enumerate(printers) if p in duplicates],
        )  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        connector = await repo.get_connector(conn, connector_id, for_update=True)
        if connector is None or not who.can_access(connector["tenant_id"]):
            raise ConnectorNotFound("no such connector")
        unknown = set(await repo.foreign_or_missing(conn, connector["tenant_id"], printers))
        if unknown:
            raise ValidationFailed(
                "some devices are not printers of this tenant",
                [FieldError(f"devices.{i}.printer_id", "unknown printer")
                 for i, p in enumerate(printers) if p in unknown],
            )  # fmt: skip
        try:
            async with conn.transaction():
                await repo.replace_connector_devices(
                    conn, connector_id, [(d.printer_id, d.uri) for d in cmd.devices],
                    datetime.now(UTC),
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "a printer is already bridged by another connector",
                [FieldError("devices", "a printer can have one connector only")],
            ) from None
        after = await repo.get_connector(conn, connector_id)
        devices = await repo.list_connector_devices(conn, connector_id)
        assert after is not None
        listing = [{"printer_id": str(d["printer_id"]), "uri": d["uri"]} for d in devices]
        # The connector learns its list through the command ledger, so it gets it
        # even if it is offline now.
        await commands.issue(conn, connector_id, "sync_devices", {"devices": listing}, out)
        await out.emit(
            conn,
            ConnectorDevicesChanged(
                connector_id=connector_id,
                tenant_id=after["tenant_id"],
                revision=after["revision"],
                devices=listing,
            ),
            tenant_id=after["tenant_id"],
        )
    return devices
