"""Who is in which group, transitively: a user in group B, B a member of A, is in A.

Groups are given as they are published on ``auth.groups`` (each with its direct
member users and member groups); the closure tolerates what a reader may meet while
events are on their way: a member group not known yet, or (never published by auth,
but harmless here) a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import Protocol


class Group(Protocol):
    """A group's direct members, as the group events carry them."""

    @property
    def group_id(self) -> uuid.UUID: ...

    @property
    def member_user_ids(self) -> Collection[uuid.UUID]: ...

    @property
    def member_group_ids(self) -> Collection[uuid.UUID]: ...


def effective_groups(user_id: uuid.UUID, groups: Iterable[Group]) -> set[uuid.UUID]:
    """Every group ``user_id`` belongs to: directly, or through groups that are members
    of other groups (at any depth)."""
    containers: dict[uuid.UUID, list[uuid.UUID]] = {}
    direct: list[uuid.UUID] = []
    for group in groups:
        if user_id in group.member_user_ids:
            direct.append(group.group_id)
        for member in group.member_group_ids:
            containers.setdefault(member, []).append(group.group_id)
    found: set[uuid.UUID] = set()
    todo = direct
    while todo:
        group_id = todo.pop()
        if group_id in found:
            continue
        found.add(group_id)
        todo.extend(containers.get(group_id, ()))
    return found
