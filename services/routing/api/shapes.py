"""What routing's API answers: policies and the decisions taken for a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RoutingPolicyView(BaseModel):
    """A printer's offline policy; ``default`` when none was set."""

    model_config = ConfigDict(extra="forbid")
    printer_id: uuid.UUID
    on_offline: Literal["failover", "hold"]
    offline_after_s: int = Field(ge=0)
    failover_printer_id: uuid.UUID | None
    default: bool = Field(description="No policy was set: the service's default applies.")
    updated_at: datetime | None
    updated_by: str | None


class DecisionView(BaseModel):
    """One routing decision for a job."""

    model_config = ConfigDict(extra="forbid")
    decision: int = Field(ge=1)
    action: Literal["queue", "hold"]
    printer_id: uuid.UUID | None
    reason: str
    detail: str
    at: datetime


class JobRoutingView(BaseModel):
    """A job's routing decisions, first to last, and where routing last knew it to be."""

    model_config = ConfigDict(extra="forbid")
    job_id: uuid.UUID
    tenant_id: uuid.UUID
    state: Literal["pending", "queued", "held", "sent", "finished"] = Field(
        description="finished: the job completed, failed, was canceled or expired."
    )
    printer_id: uuid.UUID | None
    hold_reason: str | None
    decisions: list[DecisionView]
