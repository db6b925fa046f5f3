"""Supply orders after their creation: progress reported by the supplier, cancellation,
and the outcome of each webhook attempt. Each locks the order row before emitting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg

from services.consumables import repository as repo
from services.consumables.domain.commands import CancelOrder, ReportDelivered, ReportShipped
from services.consumables.domain.errors import OrderClosed, OrderNotFound
from services.consumables.domain.events import (
    SupplyOrderCanceled,
    SupplyOrderDelivered,
    SupplyOrderRejected,
    SupplyOrderSent,
    SupplyOrderShipped,
)
from services.consumables.domain.model import CLOSED_STATES
from shared.db.outbox import Emitter

# The state each report moves an order to, and the states it may come from. A report
# that arrives after a later one (shipped after delivered) changes nothing.
_STEPS: dict[str, tuple[str, ...]] = {
    "shipped": ("created", "sending", "sent"),
    "delivered": ("created", "sending", "sent", "shipped"),
}


def _ids(order: asyncpg.Record, at: datetime) -> dict[str, Any]:
    return {
        "order_id": order["id"], "tenant_id": order["tenant_id"],
        "printer_id": order["printer_id"], "kind": order["kind"], "colour": order["colour"],
        "at": at,
    }  # fmt: skip


async def _locked(conn: asyncpg.Connection, order_id: uuid.UUID) -> asyncpg.Record:
    order = await repo.get_order(conn, order_id, for_update=True)
    if order is None:
        raise OrderNotFound("no such supply order")
    return order


async def report_progress(
    pool: asyncpg.Pool,
    order_id: uuid.UUID,
    step: Literal["shipped", "delivered"],
    cmd: ReportShipped | ReportDelivered,
    out: Emitter,
) -> asyncpg.Record:
    """The supplier (or an administrator) says the order shipped or arrived."""
    async with pool.acquire() as conn, conn.transaction():
        order = await _locked(conn, order_id)
        if order["state"] in CLOSED_STATES:
            raise OrderClosed(f"the order is {order['state']}")
        if order["state"] not in _STEPS[step]:
            return order  # already there or beyond: a repeated or late report
        now = datetime.now(UTC)
        await repo.drop_delivery(conn, order_id)  # the supplier evidently has it
        if isinstance(cmd, ReportShipped):
            at = cmd.shipped_at or now
            order = await repo.update_order(
                conn, order_id, state="shipped", shipped_at=at, carrier=cmd.carrier,
                tracking_number=cmd.tracking_number,
            )  # fmt: skip
            event: Any = SupplyOrderShipped(
                **_ids(order, at), carrier=cmd.carrier, tracking_number=cmd.tracking_number
            )
        else:
            at = cmd.delivered_at or now
            order = await repo.update_order(conn, order_id, state="delivered", delivered_at=at)
            event = SupplyOrderDelivered(**_ids(order, at))
        await out.emit(conn, event, tenant_id=order["tenant_id"])
        return order


async def cancel(
    pool: asyncpg.Pool, order_id: uuid.UUID, cmd: CancelOrder, by: str, out: Emitter
) -> asyncpg.Record:
    """An administrator cancels an open order; its webhook, if still pending, is dropped."""
    async with pool.acquire() as conn, conn.transaction():
        order = await _locked(conn, order_id)
        if order["state"] in CLOSED_STATES:
            raise OrderClosed(f"the order is {order['state']}")
        now = datetime.now(UTC)
        await repo.drop_delivery(conn, order_id)
        order = await repo.update_order(
            conn, order_id, state="canceled", detail=cmd.reason, closed_at=now
        )
        await out.emit(
            conn,
            SupplyOrderCanceled(**_ids(order, now), reason=cmd.reason, by=by[:200]),
            tenant_id=order["tenant_id"],
        )
        return order


async def webhook_accepted(
    conn: asyncpg.Connection, order_id: uuid.UUID, attempts: int, out: Emitter
) -> None:
    """The supplier answered 2xx: the order is sent (unless it already moved on)."""
    async with conn.transaction():
        order = await repo.get_order(conn, order_id, for_update=True)
        await repo.drop_delivery(conn, order_id)
        if order is None or order["state"] != "sending" or order["supplier_id"] is None:
            return
        now = datetime.now(UTC)
        order = await repo.update_order(conn, order_id, state="sent", sent_at=now)
        await out.emit(
            conn,
            SupplyOrderSent(
                **_ids(order, now), supplier_id=order["supplier_id"], attempts=attempts
            ),
            tenant_id=order["tenant_id"],
        )


async def webhook_refused(
    conn: asyncpg.Connection, order_id: uuid.UUID, status: int, body: str, out: Emitter
) -> None:
    """The supplier refused the order for good (4xx): it is closed with the answer."""
    async with conn.transaction():
        order = await repo.get_order(conn, order_id, for_update=True)
        await repo.drop_delivery(conn, order_id)
        if order is None or order["state"] != "sending" or order["supplier_id"] is None:
            return
        now = datetime.now(UTC)
        order = await repo.update_order(
            conn, order_id, state="rejected_by_supplier", closed_at=now,
            detail=f"the supplier answered {status}",
            supplier_response={"status": status, "body": body[:2000]},
        )  # fmt: skip
        await out.emit(
            conn,
            SupplyOrderRejected(
                **_ids(order, now), supplier_id=order["supplier_id"], status=status,
                response=body[:2000],
            ),
            tenant_id=order["tenant_id"],
        )  # fmt: skip
