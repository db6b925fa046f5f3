"""The table of Printcloud's deployable services.

``SERVICES`` names each deployable service and where its :class:`ServiceSpec`
lives; the CLI, the local platform runner, the deployment checks and the docs
read it. Imports are lazy so that naming a service does not load it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.events.envelope import EventData
    from shared.service import ServiceSpec

SERVICES: dict[str, str] = {
    "registry": "services.registry.app:SPEC",
    "auth": "services.auth.app:SPEC",
    "gateway": "services.gateway.app:SPEC",
    "queues": "services.queues.app:SPEC",
    "routing": "services.routing.app:SPEC",
    "counters": "services.counters.app:SPEC",
    "consumables": "services.consumables.app:SPEC",
    "ipp": "services.ipp.app:SPEC",
    "notifications": "services.notifications.app:SPEC",
    "portal": "services.portal.app:SPEC",
    "audit": "services.audit.app:SPEC",
}


def load_spec(name: str) -> ServiceSpec:
    """The ServiceSpec of service ``name`` (KeyError lists the known ones)."""
    try:
        target = SERVICES[name]
    except KeyError:
        raise KeyError(f"unknown service {name!r}; known: {sorted(SERVICES)}") from None
    module, _, attr = target.partition(":")
    spec: ServiceSpec = getattr(importlib.import_module(module), attr)
    return spec


def event_models() -> list[type[EventData]]:
    """Every event payload model that any service publishes, sorted by type and version."""
    models = {m for name in SERVICES for m in load_spec(name).registry.models()}
    return sorted(models, key=lambda m: (m.event_type, m.event_version))


def database_services() -> list[str]:
    """The services that own a Postgres schema (role, migrations), in table order."""
    return [name for name in SERVICES if load_spec(name).has_database]
