"""Rules and suppliers: what tenant administrators (and operators, for platform-wide
defaults) configure."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import asyncpg

from services.consumables import repository as repo
from services.consumables.domain.commands import CreateRule, CreateSupplier, UpdateRule
from services.consumables.domain.errors import (
    DuplicateRule,
    RuleNotFound,
    SecretsUnavailable,
)
from services.consumables.domain.model import Rule
from shared.crypto.sealing import KeyEncryptionKey
from shared.errors import FieldError, Forbidden, ValidationFailed
from shared.http.auth import Principal


def owning_tenant(who: Principal, requested: uuid.UUID | None) -> uuid.UUID | None:
    """Whose rule or supplier this is: the caller's tenant, or for operators the tenant
    they name (None: platform-wide). A tenant caller naming another tenant is refused."""
    if who.is_operator:
        return requested
    tenant = who.tenant_scope()
    if requested is not None and requested != tenant:
        raise ValidationFailed("unknown tenant", [FieldError("tenant_id", "unknown tenant")])
    return tenant


async def _check_supplier(conn: asyncpg.Connection, rule: Rule) -> None:
    if rule.supplier_id is None:
        return
    if rule.action != "order":
        raise ValidationFailed(
            "only an order rule names a supplier",
            [FieldError("supplier_id", "only an 'order' rule sends orders to a supplier")],
        )
    supplier = await repo.get_supplier(conn, rule.supplier_id)
    if supplier is None or supplier["tenant_id"] not in (None, rule.tenant_id):
        raise ValidationFailed("unknown supplier", [FieldError("supplier_id", "unknown supplier")])


def _duplicate(rule: Rule) -> DuplicateRule:
    return DuplicateRule(
        f"a rule for region {rule.region!r}, model {rule.model!r}, colour {rule.colour!r} and "
        f"kind {rule.kind!r} exists already; change that one"
    )


async def create_rule(pool: asyncpg.Pool, cmd: CreateRule, who: Principal) -> Rule:
    """Add a rule; 409 when the same keys already have one in that scope."""
    now = datetime.now(UTC)
    rule = Rule(
        id=uuid.uuid4(), tenant_id=owning_tenant(who, cmd.tenant_id), region=cmd.region,
        model=cmd.model, colour=cmd.colour, kind=cmd.kind, action=cmd.action,
        threshold_percent=cmd.threshold_percent, supplier_id=cmd.supplier_id, revision=1,
        created_at=now, updated_at=now,
    )  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await _check_supplier(conn, rule)
        try:
            return await repo.insert_rule(conn, rule)
        except asyncpg.UniqueViolationError:
            raise _duplicate(rule) from None


async def _editable(conn: asyncpg.Connection, rule_id: uuid.UUID, who: Principal) -> Rule:
    rule = await repo.get_rule(conn, rule_id, for_update=True)
    if rule is None or (rule.tenant_id is not None and not who.can_access(rule.tenant_id)):
        raise RuleNotFound("no such supply rule")
    if rule.tenant_id is None and not who.is_operator:
        raise Forbidden("platform defaults are changed by operators; add a rule of your own")
    return rule


async def update_rule(
    pool: asyncpg.Pool, rule_id: uuid.UUID, cmd: UpdateRule, who: Principal
) -> Rule:
    """Change a rule's keys, action, threshold or supplier."""
    async with pool.acquire() as conn, conn.transaction():
        rule = dataclasses.replace(await _editable(conn, rule_id, who), **cmd.changes())
        await _check_supplier(conn, rule)
        try:
            async with conn.transaction():
                return await repo.update_rule(conn, rule)
        except asyncpg.UniqueViolationError:
            raise _duplicate(rule) from None


async def delete_rule(pool: asyncpg.Pool, rule_id: uuid.UUID, who: Principal) -> None:
    """Remove a rule (orders it created stay)."""
    async with pool.acquire() as conn, conn.transaction():
        await _editable(conn, rule_id, who)
        await repo.delete_rule(conn, rule_id)


async def create_supplier(
    pool: asyncpg.Pool, cmd: CreateSupplier, who: Principal, kek: KeyEncryptionKey | None
) -> asyncpg.Record:
    """Add a supplier; its secret is sealed under the key-encryption key, bound to its id."""
    if kek is None:
        raise SecretsUnavailable("this service has no key to protect suppliers' secrets")
    tenant = owning_tenant(who, cmd.tenant_id)
    supplier_id = uuid.uuid4()
    sealed = kek.seal(cmd.secret.encode(), aad=supplier_id.bytes)
    async with pool.acquire() as conn:
        return await repo.insert_supplier(
            conn, supplier_id, tenant, cmd.name, cmd.webhook_url, sealed
        )
