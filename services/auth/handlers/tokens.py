"""API tokens (created and revoked by administrators), and their exchange for access
tokens."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.auth.domain.commands import CreateApiToken, TokenRequest
from services.auth.domain.errors import ApiTokenNotFound, InvalidGrant, UserNotFound
from services.auth.domain.events import ApiTokenCreated, ApiTokenRevoked
from services.auth.domain.model import (
    ApiToken,
    access_claims,
    check_token_scopes,
    granted_scopes,
    hash_api_token,
    new_api_token_secret,
)
from services.auth.handlers.access import visible
from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal


def revoked_event(token: ApiToken, reason: Literal["revoked", "user_deleted"]) -> ApiTokenRevoked:
    """The event announcing that a revoked ``token`` no longer works."""
    assert token.revoked_at is not None
    return ApiTokenRevoked(
        token_id=token.id,
        user_id=token.user_id,
        tenant_id=token.tenant_id,
        revoked_at=token.revoked_at,
        reason=reason,
    )


async def visible_token(repo: AuthRepository, token_id: uuid.UUID, who: Principal) -> ApiToken:
    """An API token the caller may see, or ApiTokenNotFound."""
    token = await repo.tokens.get(token_id)
    if token is None or not visible(who, token.tenant_id):
        raise ApiTokenNotFound("no such API token")
    return token


async def create_api_token(
    tx: Transactions[AuthRepository], user_id: uuid.UUID, cmd: CreateApiToken, who: Principal
) -> tuple[ApiToken, str]:
    """Create an API token for a user; returns it and its secret (shown once)."""
    now = datetime.now(UTC)
    if cmd.expires_at is not None and cmd.expires_at <= now:
        raise ValidationFailed(
            "the token would never work", [FieldError("expires_at", "must be in the future")]
        )
    async with tx() as uow:
        user = await uow.repo.users.get(user_id, for_update=True)
        if user is None or not visible(who, user.tenant_id):
            raise UserNotFound("no such user")
        check_token_scopes(user, cmd.scopes, None if who.is_operator else who.scopes)
        secret = new_api_token_secret()
        token = ApiToken(
            id=uuid.uuid4(),
            user_id=user.id,
            tenant_id=user.tenant_id,
            name=cmd.name,
            scopes=frozenset(cmd.scopes),
            created_at=now,
            expires_at=cmd.expires_at,
            revoked_at=None,
        )
        await uow.repo.tokens.insert(token, hash_api_token(secret))
        created = ApiTokenCreated(
            token_id=token.id,
            user_id=user.id,
            tenant_id=user.tenant_id,
            name=token.name,
            scopes=sorted(token.scopes),
            expires_at=token.expires_at,
            created_at=now,
        )
        await uow.emit(created, tenant_id=user.tenant_id)
    return token, secret


async def revoke_api_token(
    tx: Transactions[AuthRepository], token_id: uuid.UUID, who: Principal
) -> ApiToken:
    """Revoke an API token; revoking it again changes nothing."""
    async with tx() as uow:
        token = await uow.repo.tokens.get(token_id, for_update=True)
        if token is None or not visible(who, token.tenant_id):
            raise ApiTokenNotFound("no such API token")
        if token.revoked_at is not None:
            return token
        (revoked,) = await uow.repo.tokens.revoke([token.id], datetime.now(UTC))
        await uow.emit(revoked_event(revoked, "revoked"), tenant_id=token.tenant_id)
    return revoked


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and what it grants."""

    jwt: str
    expires_in: int
    scopes: frozenset[str]


async def exchange(
    tx: Transactions[AuthRepository], ring: KeyRing, cmd: TokenRequest, settings: AuthSettings
) -> AccessToken:
    """An access token for a usable API token of an enabled user, or InvalidGrant."""
    digest = hash_api_token(cmd.api_token)
    refused = InvalidGrant("the API token is unknown, expired or revoked, or its user is disabled")
    async with tx() as uow:
        found = await uow.repo.tokens.by_hash(digest)
        now = datetime.now(UTC)
        # The lookup is by the hash of a 256-bit secret; the compare is belt and braces.
        if found is None or not hmac.compare_digest(found[2], digest):
            raise refused
        token, user, _ = found
        if not token.usable(now) or user.disabled:
            raise refused
        scopes = granted_scopes(token, user, cmd.scope)
        ttl = timedelta(seconds=settings.access_token_ttl_s)
        claims = access_claims(
            user,
            token,
            scopes,
            now=now,
            ttl=ttl,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )
        signed = await ring.sign(uow.repo.signing_keys, claims)
        await uow.repo.tokens.touch(token.id, now)
    return AccessToken(signed, settings.access_token_ttl_s, scopes)
