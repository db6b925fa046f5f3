"""Access tokens verified offline by another service: the registry, configured with
auth's JWKS URL, both apps on real loopback ports with real Kafka and Postgres."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.auth.api.routes import JWKS_PATH
from services.auth.app import SPEC as AUTH
from services.auth.repository import SigningKeys
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from services.registry.app import SPEC as REGISTRY
from services.registry.settings import RegistrySettings
from shared.db.pool import connect
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.auth import (
    KEK,
    OPERATOR,
    OPERATOR_TOKEN,
    access_token,
    auth_client,
    bearer,
    create_api_token,
    create_user,
    exchange,
    problem,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TTL_S = 5
ADMIN = ["printers:read", "printers:write", "users:read"]


@pytest.fixture(scope="module")
async def auth(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(
        service_db,
        bootstrap,
        access_token_ttl_s=TTL_S,
        signing_key_publish_ahead_s=0,
        signing_key_check_s=0.2,
    ) as c:
        yield c


@pytest.fixture(scope="module")
async def registry(
    auth: TestClient, service_db: ServiceDbFactory, bootstrap: str
) -> AsyncIterator[TestClient]:
    db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    settings = RegistrySettings(
        database_url=db.dsn,
        db_schema=db.name,
        kafka_bootstrap=bootstrap,
        operator_token=OPERATOR_TOKEN,
        outbox_poll_s=0.5,
        auth_jwks_url=str(auth.make_url(JWKS_PATH)),
        auth_leeway_s=0,
        auth_jwks_min_refresh_s=0,
    )
    async with service_client(REGISTRY, settings) as c:
        yield c


async def _tenant_with_printer(registry: TestClient, name: str) -> tuple[str, str]:
    resp = await registry.post("/v1/tenants", json={"name": unique(name)}, headers=OPERATOR)
    tenant = (await resp.json())["id"]
    body = {"tenant_id": tenant, "name": "Lobby", "model": "LaserJet 9", "region": "eu-west"}
    resp = await registry.post("/v1/printers", json=body, headers=OPERATOR)
    assert resp.status == 201, await resp.text()
    return tenant, (await resp.json())["id"]


async def _api_token(auth: TestClient, tenant: str, roles: list[str], scopes: list[str]) -> str:
    user = await create_user(auth, tenant, roles)
    return (await create_api_token(auth, user["id"], scopes))["token"]  # type: ignore[no-any-return]


async def test_a_tenant_admin_sees_only_their_tenant_in_the_registry(
    auth: TestClient, registry: TestClient
) -> None:
    mine, my_printer = await _tenant_with_printer(registry, "Acme")
    _, their_printer = await _tenant_with_printer(registry, "Globex")
    headers = bearer(await access_token(auth, await _api_token(auth, mine, ["admin"], ADMIN)))

    listed = await registry.get("/v1/printers", headers=headers)
    assert listed.status == 200, await listed.text()
    assert [p["id"] for p in (await listed.json())["items"]] == [my_printer]
    assert (await registry.get(f"/v1/printers/{my_printer}", headers=headers)).status == 200
    foreign = await registry.get(f"/v1/printers/{their_printer}", headers=headers)
    missing = await registry.get(f"/v1/printers/{uuid.uuid4()}", headers=headers)
    assert foreign.status == missing.status == 404
    assert await problem(foreign) == {**await problem(missing), "instance": foreign.url.path}
    body = {"name": "Hall", "model": "m", "region": "eu-west"}
    created = await registry.post("/v1/printers", json=body, headers=headers)
    assert created.status == 201 and (await created.json())["tenant_id"] == mine
    assert (await registry.get("/v1/tenants", headers=headers)).status == 403

    user = bearer(await access_token(auth, await _api_token(auth, mine, ["user"], ["jobs:read"])))
    assert (await registry.post("/v1/printers", json=body, headers=user)).status == 403
    # An admin's token limited to submitting jobs cannot manage or even read printers.
    narrow = bearer(
        await access_token(auth, await _api_token(auth, mine, ["admin"], ["jobs:submit"]))
    )
    refused = await registry.post("/v1/printers", json={**body, "name": "X"}, headers=narrow)
    assert refused.status == 403 and "printers:write" in (await problem(refused))["detail"]
    assert (await registry.get("/v1/printers", headers=narrow)).status == 403


async def test_tampered_forged_and_confused_tokens_are_refused(
    auth: TestClient, registry: TestClient
) -> None:
    mine, _ = await _tenant_with_printer(registry, "Initech")
    token = await access_token(auth, await _api_token(auth, mine, ["admin"], ADMIN))
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    jwk = next(k for k in (await (await auth.get(JWKS_PATH)).json())["keys"])
    elevated = _b64(json.dumps({**claims, "tenant_id": None, "roles": ["operator"]}))
    forged = {
        "tampered": f"{head}.{elevated}.{sig}",
        "alg none": _sign({**header, "alg": "none"}, claims, None),
        "HS256 with the public key": _sign({**header, "alg": "HS256"}, claims, jwk["x"].encode()),
        "unknown kid": _sign({**header, "alg": "HS256", "kid": "x"}, claims, b"k"),
        "truncated": f"{head}.{body}.",
    }
    for name, bad in forged.items():
        resp = await registry.get("/v1/printers", headers=bearer(bad))
        assert resp.status == 401, name
        assert (await problem(resp))["code"] == "unauthenticated"
    assert (await registry.get("/v1/printers", headers=bearer(token))).status == 200


def _b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _sign(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(claims))}"
    if secret is None:
        return signing_input + "."
    return (
        f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    )


async def test_revocation_stops_new_access_tokens_and_ends_the_issued_ones_now(
    auth: TestClient, registry: TestClient
) -> None:
    mine, _ = await _tenant_with_printer(registry, "Umbrella")
    user = await create_user(auth, mine, ["user"])
    api_token = await create_api_token(auth, user["id"], ["printers:read"])
    issued = bearer(await access_token(auth, api_token["token"]))
    other = await create_api_token(auth, user["id"], ["printers:read"])
    unrelated = bearer(await access_token(auth, other["token"]))
    assert (await registry.get("/v1/printers", headers=issued)).status == 200
    started = time.time()
    await auth.post(f"/v1/api-tokens/{api_token['id']}/revoke", headers=OPERATOR)
    refused = await exchange(auth, api_token["token"])
    assert refused.status == 400 and (await problem(refused))["code"] == "invalid-grant"
    # Every access token minted from the revoked API token stops working within
    # seconds (well before it expires): services follow the revocations on auth.tokens.
    while (resp := await registry.get("/v1/printers", headers=issued)).status == 200:
        assert time.time() - started < TTL_S - 1, "the revoked token still works"
        await asyncio.sleep(0.1)
    assert resp.status == 401 and (await problem(resp))["detail"] == "the token was revoked"
    assert (await registry.get("/v1/printers", headers=unrelated)).status == 200
    # Expiry still ends the others.
    await asyncio.sleep(TTL_S + 1)
    resp = await registry.get("/v1/printers", headers=unrelated)
    assert resp.status == 401 and (await problem(resp))["detail"] == "the token has expired"


async def test_rotation_keeps_old_tokens_valid_until_they_expire_then_drops_the_key(
    auth: TestClient, registry: TestClient
) -> None:
    mine, _ = await _tenant_with_printer(registry, "Cyberdyne")
    secret = await _api_token(auth, mine, ["user"], ["printers:read"])
    before = await access_token(auth, secret)
    old_kid = _kid(before)
    assert (await registry.get("/v1/printers", headers=bearer(before))).status == 200

    refused = await auth.post("/v1/signing-keys/rotate", headers=bearer(before))
    assert refused.status == 403
    rotated = await auth.post("/v1/signing-keys/rotate", headers=OPERATOR)
    assert rotated.status == 201
    new_kid = (await rotated.json())["kid"]
    after = await access_token(auth, secret)
    assert _kid(after) == new_kid != old_kid
    assert await _published(auth) >= {old_kid, new_kid}
    for token in (after, before):  # the registry learns the new key on first sight
        assert (await registry.get("/v1/printers", headers=bearer(token))).status == 200

    async def old_key_gone() -> bool:
        return old_kid not in await _published(auth)

    await eventually(old_key_gone, timeout=TTL_S + 10)
    assert new_kid in await _published(auth)
    resp = await registry.get("/v1/printers", headers=bearer(before))
    assert resp.status == 401


def _kid(token: str) -> str:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=="))["kid"]  # type: ignore[no-any-return]


async def _published(auth: TestClient) -> set[str]:
    return {k["kid"] for k in (await (await auth.get(JWKS_PATH)).json())["keys"]}


async def test_replicas_racing_to_make_the_first_key_make_one(service_db: ServiceDbFactory) -> None:
    db = await service_db(unique("auth"), AUTH.migrations_dir)
    settings = AuthSettings(database_url=db.dsn, db_schema=db.name, key_encryption_key=KEK)
    replicas = [KeyRing.from_settings(settings) for _ in range(4)]
    conns = [await connect(db.dsn, db.name, application_name="test") for _ in replicas]
    try:
        made = await asyncio.gather(*(r.maintain(c) for r, c in zip(replicas, conns, strict=True)))
        assert len([slot for slot in made if slot is not None]) == 1
        assert len(await SigningKeys(conns[0]).slots()) == 1
        claims = {"sub": "x", "aud": "printcloud", "exp": int(time.time()) + 60}
        kids = {
            _kid(await r.sign(SigningKeys(c), claims)) for r, c in zip(replicas, conns, strict=True)
        }
        assert kids == {made_slot.kid for made_slot in made if made_slot is not None}
    finally:
        for conn in conns:
            await conn.close()
