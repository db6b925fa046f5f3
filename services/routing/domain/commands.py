"""What callers may ask of routing (unknown fields are refused)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.routing.domain.model import OnOffline
from services.routing.domain.print_policies import Rules, Scope

MAX_OFFLINE_AFTER_S = 30 * 24 * 3600


class SetRoutingPolicy(BaseModel):
    """A printer's offline policy: after ``offline_after_s`` offline, send its jobs to
    ``failover_printer_id`` (on_offline ``failover``) or hold them (``hold``)."""

    model_config = ConfigDict(extra="forbid")

    on_offline: OnOffline
    offline_after_s: int = Field(
        ge=0, le=MAX_OFFLINE_AFTER_S, description="Seconds offline before the policy applies."
    )
    failover_printer_id: uuid.UUID | None = Field(
        default=None, description="Another printer of the same tenant (on_offline failover)."
    )


class SavePrintPolicy(BaseModel):
    """A print policy: its ``rules`` apply to the whole tenant, to the members of a group
    (``group_id``) or to the jobs of one printer (``printer_id``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Unique in the tenant.")
    scope: Scope
    group_id: uuid.UUID | None = Field(
        default=None, validate_default=True, description="With scope group."
    )
    printer_id: uuid.UUID | None = Field(
        default=None, validate_default=True, description="With scope printer."
    )
    rules: Rules

    @field_validator("group_id", "printer_id")
    @classmethod
    def _subject_fits_scope(cls, value: uuid.UUID | None, info: ValidationInfo) -> uuid.UUID | None:
        scope = info.data.get("scope")
        wanted = "group" if info.field_name == "group_id" else "printer"
        if scope == wanted and value is None:
            raise ValueError(f"required with scope {wanted}")
        if scope is not None and scope != wanted and value is not None:
            raise ValueError(f"only with scope {wanted}")
        return value

    @property
    def subject_id(self) -> uuid.UUID | None:
        """The group or printer the policy is about (None for the tenant)."""
        return self.group_id or self.printer_id


class PolicyQuery(BaseModel):
    """Which tenant's policies (operators only), at which version (default: the current)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID | None = Field(default=None, description="Operators: the tenant.")
    version: int | None = Field(default=None, ge=0, description="An earlier version.")
