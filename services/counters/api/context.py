"""How counters' views reach the service, and who may call them."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.counters.domain.commands import UsageQuery
from services.counters.repository import CountersRepository
from services.counters.settings import CountersSettings
from shared.db.uow import PostgresTransactions
from shared.errors import FieldError, Forbidden, NotFound, ValidationFailed
from shared.http.auth import Principal
from shared.http.context import ServiceContext

CONTEXT = ServiceContext(CountersSettings)

ADMIN_READ = "users:read"
ADMIN_WRITE = "users:write"
USAGE_READ = "jobs:read"
PRINTERS_READ = "printers:read"


def transactions(request: web.Request) -> PostgresTransactions[CountersRepository]:
    """Units of work on counters' schema; events carry the request's correlation id."""
    return CONTEXT.transactions(request, CountersRepository)


def is_admin(who: Principal) -> bool:
    """Operators and the tenant's administrators."""
    return who.is_operator or "admin" in who.roles


def quota_tenant(who: Principal, asked: uuid.UUID | None) -> uuid.UUID:
    """The tenant a new quota belongs to: operators name it, admins act on their own."""
    if who.is_operator:
        if asked is None:
            raise ValidationFailed(
                "operators name the tenant", [FieldError("tenant_id", "required for operators")]
            )
        return asked
    tenant = who.tenant_scope()
    assert tenant is not None
    if asked is not None and asked != tenant:
        raise ValidationFailed("unknown tenant", [FieldError("tenant_id", "unknown tenant")])
    return tenant


def export_tenant(who: Principal, asked: uuid.UUID | None) -> uuid.UUID:
    """Whose month an export shows: the caller's tenant, or the one an operator names."""
    if who.is_operator:
        if asked is None:
            raise ValidationFailed("operators name the tenant", [
                FieldError("tenant", "required for operators")
            ])  # fmt: skip
        return asked
    tenant_id = who.tenant_scope()
    assert tenant_id is not None
    if asked is not None and asked != tenant_id:
        raise NotFound("no such tenant", [FieldError("tenant", "unknown tenant")])
    return tenant_id


def usage_subject(who: Principal, q: UsageQuery) -> tuple[uuid.UUID, str, uuid.UUID]:
    """(tenant, dimension, subject) the caller may read: users only their own usage."""
    if who.is_operator:
        if q.tenant_id is None:
            raise ValidationFailed("operators name the tenant", [
                FieldError("tenant", "required for operators")
            ])  # fmt: skip
        tenant_id = q.tenant_id
    else:
        scope = who.tenant_scope()
        assert scope is not None
        tenant_id = scope
        if q.tenant_id is not None and q.tenant_id != tenant_id:
            raise NotFound("no such tenant", [FieldError("tenant", "unknown tenant")])
    if not is_admin(who):
        try:
            me = uuid.UUID(who.subject)
        except ValueError:
            raise Forbidden("this credential is not a user's") from None
        if q.printer_id is not None or (q.user_id is not None and q.user_id != me):
            raise Forbidden("users read their own usage only; admins read the tenant's")
        return tenant_id, "user", me
    if q.user_id is not None:
        return tenant_id, "user", q.user_id
    if q.printer_id is not None:
        return tenant_id, "printer", q.printer_id
    return tenant_id, "tenant", tenant_id
