"""Quota state (owner: counters), read by routing before it sends a job.

``quota.state_changed`` is published on a compacted topic keyed by
``quota_id``: the latest state of every quota stays readable, so routing loads
all of them at start and then follows changes, without reading counters'
schema. A job whose owner, group or tenant is over a quota with policy ``hold``
is held with the readable reason; with ``warn`` it prints and the decision says
so. An override lets the subject print past the limit until it ends.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData


class QuotaStateChanged(EventData):
    """Usage against one quota for the current period, after a change."""

    event_type: ClassVar[str] = "quota.state_changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "counters.quotas"

    quota_id: uuid.UUID
    tenant_id: uuid.UUID
    subject_kind: Literal["user", "group", "tenant"]
    subject_id: uuid.UUID
    members: list[uuid.UUID] = Field(
        default_factory=list, description="For a group quota: the users it applies to."
    )
    metric: Literal["pages", "colour_pages"]
    period: Literal["day", "week", "month", "year"]
    period_start: AwareDatetime
    used: int = Field(ge=0)
    limit: int = Field(ge=0)
    policy: Literal["hold", "warn"]
    exceeded: bool
    override_until: AwareDatetime | None = Field(
        default=None, description="An admin let the subject print past the limit until then."
    )
    deleted: bool = Field(default=False, description="The quota no longer applies.")

    def partition_key(self) -> str:
        return str(self.quota_id)


EVENTS = (QuotaStateChanged,)
