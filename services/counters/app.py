"""The counters service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.counters.api.routes import add_routes
from services.counters.consumers import consumers, transactions
from services.counters.domain.events import EVENTS
from services.counters.handlers.quotas import roll_over
from services.counters.settings import CountersSettings
from shared.events.contracts import gateway, groups, jobs
from shared.events.registry import EventRegistry
from shared.logging import get_logger
from shared.service import Runtime, ServiceSpec, WorkerSpec
from shared.supervisor import TaskFactory

log = get_logger(__name__)


def tasks(rt: Runtime[CountersSettings]) -> dict[str, TaskFactory]:
    """Every replica starts the new period of due quotas (row locks share the work)."""
    every = rt.settings.quota_rollover_s
    tx = transactions(rt)

    async def quota_periods(stop: asyncio.Event) -> None:
        while not stop.is_set():
            rolled = await roll_over(tx)
            if rolled:
                log.info("quota periods rolled over", quotas=rolled)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    return {"quota-periods": quota_periods}


SPEC = ServiceSpec(
    name="counters",
    settings_cls=CountersSettings,
    registry=EventRegistry([*EVENTS, *gateway.EVENTS, *jobs.EVENTS, *groups.EVENTS]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
    workers={
        "rollups": WorkerSpec(
            module="services.counters.streams",
            args=("worker", "-l", "info"),
            description="usage roll-ups per hour, day and month (faust-streaming; Kafka only)",
            metrics_port_field="rollup_metrics_port",
            data_dir_field="rollup_data_dir",
            replication_field="rollup_replication",
        )
    },
)
