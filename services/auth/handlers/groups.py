"""Groups: created, changed and deleted by administrators of their tenant (or
operators), and filled from the identity provider's group claim at sign-in. Every
change publishes the group's full state on ``auth.groups`` through the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from services.auth.domain.commands import CreateGroup, UpdateGroup
from services.auth.domain.errors import (
    DuplicateGroupName,
    GroupNotFound,
    StaleGroup,
    TenantNotFound,
)
from services.auth.domain.events import GroupCreated, GroupDeleted, GroupUpdated
from services.auth.domain.groups import Group, check_members, sorted_ids
from services.auth.handlers.access import visible
from services.auth.repository import AuthRepository
from shared.db.uow import AlreadyExists, Transactions, UnitOfWork
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal

Work = UnitOfWork[AuthRepository]


def _no_group() -> GroupNotFound:
    return GroupNotFound("no such group")


def _name_taken(name: str) -> DuplicateGroupName:
    return DuplicateGroupName(
        f"the tenant has a group named {name!r}", [FieldError("name", "already taken")]
    )


def group_state(g: Group) -> dict[str, object]:
    """The group's state as carried by ``group.created`` / ``group.updated``."""
    return {
        "group_id": g.id,
        "tenant_id": g.tenant_id,
        "revision": g.revision,
        "name": g.name,
        "source": g.source,
        "member_user_ids": list(g.member_user_ids),
        "member_group_ids": list(g.member_group_ids),
    }


def _target_tenant(cmd: CreateGroup, who: Principal) -> uuid.UUID:
    if who.is_operator:
        if cmd.tenant_id is None:
            raise ValidationFailed(
                "name the group's tenant", [FieldError("tenant_id", "required for operators")]
            )
        return cmd.tenant_id
    own = who.tenant_scope()
    if own is None or (cmd.tenant_id is not None and cmd.tenant_id != own):
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    return own


async def visible_group(repo: AuthRepository, group_id: uuid.UUID, who: Principal) -> Group:
    """A group the caller may see, or GroupNotFound (another tenant's is not found either)."""
    group = await repo.groups.get(group_id)
    if group is None or not visible(who, group.tenant_id):
        raise _no_group()
    return group


async def _check(
    uow: Work,
    tenant_id: uuid.UUID,
    group_id: uuid.UUID,
    user_ids: Sequence[uuid.UUID],
    group_ids: Sequence[uuid.UUID],
) -> None:
    """Lock the tenant's memberships and refuse unknown or circular members."""
    await uow.repo.groups.lock_tenant(tenant_id)
    check_members(
        group_id,
        user_ids,
        group_ids,
        known_users=await uow.repo.groups.existing_users(tenant_id, list(set(user_ids))),
        tenant_groups=await uow.repo.groups.memberships(tenant_id),
    )


async def create_group(tx: Transactions[AuthRepository], cmd: CreateGroup, who: Principal) -> Group:
    """Add a local group to the caller's tenant (operators: the named one)."""
    tenant_id = _target_tenant(cmd, who)
    now = datetime.now(UTC)
    draft = Group(
        id=uuid.uuid4(), tenant_id=tenant_id, name=cmd.name, source="local",
        member_user_ids=sorted_ids(cmd.member_user_ids),
        member_group_ids=sorted_ids(cmd.member_group_ids),
        revision=1, created_at=now, updated_at=now,
    )  # fmt: skip
    async with tx() as uow:
        await _check(uow, tenant_id, draft.id, cmd.member_user_ids, cmd.member_group_ids)
        try:
            group = await uow.repo.groups.insert(draft)
        except AlreadyExists:
            raise _name_taken(cmd.name) from None
        await uow.emit(GroupCreated(**group_state(group)), tenant_id=tenant_id)
    return group


async def update_group(
    tx: Transactions[AuthRepository], group_id: uuid.UUID, cmd: UpdateGroup, who: Principal
) -> Group:
    """Rename a group or replace its members; emits group.updated only when something
    changed. A group filled from the identity provider keeps the users the provider
    names (they are set at each sign-in); its name and groups may change."""
    async with tx() as uow:
        current = await uow.repo.groups.get(group_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise _no_group()
        if cmd.revision is not None and cmd.revision != current.revision:
            raise StaleGroup(
                f"the group is at revision {current.revision}, not {cmd.revision}; read it again",
                [FieldError("revision", "not the current revision")],
            )
        if current.source == "identity_provider" and cmd.member_user_ids is not None:
            raise ValidationFailed(
                "this group's users come from the identity provider's sign-ins",
                [FieldError("member_user_ids", "set by the identity provider")],
            )
        await _check(
            uow, current.tenant_id, group_id,
            cmd.member_user_ids or [], cmd.member_group_ids or [],
        )  # fmt: skip
        group, changed = current.changed(
            datetime.now(UTC),
            name=cmd.name,
            member_user_ids=cmd.member_user_ids,
            member_group_ids=cmd.member_group_ids,
        )
        if not changed:
            return current
        try:
            await uow.repo.groups.save(group)
        except AlreadyExists:
            raise _name_taken(group.name) from None
        updated = GroupUpdated(**group_state(group), changed=changed)
        await uow.emit(updated, tenant_id=group.tenant_id)
    return group


async def delete_group(
    tx: Transactions[AuthRepository], group_id: uuid.UUID, who: Principal
) -> None:
    """Delete a group: it leaves every group that held it (their group.updated first),
    then group.deleted."""
    async with tx() as uow:
        current = await uow.repo.groups.get(group_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise _no_group()
        await uow.repo.groups.lock_tenant(current.tenant_id)
        now = datetime.now(UTC)
        for holder in await uow.repo.groups.holding(current.tenant_id, group_id=group_id):
            rest = [g for g in holder.member_group_ids if g != group_id]
            await _save_changed(uow, holder, now, member_group_ids=rest)
        await uow.repo.groups.delete(group_id)
        await uow.emit(
            GroupDeleted(
                group_id=group_id, tenant_id=current.tenant_id, revision=current.revision + 1
            ),
            tenant_id=current.tenant_id,
        )


async def remove_user_everywhere(uow: Work, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """In the caller's unit of work: a deleted user leaves every group of the tenant."""
    now = datetime.now(UTC)
    for holder in await uow.repo.groups.holding(tenant_id, user_id=user_id):
        rest = [u for u in holder.member_user_ids if u != user_id]
        await _save_changed(uow, holder, now, member_user_ids=rest)


async def sync_provider_groups(
    uow: Work, tenant_id: uuid.UUID, user_id: uuid.UUID, names: Sequence[str]
) -> None:
    """In the sign-in's unit of work: the user is in exactly the identity-provider groups
    the claim names (each created on first use, ``source`` ``identity_provider``); local
    groups are left alone. A name taken by a local group is not joined (an administrator
    owns that group)."""
    wanted = {n.strip().lower(): n.strip() for n in names if n.strip()}
    now = datetime.now(UTC)
    await uow.repo.groups.lock_tenant(tenant_id)
    existing = await uow.repo.groups.by_names(tenant_id, list(wanted), for_update=True)
    for key, name in sorted(wanted.items()):
        group = existing.get(key)
        if group is None:
            created = Group(
                id=uuid.uuid4(), tenant_id=tenant_id, name=name[:200],
                source="identity_provider", member_user_ids=(user_id,), member_group_ids=(),
                revision=1, created_at=now, updated_at=now,
            )  # fmt: skip
            await uow.repo.groups.insert(created)
            await uow.emit(GroupCreated(**group_state(created)), tenant_id=tenant_id)
        elif group.source == "identity_provider" and user_id not in group.member_user_ids:
            users = [*group.member_user_ids, user_id]
            await _save_changed(uow, group, now, member_user_ids=users)
    for held in await uow.repo.groups.holding(tenant_id, user_id=user_id):
        if held.source == "identity_provider" and held.name.lower() not in wanted:
            rest = [u for u in held.member_user_ids if u != user_id]
            await _save_changed(uow, held, now, member_user_ids=rest)


async def _save_changed(
    uow: Work,
    group: Group,
    now: datetime,
    *,
    member_user_ids: Sequence[uuid.UUID] | None = None,
    member_group_ids: Sequence[uuid.UUID] | None = None,
) -> None:
    """Save a membership change the platform makes itself, with its group.updated."""
    after, changed = group.changed(
        now, member_user_ids=member_user_ids, member_group_ids=member_group_ids
    )
    if changed:
        await uow.repo.groups.save(after)
        updated = GroupUpdated(**group_state(after), changed=changed)
        await uow.emit(updated, tenant_id=after.tenant_id)
