"""The registry over real HTTP, with its real schema and the real broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from shared.testing.fixtures import unique
from tests.support.kafka import envelopes
from tests.support.registry import RegistryFactory
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(registry_app: RegistryFactory) -> AsyncIterator[TestClient]:
    async with registry_app(TOKEN) as reg:
        yield reg.client


async def _tenant(client: TestClient, name: str | None = None) -> dict[str, Any]:
    resp = await client.post("/v1/tenants", json={"name": name or unique("Acme")}, headers=AUTH)
    assert resp.status == 201, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def _printer(client: TestClient, tenant_id: str, name: str = "Lobby") -> Any:
    body = {
        "tenant_id": tenant_id,
        "name": name,
        "model": "LaserJet 9",
        "region": "eu-west",
        "location": "Floor 2",
    }
    return await client.post("/v1/printers", json=body, headers=AUTH)


async def test_create_and_read_tenant_and_printer_with_events(
    client: TestClient, bootstrap: str
) -> None:
    tenant = await _tenant(client)
    resp = await _printer(client, tenant["id"])
    assert resp.status == 201
    printer = await resp.json()
    assert resp.headers["Location"] == f"/v1/printers/{printer['id']}"
    assert (printer["revision"], printer["connection_state"]) == (1, "unknown")

    got = await client.get(f"/v1/printers/{printer['id']}", headers=AUTH)
    assert (await got.json()) == printer
    resp = await client.patch(
        f"/v1/printers/{printer['id']}", json={"location": None, "name": "Hall"}, headers=AUTH
    )
    updated = await resp.json()
    assert (updated["revision"], updated["name"], updated["location"]) == (2, "Hall", None)
    listed = await (await client.get(f"/v1/printers?tenant_id={tenant['id']}", headers=AUTH)).json()
    assert [p["id"] for p in listed["items"]] == [printer["id"]]

    events = await envelopes(bootstrap, "registry.printers", key=printer["id"], count=2)
    assert [(e["type"], e["data"]["revision"]) for e in events] == [
        ("printer.registered", 1),
        ("printer.updated", 2),
    ]
    assert events[1]["data"]["changed"] == ["location", "name"]
    assert all(e["key"] == printer["id"] and e["tenant_id"] == tenant["id"] for e in events)


async def test_bad_input_is_refused_with_field_and_reason_and_changes_nothing(
    client: TestClient,
) -> None:
    tenant = await _tenant(client)
    before = await (await client.get("/v1/printers", headers=AUTH)).json()
    cases = [
        ({"tenant_id": tenant["id"], "name": "", "model": "m", "region": "eu-west"}, 422, "name"),
        ({"tenant_id": tenant["id"], "name": "a", "model": "m", "region": "Mars!"}, 422, "region"),
        ({"tenant_id": tenant["id"], "name": "a", "model": "m", "region": "eu", "x": 1}, 422, "x"),
        ({"name": "a", "model": "m", "region": "eu-west"}, 422, "tenant_id"),
        (
            {"tenant_id": str(uuid.uuid4()), "name": "a", "model": "m", "region": "eu"},
            404,
            "tenant_id",
        ),
    ]
    for body, status, field in cases:
        resp = await client.post("/v1/printers", json=body, headers=AUTH)
        assert resp.status == status, (body, await resp.text())
        assert resp.content_type == "application/problem+json"
        problem = await resp.json(content_type=None)
        assert field in [e["field"] for e in problem["errors"]], problem
    after = await (await client.get("/v1/printers", headers=AUTH)).json()
    assert after["items"] == before["items"]


async def test_conflicts_and_unknown_ids(client: TestClient) -> None:
    tenant = await _tenant(client)
    dup = await client.post("/v1/tenants", json={"name": tenant["name"].upper()}, headers=AUTH)
    assert dup.status == 409
    assert (await _printer(client, tenant["id"])).status == 201
    resp = await _printer(client, tenant["id"], name="LOBBY")
    assert resp.status == 409
    assert (await resp.json(content_type=None))["code"] == "duplicate-name"
    for path in (
        f"/v1/printers/{uuid.uuid4()}",
        "/v1/printers/not-a-uuid",
        f"/v1/tenants/{uuid.uuid4()}",
    ):
        resp = await client.get(path, headers=AUTH)
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"


async def test_every_route_needs_a_token_and_health_is_public(client: TestClient) -> None:
    for method, path in (("GET", "/v1/printers"), ("POST", "/v1/tenants"), ("GET", "/v1/tenants")):
        resp = await client.request(method, path)
        assert resp.status == 401
    checks: dict[str, str] = {}

    async def ready() -> bool:  # once the revocations are read from auth.tokens
        resp = await client.get("/readyz")
        checks.update((await resp.json())["checks"])
        return resp.status == 200

    await eventually(ready)
    assert checks["migrations"] == checks["token-revocations"] == "ok"
    metrics = await (await client.get("/metrics")).text()
    assert "printcloud_http_request_seconds" in metrics
