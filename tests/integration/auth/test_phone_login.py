"""Logging in at a printer with a phone: the printer shows a one-time challenge, the
user's phone signs it, auth checks the proof and publishes device.login_approved."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import serialization

from services.auth.repository import LoginChallenges
from shared.crypto.signatures import PrivateKey
from shared.protocols.phone import (
    LoginPayload,
    approval_request,
    decode_login_payload,
    generate_phone_key,
    public_key_text,
)
from shared.service import RUNTIME
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import (
    auth_client,
    bearer,
    login,
    problem,
)
from tests.support.auth_devices import (
    bridged,
    challenge,
    claimed_device,
    device_token,
    phone_user,
)
from tests.support.kafka import envelopes

pytestmark = pytest.mark.integration
PUBLIC_URL = "https://print.example.org"
TOPIC = "auth.device-logins"


@pytest.fixture(scope="module")
async def auth(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(
        service_db, bootstrap, public_url=PUBLIC_URL + "/", device_session_ttl_s=600
    ) as c:
        yield c


async def _printer(auth: TestClient, bootstrap: str, tenant: uuid.UUID) -> tuple[uuid.UUID, str]:
    printer_id, key = await claimed_device(auth, bootstrap, tenant)
    return printer_id, await device_token(auth, printer_id, key)


async def _approve(
    auth: TestClient,
    key: PrivateKey,
    key_id: str,
    payload: LoginPayload,
    action: str = "open_session",
    **overrides: Any,
) -> Any:
    body = {**approval_request(key, key_id, payload, action), **overrides}  # type: ignore[arg-type]
    return await auth.post("/v1/device-logins", json=body)


async def _refused(resp: Any, status: int, code: str) -> None:
    assert resp.status == status, await resp.text()
    assert (await problem(resp))["code"] == code


async def test_a_phone_approves_a_login_once(auth: TestClient, bootstrap: str) -> None:
    tenant = uuid.uuid4()
    printer_id, token = await _printer(auth, bootstrap, tenant)
    user, _, key, key_id = await phone_user(auth, tenant, display_name="Grace Hopper")

    issued = await challenge(auth, token)
    assert issued["printer_id"] == str(printer_id)
    payload = decode_login_payload(issued["qr_payload"])
    assert payload.url == PUBLIC_URL and payload.printer_id == printer_id
    assert payload.challenge == issued["challenge"]
    assert payload.expires_at == int(datetime.fromisoformat(issued["expires_at"]).timestamp())

    resp = await _approve(auth, key, key_id, payload, "release_all")
    assert resp.status == 201, await resp.text()
    approved = await resp.json()
    assert approved["printer_id"] == str(printer_id) and approved["action"] == "release_all"

    (event,) = await envelopes(bootstrap, TOPIC, key=str(printer_id), count=1, settle_s=1.0)
    assert event["type"] == "device.login_approved" and event["tenant_id"] == str(tenant)
    data = event["data"]
    assert data == {
        "session_id": approved["session_id"],
        "tenant_id": str(tenant),
        "printer_id": str(printer_id),
        "user_id": user["id"],
        "display_name": "Grace Hopper",
        "action": "release_all",
        "method": "phone",
        "approved_at": data["approved_at"],
        "expires_at": data["expires_at"],
    }
    lasts = datetime.fromisoformat(data["expires_at"]) - datetime.fromisoformat(data["approved_at"])
    assert lasts.total_seconds() == 600

    # The same proof, or any other, for a used challenge: refused, nothing published.
    await _refused(await _approve(auth, key, key_id, payload, "release_all"), 409, "challenge-used")
    await _refused(await _approve(auth, key, key_id, payload), 409, "challenge-used")
    after = await envelopes(bootstrap, TOPIC, key=str(printer_id), count=1, settle_s=1.0)
    assert len(after) == 1

    # Ed25519 phone keys work too.
    _, _, ed_key, ed_id = await phone_user(auth, tenant, "ed25519")
    second = decode_login_payload((await challenge(auth, token))["qr_payload"])
    assert (await _approve(auth, ed_key, ed_id, second)).status == 201


async def test_wrong_keys_printers_and_tenants_are_refused(
    auth: TestClient, bootstrap: str
) -> None:
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    printer_id, token = await _printer(auth, bootstrap, tenant)
    other_printer, _ = await _printer(auth, bootstrap, tenant)
    _, _, key, key_id = await phone_user(auth, tenant)
    _, _, _, colleague_key_id = await phone_user(auth, tenant)
    _, _, foreign_key, foreign_key_id = await phone_user(auth, other_tenant)
    payload = decode_login_payload((await challenge(auth, token))["qr_payload"])

    stranger = generate_phone_key()
    await _refused(await _approve(auth, stranger, key_id, payload), 401, "bad-signature")
    await _refused(await _approve(auth, key, colleague_key_id, payload), 401, "bad-signature")
    await _refused(await _approve(auth, key, str(uuid.uuid4()), payload), 401, "unknown-key")
    # Signed for this challenge and printer but posted with another action.
    signed = approval_request(key, key_id, payload, "open_session")
    resp = await auth.post("/v1/device-logins", json={**signed, "action": "release_all"})
    await _refused(resp, 401, "bad-signature")
    # Signed correctly, but the challenge was shown by another printer.
    elsewhere = LoginPayload(payload.url, other_printer, payload.challenge, payload.expires_at)
    await _refused(await _approve(auth, key, key_id, elsewhere), 403, "wrong-printer")
    assert not await _published(bootstrap, printer_id)

    # Five failures kill the challenge, even for the right proof.
    await _refused(await _approve(auth, key, key_id, payload), 410, "challenge-exhausted")

    # A key of another tenant's user proves nothing at this tenant's printer.
    fresh = decode_login_payload((await challenge(auth, token))["qr_payload"])
    resp = await _approve(auth, foreign_key, foreign_key_id, fresh)
    await _refused(resp, 403, "foreign-printer")
    assert (await _approve(auth, key, key_id, fresh)).status == 201

    unknown = LoginPayload(PUBLIC_URL, printer_id, "A" * 43, 0)
    await _refused(await _approve(auth, key, key_id, unknown), 401, "unknown-challenge")
    resp = await auth.post("/v1/device-logins", json={"challenge": "short", "action": "x"})
    assert resp.status == 422
    fields = {e["field"] for e in (await problem(resp))["errors"]}
    assert {"key_id", "challenge", "printer_id", "action", "signature"} <= fields


async def _published(bootstrap: str, printer_id: uuid.UUID) -> bool:
    """Whether any login was published for the printer (waits a moment to be sure)."""
    try:
        await asyncio.wait_for(envelopes(bootstrap, TOPIC, key=str(printer_id), count=1), 3)
    except TimeoutError:
        return False
    return True


async def test_a_revoked_phone_key_is_refused(auth: TestClient, bootstrap: str) -> None:
    tenant = uuid.uuid4()
    printer_id, token = await _printer(auth, bootstrap, tenant)
    _, headers, key, key_id = await phone_user(auth, tenant)
    resp = await auth.delete(f"/v1/users/me/phone-keys/{key_id}", headers=headers)
    assert resp.status == 204
    payload = decode_login_payload((await challenge(auth, token))["qr_payload"])
    await _refused(await _approve(auth, key, key_id, payload), 403, "key-revoked")
    listed = await (await auth.get("/v1/users/me/phone-keys", headers=headers)).json()
    assert [(k["key_id"], k["status"]) for k in listed["items"]] == [(key_id, "revoked")]

    # Deleting a user revokes their phone keys in the same change.
    leaver, _, leaver_key, leaver_key_id = await phone_user(auth, tenant)
    _, admin = await login(auth, str(tenant), ["admin"], ["users:write"])
    assert (await auth.delete(f"/v1/users/{leaver['id']}", headers=admin)).status == 204
    await _refused(await _approve(auth, leaver_key, leaver_key_id, payload), 403, "key-revoked")
    assert not await _published(bootstrap, printer_id)


async def test_an_expired_challenge_is_refused(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> None:
    async with auth_client(service_db, bootstrap, login_challenge_ttl_s=1) as auth:
        tenant = uuid.uuid4()
        printer_id, token = await _printer(auth, bootstrap, tenant)
        _, _, key, key_id = await phone_user(auth, tenant)
        payload = decode_login_payload((await challenge(auth, token))["qr_payload"])
        await asyncio.sleep(1.5)
        await _refused(await _approve(auth, key, key_id, payload), 410, "challenge-expired")
        assert not await _published(bootstrap, printer_id)

        # Long-expired challenges are purged (the periodic task's query); a fresh one stays.
        fresh = decode_login_payload((await challenge(auth, token))["qr_payload"])
        async with auth.app[RUNTIME].pool.acquire() as conn:
            cutoff = datetime.fromtimestamp(payload.expires_at + 1, UTC)
            assert await LoginChallenges(conn).purge(cutoff) >= 1
        await _refused(await _approve(auth, key, key_id, payload), 401, "unknown-challenge")
        await asyncio.sleep(1.1)
        await _refused(await _approve(auth, key, key_id, fresh), 410, "challenge-expired")


async def test_a_connector_asks_for_the_printers_it_bridges(
    auth: TestClient, bootstrap: str
) -> None:
    tenant = uuid.uuid4()
    connector_id, connector_key = await claimed_device(auth, bootstrap, tenant, "connector")
    held, not_held = uuid.uuid4(), uuid.uuid4()
    await bridged(auth, bootstrap, connector_id, tenant, [held])
    token = await device_token(auth, connector_id, connector_key)

    issued = await challenge(auth, token, held)
    assert issued["printer_id"] == str(held)
    _, _, key, key_id = await phone_user(auth, tenant)
    resp = await _approve(auth, key, key_id, decode_login_payload(issued["qr_payload"]))
    assert resp.status == 201, await resp.text()

    for body, status, code in (
        ({"printer_id": str(not_held)}, 404, "printer-not-found"),
        ({}, 422, "validation-failed"),
    ):
        resp = await auth.post("/v1/devices/me/login-challenges", json=body, headers=bearer(token))
        await _refused(resp, status, code)

    # The registry moves the printer away: the connector may no longer ask for it.
    await bridged(auth, bootstrap, connector_id, tenant, [not_held], revision=3)
    assert (await challenge(auth, token, not_held))["printer_id"] == str(not_held)
    resp = await auth.post(
        "/v1/devices/me/login-challenges", json={"printer_id": str(held)}, headers=bearer(token)
    )
    await _refused(resp, 404, "printer-not-found")

    # A printer asks for itself only.
    printer_id, printer_token = await _printer(auth, bootstrap, tenant)
    assert (await challenge(auth, printer_token, printer_id))["printer_id"] == str(printer_id)
    resp = await auth.post(
        "/v1/devices/me/login-challenges",
        json={"printer_id": str(held)},
        headers=bearer(printer_token),
    )
    await _refused(resp, 404, "printer-not-found")
    resp = await auth.post("/v1/devices/me/login-challenges", headers=bearer(printer_token))
    assert resp.status == 201, await resp.text()

    # A user's token asks for no challenge.
    _, user_headers = await login(auth, str(tenant), ["admin"], ["printers:read"])
    resp = await auth.post("/v1/devices/me/login-challenges", json={}, headers=user_headers)
    await _refused(resp, 403, "forbidden")


async def test_phone_keys_are_the_users_own(auth: TestClient, bootstrap: str) -> None:
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    user, headers = await login(auth, str(tenant), ["user"], ["jobs:read", "jobs:submit"])
    key = generate_phone_key()
    good = {"public_key": public_key_text(key), "algorithm": "ecdsa-p256", "label": "Pixel"}

    for body, field in (
        ({**good, "public_key": "not a key at all, not even base64url!"}, "public_key"),
        ({**good, "public_key": "A" * 60}, "public_key"),
        ({**good, "algorithm": "ed25519"}, "algorithm"),
        ({**good, "algorithm": "rsa"}, "algorithm"),
        ({**good, "label": ""}, "label"),
    ):
        resp = await auth.post("/v1/users/me/phone-keys", json=body, headers=headers)
        assert resp.status == 422, await resp.text()
        assert field in {e["field"] for e in (await problem(resp))["errors"]}

    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    resp = await auth.post(
        "/v1/users/me/phone-keys", json={**good, "public_key": pem.decode()}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert created["user_id"] == user["id"] and created["status"] == "active"
    assert created["public_key"] == good["public_key"] and len(created["fingerprint"]) == 64
    resp = await auth.post("/v1/users/me/phone-keys", json=good, headers=headers)
    await _refused(resp, 409, "duplicate-phone-key")

    # Without jobs:submit a token registers no phone key (it could release jobs).
    _, narrow = await login(auth, str(tenant), ["user"], ["printers:read"])
    other = {**good, "public_key": public_key_text(generate_phone_key())}
    resp = await auth.post("/v1/users/me/phone-keys", json=other, headers=narrow)
    await _refused(resp, 403, "forbidden")

    # The tenant's admin sees and revokes them; another tenant's admin finds no such user.
    _, admin = await login(auth, str(tenant), ["admin"], ["users:read", "users:write"])
    _, stranger = await login(auth, str(other_tenant), ["admin"], ["users:read", "users:write"])
    path = f"/v1/users/{user['id']}/phone-keys"
    listed = await (await auth.get(path, headers=admin)).json()
    assert [k["key_id"] for k in listed["items"]] == [created["key_id"]]
    resp = await auth.get(path, headers=stranger)
    await _refused(resp, 404, "user-not-found")
    resp = await auth.delete(f"{path}/{created['key_id']}", headers=stranger)
    await _refused(resp, 404, "user-not-found")
    resp = await auth.delete(f"{path}/{uuid.uuid4()}", headers=admin)
    await _refused(resp, 404, "phone-key-not-found")
    assert (await auth.delete(f"{path}/{created['key_id']}", headers=admin)).status == 204
    assert (await auth.delete(f"{path}/{created['key_id']}", headers=admin)).status == 204
    mine = await (await auth.get("/v1/users/me/phone-keys", headers=headers)).json()
    assert [k["status"] for k in mine["items"]] == ["revoked"]

    # A revoked key may be registered again (a new key id).
    resp = await auth.post("/v1/users/me/phone-keys", json=good, headers=headers)
    assert resp.status == 201 and (await resp.json())["key_id"] != created["key_id"]
