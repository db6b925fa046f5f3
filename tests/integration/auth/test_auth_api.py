"""The auth service over real HTTP with its real schema and the real broker: users, API
tokens and the token exchange, scopes, tenant isolation and bad input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from aiohttp.test_utils import TestClient

from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import (
    OPERATOR,
    access_token,
    auth_client,
    bearer,
    create_api_token,
    create_user,
    exchange,
    login,
    problem,
)
from tests.support.kafka import envelopes

pytestmark = pytest.mark.integration
ADMIN_SCOPES = ["users:read", "users:write", "devices:read", "devices:write"]


@pytest.fixture(scope="module")
async def client(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(service_db, bootstrap) as c:
        yield c


async def test_a_tenant_admin_manages_users_of_their_tenant_with_events(
    client: TestClient, bootstrap: str
) -> None:
    tenant = str(uuid.uuid4())
    admin, headers = await login(client, tenant, ["admin"], ADMIN_SCOPES)
    body = {"email": "Bob@Example.COM", "display_name": "Bob", "roles": ["user"]}
    resp = await client.post("/v1/users", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    bob = await resp.json()
    assert resp.headers["Location"] == f"/v1/users/{bob['id']}"
    assert (bob["tenant_id"], bob["email"], bob["revision"]) == (tenant, "Bob@example.com", 1)

    dup = await client.post("/v1/users", json={**body, "email": "BOB@example.com"}, headers=headers)
    assert dup.status == 409 and (await problem(dup))["code"] == "duplicate-email"

    resp = await client.patch(
        f"/v1/users/{bob['id']}",
        json={"roles": ["admin", "user"], "disabled": True},
        headers=headers,
    )
    assert (await resp.json())["revision"] == 2
    listed = await (await client.get("/v1/users", headers=headers)).json()
    assert {u["id"] for u in listed["items"]} == {admin["id"], bob["id"]}
    assert (await client.delete(f"/v1/users/{bob['id']}", headers=headers)).status == 204
    assert (await client.get(f"/v1/users/{bob['id']}", headers=headers)).status == 404

    events = await envelopes(bootstrap, "auth.users", key=bob["id"], count=3)
    assert [(e["type"], e["data"]["revision"]) for e in events] == [
        ("user.created", 1),
        ("user.updated", 2),
        ("user.deleted", 3),
    ]
    assert events[1]["data"]["changed"] == ["disabled", "roles"]
    assert all(e["tenant_id"] == tenant and e["key"] == bob["id"] for e in events)


async def test_api_token_is_shown_once_and_exchanged_for_a_short_lived_jwt(
    client: TestClient, bootstrap: str
) -> None:
    tenant = str(uuid.uuid4())
    user = await create_user(client, tenant, ["user"])
    created = await create_api_token(client, user["id"], ["jobs:submit", "printers:read"])
    secret = created.pop("token")
    assert secret.startswith("pc_") and len(secret) == 46
    listed = await (await client.get(f"/v1/users/{user['id']}/api-tokens", headers=OPERATOR)).json()
    assert listed["items"] == [created] and secret not in str(listed)

    resp = await exchange(client, secret)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    answer = await resp.json()
    assert (answer["token_type"], answer["expires_in"]) == ("Bearer", 900)
    assert answer["scope"] == "jobs:submit printers:read"
    header = jwt.get_unverified_header(answer["access_token"])
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert (header["alg"], header["typ"]) == ("EdDSA", "at+jwt") and header["kid"]
    assert claims["iss"] == "printcloud-auth" and claims["aud"] == "printcloud"
    assert (claims["sub"], claims["tenant_id"], claims["roles"]) == (user["id"], tenant, ["user"])
    assert claims["client_id"] == created["id"] and claims["exp"] - claims["iat"] == 900
    assert {"jti", "nbf"} <= set(claims)

    narrow = await exchange(client, secret, scope="printers:read")
    assert (await narrow.json())["scope"] == "printers:read"
    wider = await exchange(client, secret, scope="printers:write")
    assert wider.status == 400 and (await problem(wider))["code"] == "invalid-scope"

    event = (await envelopes(bootstrap, "auth.tokens", key=created["id"], count=1))[0]
    assert event["type"] == "api_token.created" and secret not in str(event)
    assert event["data"]["scopes"] == ["jobs:submit", "printers:read"]


async def test_revoked_expired_unknown_and_disabled_all_get_one_answer(
    client: TestClient, bootstrap: str
) -> None:
    tenant = str(uuid.uuid4())
    user = await create_user(client, tenant, ["user"])
    revoked = await create_api_token(client, user["id"], ["jobs:read"])
    resp = await client.post(f"/v1/api-tokens/{revoked['id']}/revoke", headers=OPERATOR)
    assert (await resp.json())["status"] == "revoked"
    again = await client.post(f"/v1/api-tokens/{revoked['id']}/revoke", headers=OPERATOR)
    assert (await again.json())["revoked_at"] == (await resp.json())["revoked_at"]
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await create_api_token(
        client, user["id"], ["jobs:read"], expires_at=soon.isoformat()
    )
    assert (await exchange(client, expiring["token"])).status == 200
    disabled = await create_user(client, tenant, ["user"], disabled=True)
    of_disabled = await create_api_token(client, disabled["id"], ["jobs:read"])
    await asyncio.sleep(1.1)

    unknown = "pc_" + "A" * 43
    answers = []
    for secret in (revoked["token"], expiring["token"], of_disabled["token"], unknown):
        resp = await exchange(client, secret)
        body = await problem(resp)
        answers.append((resp.status, body["code"], body["detail"]))
    assert len(set(answers)) == 1 and answers[0][:2] == (400, "invalid-grant")
    events = await envelopes(bootstrap, "auth.tokens", key=revoked["id"], count=2, settle_s=0.5)
    assert [e["type"] for e in events] == ["api_token.created", "api_token.revoked"]


async def test_scopes_follow_roles_and_never_grow_through_a_token(client: TestClient) -> None:
    tenant = str(uuid.uuid4())
    user = await create_user(client, tenant, ["user"])
    resp = await client.post(
        f"/v1/users/{user['id']}/api-tokens",
        json={"name": "x", "scopes": ["printers:write"]},
        headers=OPERATOR,
    )
    assert resp.status == 422 and "scopes" in [e["field"] for e in (await problem(resp))["errors"]]

    _, narrow_admin = await login(client, tenant, ["admin"], ["users:write"])
    resp = await client.post(
        f"/v1/users/{user['id']}/api-tokens",
        json={"name": "x", "scopes": ["printers:read", "jobs:read"]},
        headers=narrow_admin,
    )
    assert resp.status == 422, "a token may not mint scopes it does not hold"
    assert (await client.get("/v1/users", headers=narrow_admin)).status == 403

    _, plain_user = await login(client, tenant, ["user"], ["printers:read"])
    for method, path in (("GET", "/v1/users"), ("POST", "/v1/signing-keys/rotate")):
        resp = await client.request(method, path, headers=plain_user)
        assert resp.status == 403, path

    # Roles shrink after the token was made: the access token only gets what is left.
    admin = await create_user(client, tenant, ["admin"])
    token = await create_api_token(client, admin["id"], ["users:read", "printers:read"])
    await client.patch(f"/v1/users/{admin['id']}", json={"roles": ["user"]}, headers=OPERATOR)
    assert (await (await exchange(client, token["token"])).json())["scope"] == "printers:read"


async def test_a_foreign_id_is_answered_exactly_like_a_missing_one(client: TestClient) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    _, headers = await login(client, mine, ["admin"], ADMIN_SCOPES)
    foreign_user = await create_user(client, theirs, ["user"])
    foreign_token = await create_api_token(client, foreign_user["id"], ["jobs:read"])
    platform = await create_user(client, None, [], kind="service", display_name="gateway")
    token_body = {"name": "x", "scopes": ["jobs:read"]}
    for foreign, kind in ((foreign_user["id"], "user"), (platform["id"], "user")):
        for method, path, body in (
            ("GET", "/v1/users/{}", None),
            ("PATCH", "/v1/users/{}", {"display_name": "Mallory"}),
            ("DELETE", "/v1/users/{}", None),
            ("POST", "/v1/users/{}/api-tokens", token_body),
            ("GET", "/v1/users/{}/api-tokens", None),
        ):
            await _same_answer(client, headers, method, path, body, foreign, kind)
    for method, path in (("GET", "/v1/api-tokens/{}"), ("POST", "/v1/api-tokens/{}/revoke")):
        await _same_answer(client, headers, method, path, None, foreign_token["id"], "api-token")
    resp = await client.post(
        "/v1/users",
        json={"tenant_id": theirs, "display_name": "M", "email": "m@example.com"},
        headers=headers,
    )
    assert resp.status == 404 and (await problem(resp))["code"] == "tenant-not-found"
    listed = await client.get(f"/v1/users?tenant_id={theirs}", headers=headers)
    assert listed.status == 404
    untouched = await client.get(f"/v1/users/{foreign_user['id']}", headers=OPERATOR)
    assert (await untouched.json()) == foreign_user
    assert (await exchange(client, foreign_token["token"])).status == 200


async def _same_answer(
    client: TestClient,
    headers: dict[str, str],
    method: str,
    path: str,
    body: object,
    foreign: str,
    kind: str,
) -> None:
    answers = []
    for target in (foreign, str(uuid.uuid4()), "not-a-uuid"):
        resp = await client.request(method, path.format(target), json=body, headers=headers)
        problem_body = await problem(resp)
        answers.append((resp.status, problem_body["code"], problem_body["detail"]))
    assert answers[0] == answers[1], (method, path, answers)
    assert answers[0][:2] == (404, f"{kind}-not-found"), (method, path, answers)
    assert answers[2][0] == 404


async def test_bad_input_names_the_field_and_changes_nothing(client: TestClient) -> None:
    tenant = str(uuid.uuid4())
    user = await create_user(client, tenant, ["user"])
    before = await (await client.get(f"/v1/users?tenant_id={tenant}", headers=OPERATOR)).json()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = [
        ("/v1/users", {"tenant_id": tenant, "display_name": "A", "email": "nope"}, "email"),
        ("/v1/users", {"tenant_id": tenant, "display_name": "A"}, "email"),
        ("/v1/users", {"tenant_id": tenant, "display_name": "", "email": "a@b.co"}, "display_name"),
        (
            "/v1/users",
            {"tenant_id": tenant, "display_name": "A", "email": "a@b.co", "roles": ["root"]},
            "roles.0",
        ),
        ("/v1/users", {"tenant_id": tenant, "display_name": "A", "email": "a@b.co", "x": 1}, "x"),
        ("/v1/users", {"tenant_id": None, "display_name": "A", "email": "a@b.co"}, "tenant_id"),
        (
            "/v1/users",
            {"tenant_id": None, "kind": "service", "display_name": "A", "roles": ["admin"]},
            "roles",
        ),
        (f"/v1/users/{user['id']}/api-tokens", {"name": "x", "scopes": []}, "scopes"),
        (f"/v1/users/{user['id']}/api-tokens", {"name": "x", "scopes": ["root"]}, "scopes.0"),
        (
            f"/v1/users/{user['id']}/api-tokens",
            {"name": "x", "scopes": ["jobs:read"], "expires_at": "2001-01-01T00:00:00Z"},
            "expires_at",
        ),
        (
            f"/v1/users/{user['id']}/api-tokens",
            {"name": "x", "scopes": ["jobs:read"], "expires_at": future[:19]},
            "expires_at",
        ),
    ]
    for path, body, field in cases:
        resp = await client.post(path, json=body, headers=OPERATOR)
        assert resp.status == 422, (body, await resp.text())
        assert field in [e["field"] for e in (await problem(resp))["errors"]], (body, field)
    patch = await client.patch(f"/v1/users/{user['id']}", json={"roles": None}, headers=OPERATOR)
    assert patch.status == 422
    after = await (await client.get(f"/v1/users?tenant_id={tenant}", headers=OPERATOR)).json()
    assert after == before
    tokens = await client.get(f"/v1/users/{user['id']}/api-tokens", headers=OPERATOR)
    assert (await tokens.json())["items"] == []


async def test_token_endpoint_input_errors(client: TestClient) -> None:
    cases = [
        ({"grant_type": "password", "api_token": "pc_" + "a" * 43}, "grant_type"),
        ({"grant_type": "api_token", "api_token": "hunter2"}, "api_token"),
        ({"grant_type": "api_token"}, "api_token"),
        ({"grant_type": "api_token", "api_token": "pc_" + "a" * 43, "scope": "x y"}, "scope"),
    ]
    for body, field in cases:
        resp = await client.post("/v1/token", json=body)
        assert resp.status == 422, body
        assert field in [e["field"] for e in (await problem(resp))["errors"]], body
        assert "hunter2" not in await resp.text()
    resp = await client.post("/v1/token", data=b"grant_type=api_token")
    assert resp.status == 415


async def test_public_and_protected_routes(client: TestClient) -> None:
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.status == 200 and jwks.headers["Cache-Control"] == "public, max-age=300"
    keys = (await jwks.json())["keys"]
    assert keys and all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in keys)
    for method, path in (
        ("GET", "/v1/users"),
        ("POST", "/v1/signing-keys/rotate"),
        ("GET", f"/v1/device-credentials/{uuid.uuid4()}"),
    ):
        resp = await client.request(method, path)
        assert resp.status == 401, path
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    bogus = await client.get("/v1/users", headers=bearer("eyJhbGciOiJub25lIn0.e30."))
    assert bogus.status == 401
    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()


async def test_platform_service_accounts_are_for_operators(client: TestClient) -> None:
    gateway, headers = await login(
        client, None, [], ["devices:verify"], kind="service", display_name="gateway"
    )
    assert gateway["tenant_id"] is None and gateway["email"] is None
    assert (await client.get("/v1/users", headers=headers)).status == 403
    listed = await (await client.get("/v1/users?platform=true", headers=OPERATOR)).json()
    assert gateway["id"] in [u["id"] for u in listed["items"]]
    assert all(u["tenant_id"] is None for u in listed["items"])
    secret = (await create_api_token(client, gateway["id"], ["devices:verify"]))["token"]
    claims = jwt.decode(await access_token(client, secret), options={"verify_signature": False})
    assert (claims["tenant_id"], claims["roles"], claims["scope"]) == (None, [], "devices:verify")
