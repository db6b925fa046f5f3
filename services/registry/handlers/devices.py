"""What devices tell the registry through the gateway: capabilities reports and presence.
Applied inside the consumer's inbox transaction.

A printer bridged by a connector holds no websocket of its own: its connection state
is what its connector reports (``offline`` while the connector cannot reach it: the
status reason ``offline-report``, else ``online``)."""

from __future__ import annotations

import uuid
from dataclasses import replace

from services.registry.domain.events import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
)
from services.registry.domain.model import CapabilitiesVersion, Printer, presence_after
from services.registry.repository import RegistryRepository
from shared.db.uow import UnitOfWork
from shared.errors import PermanentEventError
from shared.events.contracts.gateway import (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceDisconnected,
    DeviceStatusReported,
)

OFFLINE_REPORT = "offline-report"


async def _printer_of(
    repo: RegistryRepository, device_id: uuid.UUID, tenant_id: uuid.UUID
) -> Printer | None:
    """The printer a device event is about (locked); None for a connector of the tenant
    (its own presence is not tracked as a printer's)."""
    printer = await repo.printers.get(device_id, for_update=True)
    if printer is not None and printer.tenant_id == tenant_id:
        return printer
    connector = await repo.connectors.get(device_id)
    if connector is not None and connector.tenant_id == tenant_id:
        return None
    # Another tenant's id or an unknown device: never apply, park with the reason.
    raise PermanentEventError(f"no printer {device_id} in tenant {tenant_id}")


async def capabilities_reported(
    uow: UnitOfWork[RegistryRepository], report: DeviceCapabilitiesReported
) -> None:
    """Store a report as a new version when it differs from the current one."""
    repo = uow.repo
    printer = await _printer_of(repo, report.device_id, report.tenant_id)
    if printer is None:
        raise PermanentEventError("a connector reports capabilities only for its printers")
    problems = report.capabilities.missing_essentials()
    if problems:
        raise PermanentEventError(f"capabilities lack {problems}")
    fingerprint = report.capabilities.fingerprint()
    current = await repo.printers.capabilities(printer.id)
    if current is not None and current.fingerprint == fingerprint:
        return
    version = printer.capabilities_version + 1
    await repo.printers.add_capabilities(
        CapabilitiesVersion(
            printer_id=printer.id,
            version=version,
            fingerprint=fingerprint,
            document=report.capabilities.model_dump(mode="json"),
            reported_at=report.reported_at,
        )
    )
    await uow.emit(
        PrinterCapabilitiesChanged(
            printer_id=printer.id,
            tenant_id=printer.tenant_id,
            version=version,
            capabilities=report.capabilities,
            fingerprint=fingerprint,
        ),
        tenant_id=printer.tenant_id,
    )


async def presence_changed(
    uow: UnitOfWork[RegistryRepository], data: DeviceConnected | DeviceDisconnected
) -> None:
    """Track online/offline and last-seen; announce changes of state."""
    printer = await _printer_of(uow.repo, data.device_id, data.tenant_id)
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
    await uow.repo.printers.save_presence(after)
    if after.connection_state != printer.connection_state:
        await uow.emit(
            PrinterConnectionChanged(
                printer_id=after.id,
                tenant_id=after.tenant_id,
                connection_state="online" if after.connection_state == "online" else "offline",
                at=data.at,
            ),
            tenant_id=after.tenant_id,
        )


async def status_reported(
    uow: UnitOfWork[RegistryRepository], report: DeviceStatusReported
) -> None:
    """A connector's report on a printer it bridges: whether it can reach it."""
    if report.via_connector is None:
        return  # a printer's own websocket says whether it is online
    printer = await _printer_of(uow.repo, report.device_id, report.tenant_id)
    if printer is None:
        return
    if printer.last_seen_at is not None and report.reported_at < printer.last_seen_at:
        return
    state = "offline" if OFFLINE_REPORT in report.reasons else "online"
    after = replace(printer, connection_state=state, last_seen_at=report.reported_at)
    await uow.repo.printers.save_presence(after)
    if state != printer.connection_state:
        await uow.emit(
            PrinterConnectionChanged(
                printer_id=printer.id, tenant_id=printer.tenant_id, connection_state=state,
                at=report.reported_at,
            ),
            tenant_id=printer.tenant_id,
        )  # fmt: skip
