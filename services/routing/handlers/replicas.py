"""Keeping routing's replicas of printers, virtual printers and quotas; a change a job
depends on re-decides that job at once."""

from __future__ import annotations

from datetime import datetime

from services.routing.handlers.decisions import Router, Work
from shared.errors import PermanentEventError
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)


async def printer_described(
    uow: Work, data: PrinterRegistered | PrinterUpdated, occurred_at: datetime
) -> None:
    """printer.registered / printer.updated: the printer's tenant and name."""
    await uow.repo.describe_printer(data, occurred_at)


async def virtual_printer_described(
    uow: Work, data: VirtualPrinterCreated | VirtualPrinterUpdated
) -> None:
    """virtual_printer.created / updated: its name and members."""
    await uow.repo.describe_virtual_printer(data)


async def connection_changed(uow: Work, router: Router, data: PrinterConnectionChanged) -> None:
    """printer.connection_changed: online/offline since when; then move what depends on it."""
    if await uow.repo.save_connection(
        data.printer_id, data.tenant_id, data.connection_state, data.at
    ):
        await router.printer_changed(uow, data.printer_id)


async def capabilities_changed(uow: Work, router: Router, data: PrinterCapabilitiesChanged) -> None:
    """printer.capabilities_changed: what it can print now (a failover may become possible)."""
    await uow.repo.save_capabilities(data)
    await router.printer_changed(uow, data.printer_id)


async def quota_changed(uow: Work, router: Router, data: QuotaStateChanged) -> None:
    """quota.state_changed: the latest state of a quota (or its removal); release the
    jobs it no longer holds."""
    known = await uow.repo.quota_tenant(data.quota_id)
    if known is not None and known != data.tenant_id:
        raise PermanentEventError(f"quota {data.quota_id} belongs to another tenant")
    if data.deleted:
        await uow.repo.delete_quota(data.quota_id)
    else:
        await uow.repo.save_quota(data)
    await router.quota_changed(uow, data.tenant_id)
