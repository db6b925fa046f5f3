"""What callers ask the audit service: which entries, validated at the edge."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ActorKind = Literal["user", "operator", "service"]
EVENT_TYPE = r"^[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))?$"


class AuditFilter(BaseModel):
    """Which entries: all of them by default; every filter given narrows the list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: AwareDatetime | None = Field(
        default=None, description="Entries that occurred at or after this instant (with zone)."
    )
    until: AwareDatetime | None = Field(
        default=None, description="Entries that occurred before this instant (with zone)."
    )
    subject: str | None = Field(
        default=None, min_length=1, max_length=500,
        description="The id of the changed thing (a printer, user, API token, ... id).",
    )  # fmt: skip
    actor: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Who made the changes: a user id, a service name or `operator`.",
    )  # fmt: skip
    actor_kind: ActorKind | None = Field(default=None, description="What kind of actor.")
    type: str | None = Field(
        default=None, max_length=200, pattern=EVENT_TYPE,
        description="An event type (`printer.updated`) or every type of an entity "
        "(`printer.*`).",
    )  # fmt: skip

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: AwareDatetime | None, info: ValidationInfo) -> object:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError("must be later than since")
        return value


class AuditListing(AuditFilter):
    """A page of entries, newest first."""

    before: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The next_before of the previous page."
    )
    limit: int = Field(default=100, ge=1, le=500)
