"""Users and API tokens (owner: auth).

No event ever carries a secret: API tokens appear by id, name and scopes only.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.contracts.auth import DeviceCredentialIssued, DeviceCredentialRevoked
from shared.events.envelope import EventData


class _UserEvent(EventData):
    user_id: uuid.UUID = Field(description="The user (the partition key).")
    tenant_id: uuid.UUID | None = Field(
        description="The user's tenant; null for a platform service account."
    )
    revision: int = Field(ge=1, description="1 at creation, +1 with every change.")

    def partition_key(self) -> str:
        return str(self.user_id)


class _UserState(_UserEvent):
    kind: Literal["person", "service"] = Field(description="A person or a service account.")
    email: str | None = Field(
        description="Unique in the tenant regardless of case; null for a service account."
    )
    display_name: str = Field(description="How the user is shown.")
    roles: list[Literal["admin", "user"]] = Field(description="The user's roles, sorted.")
    disabled: bool = Field(description="A disabled user's API tokens get no access token.")


class UserCreated(_UserState):
    """A user or service account was created (revision 1)."""

    event_type: ClassVar[str] = "user.created"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.users"


class UserUpdated(_UserState):
    """A user changed; carries the full new state."""

    event_type: ClassVar[str] = "user.updated"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.users"

    revision: int = Field(ge=2, description="+1 with every change.")
    changed: list[str] = Field(description="Names of the fields that changed.")


class UserDeleted(_UserEvent):
    """A user was deleted; its API tokens were revoked in the same change."""

    event_type: ClassVar[str] = "user.deleted"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.users"


class _TokenEvent(EventData):
    token_id: uuid.UUID = Field(description="The API token (the partition key).")
    user_id: uuid.UUID = Field(description="The user the token acts as.")
    tenant_id: uuid.UUID | None = Field(description="The user's tenant; null: platform.")

    def partition_key(self) -> str:
        return str(self.token_id)


class ApiTokenCreated(_TokenEvent):
    """An API token was created (its secret is never published)."""

    event_type: ClassVar[str] = "api_token.created"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.tokens"

    name: str = Field(description="What the token is for, as its creator named it.")
    scopes: list[str] = Field(description="The scopes it may grant, sorted.")
    expires_at: AwareDatetime | None = Field(description="When it stops working; null: never.")
    created_at: AwareDatetime = Field(description="When it was created.")


class ApiTokenRevoked(_TokenEvent):
    """An API token was revoked; it gets no access token any more."""

    event_type: ClassVar[str] = "api_token.revoked"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.tokens"

    revoked_at: AwareDatetime = Field(description="When it was revoked.")
    reason: Literal["revoked", "user_deleted"] = Field(
        description="Revoked on request, or because its user was deleted."
    )


EVENTS = (
    UserCreated,
    UserUpdated,
    UserDeleted,
    ApiTokenCreated,
    ApiTokenRevoked,
    DeviceCredentialIssued,
    DeviceCredentialRevoked,
)
