"""The queues service as the runtime sees it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.queues.api.routes import add_routes
from services.queues.consumers import consumers
from services.queues.domain.events import EVENTS
from services.queues.handlers import maintenance
from services.queues.repository import QueuesRepository
from services.queues.settings import QueuesSettings
from shared.blobstore import FilesystemBlobStore
from shared.events.contracts import (
    commands,
    devices,
    gateway,
    groups,
    jobs,
    sessions,
)
from shared.events.contracts.registry import EVENTS as REGISTRY_EVENTS
from shared.events.contracts.users import EVENTS as AUTH_EVENTS
from shared.events.registry import EventRegistry
from shared.service import Runtime, ServiceSpec
from shared.supervisor import TaskFactory


def tasks(rt: Runtime[QueuesSettings]) -> dict[str, TaskFactory]:
    """Expiry and retention; every replica runs the loop, one at a time does the work."""
    s = rt.settings

    async def maintain(stop: asyncio.Event) -> None:
        await maintenance.loop(
            rt.transactions(QueuesRepository.of_schema(rt.schema)),
            FilesystemBlobStore(s.blob_dir),
            retention_s=s.document_retention_s,
            key_ttl_s=s.idempotency_key_ttl_s,
            interval_s=s.maintenance_interval_s,
            stop=stop,
        )

    return {"maintenance": maintain}


SPEC = ServiceSpec(
    name="queues",
    settings_cls=QueuesSettings,
    registry=EventRegistry(
        [
            *EVENTS,
            *jobs.ROUTING_EVENTS,
            *sessions.EVENTS,
            *REGISTRY_EVENTS,
            *AUTH_EVENTS,
            *groups.EVENTS,
            *devices.EVENTS,
            *gateway.EVENTS,
            *commands.EVENTS,
        ]
    ),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
)
