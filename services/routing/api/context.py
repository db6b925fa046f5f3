"""What every routing view takes from the app: ``CONTEXT`` (the typed runtime,
settings, pool and emitter)."""

from __future__ import annotations

from services.routing.settings import RoutingSettings
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(RoutingSettings)
