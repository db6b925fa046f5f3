"""Supply rules and suppliers: what administrators configure."""

from __future__ import annotations

import uuid

import asyncpg

from services.consumables.domain.model import Rule, Supplier

_RULE_COLUMNS = (
    "id, tenant_id, region, model, colour, kind, action, threshold_percent, supplier_id, "
    "revision, created_at, updated_at"
)
_SUPPLIER_COLUMNS = "id, tenant_id, name, webhook_url, created_at"


def _rule(row: asyncpg.Record) -> Rule:
    return Rule(**dict(row))


class RuleRepository:
    """Rules (a tenant's and the platform defaults) and suppliers."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert_rule(self, rule: Rule) -> Rule | None:
        """Add a rule; None when one with the same keys exists in its scope."""
        try:
            async with self.conn.transaction():
                row = await self.conn.fetchrow(
                    f"""
                    INSERT INTO supply_rules (id, tenant_id, region, model, colour, kind,
                                              action, threshold_percent, supplier_id)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_RULE_COLUMNS}
                    """,
                    rule.id, rule.tenant_id, rule.region, rule.model, rule.colour, rule.kind,
                    rule.action, rule.threshold_percent, rule.supplier_id,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            return None
        return _rule(row)

    async def update_rule(self, rule: Rule) -> Rule | None:
        """Save a changed rule (revision + 1); None when another rule of its scope has
        the same keys."""
        try:
            async with self.conn.transaction():
                row = await self.conn.fetchrow(
                    f"""
                    UPDATE supply_rules
                       SET region = $2, model = $3, colour = $4, kind = $5, action = $6,
                           threshold_percent = $7, supplier_id = $8, revision = revision + 1,
                           updated_at = now()
                     WHERE id = $1 RETURNING {_RULE_COLUMNS}
                    """,
                    rule.id, rule.region, rule.model, rule.colour, rule.kind, rule.action,
                    rule.threshold_percent, rule.supplier_id,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            return None
        return _rule(row)

    async def delete_rule(self, rule_id: uuid.UUID) -> None:
        """Remove a rule."""
        await self.conn.execute("DELETE FROM supply_rules WHERE id = $1", rule_id)

    async def get_rule(self, rule_id: uuid.UUID, *, for_update: bool = False) -> Rule | None:
        """One rule."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_RULE_COLUMNS} FROM supply_rules WHERE id = $1{lock}", rule_id
        )
        return _rule(row) if row else None

    async def list_rules(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Rule]:
        """A page of rules: a tenant's own and the platform defaults (all for None)."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_RULE_COLUMNS} FROM supply_rules
             WHERE ($1::uuid IS NULL OR tenant_id = $1 OR tenant_id IS NULL)
               AND ($2::uuid IS NULL OR id > $2)
             ORDER BY id LIMIT $3
            """,
            tenant_id, after, limit,
        )  # fmt: skip
        return [_rule(r) for r in rows]

    async def rules_for(self, tenant_id: uuid.UUID) -> list[Rule]:
        """Every rule that may decide for a tenant's printers: its own and the platform's."""
        rows = await self.conn.fetch(
            f"SELECT {_RULE_COLUMNS} FROM supply_rules WHERE tenant_id = $1 OR tenant_id IS NULL",
            tenant_id,
        )
        return [_rule(r) for r in rows]

    async def insert_supplier(self, supplier: Supplier) -> Supplier:
        """Add a supplier (with its sealed secret); returns it as stored, without it."""
        row = await self.conn.fetchrow(
            f"""
            INSERT INTO suppliers (id, tenant_id, name, webhook_url, sealed_secret)
            VALUES ($1, $2, $3, $4, $5) RETURNING {_SUPPLIER_COLUMNS}
            """,
            supplier.id, supplier.tenant_id, supplier.name, supplier.webhook_url,
            supplier.sealed_secret,
        )  # fmt: skip
        return Supplier(**dict(row))

    async def get_supplier(self, supplier_id: uuid.UUID) -> Supplier | None:
        """One supplier, with its sealed secret."""
        row = await self.conn.fetchrow(
            f"SELECT {_SUPPLIER_COLUMNS}, sealed_secret FROM suppliers WHERE id = $1", supplier_id
        )
        return Supplier(**dict(row)) if row else None

    async def list_suppliers(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Supplier]:
        """A page of suppliers a tenant may use (all for None); never the secrets."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_SUPPLIER_COLUMNS} FROM suppliers
             WHERE ($1::uuid IS NULL OR tenant_id = $1 OR tenant_id IS NULL)
               AND ($2::uuid IS NULL OR id > $2)
             ORDER BY id LIMIT $3
            """,
            tenant_id, after, limit,
        )  # fmt: skip
        return [Supplier(**dict(r)) for r in rows]
