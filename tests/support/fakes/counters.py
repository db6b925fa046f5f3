"""Counters' repository in memory: the same methods as
:class:`services.counters.repository.CountersRepository`, state in dicts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.counters.domain.model import (
    EventOrigin,
    JobUsage,
    Kept,
    PrinterCounter,
    Quota,
    Reading,
    RefusedReading,
    Step,
    UsageWindow,
    period_end,
)


class FakeCountersRepository:
    """Readings, kept counters, job usage, windows and quotas, in memory."""

    def __init__(self) -> None:
        self.readings: dict[uuid.UUID, Reading] = {}
        self.owners: dict[uuid.UUID, uuid.UUID] = {}  # printer -> the tenant it is bound to
        self.counters: dict[tuple[uuid.UUID, str], PrinterCounter] = {}
        self.increments: list[tuple[uuid.UUID, str, int]] = []
        self.resets: list[tuple[uuid.UUID, str, int, int]] = []
        self.refusals: dict[uuid.UUID, RefusedReading] = {}
        self.inbox: dict[tuple[str, uuid.UUID], EventOrigin] = {}
        self.raw_outbox: list[dict[str, Any]] = []
        self.jobs: dict[uuid.UUID, JobUsage] = {}
        self.windows: dict[tuple[Any, ...], UsageWindow] = {}
        self.quotas: dict[uuid.UUID, Quota] = {}
        self.overrides: list[tuple[uuid.UUID, datetime, str, str]] = []

    # ---------------------------------------------------------------- readings

    async def reading_seen(self, reading_id: uuid.UUID) -> bool:
        return reading_id in self.readings

    async def record_reading(self, r: Reading) -> None:
        self.readings.setdefault(r.reading_id, r)

    async def bind_printer(self, printer_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
        return self.owners.setdefault(printer_id, tenant_id) == tenant_id

    async def kept_counters(self, tenant_id: uuid.UUID, printer_id: uuid.UUID) -> dict[str, Kept]:
        return {
            c.counter: Kept(c.value, c.read_at)
            for (p, _), c in self.counters.items()
            if p == printer_id and c.tenant_id == tenant_id
        }

    async def apply_steps(
        self,
        printer_id: uuid.UUID,
        tenant_id: uuid.UUID,
        reading_id: uuid.UUID,
        read_at: datetime,
        steps: list[Step],
    ) -> None:
        for s in steps:
            before = self.counters.get((printer_id, s.counter))
            self.counters[(printer_id, s.counter)] = PrinterCounter(
                counter=s.counter, tenant_id=tenant_id, unit=s.unit, value=s.value,
                usage=(before.usage if before else 0) + s.increment, read_at=read_at,
                reading_id=reading_id,
            )  # fmt: skip
            if s.increment > 0:
                self.increments.append((printer_id, s.counter, s.increment))
            if s.reset_from is not None:
                self.resets.append((printer_id, s.counter, s.reset_from, s.value))

    async def record_refusal(self, r: RefusedReading) -> bool:
        if r.event_id in self.refusals:
            return False
        self.refusals[r.event_id] = r
        return True

    async def inbox_position(self, consumer: str, event_id: uuid.UUID) -> EventOrigin | None:
        return self.inbox.get((consumer, event_id))

    async def add_raw_outbox(
        self, *, event_id: uuid.UUID, topic: str, key: str, payload: str, headers: dict[str, str]
    ) -> None:
        self.raw_outbox.append(
            {"event_id": event_id, "topic": topic, "key": key, "payload": payload,
             "headers": headers}
        )  # fmt: skip

    async def printer_counters(self, printer_id: uuid.UUID) -> list[PrinterCounter]:
        return sorted(
            (c for (p, _), c in self.counters.items() if p == printer_id), key=lambda c: c.counter
        )

    # ---------------------------------------------------------------- usage

    async def add_job_usage(self, u: JobUsage) -> bool:
        if u.job_id in self.jobs:
            return False
        self.jobs[u.job_id] = u
        return True

    async def put_windows(self, windows: list[UsageWindow]) -> None:
        for w in windows:
            key = (w.tenant_id, w.granularity, w.dimension, w.subject_id, w.window_start)
            held = self.windows.get(key)
            if held is None or held.jobs < w.jobs:
                self.windows[key] = w

    async def usage_windows(
        self,
        *,
        tenant_id: uuid.UUID,
        granularity: str,
        dimension: str,
        subject_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
        limit: int,
    ) -> list[UsageWindow]:
        found = [
            w for w in self.windows.values()
            if (w.tenant_id, w.granularity, w.dimension, w.subject_id)
            == (tenant_id, granularity, dimension, subject_id)
            and (start is None or w.window_start >= start)
            and (end is None or w.window_start < end)
        ]  # fmt: skip
        return sorted(found, key=lambda w: w.window_start)[:limit]

    # ---------------------------------------------------------------- quotas

    async def insert_quota(self, q: Quota) -> None:
        assert q.id not in self.quotas
        self.quotas[q.id] = q

    async def save_quota(self, q: Quota) -> None:
        if q.id in self.quotas:
            self.quotas[q.id] = replace(q, deleted=False)

    async def get_quota(self, quota_id: uuid.UUID, *, for_update: bool = False) -> Quota | None:
        return self.quotas.get(quota_id)

    async def delete_quota(self, quota_id: uuid.UUID) -> None:
        self.quotas.pop(quota_id, None)
        self.overrides = [o for o in self.overrides if o[0] != quota_id]

    async def list_quotas(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Quota]:
        found = [
            q for q in self.quotas.values()
            if (tenant_id is None or q.tenant_id == tenant_id) and (after is None or q.id > after)
        ]  # fmt: skip
        return sorted(found, key=lambda q: q.id)[:limit]

    async def quotas_for_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[Quota]:
        found = [
            q for q in self.quotas.values()
            if q.tenant_id == tenant_id and (
                q.subject_kind == "tenant"
                or (q.subject_kind == "user" and q.subject_id == user_id)
                or (q.subject_kind == "group" and user_id in q.members)
            )
        ]  # fmt: skip
        return sorted(found, key=lambda q: q.id)

    async def due_quotas(self, now: datetime, limit: int) -> list[Quota]:
        due = [q for q in self.quotas.values() if period_end(q.period, q.period_start) <= now]
        return sorted(due, key=lambda q: q.id)[:limit]

    async def add_override(
        self, quota_id: uuid.UUID, until: datetime, reason: str, by: str
    ) -> None:
        self.overrides.append((quota_id, until, reason, by))
