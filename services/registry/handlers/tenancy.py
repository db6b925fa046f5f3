"""Which tenant a create request targets."""

from __future__ import annotations

import uuid

from services.registry.domain.errors import TenantNotFound
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal


def unknown_tenant() -> TenantNotFound:
    """The one answer for a tenant that is missing or belongs to someone else."""
    return TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])


def target_tenant(who: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """Operators must name the tenant; members get their own; a foreign one is unknown."""
    tenant_id = requested or who.tenant_scope()
    if tenant_id is None:
        raise ValidationFailed(
            "name the tenant", [FieldError("tenant_id", "required for operators")]
        )
    if not who.can_access(tenant_id):
        raise unknown_tenant()
    return tenant_id
