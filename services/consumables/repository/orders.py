"""Supply orders, and the webhook deliveries that send them to suppliers."""

from __future__ import annotations

import uuid
from dataclasses import astuple, fields
from typing import Any

import asyncpg

from services.consumables.domain.commands import OrderQuery
from services.consumables.domain.model import OPEN_STATES, Delivery, NewOrder, Order

_ORDER_COLUMNS = ", ".join(f.name for f in fields(Order))
_NEW_COLUMNS = ", ".join(f.name for f in fields(NewOrder))


def _order(row: asyncpg.Record) -> Order:
    return Order(**dict(row))


class OrderRepository:
    """Orders (at most one open per printer and supply) and their pending webhooks."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert_order(self, order: NewOrder) -> Order | None:
        """Open an order; None when the supply already has an open one (the partial
        unique index decides, whatever transactions race)."""
        row = await self.conn.fetchrow(
            f"""
            INSERT INTO supply_orders ({_NEW_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (printer_id, kind, colour) WHERE state IN {OPEN_STATES} DO NOTHING
            RETURNING {_ORDER_COLUMNS}
            """,
            *astuple(order),
        )
        return _order(row) if row else None

    async def get_order(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        """One order."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM supply_orders WHERE id = $1{lock}", order_id
        )
        return _order(row) if row else None

    async def open_order(self, printer_id: uuid.UUID, kind: str, colour: str) -> Order | None:
        """The open order of one supply, locked."""
        row = await self.conn.fetchrow(
            f"SELECT {_ORDER_COLUMNS} FROM supply_orders WHERE printer_id = $1 AND kind = $2 "
            f"AND colour = $3 AND state IN {OPEN_STATES} FOR UPDATE",
            printer_id, kind, colour,
        )  # fmt: skip
        return _order(row) if row else None

    async def update_order(self, order_id: uuid.UUID, **changes: Any) -> Order:
        """Change some columns of an order (and its updated_at)."""
        names = list(changes)
        sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
        row = await self.conn.fetchrow(
            f"UPDATE supply_orders SET {sets}, updated_at = now() WHERE id = $1 "
            f"RETURNING {_ORDER_COLUMNS}",
            order_id, *changes.values(),
        )  # fmt: skip
        return _order(row)

    async def list_orders(self, q: OrderQuery, tenant_id: uuid.UUID | None) -> list[Order]:
        """A page of orders, newest first, filtered."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_ORDER_COLUMNS} FROM supply_orders o
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
        return [_order(r) for r in rows]

    # -------------------------------------------------------------- webhook deliveries

    async def add_delivery(self, order_id: uuid.UUID, supplier_id: uuid.UUID) -> None:
        """Queue an order's webhook for the delivery worker."""
        await self.conn.execute(
            "INSERT INTO order_deliveries (order_id, supplier_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            order_id, supplier_id,
        )  # fmt: skip

    async def claim_deliveries(self, limit: int, lease_s: float) -> list[Delivery]:
        """Due deliveries, each leased for ``lease_s`` so that no other replica takes it
        meanwhile; a replica that dies mid-call leaves it to be retried after the lease."""
        rows = await self.conn.fetch(
            """
            WITH due AS (
                SELECT order_id FROM order_deliveries
                 WHERE next_attempt_at <= now()
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
            )
            UPDATE order_deliveries d
               SET next_attempt_at = now() + make_interval(secs => $2),
                   attempts = d.attempts + 1
              FROM due WHERE d.order_id = due.order_id
            RETURNING d.order_id, d.supplier_id, d.attempts
            """,
            limit, lease_s,
        )  # fmt: skip
        return [Delivery(**dict(r)) for r in rows]

    async def retry_delivery(
        self, order_id: uuid.UUID, delay_s: float, status: int | None, error: str
    ) -> None:
        """Record a failed attempt and when to try again."""
        await self.conn.execute(
            """
            UPDATE order_deliveries
               SET next_attempt_at = now() + make_interval(secs => $2), last_status = $3,
                   last_error = $4
             WHERE order_id = $1
            """,
            order_id, delay_s, status, error[:1000],
        )  # fmt: skip

    async def drop_delivery(self, order_id: uuid.UUID) -> None:
        """The webhook needs no more attempts."""
        await self.conn.execute("DELETE FROM order_deliveries WHERE order_id = $1", order_id)

    async def record_callback_nonce(
        self, supplier_id: uuid.UUID, nonce: str, keep_s: float
    ) -> bool:
        """Record a supplier's callback nonce; False when it was seen in the last
        ``keep_s`` seconds (a replay). Older nonces are forgotten on the way."""
        await self.conn.execute(
            "DELETE FROM callback_nonces WHERE seen_at < now() - make_interval(secs => $1)",
            keep_s,
        )
        row = await self.conn.fetchrow(
            "INSERT INTO callback_nonces (supplier_id, nonce) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING RETURNING nonce",
            supplier_id, nonce,
        )  # fmt: skip
        return row is not None
