"""What the auth integration tests share: an auth app on real infrastructure, and users,
API tokens and access tokens made through its HTTP API. (No tests here.)"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestClient

from services.auth.app import SPEC
from services.auth.settings import AuthSettings
from shared.crypto.sealing import new_key_text
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client

OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
KEK = new_key_text()


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def auth_client(
    service_db: ServiceDbFactory, bootstrap: str, **overrides: Any
) -> AsyncIterator[TestClient]:
    """A migrated auth schema and the auth app on a real loopback port."""
    db = await service_db(unique("auth"), SPEC.migrations_dir)
    settings = AuthSettings(
        database_url=db.dsn,
        db_schema=db.name,
        kafka_bootstrap=bootstrap,
        operator_token=OPERATOR_TOKEN,
        key_encryption_key=KEK,
        outbox_poll_s=0.5,
        auth_leeway_s=0,
        **overrides,
    )
    async with service_client(SPEC, settings) as client:
        yield client


async def create_user(
    client: TestClient,
    tenant_id: str | None,
    roles: list[str],
    *,
    headers: dict[str, str] = OPERATOR,
    **fields: Any,
) -> dict[str, Any]:
    """A person (or, with ``kind="service"``, a service account) made by an operator."""
    body: dict[str, Any] = {"tenant_id": tenant_id, "display_name": "Ada", "roles": roles}
    if fields.get("kind") != "service":
        body["email"] = f"{unique('ada')}@Example.COM"
    body.update(fields)
    resp = await client.post("/v1/users", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def create_api_token(
    client: TestClient, user_id: str, scopes: list[str], **fields: Any
) -> dict[str, Any]:
    """An API token (with its one-time secret under ``token``) made by an operator."""
    body = {"name": "ci", "scopes": scopes, **fields}
    resp = await client.post(f"/v1/users/{user_id}/api-tokens", json=body, headers=OPERATOR)
    assert resp.status == 201, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def exchange(client: TestClient, secret: str, **fields: Any) -> Any:
    """The raw answer of POST /v1/token."""
    body = {"grant_type": "api_token", "api_token": secret, **fields}
    return await client.post("/v1/token", json=body)


async def access_token(client: TestClient, secret: str, **fields: Any) -> str:
    """An access token for an API token secret."""
    resp = await exchange(client, secret, **fields)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["access_token"]  # type: ignore[no-any-return]


async def login(
    client: TestClient, tenant_id: str | None, roles: list[str], scopes: list[str], **fields: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new user and the Authorization header of an access token of theirs."""
    user = await create_user(client, tenant_id, roles, **fields)
    api_token = await create_api_token(client, user["id"], scopes)
    return user, bearer(await access_token(client, api_token["token"]))


async def problem(resp: Any) -> dict[str, Any]:
    """The problem+json body of an error answer."""
    assert resp.content_type == "application/problem+json", await resp.text()
    return await resp.json(content_type=None)  # type: ignore[no-any-return]
