"""Who may see what: the one visibility rule of auth's handlers."""

from __future__ import annotations

import uuid

from shared.http.auth import Principal


def visible(who: Principal, tenant_id: uuid.UUID | None) -> bool:
    """Whether ``who`` may see something of ``tenant_id`` (None: platform, operators only)."""
    return who.is_operator or (tenant_id is not None and who.can_access(tenant_id))
