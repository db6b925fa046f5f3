"""What routing learns from other services' topics, and which handler applies it.

Replicas of printers (name, connection, capabilities), virtual printers, quotas and
groups (for group print policies) are kept from their owners' events;
``job.submitted`` is answered with a decision (after the print policies), and the
rest of a job's lifecycle tells routing where the job is. A connection change
or a quota change re-decides the jobs that depend on it at once. Each event
is applied in a unit of work inside the consumer's inbox transaction.
"""

from __future__ import annotations

from typing import Any

from services.routing.handlers import print_policies, replicas
from services.routing.handlers.decisions import Router, Work
from services.routing.handlers.lifecycle import track_lifecycle
from services.routing.repository import RoutingRepository
from services.routing.settings import RoutingSettings
from shared.db.uow import PostgresTransactions
from shared.events.contracts import jobs
from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
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
from shared.service import ConsumerSpec, Runtime

REGISTRY_EVENTS = (
    PrinterRegistered, PrinterUpdated, PrinterConnectionChanged, PrinterCapabilitiesChanged,
    VirtualPrinterCreated, VirtualPrinterUpdated,
)  # fmt: skip
"""The registry's events routing keeps its replicas from."""

Event = DecodedEvent[Any]


def router_of(rt: Runtime[RoutingSettings]) -> Router:
    """The router of a running routing service."""
    return Router(rt.settings.default_offline_after_s)


def transactions_of(rt: Runtime[RoutingSettings]) -> PostgresTransactions[RoutingRepository]:
    """Units of work on routing's schema."""
    return rt.transactions(RoutingRepository)


def consumers(rt: Runtime[RoutingSettings]) -> list[ConsumerSpec]:
    """Routing's consumer groups: the replicas it keeps, and the jobs it decides."""
    router = router_of(rt)
    tx = transactions_of(rt)

    applying = tx.applying

    async def described(uow: Work, event: Event) -> None:
        await replicas.printer_described(uow, event.data, event.envelope.occurred_at)

    async def virtual(uow: Work, event: Event) -> None:
        await replicas.virtual_printer_described(uow, event.data)

    async def connection(uow: Work, event: Event) -> None:
        await replicas.connection_changed(uow, router, event.data)

    async def capabilities(uow: Work, event: Event) -> None:
        await replicas.capabilities_changed(uow, router, event.data)

    async def quota(uow: Work, event: Event) -> None:
        await replicas.quota_changed(uow, router, event.data)

    async def group(uow: Work, event: Event) -> None:
        await print_policies.group_changed(uow, event.data)

    async def submitted(uow: Work, event: Event) -> None:
        await router.submitted(uow, event.data)

    async def lifecycle(uow: Work, event: Event) -> None:
        await track_lifecycle(uow, event.envelope.type, event.data)

    following = {
        m.event_type: applying(lifecycle)
        for m in jobs.EVENTS
        if m.topic == jobs.JobSubmitted.topic and m is not jobs.JobSubmitted
    }
    return [
        ConsumerSpec(
            name=f"{rt.schema}-replicas",
            topics=[
                PrinterRegistered.topic,
                VirtualPrinterCreated.topic,
                QuotaStateChanged.topic,
                GroupCreated.topic,
            ],
            handlers={
                PrinterRegistered.event_type: applying(described),
                PrinterUpdated.event_type: applying(described),
                PrinterConnectionChanged.event_type: applying(connection),
                PrinterCapabilitiesChanged.event_type: applying(capabilities),
                VirtualPrinterCreated.event_type: applying(virtual),
                VirtualPrinterUpdated.event_type: applying(virtual),
                QuotaStateChanged.event_type: applying(quota),
                GroupCreated.event_type: applying(group),
                GroupUpdated.event_type: applying(group),
                GroupDeleted.event_type: applying(group),
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-jobs",
            topics=[jobs.JobSubmitted.topic],
            handlers={jobs.JobSubmitted.event_type: applying(submitted), **following},
        ),
    ]
