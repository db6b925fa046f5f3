"""Device access tokens: a device proves its key with a signed, fresh, never-reused
timestamp and gets a short-lived JWT that acts as that device only."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import jwt
import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.device_token import device_token_message, device_token_request
from shared.crypto.encoding import b64url_encode
from shared.crypto.signatures import sign
from shared.errors import Forbidden
from shared.http.auth import parse_jwks, token_key_id, verify_access_token
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import (
    OPERATOR,
    auth_client,
    bearer,
    create_user,
    problem,
)
from tests.support.auth_devices import claimed_device, p256

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def auth(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(service_db, bootstrap, device_token_ttl_s=300) as c:
        yield c


async def _refusal(auth: TestClient, body: dict[str, object]) -> str:
    resp = await auth.post("/v1/device-token", json=body)
    assert resp.status == 401, await resp.text()
    return (await problem(resp))["code"]  # type: ignore[no-any-return]


async def test_a_device_gets_a_token_that_acts_as_that_device_only(
    auth: TestClient, bootstrap: str
) -> None:
    tenant = uuid.uuid4()
    for kind, key in (("printer", ed25519.Ed25519PrivateKey.generate()), ("connector", p256())):
        device_id, private = await claimed_device(auth, bootstrap, tenant, kind, key)
        resp = await auth.post("/v1/device-token", json=device_token_request(private, device_id))
        assert resp.status == 200, await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"
        answer = await resp.json()
        assert answer["token_type"] == "Bearer" and answer["expires_in"] == 300

        # What every other service does with it: verify offline against the JWKS.
        keys = parse_jwks(await (await auth.get("/.well-known/jwks.json")).json())
        token = answer["access_token"]
        kid, _ = token_key_id(token)
        who = verify_access_token(
            token, keys[kid], issuer="printcloud-auth", audience="printcloud", leeway_s=0
        )
        assert who.device_id == device_id and who.subject == str(device_id)
        assert who.tenant_id == tenant and who.device_kind == kind
        assert who.roles == {"device"} and who.scopes == {"device"}
        assert who.require_device() == device_id
        for scope in ("printers:read", "jobs:read", "jobs:submit", "users:read"):
            with pytest.raises(Forbidden):
                who.require_scope(scope)
        for role in ("admin", "user"):
            with pytest.raises(Forbidden):
                who.require_role(role)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 300
        assert claims["device"] == {"kind": kind, "fingerprint": claims["device"]["fingerprint"]}


async def test_bad_proofs_are_refused(auth: TestClient, bootstrap: str) -> None:
    tenant = uuid.uuid4()
    device_id, private = await claimed_device(auth, bootstrap, tenant)
    now = int(time.time())

    stranger = ed25519.Ed25519PrivateKey.generate()
    assert await _refusal(auth, device_token_request(stranger, device_id)) == "device-refused"
    assert await _refusal(auth, device_token_request(private, uuid.uuid4())) == "device-refused"
    # Signed for another device id, presented for this one.
    forged = device_token_request(private, uuid.uuid4(), timestamp=now)
    assert await _refusal(auth, {**forged, "device_id": str(device_id)}) == "device-refused"
    stale = device_token_request(private, device_id, timestamp=now - 120)
    assert await _refusal(auth, stale) == "clock-skew"
    ahead = device_token_request(private, device_id, timestamp=now + 120)
    assert await _refusal(auth, ahead) == "clock-skew"

    # A captured request works once; an older timestamp never again.
    fresh = device_token_request(private, device_id, timestamp=now)
    assert (await auth.post("/v1/device-token", json=fresh)).status == 200
    assert await _refusal(auth, fresh) == "replayed-timestamp"
    older = device_token_request(private, device_id, timestamp=now - 1)
    assert await _refusal(auth, older) == "replayed-timestamp"
    later = device_token_request(private, device_id, timestamp=now + 1)
    assert (await auth.post("/v1/device-token", json=later)).status == 200

    # DER-encoded ECDSA signatures are accepted as well as raw r || s.
    ec_device, ec_key = await claimed_device(auth, bootstrap, tenant, key=p256())
    der = sign(ec_key, device_token_message(ec_device, now), ecdsa_encoding="der")
    body = {"device_id": str(ec_device), "timestamp": now, "signature": b64url_encode(der)}
    assert (await auth.post("/v1/device-token", json=body)).status == 200

    resp = await auth.post("/v1/device-token", json={"device_id": "x", "timestamp": "soon"})
    assert resp.status == 422
    fields = {e["field"] for e in (await problem(resp))["errors"]}
    assert {"device_id", "timestamp", "signature"} <= fields


async def test_a_revoked_device_gets_no_token(auth: TestClient, bootstrap: str) -> None:
    device_id, private = await claimed_device(auth, bootstrap, uuid.uuid4())
    resp = await auth.post(f"/v1/device-credentials/{device_id}/revoke", headers=OPERATOR)
    assert resp.status == 200, await resp.text()
    assert await _refusal(auth, device_token_request(private, device_id)) == "device-revoked"
    stranger = ed25519.Ed25519PrivateKey.generate()
    assert await _refusal(auth, device_token_request(stranger, device_id)) == "device-refused"


async def test_a_device_token_opens_no_user_endpoint(auth: TestClient, bootstrap: str) -> None:
    tenant = uuid.uuid4()
    device_id, private = await claimed_device(auth, bootstrap, tenant)
    resp = await auth.post("/v1/device-token", json=device_token_request(private, device_id))
    headers = bearer((await resp.json())["access_token"])
    user = await create_user(auth, str(tenant), ["user"])
    for method, path in (
        ("GET", "/v1/users"),
        ("GET", f"/v1/users/{user['id']}"),
        ("GET", f"/v1/users/{user['id']}/api-tokens"),
        ("POST", f"/v1/users/{user['id']}/api-tokens"),
        ("GET", f"/v1/users/{user['id']}/phone-keys"),
        ("GET", "/v1/users/me/phone-keys"),
        ("POST", "/v1/users/me/phone-keys"),
        ("GET", f"/v1/device-credentials/{device_id}"),
        ("POST", "/v1/signing-keys/rotate"),
    ):
        resp = await auth.request(method, path, headers=headers, json={})
        assert resp.status == 403, (method, path, resp.status)
        assert (await problem(resp))["code"] == "forbidden"
