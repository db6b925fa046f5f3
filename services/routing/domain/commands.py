"""What callers may ask of routing (unknown fields are refused)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain.model import OnOffline

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
