"""Groups of users inside a tenant (owner: auth).

A group holds users and other groups of the same tenant; membership is transitive
(a user in group B, B a member of A, is in A) and never circular (auth refuses a
change that would make a group contain itself). Every event carries the group's full
state, so a reader keeps the newest revision and ignores older ones."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.envelope import EventData


class _GroupEvent(EventData):
    group_id: uuid.UUID = Field(description="The group (the partition key).")
    tenant_id: uuid.UUID = Field(description="The group's tenant.")
    revision: int = Field(ge=1, description="1 at creation, +1 with every change.")

    def partition_key(self) -> str:
        return str(self.group_id)


class _GroupState(_GroupEvent):
    name: str = Field(min_length=1, max_length=200, description="Unique in the tenant.")
    source: Literal["local", "identity_provider"] = Field(
        description="Managed through the API, or filled from the identity provider's claim."
    )
    member_user_ids: list[uuid.UUID] = Field(description="Users directly in the group, sorted.")
    member_group_ids: list[uuid.UUID] = Field(
        description="Groups directly in the group (their members are members too), sorted."
    )


class GroupCreated(_GroupState):
    """A group was created (revision 1)."""

    event_type: ClassVar[str] = "group.created"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.groups"


class GroupUpdated(_GroupState):
    """A group changed (its name or members); carries the full new state."""

    event_type: ClassVar[str] = "group.updated"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.groups"

    revision: int = Field(ge=2, description="+1 with every change.")
    changed: list[str] = Field(description="Names of the fields that changed.")


class GroupDeleted(_GroupEvent):
    """A group was deleted; it is removed from every group it was a member of (those
    groups' own ``group.updated`` events follow)."""

    event_type: ClassVar[str] = "group.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.groups"


EVENTS = (GroupCreated, GroupUpdated, GroupDeleted)
