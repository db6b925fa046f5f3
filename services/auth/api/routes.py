"""Auth's URL table."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.auth.api import devices, oidc, passkeys, views
from services.auth.api.context import CONTEXT, KEYRING
from services.auth.signing import KeyRing

JWKS_PATH = "/.well-known/jwks.json"


def add_routes(app: web.Application) -> None:
    """Register auth's HTTP API and the start-up step that readies its signing keys."""
    app.router.add_post("/v1/token", views.issue_token)
    app.router.add_get(JWKS_PATH, views.jwks)
    app.router.add_post("/v1/signing-keys/rotate", views.rotate_signing_keys)
    app.router.add_post("/v1/device-token", devices.issue_device_token)
    app.router.add_post("/v1/devices/me/login-challenges", devices.create_login_challenge)
    app.router.add_put("/v1/devices/me/e2e-key", devices.publish_e2e_key)
    app.router.add_get("/v1/devices/{device_id}/e2e-key", devices.get_e2e_key)
    app.router.add_post("/v1/device-logins", devices.approve_device_login)
    app.router.add_post("/v1/passkey-challenges", passkeys.sign_in_options)
    app.router.add_post("/v1/passkey-logins", passkeys.passkey_login)
    app.router.add_get("/v1/identity-providers/{tenant_id}", oidc.sign_in_provider)
    app.router.add_post("/v1/oidc-logins", oidc.oidc_login)
    app.router.add_put("/v1/identity-provider", oidc.put_identity_provider)
    app.router.add_get("/v1/identity-provider", oidc.get_identity_provider)
    app.router.add_delete("/v1/identity-provider", oidc.delete_identity_provider)
    app.router.add_post("/v1/users/me/passkey-options", passkeys.registration_options)
    app.router.add_post("/v1/users/me/passkeys", passkeys.register_my_passkey)
    app.router.add_get("/v1/users/me/passkeys", passkeys.list_my_passkeys)
    app.router.add_delete("/v1/users/me/passkeys/{passkey_id}", passkeys.revoke_my_passkey)
    # /v1/users/me/... before /v1/users/{user_id}/...: the router matches in order.
    app.router.add_post("/v1/users/me/phone-keys", devices.register_my_phone_key)
    app.router.add_get("/v1/users/me/phone-keys", devices.list_my_phone_keys)
    app.router.add_delete("/v1/users/me/phone-keys/{key_id}", devices.revoke_my_phone_key)
    app.router.add_post("/v1/users", views.create_user)
    app.router.add_get("/v1/users", views.list_users)
    app.router.add_get("/v1/users/{user_id}", views.get_user)
    app.router.add_patch("/v1/users/{user_id}", views.update_user)
    app.router.add_delete("/v1/users/{user_id}", views.delete_user)
    app.router.add_post("/v1/users/{user_id}/api-tokens", views.create_api_token)
    app.router.add_get("/v1/users/{user_id}/api-tokens", views.list_api_tokens)
    app.router.add_get("/v1/users/{user_id}/phone-keys", devices.list_phone_keys)
    app.router.add_delete("/v1/users/{user_id}/phone-keys/{key_id}", devices.revoke_phone_key)
    app.router.add_get("/v1/api-tokens/{token_id}", views.get_api_token)
    app.router.add_post("/v1/api-tokens/{token_id}/revoke", views.revoke_api_token)
    app.router.add_get("/v1/device-credentials/{device_id}", views.get_device_credential)
    app.router.add_post("/v1/device-credentials/{device_id}/revoke", views.revoke_device_credential)
    app.on_startup.append(_ready_keys)


async def _ready_keys(app: web.Application) -> None:
    """Runs after the runtime started: refuse to serve without the KEK, and make sure a
    signing key exists before the first token request."""
    rt = CONTEXT.runtime(app)
    ring = KeyRing.from_settings(rt.settings)
    async with asyncio.timeout(30), rt.pool.acquire() as conn:
        await ring.maintain(conn)
    app[KEYRING] = ring
