"""The gateway on real infrastructure: a registry and a gateway in front of it, both
on real loopback ports, and printers whose credentials the gateway knows."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from services.gateway.app import GATEWAY
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.registry.app import SPEC
from services.registry.settings import RegistrySettings
from shared.http.identities import new_service_token, token_digest
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.device import TestDevice
from tests.support.waiting import eventually

TOKEN = "op-" + uuid.uuid4().hex
GATEWAY_TOKEN = new_service_token("gateway")
"""The gateway's own identity: the registry holds only its digest."""
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CAPS = {
    "document_format_supported": ["application/pdf"],
    "media_supported": ["iso_a4_210x297mm"],
}


@dataclass
class Rig:
    """The registry and a gateway in front of it."""

    registry: TestClient
    gateway: TestClient
    bootstrap: str

    @property
    def ws_url(self) -> str:
        return str(self.gateway.make_url("/v1/devices/ws"))

    async def printer_device(self) -> TestDevice:
        """A printer in the registry with a credential the gateway knows."""
        r = await self.registry.post("/v1/tenants", json={"name": unique("T")}, headers=AUTH)
        tenant = (await r.json())["id"]
        body = {"tenant_id": tenant, "name": "P", "model": "M", "region": "eu-west"}
        printer = await (await self.registry.post("/v1/printers", json=body, headers=AUTH)).json()
        device = TestDevice(uuid.UUID(printer["id"]), uuid.UUID(tenant))
        await device.issue_credential(self.bootstrap)
        cache = self.gateway.server.app[GATEWAY].credentials

        async def known() -> bool:
            return cache.lookup(device.fingerprint) is not None

        await eventually(known)
        return device

    async def get(self, path: str) -> Any:
        return await (await self.registry.get(path, headers=AUTH)).json()


@contextlib.asynccontextmanager
async def gateway_rig(service_db: ServiceDbFactory, bootstrap: str) -> AsyncIterator[Rig]:
    """A registry and a gateway that asks it, both on real loopback ports."""
    db = await service_db(unique("registry"), SPEC.migrations_dir)
    reg_settings = RegistrySettings(
        database_url=db.dsn,
        db_schema=db.name,
        kafka_bootstrap=bootstrap,
        operator_token=TOKEN,
        outbox_poll_s=0.5,
        service_identities={"gateway": token_digest(GATEWAY_TOKEN)},
    )
    async with service_client(SPEC, reg_settings) as registry:
        gw_settings = GatewaySettings(
            kafka_bootstrap=bootstrap,
            service_token=GATEWAY_TOKEN,
            instance="gw-test",
            registry_url=str(registry.make_url("/")),
            max_frame_bytes=64 * 1024,
            heartbeat_interval_s=5,
            send_queue_frames=4,
        )
        async with TestClient(TestServer(create_gateway(gw_settings))) as gateway:
            gw = gateway.server.app[GATEWAY]
            await eventually(lambda: gw.credentials.ready.is_set() and gw.feed_ready.is_set())
            yield Rig(registry, gateway, bootstrap)
