"""Events counters publishes: counter resets on ``counters.devices``, usage windows on
``counters.usage``, and quota states on ``counters.quotas`` (a shared contract, read by
routing: defined in shared/events/contracts/quotas.py and re-exported here)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.envelope import EventData

Granularity = Literal["hour", "day", "month"]
Dimension = Literal["tenant", "user", "printer"]


class CounterResetDetected(EventData):
    """A device reported a counter lower than the last value kept: the device reset it.

    Usage is never negative: the reading becomes the new base and adds nothing.
    """

    event_type: ClassVar[str] = "counter.reset_detected"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "counters.devices"

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    counter: str = Field(max_length=300, description="Counter name, `media:<size>` per media.")
    previous_value: int = Field(ge=0)
    new_value: int = Field(ge=0)
    reading_id: uuid.UUID
    read_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.printer_id)


class _UsageWindowTotals(EventData):
    topic: ClassVar[str] = "counters.usage"

    tenant_id: uuid.UUID
    granularity: Granularity
    window_start: AwareDatetime
    window_end: AwareDatetime
    dimension: Dimension
    subject_id: uuid.UUID = Field(description="The tenant, user or printer id.")
    pages: int = Field(ge=0)
    colour_pages: int = Field(ge=0)
    jobs: int = Field(ge=0)

    def partition_key(self) -> str:
        return str(self.tenant_id)


class UsageRolledUpV1(_UsageWindowTotals):
    """The totals of one window, without sheets: published before version 2; still
    read (a topic's history holds them), no longer published."""

    event_type: ClassVar[str] = "usage.rolled_up"
    event_version: ClassVar[int] = 1


class UsageRolledUp(_UsageWindowTotals):
    """The totals of one window for one tenant, user or printer, after a change.

    Republished whenever a job (late ones included) changes the window: the
    latest event of a window is its value; ``jobs`` only grows, so a reader keeps
    the event with the most jobs. Version 2 adds the sheets of paper used.
    """

    event_type: ClassVar[str] = "usage.rolled_up"
    event_version: ClassVar[int] = 2

    sheets: int = Field(ge=0, description="Sheets of paper used.")
    duplex_sheets: int = Field(ge=0, description="Of those, sheets printed on both sides.")


EVENTS = (CounterResetDetected, UsageRolledUpV1, UsageRolledUp, QuotaStateChanged)

__all__ = [
    "EVENTS",
    "CounterResetDetected",
    "Dimension",
    "Granularity",
    "QuotaStateChanged",
    "UsageRolledUp",
    "UsageRolledUpV1",
]
