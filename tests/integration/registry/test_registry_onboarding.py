"""Onboarding over real HTTP: online claim codes, the offline sheet, connectors."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.registry.domain.onboarding import DeviceKey, Sheet
from shared.protocols.onboarding import redeem_headers
from tests.support.kafka import envelopes
from tests.support.onboarding import AUTH, TOKEN, Cloud
from tests.support.registry import Device, RegistryFactory

pytestmark = pytest.mark.integration


@pytest.fixture
async def cloud(registry_app: RegistryFactory, bootstrap: str) -> AsyncIterator[Cloud]:
    limits = {"claim_failures_limit": 3, "registrations_limit": 8}
    async with registry_app(TOKEN, public_url="https://print.example.org", **limits) as reg:
        yield Cloud(reg.client, reg.dsn, bootstrap)


async def test_online_claim_and_the_device_reads_its_identity(cloud: Cloud) -> None:
    device, tenant = Device(), await cloud.tenant()
    r = await cloud.register(device)
    assert r.status == 201
    reg = await r.json()
    code = reg["claim_code"]
    assert len(code) == 9 and code[4] == "-" and not set(code) & set("01ILOU")
    assert reg["claim_url"] == f"https://print.example.org/claim?code={code}"
    again = await cloud.register(device)  # the device asks again: same registration
    assert again.status == 200 and (await again.json())["claim_code"] == code

    poll = f"/v1/registrations/{reg['registration_id']}"
    assert (await cloud.client.get(poll)).status == 401
    assert (
        await cloud.client.get(poll, headers=Device().poll_headers(reg["registration_id"]))
    ).status == 401
    headers = device.poll_headers(reg["registration_id"])
    assert (await (await cloud.client.get(poll, headers=headers)).json())["status"] == "pending"
    assert (await cloud.client.get(poll, headers=headers)).status == 401  # replayed poll

    claimed = await cloud.claim(tenant, code.lower().replace("-", " "))
    assert claimed.status == 201, await claimed.text()
    identity = await claimed.json()
    assert identity["tenant_id"] == tenant and identity["kind"] == "printer"
    later = device.poll_headers(reg["registration_id"], int(time.time()) + 1)
    polled = await (await cloud.client.get(poll, headers=later)).json()
    assert (polled["status"], polled["device_id"]) == ("claimed", identity["device_id"])
    assert polled["gateway_url"].startswith("ws")  # its configuration: where to connect
    assert "claim_code" not in polled
    printer = await cloud.client.get(f"/v1/printers/{identity['device_id']}", headers=AUTH)
    assert (await printer.json())["model"] == "Acme Laser 5"

    reused = await cloud.claim(tenant, code, name="Other")
    assert reused.status == 404
    assert (await reused.json(content_type=None))["code"] == "claim-code-not-found"
    assert (await cloud.register(device)).status == 409  # the key is taken

    event, *_ = await envelopes(
        cloud.bootstrap, "registry.devices", lambda e: e["type"] == "device.claimed",
        key=identity["device_id"],
    )  # fmt: skip
    assert event["data"]["fingerprint"] == DeviceKey.parse(device.public_text).fingerprint
    assert event["data"]["public_key"] == device.public_text


async def test_expired_codes_are_gone_and_registering_again_renews(cloud: Cloud) -> None:
    device, tenant = Device(ec.generate_private_key(ec.SECP256R1())), await cloud.tenant()
    reg = await (await cloud.register(device)).json()
    await cloud.sql("UPDATE registrations SET expires_at = now() - interval '1 second'")
    r = await cloud.claim(tenant, reg["claim_code"])
    assert r.status == 410
    assert (await r.json(content_type=None))["code"] == "claim-code-expired"
    renewed = await (await cloud.register(device)).json()
    assert renewed["registration_id"] == reg["registration_id"]
    assert renewed["claim_code"] != reg["claim_code"]
    assert (await cloud.claim(tenant, renewed["claim_code"])).status == 201


async def test_guessing_codes_is_limited_per_tenant(cloud: Cloud) -> None:
    device, tenant = Device(), await cloud.tenant()
    reg = await (await cloud.register(device)).json()
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        assert (await cloud.claim(tenant, guess)).status == 404
    blocked = await cloud.claim(tenant, reg["claim_code"])
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) > 0
    bad = await cloud.claim(tenant, "0OIL-1234")
    assert bad.status == 422
    other_tenant = await cloud.tenant()
    assert (await cloud.claim(other_tenant, reg["claim_code"])).status == 201


async def test_registrations_are_rate_limited_and_bad_keys_refused(cloud: Cloud) -> None:
    r = await cloud.client.post("/v1/registrations", json={"public_key": "x" * 60, "model": "M"})
    assert r.status == 422
    assert [e["field"] for e in (await r.json(content_type=None))["errors"]] == ["public_key"]
    # The malformed attempt counted too: 8 allowed per window in all.
    statuses = [(await cloud.register(Device())).status for _ in range(8)]
    assert statuses == [201] * 7 + [429]


async def test_offline_sheet_is_relayed_and_a_tampered_one_refused(cloud: Cloud) -> None:
    device, tenant = Device(), await cloud.tenant()
    key = DeviceKey.parse(device.public_text)
    sheet = Sheet("ABCDEFGH", "printer", "Acme Ink 2", key).payload()
    body = {"tenant_id": tenant, "sheet": sheet, "name": "Basement", "region": "eu-west"}
    tampered_key = DeviceKey.parse(Device().public_text)
    tampered = sheet.replace(f"key={key.text()}", f"key={tampered_key.text()}")
    r = await cloud.client.post(
        "/v1/registrations/relay", json={**body, "sheet": tampered}, headers=AUTH
    )
    assert r.status == 422
    assert [e["field"] for e in (await r.json(content_type=None))["errors"]] == ["sheet.fp"]

    r = await cloud.client.post("/v1/registrations/relay", json=body, headers=AUTH)
    assert r.status == 201, await r.text()
    identity = await r.json()
    again = await cloud.client.post("/v1/registrations/relay", json=body, headers=AUTH)
    assert again.status == 200  # the same sheet twice: the same device
    assert (await again.json())["device_id"] == identity["device_id"]
    other = {**body, "tenant_id": await cloud.tenant()}
    elsewhere = await cloud.client.post("/v1/registrations/relay", json=other, headers=AUTH)
    assert elsewhere.status == 409
    event, *_ = await envelopes(
        cloud.bootstrap, "registry.devices", lambda e: e["type"] == "device.claimed",
        key=identity["device_id"],
    )  # fmt: skip
    assert event["data"]["fingerprint"] == key.fingerprint
    # The device, once online, finds its identity by its key.
    assert (await cloud.register(device)).status == 409


async def test_a_connector_is_claimed_and_given_its_printers(cloud: Cloud) -> None:
    tenant = await cloud.tenant()
    reg = await (await cloud.register(Device(), kind="connector")).json()
    r = await cloud.claim(tenant, reg["claim_code"], name="Site A")
    connector = await r.json()
    assert connector["kind"] == "connector"
    printer = await (await cloud.register(Device())).json()
    p = await (await cloud.claim(tenant, printer["claim_code"], name="Bridged")).json()
    path = f"/v1/connectors/{connector['device_id']}/devices"
    good = {"devices": [{"printer_id": p["device_id"], "uri": "ipp://10.0.0.5/ipp/print"}]}
    r = await cloud.client.put(path, json=good, headers=AUTH)
    assert r.status == 200, await r.text()
    assert [d["printer_id"] for d in (await r.json())["devices"]] == [p["device_id"]]

    foreign_tenant = await cloud.tenant()
    other = await (await cloud.register(Device())).json()
    q = await (await cloud.claim(foreign_tenant, other["claim_code"], name="X")).json()
    bad = {"devices": [*good["devices"], {"printer_id": q["device_id"], "uri": "ipp://h/p"}]}
    r = await cloud.client.put(path, json=bad, headers=AUTH)
    assert r.status == 422
    assert [e["field"] for e in (await r.json(content_type=None))["errors"]] == [
        "devices.1.printer_id"
    ]
    twice = {"devices": good["devices"] * 2}
    assert (await cloud.client.put(path, json=twice, headers=AUTH)).status == 422
    read = await (
        await cloud.client.get(f"/v1/connectors/{connector['device_id']}", headers=AUTH)
    ).json()
    assert [d["uri"] for d in read["devices"]] == ["ipp://10.0.0.5/ipp/print"]


async def test_the_cli_relays_a_sheet(cloud: Cloud, tmp_path: Any) -> None:
    import asyncio
    import sys

    tenant = await cloud.tenant()
    device = Device()
    sheet = Sheet("KMNPQRST", "printer", "Acme", DeviceKey.parse(device.public_text)).payload()
    (tmp_path / "sheet.txt").write_text(sheet)
    base = str(cloud.client.make_url("/")).rstrip("/")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", "device", "relay", "--sheet-file",
        str(tmp_path / "sheet.txt"), "--name", "Via CLI", "--region", "eu-west",
        "--tenant-id", tenant, "--url", base, "--token", TOKEN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    assert json.loads(out)["tenant_id"] == tenant
    first = json.loads(out)["device_id"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", "device", "relay", "--sheet", sheet,
        "--name", "Again", "--region", "eu-west", "--tenant-id", tenant, "--url", base,
        "--token", TOKEN, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()  # the same sheet again: the same device
    assert json.loads(out)["device_id"] == first
    other = await cloud.tenant()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", "device", "relay", "--sheet", sheet,
        "--name", "Again", "--region", "eu-west", "--tenant-id", other, "--url", base,
        "--token", TOKEN, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 1
    assert b"device-already-claimed" in out


async def test_a_signed_sheet_binds_its_device_and_cloud_and_the_device_redeems(
    cloud: Cloud,
) -> None:
    device, tenant = Device(), await cloud.tenant()
    key = DeviceKey.parse(device.public_text)
    now = int(time.time())
    sheet = Sheet("ABCDEFGH", "printer", "Acme Ink 2", key).sign_with(
        device.private, "https://print.example.org", now
    )
    redeem = "/v1/registrations/redeem"
    ask = {"public_key": device.public_text}
    early = await cloud.client.post(redeem, json=ask, headers=redeem_headers(device.private, now))
    assert early.status == 404  # nobody relayed the sheet yet

    body = {"tenant_id": tenant, "name": "Basement", "region": "eu-west"}
    altered = sheet.payload().replace("print.example.org", "evil.example.org")
    r = await cloud.client.post(
        "/v1/registrations/relay", json={**body, "sheet": altered}, headers=AUTH
    )
    assert r.status == 422
    assert [e["field"] for e in (await r.json(content_type=None))["errors"]] == ["sheet.sig"]
    r = await cloud.client.post(
        "/v1/registrations/relay", json={**body, "sheet": sheet.payload()}, headers=AUTH
    )
    assert r.status == 201, await r.text()
    identity = await r.json()

    stranger = Device()
    forged = redeem_headers(stranger.private, now + 1)  # another key's signature
    assert (await cloud.client.post(redeem, json=ask, headers=forged)).status == 401
    proof = redeem_headers(device.private, now + 1)
    r = await cloud.client.post(redeem, json=ask, headers=proof)
    assert r.status == 200, await r.text()
    redeemed = await r.json()
    assert (redeemed["status"], redeemed["device_id"]) == ("claimed", identity["device_id"])
    assert redeemed["gateway_url"].startswith("ws") and redeemed["api_url"]
    assert (await cloud.client.post(redeem, json=ask, headers=proof)).status == 401  # replayed
