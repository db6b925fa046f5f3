"""The audit service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.audit.api.routes import add_routes
from services.audit.consumers import consumers
from services.audit.domain.audited import audited_models
from services.audit.domain.events import EVENTS
from services.audit.handlers import entries
from services.audit.repository import AuditRepository
from services.audit.settings import AuditSettings
from shared.events.registry import EventRegistry
from shared.logging import get_logger
from shared.service import Runtime, ServiceSpec
from shared.supervisor import TaskFactory

log = get_logger(__name__)


def tasks(rt: Runtime[AuditSettings]) -> dict[str, TaskFactory]:
    """Every replica deletes entries past the retention period now and then (a delete
    done twice deletes nothing the second time)."""
    tx = rt.transactions(AuditRepository)
    settings = rt.settings

    async def purge_entries(stop: asyncio.Event) -> None:
        while not stop.is_set():
            removed = await entries.purge(tx, settings.retention_days)
            if removed:
                log.info("audit entries past retention deleted", removed=removed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.purge_interval_s)

    return {"audit-retention": purge_entries}


SPEC = ServiceSpec(
    name="audit",
    settings_cls=AuditSettings,
    registry=EventRegistry([*EVENTS, *audited_models()]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
)
