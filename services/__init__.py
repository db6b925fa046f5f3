"""Printcloud's services, one package each.

``SERVICES`` names each deployable service and where its :class:`ServiceSpec`
lives; the CLI, the local platform runner, the deployment checks and the docs
read it. Imports are lazy so that naming a service does not load it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.service import ServiceSpec

SERVICES: dict[str, str] = {
    "registry": "services.registry.app:SPEC",
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
