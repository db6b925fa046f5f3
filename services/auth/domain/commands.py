"""What callers ask the auth service to do; validated at the edge, pure values inside."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.auth.domain.model import API_TOKEN_PATTERN, Kind, Role, Scope

NAME_PATTERN = r"^\S(.*\S)?$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateUser(_Command):
    """Add a person or a service account to a tenant.

    Tenant admins may omit ``tenant_id`` (their own tenant). Operators name it; an
    operator may leave it null for a platform service account (``kind: service``,
    no role), such as the gateway's.
    """

    tenant_id: uuid.UUID | None = None
    kind: Kind = "person"
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    display_name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    roles: list[Role] = Field(default_factory=list, max_length=2)
    disabled: bool = False


class UpdateUser(_Command):
    """Change a user; absent fields stay as they are."""

    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    display_name: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=NAME_PATTERN
    )
    roles: list[Role] | None = Field(default=None, max_length=2)
    disabled: bool | None = None

    def changes(self) -> dict[str, object]:
        """The fields the caller sent."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class CreateApiToken(_Command):
    """Create an API token for a user; its secret is shown once in the answer."""

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the token stops working; null: never."
    )


class TokenRequest(_Command):
    """Exchange an API token for a short-lived access token (OAuth 2.0 style)."""

    grant_type: Literal["api_token"]
    api_token: str = Field(pattern=API_TOKEN_PATTERN, description="The `pc_...` secret.")
    scope: str | None = Field(
        default=None,
        max_length=1000,
        pattern=r"^[a-z]+:[a-z]+( [a-z]+:[a-z]+)*$",
        description="Space-separated subset of the API token's scopes; default: all of them.",
    )
