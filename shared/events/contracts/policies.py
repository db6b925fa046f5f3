"""Print policies (owner: routing).

Every change of a tenant's print policies is published with the policy's full state
and the tenant's policy version it made, so an audit trail (or any reader) sees who
changed what without asking routing. Jobs record the version they were decided with
(``job.routed``)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Literal

from pydantic import Field

from shared.events.envelope import EventData


class _PolicyEvent(EventData):
    topic: ClassVar[str] = "routing.policies"

    policy_id: uuid.UUID = Field(description="The policy (the partition key).")
    tenant_id: uuid.UUID = Field(description="The policy's tenant.")
    revision: int = Field(ge=1, description="1 at creation, +1 with every change.")
    policy_version: int = Field(
        ge=1, description="The tenant's policy version this change made (+1 per change)."
    )

    def partition_key(self) -> str:
        return str(self.policy_id)


class _PolicyState(_PolicyEvent):
    name: str = Field(min_length=1, max_length=200, description="Unique in the tenant.")
    scope: Literal["printer", "group", "tenant"] = Field(description="Where it applies.")
    subject_id: uuid.UUID | None = Field(
        description="The group or printer it applies to; null for the whole tenant."
    )
    rules: dict[str, Any] = Field(description="The policy's rules, as the API shows them.")


class PrintPolicyCreated(_PolicyState):
    """A print policy was created (revision 1)."""

    event_type: ClassVar[str] = "print_policy.created"
    event_version: ClassVar[int] = 1


class PrintPolicyUpdated(_PolicyState):
    """A print policy was replaced; carries the full new state."""

    event_type: ClassVar[str] = "print_policy.updated"
    event_version: ClassVar[int] = 1

    revision: int = Field(ge=2, description="+1 with every change.")


class PrintPolicyDeleted(_PolicyEvent):
    """A print policy was deleted; jobs decided with it keep what it did to them."""

    event_type: ClassVar[str] = "print_policy.deleted"
    event_version: ClassVar[int] = 1


EVENTS = (PrintPolicyCreated, PrintPolicyUpdated, PrintPolicyDeleted)
