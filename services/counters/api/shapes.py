"""How counters' resources look on the wire: the answers' models (they also feed the
OpenAPI document) and the mapping of domain objects to them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.counters.domain import model


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
    sheets: int = Field(description="Sheets of paper used.")
    duplex_sheets: int = Field(description="Of those, sheets printed on both sides.")


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


def quota_json(q: model.Quota) -> dict[str, Any]:
    """A quota as the API shows it (QuotaView)."""
    return {
        "id": str(q.id),
        "tenant_id": str(q.tenant_id),
        "subject_kind": q.subject_kind,
        "subject_id": str(q.subject_id),
        "members": [str(m) for m in q.members],
        "metric": q.metric,
        "period": q.period,
        "limit": q.limit,
        "policy": q.policy,
        "period_start": q.period_start.isoformat(),
        "period_end": q.period_end.isoformat(),
        "used": q.used,
        "exceeded": q.exceeded,
        "override_until": q.override_until.isoformat() if q.override_until else None,
        "override_reason": q.override_reason,
        "revision": q.revision,
        "created_at": q.created_at.isoformat(),
        "updated_at": q.updated_at.isoformat(),
    }


def window_json(w: model.UsageWindow) -> dict[str, Any]:
    """A usage window as the API shows it (UsageWindow)."""
    return {
        "window_start": w.window_start.isoformat(),
        "window_end": w.window_end.isoformat(),
        "pages": w.pages,
        "colour_pages": w.colour_pages,
        "jobs": w.jobs,
        "sheets": w.sheets,
        "duplex_sheets": w.duplex_sheets,
    }


def counter_json(c: model.PrinterCounter) -> dict[str, Any]:
    """A kept counter as the API shows it (CounterView)."""
    return {
        "counter": c.counter, "unit": c.unit, "value": c.value, "usage": c.usage,
        "read_at": c.read_at.isoformat(), "reading_id": str(c.reading_id),
    }  # fmt: skip


EXPORT_COLUMNS = (
    "dimension", "subject_id", "jobs", "pages", "colour_pages", "mono_pages", "sheets",
    "duplex_sheets", "simplex_sheets",
)  # fmt: skip
"""The columns of an accounting export, in CSV order."""


def export_row(w: model.UsageWindow) -> dict[str, Any]:
    """One subject's month in an export (ExportRow)."""
    return {
        "dimension": w.dimension, "subject_id": str(w.subject_id), "jobs": w.jobs,
        "pages": w.pages, "colour_pages": w.colour_pages,
        "mono_pages": w.pages - w.colour_pages, "sheets": w.sheets,
        "duplex_sheets": w.duplex_sheets, "simplex_sheets": w.sheets - w.duplex_sheets,
    }  # fmt: skip


def export_csv(rows: list[dict[str, Any]]) -> str:
    """The export as CSV with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class ExportRow(BaseModel):
    """One tenant's, user's or printer's usage in the month."""

    dimension: Literal["tenant", "user", "printer"]
    subject_id: uuid.UUID
    jobs: int
    pages: int
    colour_pages: int
    mono_pages: int
    sheets: int = Field(description="Sheets of paper used.")
    duplex_sheets: int = Field(description="Sheets printed on both sides.")
    simplex_sheets: int = Field(description="Sheets printed on one side.")


class UsageExport(BaseModel):
    """A tenant's month: its own totals, and each user's and each printer's."""

    tenant_id: uuid.UUID
    month: str
    rows: list[ExportRow]
