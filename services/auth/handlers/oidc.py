"""Verifying an identity provider's ID token (OpenID Connect Core §3.1.3.7) with
Authlib's JOSE: the signature against the provider's JWKS, then issuer, audience,
authorised party, expiry, issue time and the nonce the sign-in started with."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import aiohttp
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import (
    DecodeError,
    ExpiredTokenError,
    InvalidTokenError,
    JoseError,
    MissingClaimError,
)

from services.auth.domain.commands import ConfigureProvider, OidcLogin
from services.auth.domain.errors import IdentityProviderNotFound, SignInRefused
from services.auth.domain.events import UserCreated, UserUpdated
from services.auth.domain.model import User, access_claims
from services.auth.domain.oidc import (
    IdentityProvider,
    check_provider_shape,
    identity_of,
    provisioned,
    roles_from_claims,
)
from services.auth.handlers.groups import sync_provider_groups
from services.auth.handlers.tokens import AccessToken
from services.auth.handlers.users import user_state
from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.uow import AlreadyExists, Transactions

ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]
"""Asymmetric algorithms only: a token signed with the client secret (HS256) or none
is never accepted."""
LEEWAY_S = 60


def verify_id_token(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims when it verifies; SignInRefused naming what did not."""
    try:
        keys = JsonWebKey.import_key_set(dict(jwks))
    except (JoseError, ValueError, TypeError):
        raise SignInRefused("the identity provider's keys are not usable") from None
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    try:
        claims = JsonWebToken(ALGORITHMS).decode(token, keys, claims_options=options)
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY_S)
    except JoseError as exc:
        raise SignInRefused(
            f"the identity provider's ID token was refused: {_reason(exc)}"
        ) from None
    except (ValueError, TypeError):
        raise SignInRefused("the identity provider's ID token is not a JWT") from None
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SignInRefused("the ID token was issued to another client (azp)")
    return dict(claims)


def _reason(exc: JoseError) -> str:
    """A short reason: which claim, or that the signature does not verify."""
    name = getattr(exc, "claim_name", None)
    if isinstance(exc, DecodeError):
        return "it is not a JWT"
    if isinstance(exc, ExpiredTokenError | InvalidTokenError):
        return "it has expired or is not valid yet"
    if isinstance(exc, MissingClaimError):
        name = exc.description.split("'")[1] if "'" in exc.description else "a claim"
    if name == "iss":
        return "it comes from another issuer"
    if name == "nonce":
        return "the sign-in it answers was not this one (nonce)"
    if name == "aud":
        return "it was issued to another client"
    if name in {"exp", "iat", "nbf"}:
        return "it has expired or is not valid yet"
    if name:
        return f"claim {name!r} is missing or wrong"
    return "its signature does not verify"


# --------------------------------------------------------------------------- providers


async def configure_provider(
    tx: Transactions[AuthRepository], ring: KeyRing, tenant_id: uuid.UUID, cmd: ConfigureProvider
) -> IdentityProvider:
    """Set (or replace) the tenant's identity provider."""
    check_provider_shape(cmd.issuer, cmd.client_id, cmd.role_map, cmd.default_role)
    provider = IdentityProvider(
        tenant_id=tenant_id, issuer=cmd.issuer.rstrip("/"), client_id=cmd.client_id,
        client_secret=cmd.client_secret.get_secret_value(), role_claim=cmd.role_claim,
        role_map=dict(cmd.role_map), default_role=cmd.default_role,
        group_claim=cmd.group_claim, updated_at=datetime.now(UTC),
    )  # fmt: skip
    async with tx() as uow:
        await uow.repo.identity_providers.put(provider, ring.kek)
    return provider


async def provider_of(
    tx: Transactions[AuthRepository], ring: KeyRing, tenant_id: uuid.UUID
) -> IdentityProvider:
    """The tenant's identity provider; IdentityProviderNotFound when it has none."""
    async with tx() as uow:
        provider = await uow.repo.identity_providers.get(tenant_id, ring.kek)
    if provider is None:
        raise IdentityProviderNotFound("this tenant signs in without an identity provider")
    return provider


# --------------------------------------------------------------------------- sign-in


def client_id_of(provider: IdentityProvider) -> uuid.UUID:
    """The access token's client id for sign-ins through this provider (stable)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{provider.tenant_id}:{provider.issuer}")


async def sign_in_with_claims(
    tx: Transactions[AuthRepository],
    ring: KeyRing,
    provider: IdentityProvider,
    claims: dict[str, Any],
    settings: AuthSettings,
) -> tuple[User, AccessToken]:
    """Provision (first sign-in) or update the person a verified ID token names, with
    the roles its claims map to, and sign an access token for them. Emits user.created
    or user.updated through the outbox."""
    identity = identity_of(provider, claims)
    roles = roles_from_claims(provider, claims)
    now = datetime.now(UTC)
    async with tx() as uow:
        known = await uow.repo.identities.user_of(
            provider.tenant_id, identity.issuer, identity.subject
        )
        existing = await uow.repo.users.get(known, for_update=True) if known else None
        user = provisioned(existing, provider.tenant_id, identity, roles, now)
        if user.disabled:
            raise SignInRefused("your account here is disabled")
        try:
            if existing is None:
                await uow.repo.users.insert(user)
                await uow.emit(UserCreated(**user_state(user)), tenant_id=user.tenant_id)
            elif user is not existing:
                await uow.repo.users.save(user)
                changed = sorted(k for k in ("roles", "email")
                                 if getattr(user, k) != getattr(existing, k))  # fmt: skip
                event = UserUpdated(**user_state(user), changed=changed)
                await uow.emit(event, tenant_id=user.tenant_id)
        except AlreadyExists:
            raise SignInRefused(
                "a user with your email exists here already; ask an administrator"
            ) from None
        await uow.repo.identities.signed_in(provider.tenant_id, user.id, identity, now)
        if provider.group_claim:
            await sync_provider_groups(uow, provider.tenant_id, user.id, identity.groups)
        scopes = user.grantable_scopes()
        ttl = timedelta(seconds=settings.access_token_ttl_s)
        client = SimpleNamespace(id=client_id_of(provider))
        signed = await ring.sign(uow.repo.signing_keys, access_claims(
            user, client, scopes, now=now, ttl=ttl,
            issuer=settings.auth_issuer, audience=settings.auth_audience,
        ))  # fmt: skip
    return user, AccessToken(signed, settings.access_token_ttl_s, scopes)


async def fetch_json(session: aiohttp.ClientSession, url: str, **post: Any) -> dict[str, Any]:
    """GET (or POST a form when ``post`` is given) a JSON document of the provider;
    SignInRefused when it cannot be had."""
    try:
        call = session.post(url, data=post) if post else session.get(url)
        async with call as resp:
            document = await resp.json(content_type=None)
            if resp.status != 200 or not isinstance(document, dict):
                raise SignInRefused(f"the identity provider answered {resp.status} at {url}")
            return document
    except (aiohttp.ClientError, TimeoutError, ValueError):
        raise SignInRefused(f"the identity provider could not be reached at {url}") from None


async def redeem_code(
    session: aiohttp.ClientSession, provider: IdentityProvider, cmd: OidcLogin
) -> dict[str, Any]:
    """Redeem the authorization code (with the PKCE verifier and the client secret) at
    the provider's token endpoint and verify the ID token against its JWKS."""
    meta = await fetch_json(session, f"{provider.issuer}/.well-known/openid-configuration")
    if str(meta.get("issuer", "")).rstrip("/") != provider.issuer:
        raise SignInRefused("the identity provider's metadata names another issuer")
    tokens = await fetch_json(
        session, str(meta.get("token_endpoint")), grant_type="authorization_code",
        code=cmd.code, redirect_uri=cmd.redirect_uri, code_verifier=cmd.code_verifier,
        client_id=provider.client_id, client_secret=provider.client_secret,
    )  # fmt: skip
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRefused("the identity provider returned no ID token")
    jwks = await fetch_json(session, str(meta.get("jwks_uri")))
    return verify_id_token(
        id_token, jwks, issuer=provider.issuer, client_id=provider.client_id, nonce=cmd.nonce
    )
