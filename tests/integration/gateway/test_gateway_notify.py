"""device.notified on Kafka becomes a ``notify`` frame on the replica holding the device,
and only for that device."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer

from services.gateway.app import GATEWAY
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from shared.events.contracts.notifications import DeviceNotified
from shared.events.envelope import new_envelope
from shared.http.identities import new_service_token, token_digest
from shared.testing.fixtures import unique
from tests.support.device import TestDevice, next_frame
from tests.support.kafka import kafka_options
from tests.support.registry import RegistryFactory
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Replicas:
    registry: TestClient
    gateways: list[TestClient]
    producer: AIOKafkaProducer
    bootstrap: str

    def ws_url(self, n: int) -> str:
        return str(self.gateways[n].make_url("/v1/devices/ws"))

    async def printer(self, tenant: str | None = None) -> TestDevice:
        """A printer in the registry whose credential both replicas know."""
        if tenant is None:
            r = await self.registry.post("/v1/tenants", json={"name": unique("T")}, headers=AUTH)
            tenant = (await r.json())["id"]
        body = {"tenant_id": tenant, "name": unique("P"), "model": "M", "region": "eu-west"}
        printer = await (await self.registry.post("/v1/printers", json=body, headers=AUTH)).json()
        device = TestDevice(uuid.UUID(printer["id"]), uuid.UUID(tenant))
        await device.issue_credential(self.bootstrap)
        for gw in self.gateways:
            cache = gw.server.app[GATEWAY].credentials
            await eventually(lambda c=cache: c.lookup(device.fingerprint) is not None)
        return device

    async def notify(
        self, device: TestDevice, *, partition: int | None = None, **fields: Any
    ) -> DeviceNotified:
        """Produce device.notified as queues does (to ``partition`` when given)."""
        data = DeviceNotified(
            device_id=device.device_id, tenant_id=device.tenant_id, at=datetime.now(UTC),
            **{"kind": "work_available", **fields},
        )  # fmt: skip
        env = new_envelope(data, source="queues", tenant_id=device.tenant_id)
        await self.producer.send_and_wait(
            data.topic, env.to_bytes(), key=env.key.encode(), partition=partition,
            headers=env.kafka_headers(),
        )  # fmt: skip
        return data


@pytest.fixture
async def replicas(registry_app: RegistryFactory, bootstrap: str) -> AsyncIterator[Replicas]:
    async with contextlib.AsyncExitStack() as stack:
        gateway_token = new_service_token("gateway")
        registry = (
            await stack.enter_async_context(
                registry_app(TOKEN, service_identities={"gateway": token_digest(gateway_token)})
            )
        ).client
        gateways = []
        for name in ("gw-a", "gw-b"):
            settings = GatewaySettings(
                kafka_bootstrap=bootstrap, service_token=gateway_token, instance=unique(name),
                registry_url=str(registry.make_url("/")),
            )  # fmt: skip
            gw = await stack.enter_async_context(TestClient(TestServer(create_gateway(settings))))
            state = gw.server.app[GATEWAY]
            await eventually(lambda s=state: s.credentials.ready.is_set() and s.feed_ready.is_set())
            gateways.append(gw)
        producer = AIOKafkaProducer(**kafka_options(bootstrap), acks="all")
        await producer.start()
        stack.push_async_callback(producer.stop)
        yield Replicas(registry, gateways, producer, bootstrap)


async def _welcomed(
    device: TestDevice, http: aiohttp.ClientSession, url: str
) -> aiohttp.ClientWebSocketResponse:
    ws, welcome = await device.connect(http, url)
    assert welcome["type"] == "welcome", welcome
    return ws


async def test_a_notification_reaches_only_its_device_on_the_replica_holding_it(
    replicas: Replicas,
) -> None:
    first = await replicas.printer()
    neighbour = await replicas.printer(str(first.tenant_id))  # same tenant, same replica
    elsewhere = await replicas.printer()  # on the other replica
    witness = await replicas.printer(str(elsewhere.tenant_id))  # stays on the other replica
    jobs = [uuid.uuid4(), uuid.uuid4()]
    target = uuid.uuid4()
    async with aiohttp.ClientSession() as http:
        ws_first = await _welcomed(first, http, replicas.ws_url(0))
        ws_neighbour = await _welcomed(neighbour, http, replicas.ws_url(0))
        ws_elsewhere = await _welcomed(elsewhere, http, replicas.ws_url(1))
        ws_witness = await _welcomed(witness, http, replicas.ws_url(1))
        for gw, count in zip(replicas.gateways, (2, 2), strict=True):
            sessions = gw.server.app[GATEWAY].sessions
            await eventually(lambda s=sessions, c=count: len(s) == c)

        await replicas.notify(
            first, partition=0, kind="job_canceled", job_ids=jobs, target_device_id=target,
            detail={"reason": "canceled by its owner"},
        )  # fmt: skip
        frame = await next_frame(ws_first, "notify")
        assert frame == {
            "type": "notify",
            "kind": "job_canceled",
            "job_ids": [str(j) for j in jobs],
            "target_device_id": str(target),
            "detail": {"reason": "canceled by its owner"},
        }

        # Markers on the same partition, after the first record: each device's first
        # notify frame must be its own marker, so neither saw the first device's hint.
        for device, ws in ((neighbour, ws_neighbour), (elsewhere, ws_elsewhere)):
            marker = uuid.uuid4()
            await replicas.notify(device, partition=0, job_ids=[marker])
            frame = await next_frame(ws, "notify")
            assert (frame["kind"], frame["job_ids"]) == ("work_available", [str(marker)])

        # A hint for a device while it is not connected is not kept for later: once
        # the replica has read past it (the witness got a later marker), it is gone.
        await ws_elsewhere.close()
        sessions_b = replicas.gateways[1].server.app[GATEWAY].sessions
        await eventually(lambda: len(sessions_b) == 1)
        await replicas.notify(elsewhere, partition=0, job_ids=[uuid.uuid4()])
        marker = uuid.uuid4()
        await replicas.notify(witness, partition=0, job_ids=[marker])
        assert (await next_frame(ws_witness, "notify"))["job_ids"] == [str(marker)]
        ws_again = await _welcomed(elsewhere, http, replicas.ws_url(1))
        marker = uuid.uuid4()
        await replicas.notify(elsewhere, partition=0, job_ids=[marker])
        frame = await next_frame(ws_again, "notify")
        assert frame["job_ids"] == [str(marker)]
        for ws in (ws_first, ws_neighbour, ws_witness, ws_again):
            await ws.close()


async def test_readiness_names_the_notification_feed(replicas: Replicas) -> None:
    body: dict[str, Any] = {}

    async def ready() -> bool:  # once every cache has caught up with its topic
        r = await replicas.gateways[0].get("/readyz")
        body.update(json.loads(await r.text()))
        return r.status == 200

    await eventually(ready)
    assert body["checks"]["notifications"] == body["checks"]["bridged"] == "ok", body
