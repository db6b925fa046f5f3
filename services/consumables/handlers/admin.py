"""Rules and suppliers: what tenant administrators (and operators, for platform-wide
defaults) configure."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from services.consumables.domain.commands import CreateRule, CreateSupplier, UpdateRule
from services.consumables.domain.errors import (
    DuplicateRule,
    RuleNotFound,
    SecretsUnavailable,
    SupplierNotFound,
)
from services.consumables.domain.model import Rule, Supplier
from services.consumables.repository import RuleRepository
from shared.crypto.sealing import KeyEncryptionKey
from shared.db.uow import Transactions
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


async def _check_supplier(repo: RuleRepository, rule: Rule) -> None:
    if rule.supplier_id is None:
        return
    if rule.action != "order":
        raise ValidationFailed(
            "only an order rule names a supplier",
            [FieldError("supplier_id", "only an 'order' rule sends orders to a supplier")],
        )
    supplier = await repo.get_supplier(rule.supplier_id)
    if supplier is None or supplier.tenant_id not in (None, rule.tenant_id):
        raise ValidationFailed("unknown supplier", [FieldError("supplier_id", "unknown supplier")])


def _duplicate(rule: Rule) -> DuplicateRule:
    return DuplicateRule(
        f"a rule for region {rule.region!r}, model {rule.model!r}, colour {rule.colour!r} and "
        f"kind {rule.kind!r} exists already; change that one"
    )


async def create_rule(tx: Transactions[RuleRepository], cmd: CreateRule, who: Principal) -> Rule:
    """Add a rule; 409 when the same keys already have one in that scope."""
    now = datetime.now(UTC)
    rule = Rule(
        id=uuid.uuid4(), tenant_id=owning_tenant(who, cmd.tenant_id), region=cmd.region,
        model=cmd.model, colour=cmd.colour, kind=cmd.kind, action=cmd.action,
        threshold_percent=cmd.threshold_percent, supplier_id=cmd.supplier_id, revision=1,
        created_at=now, updated_at=now,
    )  # fmt: skip
    async with tx() as uow:
        await _check_supplier(uow.repo, rule)
        created = await uow.repo.insert_rule(rule)
        if created is None:
            raise _duplicate(rule)
        return created


def _visible(rule: Rule | None, who: Principal) -> Rule:
    if rule is None or (rule.tenant_id is not None and not who.can_access(rule.tenant_id)):
        raise RuleNotFound("no such supply rule")
    return rule


async def get_rule(tx: Transactions[RuleRepository], rule_id: uuid.UUID, who: Principal) -> Rule:
    """A rule the caller may see: its tenant's, or a platform default."""
    async with tx() as uow:
        return _visible(await uow.repo.get_rule(rule_id), who)


async def list_rules(
    tx: Transactions[RuleRepository], tenant_id: uuid.UUID | None, after: uuid.UUID | None,
    limit: int,
) -> list[Rule]:  # fmt: skip
    """A page of rules: a tenant's own and the platform defaults (all for None)."""
    async with tx() as uow:
        return await uow.repo.list_rules(tenant_id=tenant_id, after=after, limit=limit)


async def _editable(repo: RuleRepository, rule_id: uuid.UUID, who: Principal) -> Rule:
    rule = _visible(await repo.get_rule(rule_id, for_update=True), who)
    if rule.tenant_id is None and not who.is_operator:
        raise Forbidden("platform defaults are changed by operators; add a rule of your own")
    return rule


async def update_rule(
    tx: Transactions[RuleRepository], rule_id: uuid.UUID, cmd: UpdateRule, who: Principal
) -> Rule:
    """Change a rule's keys, action, threshold or supplier."""
    async with tx() as uow:
        rule = dataclasses.replace(await _editable(uow.repo, rule_id, who), **cmd.changes())
        await _check_supplier(uow.repo, rule)
        updated = await uow.repo.update_rule(rule)
        if updated is None:
            raise _duplicate(rule)
        return updated


async def delete_rule(tx: Transactions[RuleRepository], rule_id: uuid.UUID, who: Principal) -> None:
    """Remove a rule (orders it created stay)."""
    async with tx() as uow:
        await _editable(uow.repo, rule_id, who)
        await uow.repo.delete_rule(rule_id)


async def create_supplier(
    tx: Transactions[RuleRepository],
    cmd: CreateSupplier,
    who: Principal,
    kek: KeyEncryptionKey | None,
) -> Supplier:
    """Add a supplier; its secret is sealed under the key-encryption key, bound to its id."""
    if kek is None:
        raise SecretsUnavailable("this service has no key to protect suppliers' secrets")
    tenant = owning_tenant(who, cmd.tenant_id)
    supplier_id = uuid.uuid4()
    sealed = kek.seal(cmd.secret.encode(), aad=supplier_id.bytes)
    supplier = Supplier(
        id=supplier_id, tenant_id=tenant, name=cmd.name, webhook_url=cmd.webhook_url,
        created_at=datetime.now(UTC), sealed_secret=sealed,
    )  # fmt: skip
    async with tx() as uow:
        return await uow.repo.insert_supplier(supplier)


async def get_supplier(
    tx: Transactions[RuleRepository], supplier_id: uuid.UUID, who: Principal
) -> Supplier:
    """A supplier the caller may see: its tenant's, or a platform supplier."""
    async with tx() as uow:
        supplier = await uow.repo.get_supplier(supplier_id)
    if supplier is None or (
        supplier.tenant_id is not None and not who.can_access(supplier.tenant_id)
    ):
        raise SupplierNotFound("no such supplier")
    return supplier


async def list_suppliers(
    tx: Transactions[RuleRepository], tenant_id: uuid.UUID | None, after: uuid.UUID | None,
    limit: int,
) -> list[Supplier]:  # fmt: skip
    """A page of suppliers a tenant may use (all for None); never the secrets."""
    async with tx() as uow:
        return await uow.repo.list_suppliers(tenant_id=tenant_id, after=after, limit=limit)
