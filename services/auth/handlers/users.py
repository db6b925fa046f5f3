"""Users: created, changed and deleted by administrators of their tenant (or operators)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from services.auth.domain.commands import CreateUser, UpdateUser
from services.auth.domain.errors import DuplicateEmail, TenantNotFound, UserNotFound
from services.auth.domain.events import UserCreated, UserDeleted, UserUpdated
from services.auth.domain.model import User, check_user_shape, normalise_email
from services.auth.handlers.access import visible
from services.auth.handlers.groups import remove_user_everywhere
from services.auth.handlers.tokens import revoked_event
from services.auth.repository import AuthRepository
from shared.db.uow import AlreadyExists, Transactions
from shared.errors import FieldError
from shared.http.auth import Principal


def _no_user() -> UserNotFound:
    return UserNotFound("no such user")


def _email_taken() -> DuplicateEmail:
    return DuplicateEmail(
        "the tenant has a user with this email", [FieldError("email", "already taken")]
    )


def user_state(u: User) -> dict[str, object]:
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


async def visible_user(repo: AuthRepository, user_id: uuid.UUID, who: Principal) -> User:
    """A user the caller may see, or UserNotFound (a foreign user is not found either)."""
    user = await repo.users.get(user_id)
    if user is None or not visible(who, user.tenant_id):
        raise _no_user()
    return user


async def create_user(tx: Transactions[AuthRepository], cmd: CreateUser, who: Principal) -> User:
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
    async with tx() as uow:
        try:
            user = await uow.repo.users.insert(draft)
        except AlreadyExists:
            raise _email_taken() from None
        await uow.emit(UserCreated(**user_state(user)), tenant_id=tenant_id)
    return user


async def update_user(
    tx: Transactions[AuthRepository], user_id: uuid.UUID, cmd: UpdateUser, who: Principal
) -> User:
    """Apply a partial update; emits user.updated only when something changed."""
    async with tx() as uow:
        current = await uow.repo.users.get(user_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise _no_user()
        user, changed = current.updated(cmd.changes(), datetime.now(UTC))
        if not changed:
            return current
        try:
            await uow.repo.users.save(user)
        except AlreadyExists:
            raise _email_taken() from None
        await uow.emit(UserUpdated(**user_state(user), changed=changed), tenant_id=user.tenant_id)
    return user


async def delete_user(tx: Transactions[AuthRepository], user_id: uuid.UUID, who: Principal) -> None:
    """Delete a user and revoke its API tokens and phone keys, in one change."""
    async with tx() as uow:
        repo = uow.repo
        current = await repo.users.get(user_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise _no_user()
        now = datetime.now(UTC)
        revoked = await repo.tokens.revoke(await repo.tokens.lock_live_of_user(user_id), now)
        await repo.phone_keys.revoke(user_id, now)
        deleted = replace(current, revision=current.revision + 1, updated_at=now)
        await repo.users.delete(deleted, now)
        if current.tenant_id is not None:
            await remove_user_everywhere(uow, current.tenant_id, user_id)
        for token in revoked:
            await uow.emit(revoked_event(token, "user_deleted"), tenant_id=token.tenant_id)
        await uow.emit(
            UserDeleted(user_id=user_id, tenant_id=current.tenant_id, revision=deleted.revision),
            tenant_id=current.tenant_id,
        )
