"""Supply orders: one open order per printer and supply, whatever repeats or races; the
life of an order from a low level to the new cartridge's level."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.consumables.app import SPEC
from services.consumables.handlers import supplies
from shared.db.outbox import Emitter
from shared.db.pool import create_pool
from shared.events.envelope import new_envelope
from shared.events.registry import DecodedEvent
from shared.infra.kafka import free_port
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.consumables import (
    OPERATOR,
    Rig,
    SupplierReceiver,
    consumables_client,
    settle,
    signature_valid,
    signed,
    supplies_report,
)
from tests.support.kafka import envelopes, publish
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def rig(service_db: ServiceDbFactory, bootstrap: str, topics: object) -> AsyncIterator[Rig]:
    db = await service_db(unique("consumables"), SPEC.migrations_dir)
    async with consumables_client(db, bootstrap) as client:
        yield Rig(client, db, bootstrap)


@pytest.fixture
async def receiver() -> AsyncIterator[SupplierReceiver]:
    supplier = SupplierReceiver(free_port())
    await supplier.start()
    try:
        yield supplier
    finally:
        await supplier.stop()


async def _tenant_with_rule(
    rig: Rig, supplier_id: str | None = None, tenant: uuid.UUID | None = None
) -> uuid.UUID:
    tenant = tenant or uuid.uuid4()
    await rig.rule(
        tenant_id=str(tenant), region="*", model="*", colour="*", kind="toner", action="order",
        threshold_percent=10, supplier_id=supplier_id,
    )  # fmt: skip
    return tenant


async def test_repeated_reports_make_one_order(rig: Rig) -> None:
    tenant = await _tenant_with_rule(rig)
    printer = await rig.printer(tenant)
    report = supplies_report(printer, ("toner", "black", 8), at=rig.tick())
    envelope = new_envelope(report, source="gateway", tenant_id=tenant)
    # The same envelope three times (a redelivery), then more low reports.
    await publish(rig.bootstrap, *[(report.topic, envelope)] * 3)
    for level in (7, 5, 0):
        await rig.report(printer, ("toner", "black", level), ("toner", "cyan", 50))
    (order,) = await rig.orders(printer)
    assert (order["colour"], order["level_percent"], order["state"]) == ("black", 8, "created")
    history = await rig.sql(
        "SELECT count(*) AS n FROM supply_level_history WHERE printer_id = $1 AND colour = 'black'",
        printer["printer_id"],
    )
    assert history[0]["n"] == 4  # the redelivered envelope was applied once
    events = await envelopes(rig.bootstrap, "consumables.orders", key= str(printer["printer_id"]),
                              count=1, settle_s=1.0)  # fmt: skip
    assert [e["type"] for e in events] == ["supply_order.created"]
    # A second colour going low is a separate order.
    await rig.report(printer, ("toner", "cyan", 3))
    assert sorted(o["colour"] for o in await rig.orders(printer)) == ["black", "cyan"]


async def test_concurrent_reports_make_one_order(rig: Rig) -> None:
    tenant = await _tenant_with_rule(rig)
    printer = await rig.printer(tenant)
    pool = await create_pool(rig.db.dsn, rig.db.name, application_name="test", max_size=12)
    out = Emitter(rig.db.name, "consumables")

    async def apply(level: int) -> None:
        report = supplies_report(
            printer, ("toner", "magenta", level), at=datetime.now(UTC) + timedelta(hours=1)
        )
        event = DecodedEvent(new_envelope(report, source="gateway", tenant_id=tenant), report)
        async with pool.acquire() as conn, conn.transaction():
            await supplies.apply_report(conn, event, out, rise_points=20)

    try:
        await asyncio.gather(*(apply(level) for level in range(10)))
        # The database itself refuses a second open order for the supply.
        async with pool.acquire() as conn:
            (order,) = await conn.fetch(
                "SELECT * FROM supply_orders WHERE printer_id = $1", printer["printer_id"]
            )
            created = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE key = $1 AND payload::jsonb->>'type' = "
                "'supply_order.created'",
                str(printer["printer_id"]),
            )
            assert created <= 1  # published already, or waiting in the outbox
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(
                    "INSERT INTO supply_orders (id, tenant_id, printer_id, kind, colour, state, "
                    "rule_id, threshold_percent) VALUES ($1, $2, $3, 'toner', 'magenta', 'sent', "
                    "$4, 10)",
                    uuid.uuid4(), tenant, printer["printer_id"], order["rule_id"],
                )  # fmt: skip
    finally:
        await pool.close()
    events = await envelopes(rig.bootstrap, "consumables.orders", key= str(printer["printer_id"]),
                              count=1, settle_s=1.0)  # fmt: skip
    assert [e["type"] for e in events] == ["supply_order.created"]


async def test_an_order_lives_from_a_low_level_to_the_new_cartridge(
    rig: Rig, receiver: SupplierReceiver
) -> None:
    tenant = uuid.uuid4()
    supplier = await rig.supplier(receiver.url, tenant_id=tenant)
    await _tenant_with_rule(rig, supplier["id"], tenant)
    printer = await rig.printer(tenant, model="LaserJet 4000", region="eu-west")
    await rig.report(printer, ("toner", "black", 4))

    order = await rig.order_in(printer, "sent")
    (request,) = receiver.received
    assert request.headers["Idempotency-Key"] == order["id"]
    assert signature_valid(request.headers["X-Printcloud-Signature"], request.body)
    assert not signature_valid(request.headers["X-Printcloud-Signature"], request.body, "x" * 40)
    body = request.json()
    assert body["order_id"] == order["id"]
    assert body["printer"]["model"] == "LaserJet 4000"
    assert body["supply"] == {"kind": "toner", "colour": "black", "name": "black toner",
                              "level_percent": 4, "threshold_percent": 10}  # fmt: skip
    shipped_url = body["callbacks"]["shipped"]
    assert shipped_url.endswith(f"/v1/supply-orders/{order['id']}/shipped")

    # The supplier reports progress, signing each body with its secret.
    shipped = json.dumps({"carrier": "DHL", "tracking_number": "JD0001"}).encode()
    shipped_path = f"/v1/supply-orders/{order['id']}/shipped"
    r = await rig.client.post(
        shipped_path, data=shipped,
        headers={"Content-Type": "application/json",
                 "X-Printcloud-Signature": signed(shipped, shipped_path)},
    )  # fmt: skip
    assert r.status == 200, await r.text()
    assert (await r.json())["tracking_number"] == "JD0001"
    delivered_path = f"/v1/supply-orders/{order['id']}/delivered"
    r = await rig.client.post(
        delivered_path, headers={"X-Printcloud-Signature": signed(b"", delivered_path)}
    )
    assert r.status == 200 and (await r.json())["state"] == "delivered"
    # A late repeat of 'shipped' changes nothing.
    r = await rig.client.post(
        shipped_path, headers={"X-Printcloud-Signature": signed(b"", shipped_path)}
    )
    assert r.status == 200 and (await r.json())["state"] == "delivered"

    # A small wobble does not count as a new cartridge; a real rise does.
    await rig.report(printer, ("toner", "black", 12))
    assert (await rig.orders(printer))[0]["state"] == "delivered"
    await rig.report(printer, ("toner", "black", 97))
    installed = await rig.order_in(printer, "installed")
    assert installed["closed_at"] is not None
    r = await rig.client.post(f"/v1/supply-orders/{order['id']}/cancel", headers=OPERATOR)
    assert r.status == 409

    events = await envelopes(rig.bootstrap, "consumables.orders", key= str(printer["printer_id"]),
                              count=5, settle_s=0.5)  # fmt: skip
    assert [e["type"] for e in events] == [
        "supply_order.created", "supply_order.sent", "supply_order.shipped",
        "supply_order.delivered", "supply_order.installed",
    ]  # fmt: skip
    assert events[-1]["data"]["level_percent"] == 97
    assert {e["data"]["order_id"] for e in events} == {order["id"]}

    # Low again later: a new episode, a new order.
    await rig.report(printer, ("toner", "black", 9))
    await eventually(lambda: len(receiver.received) == 2)
    assert len(await rig.orders(printer)) == 2


async def test_a_supply_replaced_before_its_order_went_out_cancels_it(rig: Rig) -> None:
    tenant = uuid.uuid4()
    down = SupplierReceiver(free_port())  # never started: connection refused
    supplier = await rig.supplier(down.url, tenant_id=tenant)
    await _tenant_with_rule(rig, supplier["id"], tenant)
    printer = await rig.printer(tenant)
    await rig.report(printer, ("toner", "yellow", 2))
    await rig.order_in(printer, "sending")
    await rig.report(printer, ("toner", "yellow", 100))
    order = await rig.order_in(printer, "canceled")
    assert "replaced" in order["detail"]
    assert await rig.sql("SELECT * FROM order_deliveries WHERE order_id = $1",
                         uuid.UUID(order["id"])) == []  # fmt: skip


async def test_levels_reported_before_the_printer_is_known_are_judged_when_it_is(
    rig: Rig,
) -> None:
    tenant = await _tenant_with_rule(rig)
    printer = {"printer_id": uuid.uuid4(), "tenant_id": tenant}
    report = supplies_report(printer, ("toner", "black", 3), at=rig.tick())
    await publish(rig.bootstrap, report)
    await rig.applied(report)
    assert await rig.orders(printer) == []
    from shared.events.contracts.registry import PrinterRegistered

    await publish(rig.bootstrap, PrinterRegistered(
        printer_id=printer["printer_id"], tenant_id=tenant, revision=1, name="Late",
        model="M9", region="us-east", location=None,
    ))  # fmt: skip
    order = await rig.order_in(printer, "created")
    assert order["level_percent"] == 3


async def test_administrators_cancel_open_orders(rig: Rig) -> None:
    tenant = await _tenant_with_rule(rig)
    printer = await rig.printer(tenant)
    await rig.report(printer, ("toner", "black", 1))
    (order,) = await rig.orders(printer)
    r = await rig.client.post(
        f"/v1/supply-orders/{order['id']}/cancel", json={"reason": "bought locally"},
        headers=OPERATOR,
    )  # fmt: skip
    assert r.status == 200 and (await r.json())["state"] == "canceled"
    # Still low: no new order until the supply has been replaced.
    await rig.report(printer, ("toner", "black", 0))
    assert [o["state"] for o in await rig.orders(printer)] == ["canceled"]
    await settle(0.1)
    assert (await rig.orders(printer, open="true")) == []
