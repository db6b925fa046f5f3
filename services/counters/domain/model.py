"""Counters' rules as pure values: monotonic counters, quota periods, usage windows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from shared.events.contracts.gateway import CounterValue

Period = Literal["day", "week", "month", "year"]
Metric = Literal["pages", "colour_pages"]
Outcome = Literal["applied", "unchanged", "out_of_order"]


def counter_key(counter: CounterValue) -> str:
    """The name a counter is kept under: its name, and the media for per-media counters."""
    return f"{counter.name}:{counter.media}" if counter.media else counter.name


@dataclass(frozen=True)
class Kept:
    """The last value kept for one counter of one printer."""

    value: int
    read_at: datetime


@dataclass(frozen=True)
class Step:
    """What one counter's new value means: usage since the last reading, or a reset."""

    counter: str
    unit: str
    value: int
    increment: int
    reset_from: int | None = None


def interpret(
    kept: dict[str, Kept], counters: Iterable[CounterValue], read_at: datetime
) -> list[Step] | None:
    """The steps of a reading against the kept values; None when it changes nothing.

    A value lower than the kept one is a device reset: it becomes the new base and
    adds no usage (usage is never negative, and what the device counted between
    its reset and this reading cannot be told apart from the reset itself). A
    reading older than the kept one of some counter is out of order: it is dropped
    as a whole, like a reading that repeats every kept value.
    """
    steps: list[Step] = []
    for c in counters:
        key = counter_key(c)
        last = kept.get(key)
        if last is None:
            steps.append(Step(key, c.unit, c.value, 0))
        elif read_at < last.read_at:
            return None
        elif c.value >= last.value:
            if c.value > last.value:
                steps.append(Step(key, c.unit, c.value, c.value - last.value))
        else:
            steps.append(Step(key, c.unit, c.value, 0, reset_from=last.value))
    return steps or None


def outcome_of(kept: dict[str, Kept], steps: list[Step] | None, read_at: datetime) -> Outcome:
    """What became of a reading with these ``steps`` (see :func:`interpret`): applied, or
    dropped as out of order, or as repeating the kept values."""
    if steps is not None:
        return "applied"
    newest = max((k.read_at for k in kept.values()), default=None)
    return "out_of_order" if newest and read_at < newest else "unchanged"


@dataclass(frozen=True)
class Reading:
    """A device's counter reading as remembered, with what became of it."""

    reading_id: uuid.UUID
    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    read_at: datetime
    attempts: int
    source: str
    outcome: Outcome


@dataclass(frozen=True)
class RefusedReading:
    """A reading taken while a job ran (job activity changed during the read)."""

    event_id: uuid.UUID
    reading_id: uuid.UUID
    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    activity_before: int
    activity_after: int
    reason: str


@dataclass(frozen=True)
class PrinterCounter:
    """One counter kept for a printer: its last value and the usage it adds up to."""

    counter: str
    tenant_id: uuid.UUID
    unit: str
    value: int
    usage: int
    read_at: datetime
    reading_id: uuid.UUID


@dataclass(frozen=True)
class EventOrigin:
    """Where a consumer read an event (its inbox claim)."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class JobUsage:
    """What a completed job used, attributed to its owner, printer and tenant."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    printer_id: uuid.UUID
    pages: int
    colour_pages: int
    sheets: int
    completed_at: datetime


@dataclass(frozen=True)
class UsageWindow:
    """The totals of one window (hour, day, month) of one tenant, user or printer."""

    tenant_id: uuid.UUID
    granularity: str
    dimension: str
    subject_id: uuid.UUID
    window_start: datetime
    window_end: datetime
    pages: int
    colour_pages: int
    jobs: int
    sheets: int = 0
    duplex_sheets: int = 0


def period_start(period: Period, at: datetime) -> datetime:
    """Start (UTC) of the ``period`` containing ``at``; weeks start on Monday."""
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def period_end(period: Period, start: datetime) -> datetime:
    """End (exclusive) of the period starting at ``start``."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return next_month(start)
    return start.replace(year=start.year + 1)


def next_month(start: datetime) -> datetime:
    """The first instant of the month after ``start``'s."""
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1, day=1)
    return start.replace(month=start.month + 1, day=1)


@dataclass(frozen=True)
class Quota:
    """A limit on a subject's pages (or colour pages) per period, and its usage now."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    subject_kind: Literal["user", "group", "tenant"]
    subject_id: uuid.UUID
    members: tuple[uuid.UUID, ...]
    metric: Metric
    period: Period
    limit: int
    policy: Literal["hold", "warn"]
    period_start: datetime
    used: int
    override_until: datetime | None
    override_reason: str
    revision: int
    created_at: datetime
    updated_at: datetime
    deleted: bool = False

    @property
    def exceeded(self) -> bool:
        """At or past the limit: the next job would go over it."""
        return self.used >= self.limit

    @property
    def period_end(self) -> datetime:
        return period_end(self.period, self.period_start)

    def applies_to(self, user_id: uuid.UUID) -> bool:
        """Whether a job of ``user_id`` (in the quota's tenant) counts against it."""
        if self.subject_kind == "tenant":
            return True
        if self.subject_kind == "user":
            return self.subject_id == user_id
        return user_id in self.members

    def rolled(self, now: datetime) -> Quota:
        """The quota in the period containing ``now`` (used restarts at zero)."""
        start = period_start(self.period, now)
        if start <= self.period_start:
            return self
        return replace(self, period_start=start, used=0)

    def charged(self, amount: int, at: datetime, now: datetime) -> Quota | None:
        """The quota after a job of ``amount`` at ``at``; None when it does not count
        (nothing to add, or the job belongs to another period than the current one)."""
        current = self.rolled(now)
        if amount <= 0 or not current.period_start <= at < current.period_end:
            return None
        return replace(current, used=current.used + amount)


def amount_of(metric: Metric, printed_pages: int, colour_pages: int) -> int:
    """What a job adds to a quota of ``metric``."""
    return printed_pages if metric == "pages" else colour_pages


def window_of(granularity: str, ts: datetime) -> tuple[datetime, datetime]:
    """The UTC window (start, end) of ``granularity`` holding ``ts``."""
    ts = ts.astimezone(UTC)
    if granularity == "hour":
        start = ts.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if granularity == "day":
        start = ts.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    if granularity == "month":
        start = ts.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return start, next_month(start)
    raise ValueError(f"unknown granularity {granularity!r}")
