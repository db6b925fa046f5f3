"""Counters' HTTP operations, as declared for the public API document, and the shapes
of its answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.counters.domain.commands import (
    AddOverride,
    CreateQuota,
    QuotaPage,
    UpdateQuota,
    UsageQuery,
)
from shared.http.operations import Operation

TAG = "counters"
TAGS = {TAG: "Usage per user, printer and tenant by period; quotas; devices' counters."}


class QuotaView(BaseModel):
    """A quota and its usage in the current period."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID
    tenant_id: uuid.UUID
    subject_kind: Literal["user", "group", "tenant"]
    subject_id: uuid.UUID
    members: list[uuid.UUID]
    metric: Literal["pages", "colour_pages"]
    period: Literal["day", "week", "month", "year"]
    limit: int
    policy: Literal["hold", "warn"]
    period_start: datetime
    period_end: datetime
    used: int
    exceeded: bool = Field(description="used >= limit: the next job goes over the limit.")
    override_until: datetime | None
    override_reason: str
    revision: int
    created_at: datetime
    updated_at: datetime


class QuotaList(BaseModel):
    """A page of quotas; ``next_after`` continues it."""

    model_config = ConfigDict(extra="forbid")
    items: list[QuotaView]
    next_after: uuid.UUID | None


class UsageWindow(BaseModel):
    """The totals of one window."""

    model_config = ConfigDict(extra="forbid")
    window_start: datetime
    window_end: datetime
    pages: int
    colour_pages: int
    jobs: int


class UsageView(BaseModel):
    """One subject's usage windows, oldest first."""

    model_config = ConfigDict(extra="forbid")
    tenant_id: uuid.UUID
    granularity: Literal["hour", "day", "month"]
    dimension: Literal["tenant", "user", "printer"]
    subject_id: uuid.UUID
    items: list[UsageWindow]


class CounterView(BaseModel):
    """One counter kept for a printer."""

    model_config = ConfigDict(extra="forbid")
    counter: str = Field(description="The counter's name; `media:<size>` per media size.")
    unit: Literal["impressions", "sheets"]
    value: int = Field(description="The last value the device reported.")
    usage: int = Field(description="The sum of its increments (resets add nothing).")
    read_at: datetime
    reading_id: uuid.UUID


class PrinterCountersView(BaseModel):
    """The counters kept for a printer."""

    model_config = ConfigDict(extra="forbid")
    printer_id: uuid.UUID
    counters: list[CounterView]


QUOTA = "/v1/quotas/{quota_id}"
ADMINS = "Tenant admins (scopes users:read / users:write) and operators."

OPERATIONS: list[Operation] = [
    Operation(
        method="POST", path="/v1/quotas", summary="Create a quota", tag=TAG, body=CreateQuota,
        responses={201: QuotaView}, errors=(400, 401, 403, 413, 415, 422),
        description=ADMINS + " Usage starts at zero in the current period; the state is "
        "published on counters.quotas.",
    ),
    Operation(
        method="GET", path="/v1/quotas", summary="List the tenant's quotas", tag=TAG,
        query=QuotaPage, responses={200: QuotaList}, errors=(401, 403, 404, 422),
        description=ADMINS,
    ),
    Operation(
        method="GET", path=QUOTA, summary="A quota and its usage", tag=TAG,
        responses={200: QuotaView}, errors=(401, 403, 404), description=ADMINS,
    ),
    Operation(
        method="PATCH", path=QUOTA, summary="Change a quota's limit, policy or members",
        tag=TAG, body=UpdateQuota, responses={200: QuotaView},
        errors=(400, 401, 403, 404, 413, 415, 422), description=ADMINS,
    ),
    Operation(
        method="DELETE", path=QUOTA, summary="Delete a quota", tag=TAG,
        responses={204: "Deleted; its last published state says `deleted`."},
        errors=(401, 403, 404), description=ADMINS,
    ),
    Operation(
        method="POST", path=QUOTA + "/overrides", summary="Let the subject print past the limit",
        tag=TAG, body=AddOverride, responses={201: QuotaView},
        errors=(400, 401, 403, 404, 413, 415, 422),
        description=ADMINS + " Until `until`, routing does not hold the subject's jobs.",
    ),
    Operation(
        method="GET", path="/v1/usage", summary="Usage per hour, day or month", tag=TAG,
        query=UsageQuery, responses={200: UsageView}, errors=(401, 403, 404, 422),
        description="Scope jobs:read. Users read their own usage; admins the tenant's, a "
        "user's (`user_id`) or a printer's (`printer_id`); operators name the `tenant`.",
    ),
    Operation(
        method="GET", path="/v1/counters/{printer_id}", summary="A printer's counters",
        tag=TAG, responses={200: PrinterCountersView}, errors=(401, 403, 404),
        description="Scope printers:read. The values the printer last reported in a "
        "consistent reading, and the usage they add up to.",
    ),
]  # fmt: skip
