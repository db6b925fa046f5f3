"""The device read model (shared.readmodels.devices) in every schema that keeps one:
the newest revision wins, and a revision of another tenant is refused, never applied."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from services.consumables import repository as consumables
from services.queues import repository as queues
from services.routing import repository as routing
from shared.db.pool import create_pool
from shared.events.contracts.devices import ConnectorDevicesChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)
from shared.printing.capabilities import Capabilities
from shared.readmodels import devices
from shared.readmodels.devices import PrinterTable, TenantMismatch, VirtualPrinterTable
from shared.testing.fixtures import ServiceDbFactory, unique

pytestmark = pytest.mark.integration

SERVICES = Path(__file__).resolve().parents[2] / "services"
PRINTER_TABLES = {
    "queues": queues.PRINTERS,
    "routing": routing.PRINTERS,
    "consumables": consumables.PRINTERS,
}
VIRTUAL_TABLES = {"queues": queues.VIRTUAL_PRINTERS, "routing": routing.VIRTUAL_PRINTERS}


async def _schema(service_db: ServiceDbFactory, service: str) -> asyncpg.Pool:
    db = await service_db(unique(f"rm_{service}"), SERVICES / service / "migrations")
    return await create_pool(db.dsn, db.name, application_name="test", min_size=1, max_size=2)


@pytest.fixture(params=sorted(PRINTER_TABLES))
async def printers(
    request: pytest.FixtureRequest, service_db: ServiceDbFactory
) -> AsyncIterator[tuple[asyncpg.Pool, PrinterTable]]:
    pool = await _schema(service_db, request.param)
    try:
        yield pool, PRINTER_TABLES[request.param]
    finally:
        await pool.close()


def _state(
    printer_id: uuid.UUID, tenant_id: uuid.UUID, revision: int, name: str
) -> PrinterRegistered | PrinterUpdated:
    values = {
        "printer_id": printer_id, "tenant_id": tenant_id, "revision": revision, "name": name,
        "model": f"model-{revision}", "region": "eu", "location": None,
    }  # fmt: skip
    if revision == 1:
        return PrinterRegistered(**values)
    return PrinterUpdated(**values, changed=["name"])


async def _apply(pool: asyncpg.Pool, table: PrinterTable, data: PrinterRegistered) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        return await devices.apply_printer(conn, table, data, occurred_at=datetime.now(UTC))


async def _row(pool: asyncpg.Pool, table: PrinterTable, printer_id: uuid.UUID) -> tuple:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            f"SELECT tenant_id, name, revision FROM {table.name} WHERE {table.key} = $1",
            printer_id,
        )
    assert row is not None
    return (row["tenant_id"], row["name"], row["revision"])


async def test_the_newest_revision_of_a_printer_wins(
    printers: tuple[asyncpg.Pool, PrinterTable],
) -> None:
    pool, table = printers
    pid, tenant = uuid.uuid4(), uuid.uuid4()
    assert await _apply(pool, table, _state(pid, tenant, 2, "second"))
    # Older (arriving late) and equal (a redelivery) revisions change nothing.
    assert not await _apply(pool, table, _state(pid, tenant, 1, "first"))
    assert not await _apply(pool, table, _state(pid, tenant, 2, "second again"))
    assert await _row(pool, table, pid) == (tenant, "second", 2)
    assert await _apply(pool, table, _state(pid, tenant, 3, "third"))
    assert await _row(pool, table, pid) == (tenant, "third", 3)


async def test_a_printer_revision_of_another_tenant_is_refused(
    printers: tuple[asyncpg.Pool, PrinterTable],
) -> None:
    pool, table = printers
    pid, tenant, intruder = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert await _apply(pool, table, _state(pid, tenant, 1, "ours"))
    for revision in (2, 1, 9):  # newer, older or far ahead: never applied
        with pytest.raises(TenantMismatch, match=f"printer {pid} belongs to another tenant"):
            await _apply(pool, table, _state(pid, intruder, revision, "theirs"))
    assert await _row(pool, table, pid) == (tenant, "ours", 1)
    # The rightful tenant's next revision still applies.
    assert await _apply(pool, table, _state(pid, tenant, 2, "ours, renamed"))
    assert await _row(pool, table, pid) == (tenant, "ours, renamed", 2)


async def test_a_connection_change_of_another_tenant_is_refused(
    printers: tuple[asyncpg.Pool, PrinterTable],
) -> None:
    pool, table = printers
    pid, tenant = uuid.uuid4(), uuid.uuid4()
    assert await _apply(pool, table, _state(pid, tenant, 1, "ours"))
    async with pool.acquire() as conn, conn.transaction():
        await devices.guard_tenant(conn, table, pid, tenant)
        await devices.guard_tenant(conn, table, uuid.uuid4(), uuid.uuid4())  # unknown: fine
        with pytest.raises(TenantMismatch):
            await devices.guard_tenant(conn, table, pid, uuid.uuid4())


@pytest.mark.parametrize("service", ["queues", "routing"])
async def test_capabilities_newest_version_wins_within_the_tenant(
    service: str, service_db: ServiceDbFactory
) -> None:
    pool = await _schema(service_db, service)
    table = PRINTER_TABLES[service]
    pid, tenant = uuid.uuid4(), uuid.uuid4()

    def caps(version: int, tenant_id: uuid.UUID = tenant) -> PrinterCapabilitiesChanged:
        return PrinterCapabilitiesChanged(
            printer_id=pid, tenant_id=tenant_id, version=version, fingerprint=str(version),
            capabilities=Capabilities(copies_supported={"min": 1, "max": version}),
        )  # fmt: skip

    async def apply(data: PrinterCapabilitiesChanged) -> bool:
        async with pool.acquire() as conn, conn.transaction():
            return await devices.apply_capabilities(conn, table, data)

    async def stored() -> tuple:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT capabilities_version, capabilities FROM {table.name} "
                f"WHERE {table.key} = $1",
                pid,
            )
        return row["capabilities_version"], row["capabilities"]["copies_supported"]["max"]

    try:
        assert await apply(caps(2))
        assert not await apply(caps(1))
        assert not await apply(caps(2))
        with pytest.raises(TenantMismatch):
            await apply(caps(3, uuid.uuid4()))
        assert await stored() == (2, 2)
        assert await apply(caps(3))
        assert await stored() == (3, 3)
    finally:
        await pool.close()


@pytest.mark.parametrize("service", sorted(VIRTUAL_TABLES))
async def test_virtual_printers_newest_revision_wins_within_the_tenant(
    service: str, service_db: ServiceDbFactory
) -> None:
    pool = await _schema(service_db, service)
    table: VirtualPrinterTable = VIRTUAL_TABLES[service]
    vid, tenant, members = uuid.uuid4(), uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]

    def state(revision: int, tenant_id: uuid.UUID = tenant) -> VirtualPrinterCreated:
        values = {
            "virtual_printer_id": vid, "tenant_id": tenant_id, "revision": revision,
            "name": f"vp-{revision}", "members": members[:revision],
        }  # fmt: skip
        if revision == 1:
            return VirtualPrinterCreated(**values)
        return VirtualPrinterUpdated(**values, changed=["members"])

    async def apply(data: VirtualPrinterCreated) -> bool:
        async with pool.acquire() as conn, conn.transaction():
            return await devices.apply_virtual_printer(conn, table, data)

    async def stored() -> tuple:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT tenant_id, name, members FROM {table.name} WHERE {table.key} = $1", vid
            )
        return row["tenant_id"], row["name"], list(row["members"])

    try:
        assert await apply(state(2))
        assert not await apply(state(1))
        with pytest.raises(TenantMismatch, match=f"virtual printer {vid} belongs"):
            await apply(state(3, uuid.uuid4()))
        assert await stored() == (tenant, "vp-2", members)
    finally:
        await pool.close()


async def test_a_connectors_newest_revision_wins_within_the_tenant(
    service_db: ServiceDbFactory,
) -> None:
    pool = await _schema(service_db, "queues")
    cid, tenant = uuid.uuid4(), uuid.uuid4()
    a, b = uuid.uuid4(), uuid.uuid4()

    async def apply(revision: int, held: list[uuid.UUID], tenant_id: uuid.UUID = tenant) -> bool:
        data = ConnectorDevicesChanged(
            connector_id=cid, tenant_id=tenant_id, revision=revision,
            devices=[{"printer_id": str(p), "uri": "ipp://x"} for p in held],
        )  # fmt: skip
        async with pool.acquire() as conn, conn.transaction():
            return await devices.apply_connector_devices(conn, data, held)

    async def holders() -> set[uuid.UUID]:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT printer_id FROM printer_holders WHERE connector_id = $1", cid
            )
        return {r["printer_id"] for r in rows}

    try:
        assert await apply(3, [a, b])
        assert not await apply(2, [a])  # late
        assert await holders() == {a, b}
        with pytest.raises(TenantMismatch, match=f"connector {cid} belongs"):
            await apply(4, [b], uuid.uuid4())
        assert await holders() == {a, b}
        assert await apply(4, [b])
        assert await holders() == {b}
    finally:
        await pool.close()
