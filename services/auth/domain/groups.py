"""Groups: pure values and the rules a change must keep (members of the same tenant,
never a group inside itself)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.errors import FieldError, ValidationFailed
from shared.sharing import Membership, contains

Source = Literal["local", "identity_provider"]


@dataclass(frozen=True)
class Group:
    """A group of a tenant; ``revision`` counts its changes from 1."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    source: Source
    member_user_ids: tuple[uuid.UUID, ...]
    member_group_ids: tuple[uuid.UUID, ...]
    revision: int
    created_at: datetime
    updated_at: datetime

    @property
    def membership(self) -> Membership:
        """The group's direct members, as :mod:`shared.sharing` reads them."""
        return Membership(frozenset(self.member_user_ids), frozenset(self.member_group_ids))

    def changed(
        self,
        now: datetime,
        *,
        name: str | None = None,
        member_user_ids: Iterable[uuid.UUID] | None = None,
        member_group_ids: Iterable[uuid.UUID] | None = None,
    ) -> tuple[Group, list[str]]:
        """The group after a change and the names of the fields that really changed."""
        changes: dict[str, object] = {}
        if name is not None and name != self.name:
            changes["name"] = name
        if member_user_ids is not None:
            users = sorted_ids(member_user_ids)
            if users != self.member_user_ids:
                changes["member_user_ids"] = users
        if member_group_ids is not None:
            groups = sorted_ids(member_group_ids)
            if groups != self.member_group_ids:
                changes["member_group_ids"] = groups
        if not changes:
            return self, []
        after = replace(self, **changes, revision=self.revision + 1, updated_at=now)  # type: ignore[arg-type]
        return after, sorted(changes)


def sorted_ids(ids: Iterable[uuid.UUID]) -> tuple[uuid.UUID, ...]:
    """Distinct ids, sorted (the order events carry them in)."""
    return tuple(sorted(set(ids)))


def check_members(
    group_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    group_ids: Iterable[uuid.UUID],
    *,
    known_users: Iterable[uuid.UUID],
    tenant_groups: Mapping[uuid.UUID, Membership],
) -> None:
    """ValidationFailed naming every member that is not a user or group of the tenant,
    and every group whose membership would make ``group_id`` contain itself."""
    problems: list[FieldError] = []
    known = set(known_users)
    for user_id in sorted(set(user_ids) - known):
        problems.append(FieldError("member_user_ids", f"{user_id} is not a user of this tenant"))
    for inner in sorted(set(group_ids)):
        if inner not in tenant_groups and inner != group_id:
            problems.append(
                FieldError("member_group_ids", f"{inner} is not a group of this tenant")
            )
        elif contains(inner, group_id, tenant_groups):
            problems.append(
                FieldError(
                    "member_group_ids",
                    f"{inner} contains this group (directly or through other groups): "
                    "a group cannot contain itself",
                )
            )
    if problems:
        raise ValidationFailed("the group's members are not valid", problems)
