"""The IPP endpoint as the runtime sees it."""

from __future__ import annotations

from pathlib import Path

from services.ipp.api.routes import add_routes
from services.ipp.domain.events import EVENTS
from services.ipp.settings import IppSettings
from shared.events.registry import EventRegistry
from shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="ipp",
    settings_cls=IppSettings,
    registry=EventRegistry([*EVENTS]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
)
