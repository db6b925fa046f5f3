"""The registry service as the runtime sees it."""

from __future__ import annotations

from pathlib import Path

from services.registry.api.routes import add_routes
from services.registry.consumers import consumers
from services.registry.domain.events import EVENTS
from services.registry.settings import RegistrySettings
from shared.events.contracts import gateway, groups
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.registry import EventRegistry
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="registry",
    settings_cls=RegistrySettings,
    registry=EventRegistry([*EVENTS, *gateway.EVENTS, *groups.EVENTS, DeviceCommandAcked]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
)
