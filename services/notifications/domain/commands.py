"""What callers ask notifications to do; validated at the edge, pure values inside."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.notifications.domain.model import DeliveryState, valid_pattern

URL_PATTERN = r"^https?://\S+$"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _patterns(value: list[str]) -> list[str]:
    bad = [p for p in value if not valid_pattern(p)]
    if bad:
        raise ValueError(f"unknown event types {bad}; see docs/webhooks.md")
    return value


class CreateEndpoint(_Command):
    """Subscribe a URL to event types; empty filters let every printer, user and token
    through."""

    tenant_id: uuid.UUID | None = Field(
        default=None, description="Operators name the tenant; a tenant's caller may omit it."
    )
    url: str = Field(min_length=8, max_length=2000, pattern=URL_PATTERN)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(
        min_length=1, max_length=50,
        description="Types such as 'job.completed', 'job.*' or '*' (every type).",
    )  # fmt: skip
    printer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    user_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    token_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000,
        description="Only jobs submitted with these API tokens (applications).",
    )  # fmt: skip

    _types = field_validator("event_types")(_patterns)


class UpdateEndpoint(_Command):
    """Change an endpoint; absent fields stay. ``enabled: true`` switches a disabled
    endpoint back on (its waiting deliveries resume)."""

    url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=URL_PATTERN)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=50)
    printer_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    user_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    token_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            raise ValueError("may not be null")
        return _patterns(value)

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class RotateSecret(_Command):
    """A new signing secret; the current ones keep signing for ``overlap_s``."""

    overlap_s: int | None = Field(
        default=None, ge=0, le=30 * 86400,
        description="How long the old secrets still sign (default: the service's setting).",
    )  # fmt: skip


class Listing(_Command):
    """A page of endpoints."""

    after: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=500)


class DeliveryQuery(_Command):
    """A page of an endpoint's delivery log, newest first."""

    state: DeliveryState | None = None
    before: int | None = Field(default=None, ge=1, description="The next_before of a page.")
    limit: int = Field(default=50, ge=1, le=200)
