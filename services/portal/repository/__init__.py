"""SQL for the portal's own schema: the browser sessions and sign-ins under way."""

from __future__ import annotations

from services.portal.repository.flows import SignInFlows
from services.portal.repository.sessions import PortalRepository, Sessions

__all__ = ["PortalRepository", "Sessions", "SignInFlows"]
