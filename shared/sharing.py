"""Who may use a printer: groups, their effective membership, and sharing.

A printer (or virtual printer) is shared with its whole tenant (the default), or with
named users and groups of the tenant. A group holds users and other groups; a user is
in every group that holds them directly or through a chain of groups. Auth never lets
a group contain itself, but every reader computes membership here, cycle-safe, so a
read model caught mid-update (or a replayed old revision) can never loop.

Administrators of the tenant (and operators, devices and services) are not limited by
sharing: they manage the printers and their sharing. Everyone else sees and uses only
the printers shared with them; a printer not shared with a person answers 404 to them,
exactly as a printer that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from shared.groups import membership
from shared.http.auth import Principal

__all__ = [
    "TENANT_WIDE",
    "Membership",
    "SharedWith",
    "Viewer",
    "bypasses_sharing",
    "contains",
    "effective_groups",
    "is_shared_with",
]


class SharedWith(BaseModel):
    """With whom a printer or virtual printer is shared: the whole tenant, or the users
    and groups named (both lists may be used together)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: bool = Field(
        default=True, description="Every user of the tenant may use it (the default)."
    )
    user_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000, description="Users who may use it."
    )
    group_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=1000,
        description="Groups whose members (direct or through other groups) may use it.",
    )

    def normalised(self) -> SharedWith:
        """The same sharing with sorted, distinct ids (and no ids when tenant-wide)."""
        if self.tenant:
            return TENANT_WIDE
        return SharedWith(
            tenant=False,
            user_ids=sorted(set(self.user_ids)),
            group_ids=sorted(set(self.group_ids)),
        )


TENANT_WIDE = SharedWith()
"""Shared with the whole tenant: every printer's sharing until an administrator
narrows it."""


@dataclass(frozen=True)
class Membership:
    """A group's direct members, as a reader keeps them."""

    user_ids: frozenset[uuid.UUID]
    group_ids: frozenset[uuid.UUID]


def effective_groups(
    user_id: uuid.UUID, groups: Mapping[uuid.UUID, Membership]
) -> frozenset[uuid.UUID]:
    """Every group ``user_id`` is in: directly, or through groups holding groups.

    ``groups`` maps each group of the tenant to its direct members. The closure is
    :func:`shared.groups.membership.effective_groups`, the one every reader uses: a
    cycle (which auth refuses, but a stale read model might briefly hold) ends the walk
    instead of looping."""
    return frozenset(
        membership.effective_groups(
            user_id,
            [_Members(g, m.user_ids, m.group_ids) for g, m in groups.items()],
        )
    )


@dataclass(frozen=True)
class _Members:
    """A group's direct members in the shape :mod:`shared.groups.membership` reads."""

    group_id: uuid.UUID
    member_user_ids: frozenset[uuid.UUID]
    member_group_ids: frozenset[uuid.UUID]


def contains(group_id: uuid.UUID, inner: uuid.UUID, groups: Mapping[uuid.UUID, Membership]) -> bool:
    """Whether ``inner`` is ``group_id`` or a member of it, directly or through other
    groups (cycle-safe): adding ``group_id`` to ``inner`` would then make a cycle."""
    seen: set[uuid.UUID] = set()
    frontier = [group_id]
    while frontier:
        current = frontier.pop()
        if current == inner:
            return True
        if current in seen:
            continue
        seen.add(current)
        members = groups.get(current)
        if members is not None:
            frontier.extend(members.group_ids)
    return False


def is_shared_with(
    shared: SharedWith, user_id: uuid.UUID, user_groups: Iterable[uuid.UUID]
) -> bool:
    """Whether a printer shared as ``shared`` is shared with the user in ``user_groups``
    (their :func:`effective_groups`)."""
    if shared.tenant or user_id in shared.user_ids:
        return True
    return not set(shared.group_ids).isdisjoint(user_groups)


def bypasses_sharing(who: Principal) -> bool:
    """Whether the caller sees every printer of its tenant whatever its sharing:
    operators, the tenant's administrators, devices and platform services."""
    return who.is_operator or who.is_device or who.is_service or "admin" in who.roles


@dataclass(frozen=True)
class Viewer:
    """A person limited by sharing: who they are and every group they are in."""

    user_id: uuid.UUID
    groups: frozenset[uuid.UUID]

    def may_use(self, shared: SharedWith) -> bool:
        """Whether a printer shared as ``shared`` is shared with this person."""
        return is_shared_with(shared, self.user_id, self.groups)
