"""How the registry's views reach the running service (typed by its settings)."""

from __future__ import annotations

from services.registry.settings import RegistrySettings
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(RegistrySettings)
