"""What the registry learns from other services' topics, and how it applies it."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.registry import repository as repo
from services.registry.domain.events import PrinterCapabilitiesChanged, PrinterConnectionChanged
from services.registry.domain.model import presence_after
from services.registry.handlers import commands
from services.registry.settings import RegistrySettings
from shared.db.outbox import Emitter
from shared.errors import PermanentEventError
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.contracts.gateway import (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceDisconnected,
)
from shared.events.registry import DecodedEvent
from shared.service import ConsumerSpec, Runtime


async def _printer_of(conn: asyncpg.Connection, device_id: Any, tenant_id: Any) -> Any:
    """The printer a device event is about; None for a connector of the tenant (its
    own presence is not tracked as a printer's)."""
    printer = await repo.get_printer(conn, device_id, for_update=True)
    if printer is not None and printer.tenant_id == tenant_id:
        return printer
    connector = await repo.get_connector(conn, device_id)
    if connector is not None and connector["tenant_id"] == tenant_id:
        return None
    # Another tenant's id or an unknown device: never apply, park with the reason.
    raise PermanentEventError(f"no printer {device_id} in tenant {tenant_id}")


def capabilities_handler(out: Emitter) -> Any:
    """Store a report as a new version when it differs from the current one."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        report: DeviceCapabilitiesReported = event.data
        printer = await _printer_of(conn, report.device_id, report.tenant_id)
        if printer is None:
            raise PermanentEventError("a connector reports capabilities only for its printers")
        problems = report.capabilities.missing_essentials()
        if problems:
            raise PermanentEventError(f"capabilities lack {problems}")
        fingerprint = report.capabilities.fingerprint()
        current = await repo.current_capabilities(conn, printer.id)
        if current is not None and current["fingerprint"] == fingerprint:
            return
        version = printer.capabilities_version + 1
        document = report.capabilities.model_dump(mode="json")
        await repo.add_capabilities(
            conn, printer.id, version, fingerprint, document, report.reported_at
        )
        await out.caused_by(event.envelope).emit(
            conn,
            PrinterCapabilitiesChanged(
                printer_id=printer.id,
                tenant_id=printer.tenant_id,
                version=version,
                capabilities=report.capabilities,
                fingerprint=fingerprint,
            ),
            tenant_id=printer.tenant_id,
        )

    return apply


def presence_handler(out: Emitter) -> Any:
    """Track online/offline and last-seen; announce changes of state."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        data: DeviceConnected | DeviceDisconnected = event.data
        printer = await _printer_of(conn, data.device_id, data.tenant_id)
        if printer is None:
            return  # a connector: the printers it bridges report their own state
        after = presence_after(
            printer,
            connected=isinstance(data, DeviceConnected),
            session=data.session_id,
            at=data.at,
        )
        if after is None:
            return
        await repo.save_presence(conn, after)
        if after.connection_state != printer.connection_state:
            await out.caused_by(event.envelope).emit(
                conn,
                PrinterConnectionChanged(
                    printer_id=after.id,
                    tenant_id=after.tenant_id,
                    connection_state="online" if after.connection_state == "online" else "offline",
                    at=data.at,
                ),
                tenant_id=after.tenant_id,
            )

    return apply


def consumers(rt: Runtime[RegistrySettings]) -> list[ConsumerSpec]:
    """The registry's consumer groups."""
    out = rt.emitter()
    presence = presence_handler(out)
    return [
        ConsumerSpec(
            name=f"{rt.schema}-command-ledger",
            topics=[DeviceCommandAcked.topic],
            handlers={DeviceCommandAcked.event_type: commands.apply_ack},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-device-state",
            topics=[DeviceCapabilitiesReported.topic, DeviceConnected.topic],
            handlers={
                DeviceCapabilitiesReported.event_type: capabilities_handler(out),
                DeviceConnected.event_type: presence,
                DeviceDisconnected.event_type: presence,
            },
        ),
    ]
