"""The notifications service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.notifications.api.routes import add_routes
from services.notifications.consumers import consumers
from services.notifications.delivery import DeliveryWorker
from services.notifications.domain.events import EVENTS
from services.notifications.handlers import deliveries
from services.notifications.repository import NotificationsRepository
from services.notifications.settings import NotificationsSettings
from shared.events.contracts import devices, jobs, quotas, supplies
from shared.events.contracts import registry as registry_events
from shared.events.envelope import EventData
from shared.events.registry import EventRegistry
from shared.logging import get_logger
from shared.service import Runtime, ServiceSpec
from shared.supervisor import TaskFactory

log = get_logger(__name__)


def tasks(rt: Runtime[NotificationsSettings]) -> dict[str, TaskFactory]:
    """Every replica sends due webhooks (row leases share the work) and deletes finished
    deliveries past their retention."""
    tx = rt.transactions(NotificationsRepository)
    worker = DeliveryWorker(tx, rt.settings)
    days = rt.settings.delivery_retention_days

    async def purge_deliveries(stop: asyncio.Event) -> None:
        while not stop.is_set():
            removed = await deliveries.purge(tx, days)
            if removed:
                log.info("finished deliveries purged", removed=removed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3600)

    return {"webhook-delivery": worker.run, "delivery-purge": purge_deliveries}


KNOWN: list[type[EventData]] = [
    *EVENTS,
    *jobs.EVENTS,
    *registry_events.EVENTS,
    *devices.EVENTS,
    *supplies.EVENTS,
    *quotas.EVENTS,
]
"""Every type that travels on the topics it reads (and its own), so that none of them is
taken for an unknown event and parked."""

SPEC = ServiceSpec(
    name="notifications",
    settings_cls=NotificationsSettings,
    registry=EventRegistry(KNOWN),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
)
