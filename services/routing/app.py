"""The routing service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.routing.api.routes import add_routes
from services.routing.consumers import REGISTRY_EVENTS, consumers, router_of, transactions_of
from services.routing.domain.events import EVENTS
from services.routing.settings import RoutingSettings
from shared.events.contracts import groups, jobs, quotas
from shared.events.registry import EventRegistry
from shared.service import Runtime, ServiceSpec
from shared.supervisor import TaskFactory


def tasks(rt: Runtime[RoutingSettings]) -> dict[str, TaskFactory]:
    """Every replica runs the sweep loop; one per round wins the sweep lock and works."""
    settings = rt.settings
    router = router_of(rt)
    tx = transactions_of(rt)

    async def sweep(stop: asyncio.Event) -> None:
        while not stop.is_set():
            await router.sweep(tx, settings.sweep_batch_size, settings.decisions_retention_days)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.sweep_interval_s)

    return {"routing-sweep": sweep}


SPEC = ServiceSpec(
    name="routing",
    settings_cls=RoutingSettings,
    registry=EventRegistry(
        [*jobs.EVENTS, *EVENTS, *quotas.EVENTS, *REGISTRY_EVENTS, *groups.EVENTS]
    ),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
)
