"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

from aiohttp import web

from services.auth.api.context import CONTEXT, admin, keyring, transactions
from services.auth.api.shapes import UserPage, credential_json, token_json, user_json
from services.auth.domain.commands import CreateApiToken, CreateUser, TokenRequest, UpdateUser
from services.auth.domain.errors import TenantNotFound
from services.auth.handlers import devices, tokens, users
from shared.errors import FieldError
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import principal, public

# --------------------------------------------------------------------------- access tokens


@public
async def issue_token(request: web.Request) -> web.Response:
    """POST /v1/token: an access token for an API token (the API token is the credential)."""
    cmd = await parse_json(request, TokenRequest)
    issued = await tokens.exchange(
        transactions(request), keyring(request), cmd, CONTEXT.settings(request)
    )
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
    async with transactions(request)() as uow:
        document = await keyring(request).jwks(uow.repo.signing_keys)
    max_age = CONTEXT.settings(request).jwks_max_age_s
    return web.json_response(document, headers={"Cache-Control": f"public, max-age={max_age}"})


async def rotate_signing_keys(request: web.Request) -> web.Response:
    """POST /v1/signing-keys/rotate (operators): publish a new key that signs after the
    publish-ahead delay; the previous one stays published until its tokens expire."""
    principal(request).require_role("operator")
    async with CONTEXT.pool(request).acquire() as conn:
        slot = await keyring(request).maintain(conn, force=True)
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
    who = admin(request, "users:write")
    cmd = await parse_json(request, CreateUser)
    user = await users.create_user(transactions(request), cmd, who)
    return web.json_response(
        user_json(user), status=201, headers={"Location": f"/v1/users/{user.id}"}
    )


async def list_users(request: web.Request) -> web.Response:
    """GET /v1/users: the caller's tenant (operators: all, one tenant, or the platform)."""
    who = admin(request, "users:read")
    page = query_model(request, UserPage)
    tenant_id = who.tenant_scope() or page.tenant_id
    if (page.tenant_id is not None and page.tenant_id != tenant_id) or (
        page.platform and not who.is_operator
    ):
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    async with transactions(request)() as uow:
        found = await uow.repo.users.list(
            tenant_id=tenant_id, platform=page.platform, after=page.after, limit=page.limit
        )
    return web.json_response(
        {
            "items": [user_json(u) for u in found],
            "next_after": str(found[-1].id) if len(found) == page.limit else None,
        }
    )


async def get_user(request: web.Request) -> web.Response:
    """GET /v1/users/{user_id}."""
    who = admin(request, "users:read")
    user_id = path_uuid(request, "user_id")
    async with transactions(request)() as uow:
        user = await users.visible_user(uow.repo, user_id, who)
    return web.json_response(user_json(user))


async def update_user(request: web.Request) -> web.Response:
    """PATCH /v1/users/{user_id}."""
    who = admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    cmd = await parse_json(request, UpdateUser)
    user = await users.update_user(transactions(request), user_id, cmd, who)
    return web.json_response(user_json(user))


async def delete_user(request: web.Request) -> web.Response:
    """DELETE /v1/users/{user_id}: the user and its API tokens stop working."""
    who = admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    await users.delete_user(transactions(request), user_id, who)
    return web.Response(status=204)


# --------------------------------------------------------------------------- API tokens


async def create_api_token(request: web.Request) -> web.Response:
    """POST /v1/users/{user_id}/api-tokens: the secret is in this answer and nowhere else."""
    who = admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    cmd = await parse_json(request, CreateApiToken)
    token, secret = await tokens.create_api_token(transactions(request), user_id, cmd, who)
    return web.json_response(
        {**token_json(token), "token": secret},
        status=201,
        headers={"Location": f"/v1/api-tokens/{token.id}", "Cache-Control": "no-store"},
    )


async def list_api_tokens(request: web.Request) -> web.Response:
    """GET /v1/users/{user_id}/api-tokens: revoked and expired ones included."""
    who = admin(request, "users:read")
    user_id = path_uuid(request, "user_id")
    async with transactions(request)() as uow:
        user = await users.visible_user(uow.repo, user_id, who)
        found = await uow.repo.tokens.of_user(user.id)
    return web.json_response({"items": [token_json(t) for t in found]})


async def get_api_token(request: web.Request) -> web.Response:
    """GET /v1/api-tokens/{token_id}."""
    who = admin(request, "users:read")
    token_id = path_uuid(request, "token_id")
    async with transactions(request)() as uow:
        token = await tokens.visible_token(uow.repo, token_id, who)
    return web.json_response(token_json(token))


async def revoke_api_token(request: web.Request) -> web.Response:
    """POST /v1/api-tokens/{token_id}/revoke."""
    who = admin(request, "users:write")
    token_id = path_uuid(request, "token_id")
    token = await tokens.revoke_api_token(transactions(request), token_id, who)
    return web.json_response(token_json(token))


# --------------------------------------------------------------------------- devices


async def get_device_credential(request: web.Request) -> web.Response:
    """GET /v1/device-credentials/{device_id}: for admins, and for verifiers (the gateway)."""
    who = principal(request)
    if not (who.is_operator or "devices:verify" in who.scopes):
        who.require_role("admin")
        who.require_scope("devices:read")
    device_id = path_uuid(request, "device_id")
    async with transactions(request)() as uow:
        credential = await devices.visible_credential(uow.repo, device_id, who)
    return web.json_response(credential_json(credential))


async def revoke_device_credential(request: web.Request) -> web.Response:
    """POST /v1/device-credentials/{device_id}/revoke: the device can no longer connect."""
    who = admin(request, "devices:write")
    device_id = path_uuid(request, "device_id")
    credential = await devices.revoke_device_credential(transactions(request), device_id, who)
    return web.json_response(credential_json(credential))
