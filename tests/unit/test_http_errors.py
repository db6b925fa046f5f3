"""The shared middleware chain, on a real aiohttp server over loopback (no DB, no Kafka)."""

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import Conflict, FieldError
from shared.http.auth import OperatorTokenAuthenticator
from shared.http.body import parse_json
from shared.http.middleware import AUTHENTICATOR, CORRELATION_HEADER, MIDDLEWARES, principal

TOKEN = "secret-operator-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    count: int = Field(ge=0)


async def create(request: web.Request) -> web.Response:
    thing = await parse_json(request, Thing)
    return web.json_response({"name": thing.name, "who": principal(request).subject}, status=201)


async def conflict(_: web.Request) -> web.Response:
    raise Conflict("taken", [FieldError("name", "already taken")])


async def boom(_: web.Request) -> web.Response:
    raise RuntimeError("database password is hunter2")


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=MIDDLEWARES)
    app[AUTHENTICATOR] = OperatorTokenAuthenticator(TOKEN)
    app.router.add_post("/things", create)
    app.router.add_get("/conflict", conflict)
    app.router.add_get("/boom", boom)
    app.router.add_get("/healthz", health)
    async with TestClient(TestServer(app)) as c:
        yield c


async def _problem(resp: object) -> dict[str, object]:
    assert resp.content_type == "application/problem+json"  # type: ignore[attr-defined]
    return await resp.json(content_type=None)  # type: ignore[attr-defined,no-any-return]


async def test_valid_request_passes_and_echoes_correlation_id(client: TestClient) -> None:
    cid = "5b0c2b64-93a5-4c8c-9f5e-1e2f3a4b5c6d"
    resp = await client.post(
        "/things", json={"name": "a", "count": 1}, headers={**AUTH, CORRELATION_HEADER: cid}
    )
    assert resp.status == 201
    assert (await resp.json())["who"] == "operator"
    assert resp.headers[CORRELATION_HEADER] == cid


async def test_missing_or_wrong_token_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        resp = await client.post("/things", json={"name": "a", "count": 1}, headers=headers)
        assert resp.status == 401
        assert (await _problem(resp))["code"] == "unauthenticated"


async def test_health_needs_no_token(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200


async def test_invalid_fields_are_each_named(client: TestClient) -> None:
    resp = await client.post("/things", json={"name": "", "count": -1, "x": 1}, headers=AUTH)
    assert resp.status == 422
    body = await _problem(resp)
    assert {e["field"] for e in body["errors"]} == {"name", "count", "x"}  # type: ignore[union-attr]


async def test_malformed_json_and_wrong_media_type(client: TestClient) -> None:
    resp = await client.post(
        "/things", data=b"{oops", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await _problem(resp))["code"] == "malformed-json"
    resp = await client.post(
        "/things", data=b"name=a", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert resp.status == 415


async def test_domain_error_becomes_problem(client: TestClient) -> None:
    resp = await client.get("/conflict", headers=AUTH)
    body = await _problem(resp)
    assert resp.status == 409
    assert body["errors"] == [{"field": "name", "reason": "already taken"}]


async def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert (await client.get("/nowhere", headers=AUTH)).status == 404
    resp = await client.delete("/things", headers=AUTH)
    assert resp.status == 405
    assert "POST" in resp.headers["Allow"]
    await _problem(resp)


async def test_server_error_leaks_nothing(client: TestClient) -> None:
    resp = await client.get("/boom", headers=AUTH)
    assert resp.status == 500
    text = await resp.text()
    assert "hunter2" not in text and "RuntimeError" not in text


def test_tenant_scoping_rules() -> None:
    import uuid

    from shared.errors import Forbidden
    from shared.http.auth import Principal

    mine, other = uuid.uuid4(), uuid.uuid4()
    operator = Principal("op", None, frozenset({"operator"}))
    member = Principal("u", mine, frozenset({"admin"}))
    unbound = Principal("x", None, frozenset({"admin"}))
    assert operator.can_access(other) and operator.tenant_scope() is None
    assert member.can_access(mine) and not member.can_access(other)
    assert member.tenant_scope() == mine
    assert not unbound.can_access(mine)
    with pytest.raises(Forbidden):
        unbound.tenant_scope()


async def test_unauthenticated_names_the_scheme(client: TestClient) -> None:
    resp = await client.post("/things", json={"name": "a", "count": 1})
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
