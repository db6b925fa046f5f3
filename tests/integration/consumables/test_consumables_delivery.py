"""Orders reach the supplier's webhook at least once: through refused connections, 5xx
answers and a restart of the service; a supplier's refusal closes the order."""

from __future__ import annotations

import uuid

import pytest

from services.consumables.app import SPEC
from shared.infra.kafka import free_port
from shared.testing.fixtures import ServiceDb, ServiceDbFactory, unique
from tests.support.consumables import (
    Rig,
    SupplierReceiver,
    consumables_client,
    signature_valid,
)
from tests.support.kafka import envelopes
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(service_db: ServiceDbFactory, topics: object) -> ServiceDb:
    return await service_db(unique("consumables"), SPEC.migrations_dir)


async def _ordering(rig: Rig, url: str) -> dict[str, object]:
    """A printer whose black toner is low, under a rule ordering from the supplier at url."""
    tenant = uuid.uuid4()
    supplier = await rig.supplier(url, tenant_id=tenant)
    await rig.rule(
        tenant_id=str(tenant), region="*", model="*", colour="black", kind="*", action="order",
        threshold_percent=15, supplier_id=supplier["id"],
    )  # fmt: skip
    printer = await rig.printer(tenant)
    await rig.report(printer, ("toner", "black", 5))
    return printer


async def test_a_supplier_down_delays_the_order_but_never_loses_it(
    db: ServiceDb, bootstrap: str
) -> None:
    receiver = SupplierReceiver(free_port(), statuses=[500, 503, 502])
    async with consumables_client(db, bootstrap) as client:
        rig = Rig(client, db, bootstrap)
        printer = await _ordering(rig, receiver.url)
        order = await rig.order_in(printer, "sending")

        async def refused_twice() -> bool:
            rows = await rig.sql("SELECT * FROM order_deliveries")
            return bool(rows) and rows[0]["attempts"] >= 2 and "Connect" in rows[0]["last_error"]

        await eventually(refused_twice)
    # The service stops while the supplier is still down; the order waits in the database.
    rows = await rig.sql("SELECT state FROM supply_orders")
    assert [r["state"] for r in rows] == ["sending"]
    await receiver.start()
    try:
        async with consumables_client(db, bootstrap) as client:
            rig = Rig(client, db, bootstrap)
            sent = await rig.order_in(printer, "sent")
    finally:
        await receiver.stop()
    assert sent["id"] == order["id"]
    assert len(receiver.received) == 4  # three 5xx answers, then accepted
    assert {r.headers["Idempotency-Key"] for r in receiver.received} == {order["id"]}
    assert all(signature_valid(r.headers["X-Printcloud-Signature"], r.body)
               for r in receiver.received)  # fmt: skip
    assert await rig.sql("SELECT * FROM order_deliveries") == []
    events = await envelopes(
        bootstrap, "consumables.orders", key=str(printer["printer_id"]), count=2
    )
    assert events[1]["type"] == "supply_order.sent"
    assert events[1]["data"]["attempts"] >= 5


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_supplier_refusing_the_order_closes_it_with_its_answer(
    db: ServiceDb, bootstrap: str, status: int
) -> None:
    receiver = SupplierReceiver(free_port(), statuses=[429, 408, status])
    await receiver.start()
    try:
        async with consumables_client(db, bootstrap) as client:
            rig = Rig(client, db, bootstrap)
            printer = await _ordering(rig, receiver.url)
            order = await rig.order_in(printer, "rejected_by_supplier")
    finally:
        await receiver.stop()
    assert len(receiver.received) == 3  # 429 and 408 were retried
    assert order["supplier_response"]["status"] == status
    assert "accepted" in order["supplier_response"]["body"]
    events = await envelopes(
        bootstrap, "consumables.orders", key=str(printer["printer_id"]), count=2
    )
    assert events[1]["type"] == "supply_order.rejected"
    assert events[1]["data"]["status"] == status


async def test_webhooks_to_internal_addresses_are_refused_unless_allowed(
    db: ServiceDb, bootstrap: str
) -> None:
    receiver = SupplierReceiver(free_port())
    await receiver.start()
    try:
        async with consumables_client(db, bootstrap, webhook_allow_private=False) as client:
            rig = Rig(client, db, bootstrap)
            printer = await _ordering(rig, receiver.url)

            async def refused() -> bool:
                rows = await rig.sql("SELECT last_error FROM order_deliveries")
                return bool(rows) and "not a public address" in (rows[0]["last_error"] or "")

            await eventually(refused)
            assert receiver.received == []
        async with consumables_client(db, bootstrap) as client:
            await Rig(client, db, bootstrap).order_in(printer, "sent")
    finally:
        await receiver.stop()
    await eventually(lambda: len(receiver.received) == 1)
