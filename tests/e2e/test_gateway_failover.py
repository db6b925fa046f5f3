"""Two gateway replicas as real processes: the one holding a device is SIGKILLed;
the device reconnects to the other and gets its unacknowledged command once."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import aiohttp
import pytest

from services.registry.app import SPEC
from shared.http.identities import new_service_token, token_digest
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.testing.fixtures import ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from tests.support.device import TestDevice, next_frame

pytestmark = pytest.mark.e2e
TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GATEWAY_TOKEN = new_service_token("gateway")


def _gateway(name: str, infra: TestInfra, registry_port: int, log_dir: Path) -> ServiceProcess:
    port = free_port()
    env = {
        "PRINTCLOUD_GATEWAY_KAFKA_BOOTSTRAP": infra.bootstrap,
        "PRINTCLOUD_GATEWAY_HTTP_PORT": str(port),
        "PRINTCLOUD_GATEWAY_SERVICE_TOKEN": GATEWAY_TOKEN,
        "PRINTCLOUD_GATEWAY_REGISTRY_URL": f"http://127.0.0.1:{registry_port}",
        "PRINTCLOUD_GATEWAY_INSTANCE": name,
        "PRINTCLOUD_GATEWAY_SHUTDOWN_GRACE_S": "0",
    }
    return ServiceProcess(name, "services.gateway", env, log_dir / f"{name}.log", port)


async def test_device_moves_to_the_surviving_replica_and_gets_its_command_once(
    infra: TestInfra, service_db: ServiceDbFactory, topics: object, tmp_path: Path
) -> None:
    db = await service_db(unique("registry"), SPEC.migrations_dir)
    reg_port = free_port()
    registry = ServiceProcess(
        "registry",
        "services.registry",
        {
            "PRINTCLOUD_REGISTRY_DATABASE_URL": db.dsn,
            "PRINTCLOUD_REGISTRY_DB_SCHEMA": db.name,
            "PRINTCLOUD_REGISTRY_KAFKA_BOOTSTRAP": infra.bootstrap,
            "PRINTCLOUD_REGISTRY_HTTP_PORT": str(reg_port),
            "PRINTCLOUD_REGISTRY_OPERATOR_TOKEN": TOKEN,
            "PRINTCLOUD_REGISTRY_SERVICE_IDENTITIES": json.dumps(
                {"gateway": token_digest(GATEWAY_TOKEN)}
            ),
            "PRINTCLOUD_REGISTRY_SHUTDOWN_GRACE_S": "0",
        },
        tmp_path / "registry.log",
        reg_port,
    )
    gateways = [_gateway(f"gw{i}", infra, reg_port, tmp_path) for i in (1, 2)]
    procs = [registry, *gateways]
    try:
        registry.start()
        await asyncio.to_thread(registry.wait_ready)
        base = f"http://127.0.0.1:{reg_port}"
        async with aiohttp.ClientSession(base, headers=AUTH) as api:
            tenant = await (await api.post("/v1/tenants", json={"name": unique("T")})).json()
            body = {"tenant_id": tenant["id"], "name": "P", "model": "M", "region": "eu-west"}
            printer = await (await api.post("/v1/printers", json=body)).json()
            device = TestDevice(uuid.UUID(printer["id"]), uuid.UUID(tenant["id"]))
            await device.issue_credential(infra.bootstrap)
            for gw in gateways:
                gw.start()
            for gw in gateways:
                await asyncio.to_thread(gw.wait_ready)
            commands = f"/v1/devices/{device.device_id}/commands"
            async with aiohttp.ClientSession() as http:
                url1 = f"ws://127.0.0.1:{gateways[0].http_port}/v1/devices/ws"
                url2 = f"ws://127.0.0.1:{gateways[1].http_port}/v1/devices/ws"
                ws, welcome = await device.connect(http, url1)
                assert welcome["type"] == "welcome", welcome
                issued = await (await api.post(commands, json={"name": "identify"})).json()
                assert (await next_frame(ws, "command"))["command_id"] == issued["command_id"]

                gateways[0].kill()  # the replica dies before the device acknowledged
                with pytest.raises((AssertionError, asyncio.TimeoutError, aiohttp.ClientError)):
                    await next_frame(ws, "command", timeout=5)

                ws2, welcome2 = await device.connect(http, url2)
                assert (
                    welcome2["type"] == "welcome"
                    and welcome2["session_id"] != welcome["session_id"]
                )
                got = await next_frame(ws2, "command")
                assert got["command_id"] == issued["command_id"]
                with pytest.raises(asyncio.TimeoutError):
                    await next_frame(ws2, "command", timeout=2)  # once, not twice
                await ws2.send_json(
                    {"type": "command_ack", "command_id": got["command_id"], "outcome": "done"}
                )
                for _ in range(100):
                    if (await (await api.get(commands)).json())["items"] == []:
                        break
                    await asyncio.sleep(0.2)
                assert (await (await api.get(commands)).json())["items"] == []
                await ws2.close()
                ws3, _ = await device.connect(http, url2)
                with pytest.raises(asyncio.TimeoutError):
                    await next_frame(ws3, "command", timeout=1.5)
                # A replica that is stopped says "going away", so devices move on at once.
                gateways[1].proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
                closing = await ws3.receive(timeout=30)
                assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                assert ws3.close_code == aiohttp.WSCloseCode.GOING_AWAY
    finally:
        for p in procs:
            p.terminate()
    assert gateways[1].proc is not None and gateways[1].proc.returncode == 0
