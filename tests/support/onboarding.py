"""The cloud's side of onboarding under test: a registry app and what it stored."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from shared.testing.fixtures import unique
from tests.support.registry import Device

TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Cloud:
    def __init__(self, client: TestClient, dsn: str, bootstrap: str) -> None:
        self.client, self.dsn, self.bootstrap = client, dsn, bootstrap

    async def tenant(self) -> str:
        r = await self.client.post("/v1/tenants", json={"name": unique("T")}, headers=AUTH)
        return str((await r.json())["id"])

    async def register(self, device: Device, kind: str = "printer") -> Any:
        body = {"public_key": device.public_text, "kind": kind, "model": "Acme Laser 5"}
        return await self.client.post(
            "/v1/registrations", json=body, headers=device.register_headers()
        )

    async def claim(self, tenant: str, code: str, name: str = "Lobby") -> Any:
        body = {"tenant_id": tenant, "claim_code": code, "name": name, "region": "eu-west"}
        return await self.client.post("/v1/registrations/claim", json=body, headers=AUTH)

    async def sql(self, query: str, *args: object) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(query, *args)
        finally:
            await conn.close()
