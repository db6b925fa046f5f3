"""The auth service as the runtime sees it."""

from __future__ import annotations

from pathlib import Path

from services.auth.api.authn import authenticator
from services.auth.api.routes import add_routes
from services.auth.consumers import consumers
from services.auth.domain.events import EVENTS
from services.auth.settings import AuthSettings
from services.auth.tasks import tasks
from shared.events.contracts import devices
from shared.events.registry import EventRegistry
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="auth",
    settings_cls=AuthSettings,
    registry=EventRegistry([*EVENTS, *devices.EVENTS]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
    authenticator=authenticator,
)
