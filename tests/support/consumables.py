"""What the consumables integration tests share: the service on real Kafka and Postgres,
printers and supply reports published as real envelopes, and a real HTTP receiver on
loopback playing the supplier. (No tests here.)"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from services.consumables.app import SPEC
from services.consumables.settings import ConsumablesSettings
from shared.crypto.sealing import new_key_text
from shared.events.contracts.gateway import DeviceSuppliesReported, SupplyLevel
from shared.events.contracts.registry import PrinterRegistered, PrinterUpdated
from shared.testing.fixtures import ServiceDb
from tests.support.apps import serve, service_client
from tests.support.kafka import publish
from tests.support.waiting import eventually

OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
KEK = new_key_text()
SECRET = "s3cret-" + uuid.uuid4().hex  # 39 characters
T0 = datetime.now(UTC)


def settings_for(db: ServiceDb, bootstrap: str, **overrides: Any) -> ConsumablesSettings:
    """Settings with short delays, loopback suppliers allowed."""
    values: dict[str, Any] = {
        "database_url": db.dsn, "db_schema": db.name, "kafka_bootstrap": bootstrap,
        "operator_token": OPERATOR_TOKEN, "key_encryption_key": KEK, "outbox_poll_s": 0.5,
        "webhook_allow_private": True, "delivery_poll_s": 0.2, "retry_base_s": 0.2,
        "retry_cap_s": 1.0, "auth_leeway_s": 0,
    }  # fmt: skip
    values.update(overrides)
    return ConsumablesSettings(**values)


@contextlib.asynccontextmanager
async def consumables_client(
    db: ServiceDb, bootstrap: str, **overrides: Any
) -> AsyncIterator[TestClient]:
    """The consumables app (HTTP, consumers, relay, webhook worker) on a real port."""
    async with service_client(SPEC, settings_for(db, bootstrap, **overrides)) as client:
        yield client


def supplies_report(
    printer: dict[str, Any], *supplies: tuple[str, str, int | None], at: datetime | None = None
) -> DeviceSuppliesReported:
    """A device's report of (kind, colour, level) supplies."""
    return DeviceSuppliesReported(
        device_id=printer["printer_id"],
        tenant_id=printer["tenant_id"],
        supplies=[
            SupplyLevel(kind=k, colour=c, level_percent=lvl, name=f"{c} {k}")  # type: ignore[arg-type]
            for k, c, lvl in supplies
        ],
        source="ipp",
        reported_at=at or datetime.now(UTC),
    )


@dataclass
class Rig:
    """A running consumables service and ways to drive it."""

    client: TestClient
    db: ServiceDb
    bootstrap: str
    clock: list[datetime] = field(default_factory=lambda: [T0])

    def tick(self) -> datetime:
        """A report time later than every earlier one."""
        self.clock[0] += timedelta(seconds=1)
        return self.clock[0]

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Read the service's own schema (assertions only)."""
        conn = await asyncpg.connect(self.db.dsn)
        try:
            await conn.execute(f"SET search_path = {self.db.name}")
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def printer(
        self, tenant_id: uuid.UUID | None = None, *, model: str = "M1", region: str = "eu-west"
    ) -> dict[str, Any]:
        """A printer registered in the registry (its event, published), once known here."""
        event = PrinterRegistered(
            printer_id=uuid.uuid4(), tenant_id=tenant_id or uuid.uuid4(), revision=1,
            name="P", model=model, region=region, location="2nd floor",
        )  # fmt: skip
        await publish(self.bootstrap, event)
        await self.known(event.printer_id, 1)
        return event.model_dump()

    async def move(self, printer: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """The printer's model or region changed in the registry."""
        revision = printer["revision"] + 1
        event = PrinterUpdated(
            **{**printer, **changes, "revision": revision, "changed": list(changes)}
        )
        await publish(self.bootstrap, event)
        await self.known(event.printer_id, revision)
        return event.model_dump(exclude={"changed"})

    async def known(self, printer_id: uuid.UUID, revision: int) -> None:
        async def replicated() -> bool:
            rows = await self.sql("SELECT revision FROM printers WHERE printer_id = $1", printer_id)
            return bool(rows) and rows[0]["revision"] >= revision

        await eventually(replicated)

    async def report(
        self, printer: dict[str, Any], *supplies: tuple[str, str, int | None]
    ) -> DeviceSuppliesReported:
        """Publish a report and wait until its levels are the latest stored."""
        event = supplies_report(printer, *supplies, at=self.tick())
        await publish(self.bootstrap, event)
        await self.applied(event)
        return event

    async def applied(self, event: DeviceSuppliesReported) -> None:
        async def stored() -> bool:
            rows = await self.sql(
                "SELECT count(*) AS n FROM supply_levels "
                "WHERE printer_id = $1 AND reported_at = $2",
                event.device_id, event.reported_at,
            )  # fmt: skip
            return rows[0]["n"] > 0

        await eventually(stored)

    async def post(
        self, path: str, body: Any = None, headers: dict[str, str] = OPERATOR
    ) -> tuple[int, Any]:
        r = await self.client.post(path, json=body, headers=headers)
        return r.status, await r.json(content_type=None) if r.status != 204 else None

    async def get(self, path: str, headers: dict[str, str] = OPERATOR) -> tuple[int, Any]:
        r = await self.client.get(path, headers=headers)
        return r.status, await r.json(content_type=None)

    async def rule(self, **body: Any) -> dict[str, Any]:
        status, rule = await self.post("/v1/supply-rules", body)
        assert status == 201, rule
        return rule  # type: ignore[no-any-return]

    async def supplier(self, url: str, tenant_id: Any = None) -> dict[str, Any]:
        body = {"name": "Toner Express", "webhook_url": url, "secret": SECRET}
        if tenant_id is not None:
            body["tenant_id"] = str(tenant_id)
        status, supplier = await self.post("/v1/suppliers", body)
        assert status == 201, supplier
        return supplier  # type: ignore[no-any-return]

    async def orders(self, printer: dict[str, Any], **filters: str) -> list[dict[str, Any]]:
        query = "&".join(
            f"{k}={v}" for k, v in {"printer_id": printer["printer_id"], **filters}.items()
        )
        status, body = await self.get(f"/v1/supply-orders?{query}")
        assert status == 200, body
        return body["items"]  # type: ignore[no-any-return]

    async def order_in(
        self, printer: dict[str, Any], state: str, timeout: float = 30
    ) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        async def reached() -> bool:
            found[:] = await self.orders(printer, state=state)
            return bool(found)

        await eventually(reached, timeout)
        return found[0]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class SupplierReceiver:
    """A supplier's webhook endpoint: a real aiohttp server on loopback that answers the
    statuses it is given in turn (then 200) and keeps every request."""

    def __init__(self, port: int, statuses: list[int] | None = None) -> None:
        self.port = port
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/orders"

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"accepted": status < 300}, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/orders", self._handle)
        self._runner = await serve(app, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def signed(
    body: bytes,
    path: str,
    secret: str = SECRET,
    at: int | None = None,
    nonce: str | None = None,
    method: str = "POST",
) -> str:
    """The signature header a supplier sends with a callback to ``path`` (computed here
    independently, the way the documentation tells suppliers to)."""
    t = at if at is not None else int(datetime.now(UTC).timestamp())
    n = nonce or uuid.uuid4().hex
    message = f"v2\n{t}\n{n}\n{method}\n{path}\n".encode() + body
    mac = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={t},n={n},v2={mac}"


def webhook_signed(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    """The signature of an order webhook's body (computed here independently)."""
    t = at if at is not None else int(datetime.now(UTC).timestamp())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signature_valid(header: str, body: bytes, secret: str = SECRET) -> bool:
    """Check a webhook's signature the way the documentation tells suppliers to."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = webhook_signed(body, secret, int(parts["t"])).split("v1=")[1]
    return hmac.compare_digest(parts["v1"], expected)


async def settle(seconds: float) -> None:
    """Give background work time to (not) do something."""
    await asyncio.sleep(seconds)
