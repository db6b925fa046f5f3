"""What routing's API answers: policies and the decisions taken for a job."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.routing.domain.print_policies import PrintPolicy, Rules, Scope
from shared.events.contracts.jobs import PolicyAdjustment, PolicyRefusal


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
    """One routing decision for a job (the first says what the print policies did)."""

    model_config = ConfigDict(extra="forbid")
    decision: int = Field(ge=1)
    action: Literal["queue", "hold", "refuse"]
    printer_id: uuid.UUID | None
    reason: str
    detail: str
    at: datetime
    policy_version: int | None = Field(
        default=None, description="The tenant's print policy version the job was decided with."
    )
    adjustments: list[PolicyAdjustment] = Field(default_factory=list)
    refusal: PolicyRefusal | None = None


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


class PrintPolicyView(BaseModel):
    """A print policy, its revision and the tenant's policy version it belongs to."""

    model_config = ConfigDict(extra="forbid")
    policy_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    scope: Scope
    group_id: uuid.UUID | None
    printer_id: uuid.UUID | None
    rules: Rules
    revision: int = Field(ge=1, description="1 at creation, +1 with every change.")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, p: PrintPolicy) -> PrintPolicyView:
        return cls(
            policy_id=p.policy_id,
            tenant_id=p.tenant_id,
            name=p.name,
            scope=p.scope,
            group_id=p.subject_id if p.scope == "group" else None,
            printer_id=p.subject_id if p.scope == "printer" else None,
            rules=p.rules,
            revision=p.revision,
            updated_at=p.updated_at,
            updated_by=p.updated_by,
        )


class SavedPrintPolicyView(PrintPolicyView):
    """A policy just saved, with the tenant's policy version its change made."""

    version: int = Field(ge=1, description="The tenant's policy version after this change.")


class PrintPolicySetView(BaseModel):
    """A tenant's print policies at a version: jobs decided at this version were
    judged by exactly these."""

    model_config = ConfigDict(extra="forbid")
    tenant_id: uuid.UUID
    version: int = Field(ge=0, description="+1 with every change of any policy (0: none yet).")
    policies: list[PrintPolicyView]
