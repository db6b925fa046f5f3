"""Every registry route that names a resource answers another tenant's id exactly
as it answers an id that does not exist: 404, same code, nothing changed."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.auth.api.routes import JWKS_PATH
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import (
    OPERATOR,
    OPERATOR_TOKEN,
    access_token,
    auth_client,
    bearer,
    create_api_token,
    create_user,
)
from tests.support.registry import Device as OnboardingDevice
from tests.support.registry import RegistryFactory

pytestmark = pytest.mark.integration
SCOPES = ["printers:read", "printers:write"]

# Each route with an id in its path, and a valid request to send to it.
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/tenants/{tenant_id}"): {},
    ("GET", "/v1/printers/{printer_id}"): {},
    ("PATCH", "/v1/printers/{printer_id}"): {"json": {"location": "moved"}},
    ("GET", "/v1/printers/{printer_id}/capabilities"): {},
    ("GET", "/v1/virtual-printers/{virtual_printer_id}"): {},
    ("PATCH", "/v1/virtual-printers/{virtual_printer_id}"): {"json": {"name": "Renamed"}},
    ("GET", "/v1/printers/{printer_id}/sharing"): {},
    ("PUT", "/v1/printers/{printer_id}/sharing"): {"json": {"tenant": True}},
    ("GET", "/v1/virtual-printers/{virtual_printer_id}/sharing"): {},
    ("PUT", "/v1/virtual-printers/{virtual_printer_id}/sharing"): {"json": {"tenant": True}},
    ("GET", "/v1/connectors/{connector_id}"): {},
    ("PUT", "/v1/connectors/{connector_id}/devices"): {"json": {"devices": []}},
    ("GET", "/v1/devices/{device_id}/commands"): {},
    ("POST", "/v1/devices/{device_id}/commands"): {"json": {"name": "identify"}},
    ("GET", "/v1/devices/{device_id}/commands/{command_id}"): {},
}
# Routes a device reaches by proving its key, not with a user's token.
DEVICE_ROUTES = {("GET", "/v1/registrations/{registration_id}")}


@pytest.fixture
async def rig(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, registry_app: RegistryFactory
) -> AsyncIterator[tuple[TestClient, TestClient]]:
    async with auth_client(service_db, bootstrap) as auth:
        jwks = str(auth.make_url(JWKS_PATH))
        async with registry_app(OPERATOR_TOKEN, auth_jwks_url=jwks, auth_leeway_s=0) as reg:
            yield auth, reg.client


async def _tenant_resources(registry: TestClient) -> dict[str, str]:
    """A tenant with one of everything; returns the ids by path parameter name."""
    tenant = await (
        await registry.post(
            "/v1/tenants", json={"name": f"T {uuid.uuid4().hex[:6]}"}, headers=OPERATOR
        )
    ).json()
    body = {"tenant_id": tenant["id"], "name": "P", "model": "M", "region": "eu-west"}
    printer = await (await registry.post("/v1/printers", json=body, headers=OPERATOR)).json()
    vp_body = {"tenant_id": tenant["id"], "name": "VP", "members": [printer["id"]]}
    vp = await (await registry.post("/v1/virtual-printers", json=vp_body, headers=OPERATOR)).json()
    device = OnboardingDevice()
    reg = await (
        await registry.post(
            "/v1/registrations",
            json={"public_key": device.public_text, "kind": "connector", "model": "C"},
            headers=device.register_headers(),
        )
    ).json()
    claim = {"tenant_id": tenant["id"], "claim_code": reg["claim_code"], "name": "Site",
             "region": "eu-west"}  # fmt: skip
    connector = await (
        await registry.post("/v1/registrations/claim", json=claim, headers=OPERATOR)
    ).json()
    issued = await registry.post(
        f"/v1/devices/{printer['id']}/commands", json={"name": "identify"}, headers=OPERATOR
    )
    command = await issued.json()
    return {
        "command_id": command["command_id"],
        "tenant_id": tenant["id"],
        "printer_id": printer["id"],
        "virtual_printer_id": vp["id"],
        "connector_id": connector["device_id"],
        "device_id": printer["id"],
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


async def test_foreign_ids_are_answered_like_missing_ones_on_every_route(
    rig: tuple[TestClient, TestClient],
) -> None:
    auth, registry = rig
    routes = {
        (r.method, r.resource.canonical)
        for r in registry.server.app.router.routes()
        if r.resource is not None and "{" in r.resource.canonical and r.method != "HEAD"
    }
    assert routes - DEVICE_ROUTES == set(REQUESTS), "a new route needs an isolation case here"

    mine = await _tenant_resources(registry)
    theirs = await _tenant_resources(registry)
    user = await create_user(auth, mine["tenant_id"], ["admin"])
    api_token = (await create_api_token(auth, user["id"], SCOPES))["token"]
    me = bearer(await access_token(auth, api_token))
    missing = {name: str(uuid.uuid4()) for name in theirs}

    for (method, path), request in sorted(REQUESTS.items()):
        own = await registry.request(method, _fill(path, mine), headers=me, **request)
        # The caller's own resource is found (its printer simply has not reported yet).
        reported_nothing = (
            own.status == 404
            and path.endswith("/capabilities")
            and ((await own.json(content_type=None))["code"] == "capabilities-not-found")
        )
        assert own.status < 400 or reported_nothing, (method, path, own.status, await own.text())
        foreign = await registry.request(method, _fill(path, theirs), headers=me, **request)
        absent = await registry.request(method, _fill(path, missing), headers=me, **request)
        assert foreign.status == absent.status == 404, (method, path, foreign.status)
        f, a = await foreign.json(content_type=None), await absent.json(content_type=None)
        assert (f["code"], f["detail"]) == (a["code"], a["detail"]), (method, path)

    # Lists never show another tenant, even when asked for it by id.
    for path in ("/v1/printers", "/v1/virtual-printers"):
        listed = await (await registry.get(path, headers=me)).json()
        assert {i["tenant_id"] for i in listed["items"]} == {mine["tenant_id"]}
        asked = await registry.get(f"{path}?tenant_id={theirs['tenant_id']}", headers=me)
        assert asked.status == 404
    # Nothing of theirs changed.
    printer = await (
        await registry.get(f"/v1/printers/{theirs['printer_id']}", headers=OPERATOR)
    ).json()
    assert printer["location"] is None
