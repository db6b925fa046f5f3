"""Supply orders after their creation: progress reported by the supplier, cancellation,
and the outcome of each webhook attempt. Each locks the order row before emitting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from services.consumables.domain.commands import (
    CancelOrder,
    OrderQuery,
    ReportDelivered,
    ReportShipped,
)
from services.consumables.domain.errors import OrderClosed, OrderNotFound
from services.consumables.domain.events import (
    SupplyOrderCanceled,
    SupplyOrderDelivered,
    SupplyOrderRejected,
    SupplyOrderSent,
    SupplyOrderShipped,
)
from services.consumables.domain.model import KnownPrinter, Order, Supplier
from services.consumables.repository import ConsumablesRepository, OrderRepository
from shared.db.uow import Transactions
from shared.http.auth import Principal


def ids_of(order: Order, at: datetime) -> dict[str, Any]:
    """The fields every event about ``order`` carries."""
    return {
        "order_id": order.id, "tenant_id": order.tenant_id, "printer_id": order.printer_id,
        "kind": order.kind, "colour": order.colour, "at": at,
    }  # fmt: skip


async def _locked(repo: OrderRepository, order_id: uuid.UUID) -> Order:
    order = await repo.get_order(order_id, for_update=True)
    if order is None:
        raise OrderNotFound("no such supply order")
    return order


async def get_order(
    tx: Transactions[OrderRepository], order_id: uuid.UUID, who: Principal
) -> Order:
    """An order the caller may see (another tenant's is answered as missing)."""
    async with tx() as uow:
        order = await uow.repo.get_order(order_id)
    if order is None or not who.can_access(order.tenant_id):
        raise OrderNotFound("no such supply order")
    return order


async def order_and_supplier(
    tx: Transactions[ConsumablesRepository], order_id: uuid.UUID
) -> tuple[Order | None, Supplier | None]:
    """An order and the supplier it was sent to (with its sealed secret), if any."""
    async with tx() as uow:
        order = await uow.repo.get_order(order_id)
        if order is None or order.supplier_id is None:
            return order, None
        return order, await uow.repo.get_supplier(order.supplier_id)


async def accept_callback_nonce(
    tx: Transactions[OrderRepository], supplier_id: uuid.UUID, nonce: str, keep_s: float
) -> bool:
    """Whether a supplier's signed callback is new: its nonce is recorded once; the same
    nonce again within ``keep_s`` is a replay."""
    async with tx() as uow:
        return await uow.repo.record_callback_nonce(supplier_id, nonce, keep_s)


async def list_orders(
    tx: Transactions[OrderRepository], q: OrderQuery, tenant_id: uuid.UUID | None
) -> list[Order]:
    """A page of orders, newest first, filtered."""
    async with tx() as uow:
        return await uow.repo.list_orders(q, tenant_id)


async def report_progress(
    tx: Transactions[OrderRepository],
    order_id: uuid.UUID,
    step: Literal["shipped", "delivered"],
    cmd: ReportShipped | ReportDelivered,
) -> Order:
    """The supplier (or an administrator) says the order shipped or arrived."""
    async with tx() as uow:
        order = await _locked(uow.repo, order_id)
        if order.closed:
            raise OrderClosed(f"the order is {order.state}")
        if not order.reportable(step):
            return order  # already there or beyond: a repeated or late report
        now = datetime.now(UTC)
        await uow.repo.drop_delivery(order_id)  # the supplier evidently has it
        if isinstance(cmd, ReportShipped):
            at = cmd.shipped_at or now
            order = await uow.repo.update_order(
                order_id, state="shipped", shipped_at=at, carrier=cmd.carrier,
                tracking_number=cmd.tracking_number,
            )  # fmt: skip
            event: Any = SupplyOrderShipped(
                **ids_of(order, at), carrier=cmd.carrier, tracking_number=cmd.tracking_number
            )
        else:
            at = cmd.delivered_at or now
            order = await uow.repo.update_order(order_id, state="delivered", delivered_at=at)
            event = SupplyOrderDelivered(**ids_of(order, at))
        await uow.emit(event, tenant_id=order.tenant_id)
        return order


async def cancel(
    tx: Transactions[OrderRepository], order_id: uuid.UUID, cmd: CancelOrder, who: Principal
) -> Order:
    """An administrator cancels an open order; its webhook, if still pending, is dropped."""
    async with tx() as uow:
        order = await uow.repo.get_order(order_id, for_update=True)
        if order is None or not who.can_access(order.tenant_id):
            raise OrderNotFound("no such supply order")
        if order.closed:
            raise OrderClosed(f"the order is {order.state}")
        now = datetime.now(UTC)
        await uow.repo.drop_delivery(order_id)
        order = await uow.repo.update_order(
            order_id, state="canceled", detail=cmd.reason, closed_at=now
        )
        await uow.emit(
            SupplyOrderCanceled(**ids_of(order, now), reason=cmd.reason, by=who.subject[:200]),
            tenant_id=order.tenant_id,
        )
        return order


async def webhook_accepted(
    tx: Transactions[OrderRepository], order_id: uuid.UUID, attempts: int
) -> None:
    """The supplier answered 2xx: the order is sent (unless it already moved on)."""
    async with tx() as uow:
        order = await uow.repo.get_order(order_id, for_update=True)
        await uow.repo.drop_delivery(order_id)
        if order is None or order.state != "sending" or order.supplier_id is None:
            return
        now = datetime.now(UTC)
        order = await uow.repo.update_order(order_id, state="sent", sent_at=now)
        assert order.supplier_id is not None
        await uow.emit(
            SupplyOrderSent(**ids_of(order, now), supplier_id=order.supplier_id, attempts=attempts),
            tenant_id=order.tenant_id,
        )


async def webhook_refused(
    tx: Transactions[OrderRepository], order_id: uuid.UUID, status: int, body: str
) -> None:
    """The supplier refused the order for good (4xx): it is closed with the answer."""
    async with tx() as uow:
        order = await uow.repo.get_order(order_id, for_update=True)
        await uow.repo.drop_delivery(order_id)
        if order is None or order.state != "sending" or order.supplier_id is None:
            return
        now = datetime.now(UTC)
        order = await uow.repo.update_order(
            order_id, state="rejected_by_supplier", closed_at=now,
            detail=f"the supplier answered {status}",
            supplier_response={"status": status, "body": body[:2000]},
        )  # fmt: skip
        assert order.supplier_id is not None
        await uow.emit(
            SupplyOrderRejected(
                **ids_of(order, now), supplier_id=order.supplier_id, status=status,
                response=body[:2000],
            ),
            tenant_id=order.tenant_id,
        )  # fmt: skip


async def to_deliver(
    tx: Transactions[ConsumablesRepository], order_id: uuid.UUID
) -> tuple[Order | None, Supplier | None, KnownPrinter | None]:
    """What a claimed webhook sends: the order, its supplier (with the sealed secret) and
    its printer. Nothing, and the delivery is dropped, when the order is no longer
    waiting to be sent or its supplier is gone."""
    async with tx() as uow:
        order = await uow.repo.get_order(order_id)
        supplier = (
            await uow.repo.get_supplier(order.supplier_id)
            if order is not None and order.supplier_id is not None
            else None
        )
        printer = await uow.repo.printer(order.printer_id) if order is not None else None
        if order is None or supplier is None or order.state != "sending":
            await uow.repo.drop_delivery(order_id)
            return None, None, None
        return order, supplier, printer


async def webhook_failed(
    tx: Transactions[OrderRepository],
    order_id: uuid.UUID,
    delay_s: float,
    status: int | None,
    error: str,
) -> None:
    """The attempt failed in a way worth retrying: try again after ``delay_s``."""
    async with tx() as uow:
        await uow.repo.retry_delivery(order_id, delay_s, status, error)
