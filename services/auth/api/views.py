"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.auth import handlers
from services.auth import repository as repo
from services.auth.api.shapes import UserPage, credential_json, token_json, user_json
from services.auth.domain.commands import CreateApiToken, CreateUser, TokenRequest, UpdateUser
from services.auth.domain.errors import ApiTokenNotFound, DeviceCredentialNotFound, TenantNotFound
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.outbox import Emitter
from shared.errors import FieldError
from shared.http.auth import Principal
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import correlation_id, principal, public
from shared.service import RUNTIME

KEYRING = web.AppKey("auth_keyring", KeyRing)


def _settings(request: web.Request) -> AuthSettings:
    settings = request.app[RUNTIME].settings
    assert isinstance(settings, AuthSettings)
    return settings


def _emitter(request: web.Request) -> Emitter:
    rt = request.app[RUNTIME]
    return Emitter(rt.schema, rt.spec.name, correlation_id(request))


def _admin(request: web.Request, scope: str) -> Principal:
    who = principal(request)
    who.require_role("admin")
    who.require_scope(scope)
    return who


# --------------------------------------------------------------------------- access tokens


@public
async def issue_token(request: web.Request) -> web.Response:
    """POST /v1/token: an access token for an API token (the API token is the credential)."""
    cmd = await parse_json(request, TokenRequest)
    rt = request.app[RUNTIME]
    issued = await handlers.exchange(rt.pool, request.app[KEYRING], cmd, _settings(request))
    body = {
        "access_token": issued.jwt,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": " ".join(sorted(issued.scopes)),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@public
async def jwks(request: web.Request) -> web.Response:
    """GET /.well-known/jwks.json: the public keys that verify access tokens."""
    async with request.app[RUNTIME].pool.acquire() as conn:
        document = await request.app[KEYRING].jwks(conn)
    max_age = _settings(request).jwks_max_age_s
    return web.json_response(document, headers={"Cache-Control": f"public, max-age={max_age}"})


async def rotate_signing_keys(request: web.Request) -> web.Response:
    """POST /v1/signing-keys/rotate (operators): publish a new key that signs after the
    publish-ahead delay; the previous one stays published until its tokens expire."""
    principal(request).require_role("operator")
    async with request.app[RUNTIME].pool.acquire() as conn:
        slot = await request.app[KEYRING].maintain(conn, force=True)
    assert slot is not None
    body = {
        "kid": slot.kid,
        "created_at": slot.created_at.isoformat(),
        "activates_at": slot.activates_at.isoformat(),
    }
    return web.json_response(body, status=201)


# --------------------------------------------------------------------------- users


async def create_user(request: web.Request) -> web.Response:
    """POST /v1/users."""
    who = _admin(request, "users:write")
    cmd = await parse_json(request, CreateUser)
    user = await handlers.create_user(request.app[RUNTIME].pool, cmd, who, _emitter(request))
    return web.json_response(
        user_json(user), status=201, headers={"Location": f"/v1/users/{user.id}"}
    )


async def list_users(request: web.Request) -> web.Response:
    """GET /v1/users: the caller's tenant (operators: all, one tenant, or the platform)."""
    who = _admin(request, "users:read")
    page = query_model(request, UserPage)
    tenant_id = who.tenant_scope() or page.tenant_id
    if (page.tenant_id is not None and page.tenant_id != tenant_id) or (
        page.platform and not who.is_operator
    ):
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    async with request.app[RUNTIME].pool.acquire() as conn:
        users = await repo.list_users(
            conn, tenant_id=tenant_id, platform=page.platform, after=page.after, limit=page.limit
        )
    return web.json_response(
        {
            "items": [user_json(u) for u in users],
            "next_after": str(users[-1].id) if len(users) == page.limit else None,
        }
    )


async def get_user(request: web.Request) -> web.Response:
    """GET /v1/users/{user_id}."""
    who = _admin(request, "users:read")
    user_id = path_uuid(request, "user_id")
    async with request.app[RUNTIME].pool.acquire() as conn:
        user = await handlers.get_visible_user(conn, user_id, who)
    return web.json_response(user_json(user))


async def update_user(request: web.Request) -> web.Response:
    """PATCH /v1/users/{user_id}."""
    who = _admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    cmd = await parse_json(request, UpdateUser)
    user = await handlers.update_user(
        request.app[RUNTIME].pool, user_id, cmd, who, _emitter(request)
    )
    return web.json_response(user_json(user))


async def delete_user(request: web.Request) -> web.Response:
    """DELETE /v1/users/{user_id}: the user and its API tokens stop working."""
    who = _admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    await handlers.delete_user(request.app[RUNTIME].pool, user_id, who, _emitter(request))
    return web.Response(status=204)


# --------------------------------------------------------------------------- API tokens


async def create_api_token(request: web.Request) -> web.Response:
    """POST /v1/users/{user_id}/api-tokens: the secret is in this answer and nowhere else."""
    who = _admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    cmd = await parse_json(request, CreateApiToken)
    token, secret = await handlers.create_api_token(
        request.app[RUNTIME].pool, user_id, cmd, who, _emitter(request)
    )
    return web.json_response(
        {**token_json(token), "token": secret},
        status=201,
        headers={"Location": f"/v1/api-tokens/{token.id}", "Cache-Control": "no-store"},
    )


async def list_api_tokens(request: web.Request) -> web.Response:
    """GET /v1/users/{user_id}/api-tokens: revoked and expired ones included."""
    who = _admin(request, "users:read")
    user_id = path_uuid(request, "user_id")
    async with request.app[RUNTIME].pool.acquire() as conn:
        user = await handlers.get_visible_user(conn, user_id, who)
        tokens = await repo.list_tokens(conn, user.id)
    return web.json_response({"items": [token_json(t) for t in tokens]})


async def get_api_token(request: web.Request) -> web.Response:
    """GET /v1/api-tokens/{token_id}."""
    who = _admin(request, "users:read")
    token_id = path_uuid(request, "token_id")
    async with request.app[RUNTIME].pool.acquire() as conn:
        token = await repo.get_token(conn, token_id)
    if token is None or not handlers.visible(who, token.tenant_id):
        raise ApiTokenNotFound("no such API token")
    return web.json_response(token_json(token))


async def revoke_api_token(request: web.Request) -> web.Response:
    """POST /v1/api-tokens/{token_id}/revoke."""
    who = _admin(request, "users:write")
    token_id = path_uuid(request, "token_id")
    token = await handlers.revoke_api_token(
        request.app[RUNTIME].pool, token_id, who, _emitter(request)
    )
    return web.json_response(token_json(token))


# --------------------------------------------------------------------------- devices


def _may_read_credential(who: Principal, tenant_id: uuid.UUID) -> bool:
    if "devices:verify" in who.scopes and who.tenant_id is None:
        return True  # a platform service account: the gateway
    return handlers.visible(who, tenant_id)


async def get_device_credential(request: web.Request) -> web.Response:
    """GET /v1/device-credentials/{device_id}: for admins, and for verifiers (the gateway)."""
    who = principal(request)
    if not (who.is_operator or "devices:verify" in who.scopes):
        who.require_role("admin")
        who.require_scope("devices:read")
    device_id = path_uuid(request, "device_id")
    async with request.app[RUNTIME].pool.acquire() as conn:
        credential = await repo.get_credential(conn, device_id)
    if credential is None or not _may_read_credential(who, credential.tenant_id):
        raise DeviceCredentialNotFound("no such device credential")
    return web.json_response(credential_json(credential))


async def revoke_device_credential(request: web.Request) -> web.Response:
    """POST /v1/device-credentials/{device_id}/revoke: the device can no longer connect."""
    who = _admin(request, "devices:write")
    device_id = path_uuid(request, "device_id")
    credential = await handlers.revoke_device_credential(
        request.app[RUNTIME].pool, device_id, who, _emitter(request)
    )
    return web.json_response(credential_json(credential))
