"""Virtual printers over real HTTP: members, effective capabilities, isolation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.registry import CAPS, Devices, RegistryFactory, capabilities_report
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def devices(registry_app: RegistryFactory, bootstrap: str) -> AsyncIterator[Devices]:
    async with registry_app(TOKEN) as reg:
        yield Devices(reg.client, bootstrap, reg.schema, AUTH)


async def _printer_in(d: Devices, tenant_id: str, name: str) -> dict[str, Any]:
    body = {"tenant_id": tenant_id, "name": name, "model": "M", "region": "eu-west"}
    r = await d.client.post("/v1/printers", json=body, headers=AUTH)
    assert r.status == 201
    return await r.json()  # type: ignore[no-any-return]


async def test_effective_capabilities_are_what_every_member_supports(devices: Devices) -> None:
    first = await devices.printer()
    tenant = first["tenant_id"]
    second = await _printer_in(devices, tenant, "Second")
    await devices.publish(capabilities_report(first))
    simplex = CAPS.model_copy(
        update={"sides_supported": ["one-sided"], "media_supported": ["iso_a4_210x297mm"]}
    )
    await devices.publish(capabilities_report(second, simplex))
    for p in (first, second):

        async def reported(p: dict[str, Any] = p) -> bool:
            return (await devices.get(f"/v1/printers/{p['id']}/capabilities"))[0] == 200

        await eventually(reported)

    body = {"tenant_id": tenant, "name": "Follow me", "members": [first["id"], second["id"]]}
    r = await devices.client.post("/v1/virtual-printers", json=body, headers=AUTH)
    assert r.status == 201, await r.text()
    vp = await r.json()
    assert vp["members"] == [first["id"], second["id"]]
    effective = vp["effective_capabilities"]
    assert effective["sides_supported"] == ["one-sided"]
    assert effective["media_supported"] == ["iso_a4_210x297mm"]
    assert vp["members_without_capabilities"] == []

    third = await _printer_in(devices, tenant, "Third")
    r = await devices.client.patch(
        f"/v1/virtual-printers/{vp['id']}",
        json={"members": [first["id"], third["id"]]},
        headers=AUTH,
    )
    updated = await r.json()
    assert (updated["revision"], updated["members_without_capabilities"]) == (2, [third["id"]])
    assert updated["effective_capabilities"]["sides_supported"] == CAPS.sides_supported


async def test_members_must_be_printers_of_the_same_tenant(devices: Devices) -> None:
    mine = await devices.printer()
    foreign = await devices.printer()  # another tenant
    body = {
        "tenant_id": mine["tenant_id"],
        "name": "Mixed",
        "members": [mine["id"], foreign["id"], str(uuid.uuid4())],
    }
    r = await devices.client.post("/v1/virtual-printers", json=body, headers=AUTH)
    assert r.status == 422
    problem = await r.json(content_type=None)
    assert [e["field"] for e in problem["errors"]] == ["members.1", "members.2"]
    assert {e["reason"] for e in problem["errors"]} == {"unknown printer"}
    listed = await (
        await devices.client.get(
            f"/v1/virtual-printers?tenant_id={mine['tenant_id']}", headers=AUTH
        )
    ).json()
    assert listed["items"] == []
    r = await devices.client.get(f"/v1/virtual-printers/{uuid.uuid4()}", headers=AUTH)
    assert r.status == 404
    assert (await r.json(content_type=None))["code"] == "virtual-printer-not-found"
