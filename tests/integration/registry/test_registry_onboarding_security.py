"""Onboarding under attack: rate limits per real client, no code oracles, no shortcuts."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from services.registry.domain.onboarding import DeviceKey, Sheet
from tests.support.onboarding import AUTH, TOKEN, Cloud
from tests.support.registry import Device, RegistryFactory

pytestmark = pytest.mark.integration
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


def _unsigned(device: Device, kind: str = "printer") -> dict[str, Any]:
    return {"public_key": device.public_text, "kind": kind, "model": "Acme Laser 5"}


async def test_clients_behind_the_edge_do_not_lock_each_other_out(
    registry_app: RegistryFactory, bootstrap: str
) -> None:
    async with registry_app(TOKEN, registrations_limit=3, trusted_proxies=LOOPBACK) as reg:
        client = reg.client

        async def post(forwarded: str) -> int:
            body = _unsigned(Device())
            r = await client.post(
                "/v1/registrations", json=body, headers={"X-Forwarded-For": forwarded}
            )
            return r.status

        assert [await post("203.0.113.7") for _ in range(4)] == [201, 201, 201, 429]
        # Another client behind the same edge is not locked out by the first.
        assert await post("198.51.100.9") == 201


async def test_a_forged_forwarded_header_does_not_escape_the_limit(
    registry_app: RegistryFactory, bootstrap: str
) -> None:
    untrusted = [ipaddress.ip_network("192.0.2.0/24")]  # the peer (loopback) is not a proxy
    async with registry_app(TOKEN, registrations_limit=3, trusted_proxies=untrusted) as reg:
        statuses = []
        for i in range(5):
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
            r = await reg.client.post(
                "/v1/registrations", json=_unsigned(Device()), headers=headers
            )
            statuses.append(r.status)
        assert statuses == [201, 201, 201, 429, 429]


@pytest.fixture
async def cloud(registry_app: RegistryFactory, bootstrap: str) -> Any:
    limits = {"claim_failures_limit": 3, "registrations_limit": 50}
    async with registry_app(TOKEN, public_url="https://print.example.org", **limits) as reg:
        yield Cloud(reg.client, reg.dsn, bootstrap)


async def test_the_claim_code_goes_only_to_the_key_holder(cloud: Cloud) -> None:
    device = Device()
    first = await cloud.register(device)  # signed with the device's key
    assert first.status == 201
    code = (await first.json())["claim_code"]
    # Anyone can present the public key; they do not learn the code.
    again = await cloud.client.post("/v1/registrations", json=_unsigned(device))
    assert again.status == 200
    assert "claim_code" not in await again.json()
    # Nor when they are first to present a key: the device reads its code by proving its key.
    victim = Device()
    squatted = await cloud.client.post("/v1/registrations", json=_unsigned(victim))
    assert squatted.status == 201
    body = await squatted.json()
    assert "claim_code" not in body and "claim_url" not in body
    mine = await (await cloud.register(victim)).json()
    assert len(mine["claim_code"]) == 9 and mine["claim_code"] != code
    polled = await cloud.client.get(
        f"/v1/registrations/{body['registration_id']}",
        headers=victim.poll_headers(body["registration_id"]),
    )
    assert (await polled.json())["claim_code"] == mine["claim_code"]


async def test_a_pending_registration_is_not_relayed_without_its_code(cloud: Cloud) -> None:
    device, tenant = Device(), await cloud.tenant()
    reg = await (await cloud.register(device)).json()
    key = DeviceKey.parse(device.public_text)
    forged = Sheet("ABCDEFGH", "printer", "Acme", key).payload()  # the key alone, a wrong code
    body = {"tenant_id": tenant, "sheet": forged, "name": "Stolen", "region": "eu-west"}
    r = await cloud.client.post("/v1/registrations/relay", json=body, headers=AUTH)
    assert r.status == 404
    assert (await r.json(content_type=None))["code"] == "claim-code-not-found"
    code = reg["claim_code"].replace("-", "")
    right = Sheet(code, "printer", "Acme", key).payload()
    r = await cloud.client.post(
        "/v1/registrations/relay", json={**body, "sheet": right}, headers=AUTH
    )
    assert r.status == 201, await r.text()


async def test_relay_answers_the_same_for_a_pending_code_and_an_unknown_one(cloud: Cloud) -> None:
    tenant = await cloud.tenant()
    pending = await (await cloud.register(Device())).json()
    answers = []
    for i, code in enumerate((pending["claim_code"].replace("-", ""), "KMNPQRST")):
        key = DeviceKey.parse(Device().public_text)
        sheet = Sheet(code, "printer", "Acme", key).payload()
        body = {"tenant_id": tenant, "sheet": sheet, "name": f"P{i}", "region": "eu-west"}
        r = await cloud.client.post("/v1/registrations/relay", json=body, headers=AUTH)
        answers.append(r.status)
    assert answers == [201, 201]
    # The other device's pending code is untouched.
    assert (await cloud.claim(tenant, pending["claim_code"], name="Real")).status == 201


async def test_the_claim_attempt_limit_holds_under_concurrent_guesses(cloud: Cloud) -> None:
    tenant = await cloud.tenant()
    guesses = [f"{c * 4}-{c * 4}" for c in "ABCDEFGHJK"]
    statuses = await asyncio.gather(*(cloud.claim(tenant, g) for g in guesses))
    codes = sorted(r.status for r in statuses)
    assert codes.count(404) == 3, codes
    assert codes.count(429) == len(guesses) - 3


async def test_the_registration_limit_holds_under_concurrent_requests(
    registry_app: RegistryFactory, bootstrap: str
) -> None:
    async with registry_app(TOKEN, registrations_limit=3) as reg:
        answers = await asyncio.gather(
            *(reg.client.post("/v1/registrations", json=_unsigned(Device())) for _ in range(10))
        )
        statuses = sorted(r.status for r in answers)
        assert statuses.count(201) == 3, statuses
