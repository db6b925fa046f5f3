"""A device acts only for itself: a connector reports only for the printers it bridges
in its own tenant; anything else gets an error frame and nothing reaches Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer

from services.edge.app import create_edge_app
from services.edge.routes import Route
from services.edge.settings import EdgeSettings
from services.gateway.app import GATEWAY
from shared.events.contracts.gateway import DeviceCountersReported
from shared.testing.fixtures import unique
from tests.support.device import TestDevice, next_frame
from tests.support.gateway import AUTH, CAPS, Rig
from tests.support.kafka import kafka_options
from tests.support.registry import Device
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def _tenant(setup: Rig) -> str:
    r = await setup.registry.post("/v1/tenants", json={"name": unique("T")}, headers=AUTH)
    return str((await r.json())["id"])


async def _printer(setup: Rig, tenant: str) -> str:
    body = {"tenant_id": tenant, "name": unique("P"), "model": "M", "region": "eu-west"}
    r = await setup.registry.post("/v1/printers", json=body, headers=AUTH)
    return str((await r.json())["id"])


async def _connector(setup: Rig, tenant: str, printers: list[str]) -> TestDevice:
    onboarding = Device()
    body = {"public_key": onboarding.public_text, "kind": "connector", "model": "C"}
    reg = await setup.registry.post(
        "/v1/registrations", json=body, headers=onboarding.register_headers()
    )
    code = (await reg.json())["claim_code"]
    claim = {"tenant_id": tenant, "claim_code": code, "name": unique("S"), "region": "eu-west"}
    claimed = await setup.registry.post("/v1/registrations/claim", json=claim, headers=AUTH)
    connector_id = (await claimed.json())["device_id"]
    devices = {"devices": [{"printer_id": p, "uri": f"ipp://10.0.0.{i}/ipp"}
                           for i, p in enumerate(printers)]}  # fmt: skip
    r = await setup.registry.put(
        f"/v1/connectors/{connector_id}/devices", json=devices, headers=AUTH
    )
    assert r.status == 200, await r.text()
    device = TestDevice(uuid.UUID(connector_id), uuid.UUID(tenant))
    await device.issue_credential(setup.bootstrap, kind="connector")
    gw = setup.gateway.server.app[GATEWAY]

    async def known() -> bool:  # the key, and the printers it bridges (printers[0])
        return gw.credentials.lookup(device.fingerprint) is not None and (
            not printers or gw.bridged.bridges(device.device_id, device.tenant_id,
                                               uuid.UUID(printers[0]))
        )  # fmt: skip

    await eventually(known)
    return device


def _counters(device_id: str) -> dict[str, Any]:
    return {
        "type": "counters", "reading_id": str(uuid.uuid4()), "device_id": device_id,
        "counters": [{"name": "total", "value": 100, "unit": "impressions"}],
        "activity_before": 1, "activity_after": 1,
    }  # fmt: skip


async def _reported(bootstrap: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        DeviceCountersReported.topic, **kafka_options(bootstrap), auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: list[dict[str, Any]] = []
        while batch := await consumer.getmany(timeout_ms=1500):
            for records in batch.values():
                for r in records:
                    # the topic is shared with other tests, some of which publish junk
                    with contextlib.suppress(ValueError, TypeError):
                        value = json.loads(r.value)
                        if isinstance(value, dict) and isinstance(value.get("data"), dict):
                            found.append(value)
        return found
    finally:
        await consumer.stop()


async def test_a_connector_reports_only_for_its_own_printers(rig: Rig) -> None:
    tenant, foreign_tenant = await _tenant(rig), await _tenant(rig)
    bridged, unbridged = await _printer(rig, tenant), await _printer(rig, tenant)
    foreign = await _printer(rig, foreign_tenant)
    connector = await _connector(rig, tenant, [bridged])
    async with aiohttp.ClientSession() as http:
        ws, welcome = await connector.connect(http, rig.ws_url)
        assert welcome["type"] == "welcome", welcome
        for other in (unbridged, foreign, str(uuid.uuid4())):
            for frame in (
                _counters(other),
                {"type": "capabilities", "capabilities": CAPS, "device_id": other},
                {
                    "type": "supplies",
                    "device_id": other,
                    "supplies": [{"kind": "toner", "level_percent": 50}],
                },
                {"type": "status", "state": "idle", "device_id": other},
            ):
                await ws.send_json(frame)
                error = await next_frame(ws, "error")
                assert (error["code"], error["fatal"]) == ("not-your-device", False), frame
        # The connection survives, and its own printer's reports are accepted.
        await ws.send_json(_counters(bridged))

        async def seen() -> bool:
            events = await _reported(rig.bootstrap)
            return any(e["data"].get("device_id") == bridged for e in events)

        await eventually(seen)
        reported = {e["data"].get("device_id") for e in await _reported(rig.bootstrap)}
        assert not reported & {unbridged, foreign}
        await ws.close()


@contextlib.asynccontextmanager
async def _through(rig: Rig, path: str) -> AsyncIterator[str]:
    """The gateway's websocket URL: direct, or through the public edge."""
    if path == "direct":
        yield rig.ws_url
        return
    gateway = str(rig.gateway.make_url("/")).rstrip("/")
    settings = EdgeSettings(http_port=0, upstreams={"gateway": gateway})
    routes = (Route("/v1/devices/ws", "gateway", websocket=True),)
    edge = TestServer(create_edge_app(settings, routes=routes), host="127.0.0.1")
    await edge.start_server()
    try:
        yield str(edge.make_url("/v1/devices/ws"))
    finally:
        await edge.close()


@pytest.mark.parametrize("path", ["direct", "edge"])
async def test_revoking_a_credential_closes_its_open_socket(rig: Rig, path: str) -> None:
    from aiokafka import AIOKafkaProducer

    from shared.events.contracts.auth import DeviceCredentialRevoked
    from shared.events.envelope import new_envelope

    device, bystander = await rig.printer_device(), await rig.printer_device()
    async with aiohttp.ClientSession() as http, _through(rig, path) as url:
        ws, welcome = await device.connect(http, url)
        other, _ = await bystander.connect(http, url)
        assert welcome["type"] == "welcome"
        revoked = DeviceCredentialRevoked(
            device_id=device.device_id, tenant_id=device.tenant_id,
            fingerprint=device.fingerprint, revoked_at=datetime.now(UTC), reason="revoked",
        )  # fmt: skip
        env = new_envelope(revoked, source="auth", tenant_id=device.tenant_id)
        producer = AIOKafkaProducer(**kafka_options(rig.bootstrap))
        await producer.start()
        try:
            await producer.send_and_wait(revoked.topic, env.to_bytes(), key=env.key.encode())
        finally:
            await producer.stop()
        async with asyncio.timeout(10):  # within seconds, not at the next reconnect
            while (msg := await ws.receive()).type == aiohttp.WSMsgType.TEXT:
                pass
        # An application close code says why, so the agent does not retry with the key.
        assert (msg.type, msg.data, msg.extra) == (
            aiohttp.WSMsgType.CLOSE,
            4001,
            "credential revoked",
        ), msg
        _, again = await device.connect(http, url)
        assert again["code"] == "unknown-device"
        await other.send_json({"type": "heartbeat", "seq": 1})  # the others stay connected
        assert not other.closed
        await other.close()


async def test_a_device_holds_one_session_a_newer_one_replaces_it(rig: Rig) -> None:
    """One credential, one websocket: a second connection closes the first (4000), so a
    stolen key cannot hold sockets beside the device's own."""
    device = await rig.printer_device()
    async with aiohttp.ClientSession() as http:
        first, _ = await device.connect(http, rig.ws_url)
        second, welcome = await device.connect(http, rig.ws_url)
        assert welcome["type"] == "welcome"
        async with asyncio.timeout(10):
            while (msg := await first.receive()).type == aiohttp.WSMsgType.TEXT:
                pass
        assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 4000), msg
        await second.send_json({"type": "heartbeat", "seq": 1})
        assert not second.closed
        await second.close()
