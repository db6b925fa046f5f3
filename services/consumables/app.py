"""The consumables service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.consumables.api.routes import add_routes
from services.consumables.consumers import consumers
from services.consumables.delivery import DeliveryWorker
from services.consumables.domain.events import EVENTS
from services.consumables.handlers import supplies
from services.consumables.repository import ConsumablesRepository
from services.consumables.settings import ConsumablesSettings
from shared.events.contracts import gateway
from shared.events.contracts import registry as registry_events
from shared.events.registry import EventRegistry
from shared.logging import get_logger
from shared.service import Runtime, ServiceSpec
from shared.supervisor import TaskFactory

log = get_logger(__name__)


def tasks(rt: Runtime[ConsumablesSettings]) -> dict[str, TaskFactory]:
    """Every replica sends due webhooks and purges old level history."""
    settings = rt.settings
    tx = rt.transactions(ConsumablesRepository)
    worker = DeliveryWorker(tx, settings)

    async def purge_history(stop: asyncio.Event) -> None:
        while not stop.is_set():
            removed = await supplies.purge_history(tx, settings.history_retention_days)
            if removed:
                log.info("supply level history purged", removed=removed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3600)

    return {"supplier-webhooks": worker.run, "level-history-purge": purge_history}


SPEC = ServiceSpec(
    name="consumables",
    settings_cls=ConsumablesSettings,
    # Every type that travels on the topics it reads, so that none of them is taken for an
    # unknown event and parked.
    registry=EventRegistry([*EVENTS, *registry_events.EVENTS, *gateway.EVENTS]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
)
