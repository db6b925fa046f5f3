"""What callers may ask of counters (unknown fields are refused)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateQuota(_Command):
    """A limit on pages or colour pages per period for a user, a group or the tenant."""

    tenant_id: uuid.UUID | None = Field(
        default=None, description="Operators name the tenant; admins act on their own."
    )
    subject_kind: Literal["user", "group", "tenant"]
    subject_id: uuid.UUID | None = Field(
        default=None, description="The user or group id; for a tenant quota the tenant (default)."
    )
    members: list[uuid.UUID] = Field(
        default_factory=list, max_length=10_000, description="A group's users."
    )
    metric: Literal["pages", "colour_pages"]
    period: Literal["day", "week", "month", "year"]
    limit: int = Field(ge=0, le=2**62)
    policy: Literal["hold", "warn"] = "hold"

    @model_validator(mode="after")
    def _subject(self) -> CreateQuota:
        if self.subject_kind != "tenant" and self.subject_id is None:
            raise ValueError(f"subject_id is required for a {self.subject_kind} quota")
        if self.subject_kind != "group" and self.members:
            raise ValueError("members are only for group quotas")
        return self


class UpdateQuota(_Command):
    """Change a quota's limit, policy or a group's members (period and metric are fixed)."""

    limit: int | None = Field(default=None, ge=0, le=2**62)
    policy: Literal["hold", "warn"] | None = None
    members: list[uuid.UUID] | None = Field(default=None, max_length=10_000)

    def changes(self) -> dict[str, Any]:
        """The fields the caller set."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class AddOverride(_Command):
    """Let the subject print past the limit until ``until``."""

    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class QuotaPage(_Command):
    """Keyset pagination over a tenant's quotas."""

    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None


class UsageQuery(_Command):
    """Which usage windows to read."""

    tenant_id: uuid.UUID | None = Field(
        default=None, alias="tenant", description="Operators name the tenant."
    )
    granularity: Literal["hour", "day", "month"]
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    user_id: uuid.UUID | None = None
    printer_id: uuid.UUID | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_subject(self) -> UsageQuery:
        if self.user_id and self.printer_id:
            raise ValueError("ask for user_id or printer_id, not both")
        if self.from_ and self.to and self.to <= self.from_:
            raise ValueError("to must be after from")
        return self

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        return self.from_, self.to


class UsageExportQuery(_Command):
    """A tenant's usage in one month, per user and per printer, from the monthly
    roll-ups."""

    tenant_id: uuid.UUID | None = Field(
        default=None, alias="tenant", description="Operators name the tenant."
    )
    month: str = Field(
        pattern=r"^[1-9]\d{3}-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC), year 1000 on."
    )
    format: Literal["json", "csv"] = "json"

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def start(self) -> datetime:
        """The first instant of the month (UTC)."""
        year, month = (int(x) for x in self.month.split("-"))
        return datetime(year, month, 1, tzinfo=UTC)
