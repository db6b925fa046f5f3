"""SQL for the portal's own schema: the browser sessions."""

from __future__ import annotations

from services.portal.repository.sessions import PortalRepository, Sessions

__all__ = ["PortalRepository", "Sessions"]
