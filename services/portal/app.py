"""The web portal as the runtime sees it."""

from __future__ import annotations

from pathlib import Path

from services.portal.api.routes import add_routes
from services.portal.domain.events import EVENTS
from services.portal.settings import PortalSettings
from services.portal.tasks import tasks
from shared.events.registry import EventRegistry
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="portal",
    settings_cls=PortalSettings,
    registry=EventRegistry([*EVENTS]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    tasks=tasks,
)
