"""The SQL of the consumables schema (search_path is the service's own schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.consumables.domain.model import OPEN_STATES, Rule
from shared.readmodels.devices import PRINTER_FIELDS, PrinterTable

# ------------------------------------------------------------------ printers (read model)


PRINTERS = PrinterTable(key="printer_id", fields=PRINTER_FIELDS, touched="updated_at")
"""The printers read model (what rules match on), applied by :mod:`shared.readmodels.devices`."""


async def get_printer(conn: asyncpg.Connection, printer_id: uuid.UUID) -> asyncpg.Record | None:
    """A printer of the read model."""
    return await conn.fetchrow("SELECT * FROM printers WHERE printer_id = $1", printer_id)


# ------------------------------------------------------------------ rules

_RULE_COLUMNS = (
    "id, tenant_id, region, model, colour, kind, action, threshold_percent, supplier_id, "
    "revision, created_at, updated_at"
)


def _rule(row: asyncpg.Record) -> Rule:
    return Rule(**dict(row))


async def insert_rule(conn: asyncpg.Connection, rule: Rule) -> Rule:
    """Add a rule; UniqueViolationError when one with the same keys exists in its scope."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO supply_rules (id, tenant_id, region, model, colour, kind, action,
                                  threshold_percent, supplier_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_RULE_COLUMNS}
        """,
        rule.id, rule.tenant_id, rule.region, rule.model, rule.colour, rule.kind, rule.action,
        rule.threshold_percent, rule.supplier_id,
    )  # fmt: skip
    return _rule(row)


async def update_rule(conn: asyncpg.Connection, rule: Rule) -> Rule:
    """Save a changed rule (revision + 1)."""
    row = await conn.fetchrow(
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
    return _rule(row)


async def delete_rule(conn: asyncpg.Connection, rule_id: uuid.UUID) -> None:
    """Remove a rule."""
    await conn.execute("DELETE FROM supply_rules WHERE id = $1", rule_id)


async def get_rule(
    conn: asyncpg.Connection, rule_id: uuid.UUID, *, for_update: bool = False
) -> Rule | None:
    """One rule."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_RULE_COLUMNS} FROM supply_rules WHERE id = $1{lock}", rule_id
    )
    return _rule(row) if row else None


async def list_rules(
    conn: asyncpg.Connection, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
) -> list[Rule]:
    """A page of rules: a tenant's own and the platform defaults (all for None)."""
    rows = await conn.fetch(
        f"""
        SELECT {_RULE_COLUMNS} FROM supply_rules
         WHERE ($1::uuid IS NULL OR tenant_id = $1 OR tenant_id IS NULL)
           AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3
        """,
        tenant_id, after, limit,
    )  # fmt: skip
    return [_rule(r) for r in rows]


async def rules_for(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[Rule]:
    """Every rule that may decide for a tenant's printers: its own and the platform's."""
    rows = await conn.fetch(
        f"SELECT {_RULE_COLUMNS} FROM supply_rules WHERE tenant_id = $1 OR tenant_id IS NULL",
        tenant_id,
    )
    return [_rule(r) for r in rows]


# ------------------------------------------------------------------ suppliers


async def insert_supplier(
    conn: asyncpg.Connection,
    supplier_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    name: str,
    webhook_url: str,
    sealed_secret: bytes,
) -> asyncpg.Record:
    """Add a supplier."""
    return await conn.fetchrow(
        """
        INSERT INTO suppliers (id, tenant_id, name, webhook_url, sealed_secret)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING id, tenant_id, name, webhook_url, created_at
        """,
        supplier_id, tenant_id, name, webhook_url, sealed_secret,
    )  # fmt: skip


async def get_supplier(conn: asyncpg.Connection, supplier_id: uuid.UUID) -> asyncpg.Record | None:
    """One supplier, with its sealed secret."""
    return await conn.fetchrow("SELECT * FROM suppliers WHERE id = $1", supplier_id)


async def list_suppliers(
    conn: asyncpg.Connection, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
) -> list[asyncpg.Record]:
    """A page of suppliers a tenant may use (all for None); never the secrets."""
    rows: list[Any] = await conn.fetch(
        """
        SELECT id, tenant_id, name, webhook_url, created_at FROM suppliers
         WHERE ($1::uuid IS NULL OR tenant_id = $1 OR tenant_id IS NULL)
           AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3
        """,
        tenant_id, after, limit,
    )  # fmt: skip
    return rows


# ------------------------------------------------------------------ levels


async def lock_level(
    conn: asyncpg.Connection, printer_id: uuid.UUID, kind: str, colour: str
) -> asyncpg.Record | None:
    """The latest level of one supply, locked: reports of one supply apply one at a time.
    A transaction lock on the supply's key covers the first report too (no row yet)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock("
        "hashtextextended($1::uuid::text || '/' || $2 || '/' || $3, 0))",
        printer_id, kind, colour,
    )  # fmt: skip
    return await conn.fetchrow(
        "SELECT * FROM supply_levels WHERE printer_id = $1 AND kind = $2 AND colour = $3 "
        "FOR UPDATE",
        printer_id, kind, colour,
    )  # fmt: skip


async def save_level(conn: asyncpg.Connection, level: dict[str, Any]) -> None:
    """Insert or replace the latest level of one supply (with its low episode)."""
    await conn.execute(
        """
        INSERT INTO supply_levels (printer_id, kind, colour, tenant_id, name, level_percent,
                                   source, reported_at, low_since, low_threshold, low_lowest)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (printer_id, kind, colour) DO UPDATE
           SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name,
               level_percent = EXCLUDED.level_percent, source = EXCLUDED.source,
               reported_at = EXCLUDED.reported_at, low_since = EXCLUDED.low_since,
               low_threshold = EXCLUDED.low_threshold, low_lowest = EXCLUDED.low_lowest
        """,
        *(level[k] for k in (
            "printer_id", "kind", "colour", "tenant_id", "name", "level_percent", "source",
            "reported_at", "low_since", "low_threshold", "low_lowest",
        )),
    )  # fmt: skip


async def add_history(
    conn: asyncpg.Connection,
    rows: list[tuple[uuid.UUID, str, str, int | None, datetime, uuid.UUID]],
) -> None:
    """Append reported levels to the history."""
    await conn.executemany(
        "INSERT INTO supply_level_history (printer_id, kind, colour, level_percent, reported_at, "
        "event_id) VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )


async def levels_of(conn: asyncpg.Connection, printer_id: uuid.UUID) -> list[asyncpg.Record]:
    """The latest level of every supply of a printer."""
    rows: list[Any] = await conn.fetch(
        "SELECT * FROM supply_levels WHERE printer_id = $1 ORDER BY kind, colour", printer_id
    )
    return rows


async def history_of(
    conn: asyncpg.Connection, printer_id: uuid.UUID, limit: int
) -> list[asyncpg.Record]:
    """The most recent reported levels of a printer, newest first."""
    rows: list[Any] = await conn.fetch(
        "SELECT kind, colour, level_percent, reported_at FROM supply_level_history "
        "WHERE printer_id = $1 ORDER BY reported_at DESC, id DESC LIMIT $2",
        printer_id, limit,
    )  # fmt: skip
    return rows


async def purge_history(conn: asyncpg.Connection, older_than_days: int) -> int:
    """Delete history older than the retention; returns how many rows went."""
    status = await conn.execute(
        "DELETE FROM supply_level_history WHERE reported_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(status.split()[-1])


# ------------------------------------------------------------------ orders


async def insert_order(conn: asyncpg.Connection, order: dict[str, Any]) -> asyncpg.Record | None:
    """Open an order; None when the supply already has an open one (the partial unique
    index decides, whatever transactions race)."""
    return await conn.fetchrow(
        f"""
        INSERT INTO supply_orders (id, tenant_id, printer_id, kind, colour, supply_name, state,
                                   rule_id, supplier_id, level_percent, threshold_percent)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (printer_id, kind, colour) WHERE state IN {OPEN_STATES} DO NOTHING
        RETURNING *
        """,
        *(order[k] for k in (
            "id", "tenant_id", "printer_id", "kind", "colour", "supply_name", "state", "rule_id",
            "supplier_id", "level_percent", "threshold_percent",
        )),
    )  # fmt: skip


async def get_order(
    conn: asyncpg.Connection, order_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    """One order."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM supply_orders WHERE id = $1{lock}", order_id)


async def open_order(
    conn: asyncpg.Connection, printer_id: uuid.UUID, kind: str, colour: str
) -> asyncpg.Record | None:
    """The open order of one supply, locked."""
    return await conn.fetchrow(
        f"SELECT * FROM supply_orders WHERE printer_id = $1 AND kind = $2 AND colour = $3 "
        f"AND state IN {OPEN_STATES} FOR UPDATE",
        printer_id, kind, colour,
    )  # fmt: skip


async def update_order(
    conn: asyncpg.Connection, order_id: uuid.UUID, **changes: Any
) -> asyncpg.Record:
    """Change some columns of an order (and its updated_at)."""
    names = list(changes)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    return await conn.fetchrow(
        f"UPDATE supply_orders SET {sets}, updated_at = now() WHERE id = $1 RETURNING *",
        order_id, *changes.values(),
    )  # fmt: skip


async def list_orders(conn: asyncpg.Connection, q: Any, tenant_id: uuid.UUID | None) -> list[Any]:
    """A page of orders, newest first, filtered."""
    rows: list[Any] = await conn.fetch(
        f"""
        SELECT * FROM supply_orders o
         WHERE ($1::uuid IS NULL OR tenant_id = $1)
           AND ($2::uuid IS NULL OR printer_id = $2)
           AND ($3::text IS NULL OR state = $3)
           AND ($4::text IS NULL OR kind = $4)
           AND ($5::text IS NULL OR colour = $5)
           AND ($6::boolean IS NULL OR (state IN {OPEN_STATES}) = $6)
           AND ($7::uuid IS NULL OR (created_at, id) < (
                SELECT created_at, id FROM supply_orders WHERE id = $7))
         ORDER BY created_at DESC, id DESC LIMIT $8
        """,
        tenant_id, q.printer_id, q.state, q.kind, q.colour, q.open, q.after, q.limit,
    )  # fmt: skip
    return rows


# ------------------------------------------------------------------ webhook deliveries


async def add_delivery(
    conn: asyncpg.Connection, order_id: uuid.UUID, supplier_id: uuid.UUID
) -> None:
    """Queue an order's webhook for the delivery worker."""
    await conn.execute(
        "INSERT INTO order_deliveries (order_id, supplier_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING",
        order_id, supplier_id,
    )  # fmt: skip


async def claim_deliveries(conn: asyncpg.Connection, limit: int, lease_s: float) -> list[Any]:
    """Due deliveries, each leased for ``lease_s`` so that no other replica takes it
    meanwhile; a replica that dies mid-call leaves it to be retried after the lease."""
    rows: list[Any] = await conn.fetch(
        """
        WITH due AS (
            SELECT order_id FROM order_deliveries
             WHERE next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
        )
        UPDATE order_deliveries d
           SET next_attempt_at = now() + make_interval(secs => $2), attempts = d.attempts + 1
          FROM due WHERE d.order_id = due.order_id
        RETURNING d.order_id, d.supplier_id, d.attempts
        """,
        limit, lease_s,
    )  # fmt: skip
    return rows


async def get_delivery(conn: asyncpg.Connection, order_id: uuid.UUID) -> asyncpg.Record | None:
    """An order's pending delivery, locked."""
    return await conn.fetchrow(
        "SELECT * FROM order_deliveries WHERE order_id = $1 FOR UPDATE", order_id
    )


async def retry_delivery(
    conn: asyncpg.Connection, order_id: uuid.UUID, delay_s: float, status: int | None, error: str
) -> None:
    """Record a failed attempt and when to try again."""
    await conn.execute(
        """
        UPDATE order_deliveries
           SET next_attempt_at = now() + make_interval(secs => $2), last_status = $3,
               last_error = $4
         WHERE order_id = $1
        """,
        order_id, delay_s, status, error[:1000],
    )  # fmt: skip


async def drop_delivery(conn: asyncpg.Connection, order_id: uuid.UUID) -> None:
    """The webhook needs no more attempts."""
    await conn.execute("DELETE FROM order_deliveries WHERE order_id = $1", order_id)
