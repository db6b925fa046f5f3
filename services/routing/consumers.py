"""What routing learns from other services' topics, and how it applies it.

Replicas of printers (name, connection, capabilities), virtual printers and quotas
are kept from their owners' events; ``job.submitted`` is answered with a decision,
and the rest of a job's lifecycle tells routing where the job is. A connection
change or a quota change re-decides the jobs that depend on it at once.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.routing import repository as repo
from services.routing.handlers import Router, track_lifecycle
from services.routing.settings import RoutingSettings
from shared.errors import PermanentEventError
from shared.events.contracts import jobs
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)
from shared.events.registry import DecodedEvent
from shared.readmodels import devices
from shared.service import ConsumerSpec, Runtime

REGISTRY_EVENTS = (
    PrinterRegistered, PrinterUpdated, PrinterConnectionChanged, PrinterCapabilitiesChanged,
    VirtualPrinterCreated, VirtualPrinterUpdated,
)  # fmt: skip
"""The registry's events routing keeps its replicas from."""


async def printer_described(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """printer.registered / printer.updated: the printer's tenant and name."""
    data: PrinterRegistered | PrinterUpdated = event.data
    await devices.apply_printer(conn, repo.PRINTERS, data, occurred_at=event.envelope.occurred_at)


async def virtual_printer_described(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """virtual_printer.created / updated: its name and members."""
    data: VirtualPrinterCreated | VirtualPrinterUpdated = event.data
    await devices.apply_virtual_printer(conn, repo.VIRTUAL_PRINTERS, data)


def connection_changed(router: Router) -> Any:
    """printer.connection_changed: online/offline since when; then move what depends on it."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        data: PrinterConnectionChanged = event.data
        if await repo.save_connection(
            conn, data.printer_id, data.tenant_id, data.connection_state, data.at
        ):
            await router.printer_changed(conn, event, data.printer_id)

    return apply


def capabilities_changed(router: Router) -> Any:
    """printer.capabilities_changed: what it can print now (a failover may become possible)."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        data: PrinterCapabilitiesChanged = event.data
        await devices.apply_capabilities(conn, repo.PRINTERS, data)
        await router.printer_changed(conn, event, data.printer_id)

    return apply


def quota_changed(router: Router) -> Any:
    """quota.state_changed: the latest state of a quota (or its removal); release the
    jobs it no longer holds."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        data: QuotaStateChanged = event.data
        known = await repo.quota_tenant(conn, data.quota_id)
        if known is not None and known != data.tenant_id:
            raise PermanentEventError(f"quota {data.quota_id} belongs to another tenant")
        if data.deleted:
            await repo.delete_quota(conn, data.quota_id)
        else:
            await repo.save_quota(conn, data.model_dump())
        await router.quota_changed(conn, event, data.tenant_id)

    return apply


def router_of(rt: Runtime[RoutingSettings]) -> Router:
    """The router of a running routing service."""
    return Router(rt.emitter(), rt.settings.default_offline_after_s)


def consumers(rt: Runtime[RoutingSettings]) -> list[ConsumerSpec]:
    """Routing's consumer groups: the replicas it keeps, and the jobs it decides."""
    router = router_of(rt)
    lifecycle = {
        m.event_type: track_lifecycle
        for m in jobs.EVENTS
        if m.topic == jobs.JobSubmitted.topic and m is not jobs.JobSubmitted
    }
    return [
        ConsumerSpec(
            name=f"{rt.schema}-replicas",
            topics=[PrinterRegistered.topic, VirtualPrinterCreated.topic, QuotaStateChanged.topic],
            handlers={
                PrinterRegistered.event_type: printer_described,
                PrinterUpdated.event_type: printer_described,
                PrinterConnectionChanged.event_type: connection_changed(router),
                PrinterCapabilitiesChanged.event_type: capabilities_changed(router),
                VirtualPrinterCreated.event_type: virtual_printer_described,
                VirtualPrinterUpdated.event_type: virtual_printer_described,
                QuotaStateChanged.event_type: quota_changed(router),
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-jobs",
            topics=[jobs.JobSubmitted.topic],
            handlers={jobs.JobSubmitted.event_type: router.submitted, **lifecycle},
        ),
    ]
