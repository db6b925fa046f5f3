"""Least privilege between services: a service calls another as itself, with only the
scopes of its grant. The gateway's identity reads any device's pending commands and
nothing else; another service's identity, accepted by the same registry, may not read
them; a token that is not a known identity is nobody."""

from __future__ import annotations

import uuid

import pytest

from shared.http.identities import new_service_token, token_digest
from tests.support.registry import RegistryFactory

pytestmark = pytest.mark.integration
OPERATOR = "op-" + uuid.uuid4().hex


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_service_identity_calls_only_what_its_grant_allows(
    registry_app: RegistryFactory,
) -> None:
    gateway, queues = new_service_token("gateway"), new_service_token("queues")
    identities = {"gateway": token_digest(gateway), "queues": token_digest(queues)}
    async with registry_app(OPERATOR, service_identities=identities) as reg:
        client, admin = reg.client, _bearer(OPERATOR)
        tenant = await (await client.post("/v1/tenants", json={"name": "T"}, headers=admin)).json()
        body = {"tenant_id": tenant["id"], "name": "P", "model": "M", "region": "eu-west"}
        printer = await (await client.post("/v1/printers", json=body, headers=admin)).json()
        issued = await client.post(
            f"/v1/devices/{printer['id']}/commands", json={"name": "identify"}, headers=admin
        )
        assert issued.status == 202, await issued.text()
        commands = f"/v1/devices/{printer['id']}/commands"

        # The gateway's identity: the device's pending commands, in any tenant.
        mine = await client.get(commands, headers=_bearer(gateway))
        assert mine.status == 200, await mine.text()
        assert [c["name"] for c in (await mine.json())["items"]] == ["identify"]
        # Another service's identity may not call what only the gateway may.
        theirs = await client.get(commands, headers=_bearer(queues))
        assert theirs.status == 403
        assert "device-commands:read" in (await theirs.json())["detail"]
        # The gateway's identity is nobody's administrator and no tenant's user.
        for method, path, json_body in (
            ("POST", "/v1/tenants", {"name": "Mine"}),
            ("GET", "/v1/tenants", None),
            ("GET", "/v1/printers", None),
            ("POST", commands, {"name": "identify"}),
        ):
            resp = await client.request(method, path, json=json_body, headers=_bearer(gateway))
            assert resp.status == 403, (method, path, resp.status)
        assert (
            await client.get(f"/v1/printers/{printer['id']}", headers=_bearer(gateway))
        ).status in (403, 404)

        # A token of the right shape that is not the one whose digest the registry holds,
        # and the token of a service the registry was not told about, are nobody.
        for stranger in (new_service_token("gateway"), new_service_token("counters")):
            assert (await client.get(commands, headers=_bearer(stranger))).status == 401
