"""Connectors: the printers each one is responsible for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.registry.domain.commands import AssignConnectorDevices
from services.registry.domain.errors import ConnectorNotFound
from services.registry.domain.events import ConnectorDevicesChanged
from services.registry.domain.model import BridgedPrinter, Connector
from services.registry.handlers import commands
from services.registry.repository import RegistryRepository
from shared.db.uow import AlreadyExists, Transactions
from shared.errors import Conflict, FieldError, ValidationFailed
from shared.http.auth import Principal


async def assign_devices(
    tx: Transactions[RegistryRepository],
    connector_id: uuid.UUID,
    cmd: AssignConnectorDevices,
    who: Principal,
) -> tuple[Connector, list[BridgedPrinter]]:
    """Replace the connector's device list; each printer must be of its tenant and
    bridged by no other connector. The connector and its list afterwards."""
    printers = [d.printer_id for d in cmd.devices]
    duplicates = {p for p in printers if printers.count(p) > 1}
    if duplicates:
        raise ValidationFailed(
            "a printer is listed twice",
            [FieldError(f"devices.{i}.printer_id", "listed twice")
             for i, p in enumerate(printers) if p in duplicates],
        )  # fmt: skip
    async with tx() as uow:
        repo = uow.repo
        connector = await repo.connectors.get(connector_id, for_update=True)
        if connector is None or not who.can_access(connector.tenant_id):
            raise ConnectorNotFound("no such connector")
        unknown = set(await repo.printers.foreign_or_missing(connector.tenant_id, printers))
        if unknown:
            raise ValidationFailed(
                "some devices are not printers of this tenant",
                [FieldError(f"devices.{i}.printer_id", "unknown printer")
                 for i, p in enumerate(printers) if p in unknown],
            )  # fmt: skip
        try:
            await repo.connectors.replace_devices(
                connector_id,
                [(d.printer_id, d.uri, d.files_uri) for d in cmd.devices],
                datetime.now(UTC),
            )
        except AlreadyExists:
            raise Conflict(
                "a printer is already bridged by another connector",
                [FieldError("devices", "a printer can have one connector only")],
            ) from None
        after = await repo.connectors.get(connector_id)
        devices = await repo.connectors.devices(connector_id)
        assert after is not None
        listing = [
            {"printer_id": str(d.printer_id), "uri": d.uri}
            | ({"files_uri": d.files_uri} if d.files_uri else {})
            for d in devices
        ]
        # The connector learns its list through the command ledger, so it gets it
        # even if it is offline now.
        await commands.issue(uow, connector_id, "sync_devices", {"devices": listing})
        await uow.emit(
            ConnectorDevicesChanged(
                connector_id=connector_id,
                tenant_id=after.tenant_id,
                revision=after.revision,
                devices=listing,
            ),
            tenant_id=after.tenant_id,
        )
    return after, devices
