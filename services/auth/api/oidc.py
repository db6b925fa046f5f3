"""Views for signing in with a tenant's identity provider (OpenID Connect) and for
administrators configuring it."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from services.auth.api.context import CONTEXT, admin, keyring, transactions
from services.auth.api.shapes import AccessToken, IdentityProviderView, SignInProvider
from services.auth.domain.commands import ConfigureProvider, OidcLogin
from services.auth.domain.errors import IdentityProviderNotFound
from services.auth.handlers import oidc
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import public

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PROVIDER_TIMEOUT = aiohttp.ClientTimeout(total=15)


async def put_identity_provider(request: web.Request) -> web.Response:
    """PUT /v1/identity-provider: set the caller's tenant's provider."""
    who = admin(request, "users:write")
    cmd = await parse_json(request, ConfigureProvider)
    provider = await oidc.configure_provider(
        transactions(request), keyring(request), who.tenant_scope(), cmd
    )
    return web.json_response(IdentityProviderView.of(provider).model_dump(mode="json"))


async def get_identity_provider(request: web.Request) -> web.Response:
    """GET /v1/identity-provider."""
    who = admin(request, "users:read")
    provider = await oidc.provider_of(transactions(request), keyring(request), who.tenant_scope())
    return web.json_response(IdentityProviderView.of(provider).model_dump(mode="json"))


async def delete_identity_provider(request: web.Request) -> web.Response:
    """DELETE /v1/identity-provider: the tenant signs in without one from now on."""
    who = admin(request, "users:write")
    async with transactions(request)() as uow:
        if not await uow.repo.identity_providers.delete(who.tenant_scope()):
            raise IdentityProviderNotFound("this tenant has no identity provider")
    return web.Response(status=204)


@public
async def sign_in_provider(request: web.Request) -> web.Response:
    """GET /v1/identity-providers/{tenant_id}: the issuer and client id to sign in with."""
    tenant_id = path_uuid(request, "tenant_id")
    provider = await oidc.provider_of(transactions(request), keyring(request), tenant_id)
    body = SignInProvider(tenant_id=tenant_id, issuer=provider.issuer, client_id=provider.client_id)
    return web.json_response(body.model_dump(mode="json"))


@public
async def oidc_login(request: web.Request) -> web.Response:
    """POST /v1/oidc-logins: an access token for an authorization code of the tenant's
    identity provider."""
    cmd = await parse_json(request, OidcLogin)
    tx, ring = transactions(request), keyring(request)
    provider = await oidc.provider_of(tx, ring, cmd.tenant_id)
    async with aiohttp.ClientSession(timeout=PROVIDER_TIMEOUT) as session:
        claims = await oidc.redeem_code(session, provider, cmd)
    _, issued = await oidc.sign_in_with_claims(
        tx, ring, provider, claims, CONTEXT.settings(request)
    )
    body = AccessToken(
        access_token=issued.jwt, token_type="Bearer", expires_in=issued.expires_in,
        scope=" ".join(sorted(issued.scopes)),
    )  # fmt: skip
    return web.json_response(body.model_dump(mode="json"), headers=NO_STORE)
