"""Consumables' handlers against an in-memory repository: a low supply creates one order
(or one warning) per low episode, a replaced supply closes it, orders move only forward
and refuse what their state forbids (with their codes), and a refusal announces nothing."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.consumables.domain.commands import (
    CancelOrder,
    CreateRule,
    CreateSupplier,
    OrderQuery,
    ReportDelivered,
    ReportShipped,
    UpdateRule,
)
from services.consumables.domain.events import (
    SupplyLevelWarning,
    SupplyOrderCanceled,
    SupplyOrderCreated,
    SupplyOrderDelivered,
    SupplyOrderInstalled,
    SupplyOrderRejected,
    SupplyOrderSent,
    SupplyOrderShipped,
)
from services.consumables.domain.model import KnownPrinter
from services.consumables.handlers import admin, orders, supplies
from shared.crypto.sealing import KeyEncryptionKey
from shared.errors import DomainError, PermanentEventError
from shared.events.contracts.gateway import DeviceSuppliesReported, SupplyLevel
from shared.http.auth import Principal
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.consumables import FakeConsumablesRepository

TENANT = uuid.uuid4()
T0 = datetime.now(UTC).replace(microsecond=0)
RISE = 20

Tx = InMemoryTransactions[FakeConsumablesRepository]


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeConsumablesRepository())


def admin_of(tenant: uuid.UUID = TENANT) -> Principal:
    return Principal(
        subject="admin-1", tenant_id=tenant, roles=frozenset({"admin"}),
        scopes=frozenset({"printers:read", "printers:write"}),
    )  # fmt: skip


OPERATOR = Principal(subject="ops", tenant_id=None, roles=frozenset({"operator"}))
KEK = KeyEncryptionKey(os.urandom(32))


async def rule(tx: Tx, action: str = "order", threshold: int = 10, **kw: Any) -> Any:
    who = kw.pop("who", admin_of())
    cmd = CreateRule(
        region=kw.pop("region", "*"), model=kw.pop("model", "*"), colour=kw.pop("colour", "*"),
        kind=kw.pop("kind", "toner"), action=action, threshold_percent=threshold, **kw,
    )  # fmt: skip
    return await admin.create_rule(tx, cmd, who)


async def supplier(tx: Tx, who: Principal | None = None) -> Any:
    cmd = CreateSupplier(name="Toner & Co", webhook_url="https://toner.example/orders",
                         secret="s" * 32)  # fmt: skip
    return await admin.create_supplier(tx, cmd, who or admin_of(), KEK)


async def report(
    tx: Tx, printer: uuid.UUID, level: int | None, *, colour: str = "black",
    at: datetime | None = None, tenant: uuid.UUID = TENANT,
) -> None:  # fmt: skip
    data = DeviceSuppliesReported(
        device_id=printer, tenant_id=tenant, reported_at=at or datetime.now(UTC),
        supplies=[SupplyLevel(kind="toner", colour=colour, level_percent=level, name="Black")],
    )  # fmt: skip
    await supplies.apply_levels(tx, data, uuid.uuid4(), RISE)


async def low_order(tx: Tx, *, with_supplier: bool = True) -> Any:
    """An order opened by a low supply (sending to a supplier, or only created)."""
    sup = await supplier(tx) if with_supplier else None
    await rule(tx, supplier_id=sup.id if sup else None)
    printer = tx.repo.add_printer(TENANT)
    await report(tx, printer, 5)
    (order,) = tx.repo.orders.values()
    return order


# ------------------------------------------------------------------ supplies and rules


async def test_a_low_supply_opens_one_order_per_low_episode(tx: Tx) -> None:
    sup = await supplier(tx)
    made = await rule(tx, threshold=10, supplier_id=sup.id)
    printer = tx.repo.add_printer(TENANT)
    await report(tx, printer, 40)
    assert tx.repo.orders == {} and tx.announced() == []
    await report(tx, printer, 9)
    await report(tx, printer, 7)
    await report(tx, printer, 12)  # still within the episode: not replaced yet
    (order,) = tx.repo.orders.values()
    assert (order.state, order.supplier_id, order.rule_id) == ("sending", sup.id, made.id)
    assert list(tx.repo.deliveries) == [order.id]
    (created,) = tx.announced(SupplyOrderCreated)
    assert (created.order_id, created.level_percent, created.threshold_percent) == (
        order.id, 9, 10,
    )  # fmt: skip
    assert (created.model, created.region) == ("LaserJet 4", "eu-west")
    assert tx.announced() == [created]
    level = tx.repo.levels[(printer, "toner", "black")]
    assert (level.level_percent, level.low_threshold, level.low_lowest) == (12, 10, 7)
    assert len(tx.repo.history) == 4


async def test_an_order_rule_without_a_supplier_keeps_the_order_for_admins(tx: Tx) -> None:
    order = await low_order(tx, with_supplier=False)
    assert (order.state, order.supplier_id) == ("created", None)
    assert tx.repo.deliveries == {}


async def test_a_warn_rule_warns_once_and_an_ignore_rule_does_nothing(tx: Tx) -> None:
    await rule(tx, "warn", threshold=15, colour="cyan")
    await rule(tx, "ignore", threshold=15, colour="magenta")
    printer = tx.repo.add_printer(TENANT)
    for level in (10, 3, 0):
        await report(tx, printer, level, colour="cyan")
        await report(tx, printer, level, colour="magenta")
    (warning,) = tx.announced()
    assert isinstance(warning, SupplyLevelWarning)
    assert (warning.colour, warning.level_percent, warning.threshold_percent) == ("cyan", 10, 15)
    assert tx.repo.orders == {}


async def test_the_most_specific_rule_decides(tx: Tx) -> None:
    await rule(tx, "warn", threshold=50)
    await rule(tx, "ignore", threshold=50, model="laserjet 4")  # model compares caselessly
    printer = tx.repo.add_printer(TENANT)
    await report(tx, printer, 5)
    assert tx.announced() == [] and tx.repo.orders == {}


async def test_a_replaced_supply_installs_a_sent_order(tx: Tx) -> None:
    order = await low_order(tx)
    await orders.webhook_accepted(tx, order.id, attempts=1)
    await report(tx, order.printer_id, 24)  # above the threshold, not 20 points above 5
    assert tx.repo.orders[order.id].state == "sent"
    await report(tx, order.printer_id, 95)
    closed = tx.repo.orders[order.id]
    assert closed.state == "installed" and closed.closed_at is not None
    (installed,) = tx.announced(SupplyOrderInstalled)
    assert (installed.order_id, installed.level_percent) == (order.id, 95)
    assert tx.repo.levels[(order.printer_id, "toner", "black")].low_since is None
    await report(tx, order.printer_id, 4)  # a new episode: a new order
    assert len(tx.repo.orders) == 2


async def test_a_supply_replaced_before_the_order_went_out_cancels_it(tx: Tx) -> None:
    order = await low_order(tx)
    await report(tx, order.printer_id, 100)
    assert tx.repo.orders[order.id].state == "canceled"
    assert tx.repo.deliveries == {}
    (canceled,) = tx.announced(SupplyOrderCanceled)
    assert (canceled.order_id, canceled.by) == (order.id, "printcloud")


async def test_an_older_report_changes_only_the_history(tx: Tx) -> None:
    await rule(tx)
    printer = tx.repo.add_printer(TENANT)
    await report(tx, printer, 50, at=T0)
    await report(tx, printer, 3, at=T0 - timedelta(minutes=5))
    assert tx.repo.levels[(printer, "toner", "black")].level_percent == 50
    assert tx.repo.orders == {} and len(tx.repo.history) == 2


async def test_levels_of_an_unregistered_printer_wait_for_its_registration(tx: Tx) -> None:
    await rule(tx)
    printer = uuid.uuid4()
    await report(tx, printer, 2)
    assert tx.repo.orders == {} and tx.announced() == []
    tx.repo.printers[printer] = KnownPrinter(
        printer_id=printer, tenant_id=TENANT, name="P", model="X", region="eu-west",
        location=None, revision=1,
    )  # fmt: skip
    await supplies.reevaluate(tx, printer, RISE)
    (order,) = tx.repo.orders.values()
    assert order.level_percent == 2
    assert len(tx.announced(SupplyOrderCreated)) == 1


async def test_a_report_under_another_tenant_is_refused_and_changes_nothing(tx: Tx) -> None:
    await rule(tx)
    printer = tx.repo.add_printer(TENANT)
    with pytest.raises(PermanentEventError):
        await report(tx, printer, 1, tenant=uuid.uuid4())
    assert tx.repo.history == [] and tx.repo.levels == {} and tx.announced() == []


# ------------------------------------------------------------------ orders


async def test_the_supplier_reports_shipped_then_delivered(tx: Tx) -> None:
    order = await low_order(tx)
    shipped = await orders.report_progress(
        tx, order.id, "shipped", ReportShipped(carrier="DHL", tracking_number="42")
    )
    assert (shipped.state, shipped.carrier, shipped.tracking_number) == ("shipped", "DHL", "42")
    assert tx.repo.deliveries == {}  # the supplier evidently has it
    delivered = await orders.report_progress(tx, order.id, "delivered", ReportDelivered())
    assert delivered.state == "delivered" and delivered.delivered_at is not None
    events = tx.announced()[1:]
    assert [type(e) for e in events] == [SupplyOrderShipped, SupplyOrderDelivered]
    assert events[0].carrier == "DHL"  # type: ignore[attr-defined]


async def test_a_repeated_or_late_report_changes_nothing(tx: Tx) -> None:
    order = await low_order(tx)
    await orders.report_progress(tx, order.id, "delivered", ReportDelivered())
    before = len(tx.events)
    again = await orders.report_progress(tx, order.id, "delivered", ReportDelivered())
    late = await orders.report_progress(tx, order.id, "shipped", ReportShipped())
    assert again.state == late.state == "delivered"
    assert len(tx.events) == before


async def test_a_closed_order_refuses_reports_and_cancellation(tx: Tx) -> None:
    order = await low_order(tx)
    await orders.cancel(tx, order.id, CancelOrder(reason="not needed"), admin_of())
    before = len(tx.events)
    for attempt in (
        orders.report_progress(tx, order.id, "shipped", ReportShipped()),
        orders.cancel(tx, order.id, CancelOrder(), admin_of()),
    ):
        with pytest.raises(DomainError) as refused:
            await attempt
        assert (refused.value.code, refused.value.status) == ("supply-order-closed", 409)
    assert len(tx.events) == before
    assert tx.repo.orders[order.id].state == "canceled"


async def test_cancel_drops_the_pending_webhook_and_says_who(tx: Tx) -> None:
    order = await low_order(tx)
    canceled = await orders.cancel(tx, order.id, CancelOrder(reason="moved"), admin_of())
    assert (canceled.state, canceled.detail) == ("canceled", "moved")
    assert tx.repo.deliveries == {}
    (event,) = tx.announced(SupplyOrderCanceled)
    assert (event.reason, event.by) == ("moved", "admin-1")


async def test_an_unknown_or_foreign_order_is_not_found(tx: Tx) -> None:
    order = await low_order(tx)
    for attempt in (
        orders.cancel(tx, order.id, CancelOrder(), admin_of(uuid.uuid4())),
        orders.get_order(tx, order.id, admin_of(uuid.uuid4())),
        orders.report_progress(tx, uuid.uuid4(), "shipped", ReportShipped()),
    ):
        with pytest.raises(DomainError) as missing:
            await attempt
        assert missing.value.code == "supply-order-not-found"
    assert tx.repo.orders[order.id].state == "sending"
    assert len(tx.events) == 1


async def test_webhook_answers_send_or_close_the_order_once(tx: Tx) -> None:
    sent = await low_order(tx)
    await orders.webhook_accepted(tx, sent.id, attempts=3)
    await orders.webhook_accepted(tx, sent.id, attempts=4)  # a late repeat: already sent
    assert tx.repo.orders[sent.id].state == "sent"
    (event,) = tx.announced(SupplyOrderSent)
    assert (event.attempts, event.supplier_id) == (3, sent.supplier_id)

    await report(tx, sent.printer_id, 5, colour="cyan")
    refused = tx.repo.orders[next(o for o in tx.repo.orders if o != sent.id)]
    await orders.webhook_refused(tx, refused.id, 422, "unknown printer model")
    closed = tx.repo.orders[refused.id]
    assert (closed.state, closed.supplier_response) == (
        "rejected_by_supplier", {"status": 422, "body": "unknown printer model"},
    )  # fmt: skip
    (rejected,) = tx.announced(SupplyOrderRejected)
    assert (rejected.status, rejected.response) == (422, "unknown printer model")
    assert tx.repo.deliveries == {}


async def test_a_failed_attempt_is_retried_later(tx: Tx) -> None:
    order = await low_order(tx)
    (claimed,) = await tx.repo.claim_deliveries(10, lease_s=60)
    assert (claimed.order_id, claimed.attempts) == (order.id, 1)
    await orders.webhook_failed(tx, order.id, 30, 503, "busy")
    assert tx.repo.deliveries[order.id]["last_status"] == 503
    assert await tx.repo.claim_deliveries(10, lease_s=60) == []
    found, sup, printer = await orders.to_deliver(tx, order.id)
    assert found == order and sup is not None and printer is not None
    await orders.cancel(tx, order.id, CancelOrder(), admin_of())
    assert await orders.to_deliver(tx, order.id) == (None, None, None)


async def test_orders_are_listed_newest_first_per_tenant(tx: Tx) -> None:
    first = await low_order(tx)
    await report(tx, first.printer_id, 3, colour="cyan")
    page = await orders.list_orders(tx, OrderQuery(), TENANT)
    assert len(page) == 2 and page[-1].id == first.id
    assert await orders.list_orders(tx, OrderQuery(), uuid.uuid4()) == []
    assert [o.colour for o in await orders.list_orders(tx, OrderQuery(colour="cyan"), None)] == [
        "cyan"
    ]


# ------------------------------------------------------------------ administration


async def test_a_second_rule_with_the_same_keys_is_refused(tx: Tx) -> None:
    await rule(tx, threshold=10)
    with pytest.raises(DomainError) as refused:
        await rule(tx, threshold=30)
    assert (refused.value.code, refused.value.status) == ("duplicate-rule", 409)
    assert len(tx.repo.rules) == 1
    await rule(tx, threshold=30, who=OPERATOR)  # the platform default has its own scope


async def test_a_rule_names_only_a_supplier_it_may_use(tx: Tx) -> None:
    own = await supplier(tx)
    foreign = await supplier(tx, admin_of(uuid.uuid4()))
    platform = await supplier(tx, OPERATOR)
    for bad in (
        {"action": "warn", "supplier_id": own.id},
        {"action": "order", "supplier_id": foreign.id},
        {"action": "order", "supplier_id": uuid.uuid4()},
    ):
        with pytest.raises(DomainError) as refused:
            await rule(tx, bad.pop("action"), **bad)
        assert refused.value.code == "validation-failed"
    assert tx.repo.rules == {}
    made = await rule(tx, supplier_id=platform.id)
    assert made.supplier_id == platform.id


async def test_platform_defaults_are_changed_by_operators_only(tx: Tx) -> None:
    default = await rule(tx, "warn", who=OPERATOR)
    with pytest.raises(DomainError) as refused:
        await admin.update_rule(tx, default.id, UpdateRule(threshold_percent=50), admin_of())
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as refused:
        await admin.delete_rule(tx, default.id, admin_of())
    assert refused.value.code == "forbidden"
    changed = await admin.update_rule(tx, default.id, UpdateRule(threshold_percent=50), OPERATOR)
    assert (changed.threshold_percent, changed.revision) == (50, 2)
    with pytest.raises(DomainError) as missing:
        await admin.get_rule(tx, (await rule(tx, who=admin_of(uuid.uuid4()))).id, admin_of())
    assert missing.value.code == "supply-rule-not-found"


async def test_a_supplier_needs_the_key_that_seals_its_secret(tx: Tx) -> None:
    cmd = CreateSupplier(name="S", webhook_url="https://s.example/", secret="x" * 32)
    with pytest.raises(DomainError) as refused:
        await admin.create_supplier(tx, cmd, admin_of(), None)
    assert (refused.value.code, refused.value.status) == ("secrets-unavailable", 503)
    made = await admin.create_supplier(tx, cmd, admin_of(), KEK)
    stored = tx.repo.suppliers[made.id]
    assert stored.sealed_secret is not None
    assert KEK.open(stored.sealed_secret, aad=made.id.bytes) == b"x" * 32
    with pytest.raises(DomainError) as missing:
        await admin.get_supplier(tx, made.id, admin_of(uuid.uuid4()))
    assert missing.value.code == "supplier-not-found"
