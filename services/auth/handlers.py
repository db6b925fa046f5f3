"""Auth command handlers for users and API tokens: load, decide, save and emit in one
transaction; and the exchange of an API token for an access token."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg

from services.auth import repository as repo
from services.auth.domain.commands import CreateApiToken, CreateUser, TokenRequest, UpdateUser
from services.auth.domain.errors import (
    ApiTokenNotFound,
    DeviceCredentialNotFound,
    DuplicateEmail,
    InvalidGrant,
    TenantNotFound,
    UserNotFound,
)
from services.auth.domain.events import (
    ApiTokenCreated,
    ApiTokenRevoked,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from services.auth.domain.model import (
    ApiToken,
    DeviceCredential,
    User,
    access_claims,
    check_token_scopes,
    check_user_shape,
    granted_scopes,
    hash_api_token,
    new_api_token_secret,
    normalise_email,
)
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.db.outbox import Emitter
from shared.errors import FieldError, ValidationFailed
from shared.events.contracts.auth import DeviceCredentialRevoked
from shared.http.auth import Principal


def visible(who: Principal, tenant_id: uuid.UUID | None) -> bool:
    """Whether ``who`` may see something of ``tenant_id`` (None: platform, operators only)."""
    return who.is_operator or (tenant_id is not None and who.can_access(tenant_id))


def _no_user() -> UserNotFound:
    return UserNotFound("no such user")


def _email_taken() -> DuplicateEmail:
    return DuplicateEmail(
        "the tenant has a user with this email", [FieldError("email", "already taken")]
    )


def _state(u: User) -> dict[str, object]:
    """The user's state as carried by user events."""
    return {
        "user_id": u.id,
        "tenant_id": u.tenant_id,
        "revision": u.revision,
        "kind": u.kind,
        "email": u.email,
        "display_name": u.display_name,
        "roles": sorted(u.roles),
        "disabled": u.disabled,
    }


def _target_tenant(cmd: CreateUser, who: Principal) -> uuid.UUID | None:
    if who.is_operator:
        return cmd.tenant_id
    own = who.tenant_scope()
    if cmd.tenant_id is not None and cmd.tenant_id != own:
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    return own


async def create_user(pool: asyncpg.Pool, cmd: CreateUser, who: Principal, out: Emitter) -> User:
    """Add a user to the caller's tenant (operators: any tenant, or the platform)."""
    tenant_id = _target_tenant(cmd, who)
    email = normalise_email(cmd.email) if cmd.email else None
    check_user_shape(tenant_id, cmd.kind, email, cmd.roles)
    now = datetime.now(UTC)
    draft = User(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        kind=cmd.kind,
        email=email,
        display_name=cmd.display_name,
        roles=frozenset(cmd.roles),
        disabled=cmd.disabled,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    async with pool.acquire() as conn, conn.transaction():
        try:
            user = await repo.insert_user(conn, draft)
        except asyncpg.UniqueViolationError:
            raise _email_taken() from None
        await out.emit(conn, UserCreated(**_state(user)), tenant_id=tenant_id)
    return user


async def update_user(
    pool: asyncpg.Pool, user_id: uuid.UUID, cmd: UpdateUser, who: Principal, out: Emitter
) -> User:
    """Apply a partial update; emits user.updated only when something changed."""
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_user(conn, user_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise _no_user()
        user, changed = current.updated(cmd.changes(), datetime.now(UTC))
        if not changed:
            return current
        try:
            await repo.save_user(conn, user)
        except asyncpg.UniqueViolationError:
            raise _email_taken() from None
        await out.emit(conn, UserUpdated(**_state(user), changed=changed), tenant_id=user.tenant_id)
    return user


async def delete_user(pool: asyncpg.Pool, user_id: uuid.UUID, who: Principal, out: Emitter) -> None:
    """Delete a user and revoke its API tokens and phone keys, in one change."""
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_user(conn, user_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise _no_user()
        now = datetime.now(UTC)
        revoked = await repo.revoke_tokens(conn, await repo.lock_user_tokens(conn, user_id), now)
        await repo.revoke_phone_keys(conn, user_id, now)
        deleted = replace(current, revision=current.revision + 1, updated_at=now)
        await repo.delete_user(conn, deleted, now)
        for token in revoked:
            await out.emit(conn, _revoked(token, "user_deleted"), tenant_id=token.tenant_id)
        await out.emit(
            conn,
            UserDeleted(user_id=user_id, tenant_id=current.tenant_id, revision=deleted.revision),
            tenant_id=current.tenant_id,
        )


async def get_visible_user(conn: asyncpg.Connection, user_id: uuid.UUID, who: Principal) -> User:
    """A user the caller may see, or UserNotFound (a foreign user is not found either)."""
    user = await repo.get_user(conn, user_id)
    if user is None or not visible(who, user.tenant_id):
        raise _no_user()
    return user


async def create_api_token(
    pool: asyncpg.Pool, user_id: uuid.UUID, cmd: CreateApiToken, who: Principal, out: Emitter
) -> tuple[ApiToken, str]:
    """Create an API token for a user; returns it and its secret (shown once)."""
    now = datetime.now(UTC)
    if cmd.expires_at is not None and cmd.expires_at <= now:
        raise ValidationFailed(
            "the token would never work", [FieldError("expires_at", "must be in the future")]
        )
    async with pool.acquire() as conn, conn.transaction():
        user = await repo.get_user(conn, user_id, for_update=True)
        if user is None or not visible(who, user.tenant_id):
            raise _no_user()
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
        await repo.insert_token(conn, token, hash_api_token(secret))
        created = ApiTokenCreated(
            token_id=token.id,
            user_id=user.id,
            tenant_id=user.tenant_id,
            name=token.name,
            scopes=sorted(token.scopes),
            expires_at=token.expires_at,
            created_at=now,
        )
        await out.emit(conn, created, tenant_id=user.tenant_id)
    return token, secret


def _revoked(token: ApiToken, reason: Literal["revoked", "user_deleted"]) -> ApiTokenRevoked:
    assert token.revoked_at is not None
    return ApiTokenRevoked(
        token_id=token.id,
        user_id=token.user_id,
        tenant_id=token.tenant_id,
        revoked_at=token.revoked_at,
        reason=reason,
    )


async def revoke_api_token(
    pool: asyncpg.Pool, token_id: uuid.UUID, who: Principal, out: Emitter
) -> ApiToken:
    """Revoke an API token; revoking it again changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        token = await repo.get_token(conn, token_id, for_update=True)
        if token is None or not visible(who, token.tenant_id):
            raise ApiTokenNotFound("no such API token")
        if token.revoked_at is not None:
            return token
        (revoked,) = await repo.revoke_tokens(conn, [token.id], datetime.now(UTC))
        await out.emit(conn, _revoked(revoked, "revoked"), tenant_id=token.tenant_id)
    return revoked


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and what it grants."""

    jwt: str
    expires_in: int
    scopes: frozenset[str]


async def exchange(
    pool: asyncpg.Pool, ring: KeyRing, cmd: TokenRequest, settings: AuthSettings
) -> AccessToken:
    """An access token for a usable API token of an enabled user, or InvalidGrant."""
    digest = hash_api_token(cmd.api_token)
    refused = InvalidGrant("the API token is unknown, expired or revoked, or its user is disabled")
    async with pool.acquire() as conn:
        found = await repo.token_by_hash(conn, digest)
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
        signed = await ring.sign(conn, claims)
        await repo.touch_token(conn, token.id, now)
    return AccessToken(signed, settings.access_token_ttl_s, scopes)


async def revoke_device_credential(
    pool: asyncpg.Pool, device_id: uuid.UUID, who: Principal, out: Emitter
) -> DeviceCredential:
    """Revoke a device's credential; revoking it again changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_credential(conn, device_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise DeviceCredentialNotFound("no such device credential")
        if current.revoked_at is not None:
            return current
        now = datetime.now(UTC)
        revoked = replace(current, revoked_at=now)
        await repo.revoke_credential(conn, device_id, now)
        await out.emit(conn, credential_revoked(revoked, "revoked"), tenant_id=revoked.tenant_id)
    return revoked


def credential_revoked(
    c: DeviceCredential, reason: Literal["revoked", "replaced"]
) -> DeviceCredentialRevoked:
    """The event announcing that ``c`` no longer authenticates its device."""
    assert c.revoked_at is not None
    return DeviceCredentialRevoked(
        device_id=c.device_id,
        tenant_id=c.tenant_id,
        fingerprint=c.fingerprint,
        revoked_at=c.revoked_at,
        reason=reason,
    )
