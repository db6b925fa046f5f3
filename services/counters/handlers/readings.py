"""Device counter readings: refuse inconsistent ones, drop repeats, keep counters monotonic."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from prometheus_client import Counter

from services.counters.domain.events import CounterResetDetected
from services.counters.domain.model import (
    PrinterCounter,
    Reading,
    RefusedReading,
    interpret,
    outcome_of,
)
from services.counters.repository import ReadingRepository
from shared.db.uow import Transactions
from shared.events.contracts.gateway import DeviceCountersReported
from shared.events.registry import DecodedEvent
from shared.kafka.deadletter import dead_letter_headers
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.logging import get_logger

log = get_logger(__name__)

READINGS = Counter(
    "printcloud_counter_readings_total",
    "Device counter readings by outcome (applied, unchanged, duplicate, out_of_order, refused).",
    ["outcome"],
)
REFUSED = Counter(
    "printcloud_counter_readings_refused_total",
    "Counter readings refused because a job ran while they were taken.",
)


class _Once:
    """Event ids already counted by this process: a batch that rolls back and is applied
    again on the consumer's careful path must not count its refusals twice."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[uuid.UUID, None] = OrderedDict()
        self._size = size

    def first(self, event_id: uuid.UUID) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


async def park_refused(
    repo: ReadingRepository, consumer: str, event: DecodedEvent[Any], reason: str
) -> None:
    """Put the event, unchanged, on the dead-letter topic through the outbox."""
    envelope = event.envelope
    where = await repo.inbox_position(consumer, envelope.event_id)
    headers = dead_letter_headers(
        envelope.kafka_headers(),
        reason=reason,
        consumer=consumer,
        topic=where.topic if where else DeviceCountersReported.topic,
        partition=where.partition if where else -1,
        offset=where.offset if where else -1,
    )
    await repo.add_raw_outbox(
        event_id=envelope.event_id,
        topic=DEAD_LETTER_TOPIC,
        key=envelope.key,
        payload=envelope.to_json(),
        headers={k: v.decode() for k, v in headers},
    )


class ReadingHandler:
    """Applies device counter readings for one consumer group (its name goes in the
    dead-letter headers of refused readings)."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self._counted = _Once()

    async def __call__(self, tx: Transactions[ReadingRepository], event: DecodedEvent[Any]) -> None:
        """Apply one reading of a device's counters."""
        reading: DeviceCountersReported = event.data
        async with tx() as uow:
            if reading.activity_before != reading.activity_after:
                await self._refuse(uow.repo, event, reading)
                return
            repo = uow.repo
            if await repo.reading_seen(reading.reading_id):
                READINGS.labels("duplicate").inc()
                return
            if not await repo.bind_printer(reading.device_id, reading.tenant_id):
                reason = "the printer's counters belong to another tenant"
                await self._refuse(uow.repo, event, reading, reason)
                return
            kept = await repo.kept_counters(reading.tenant_id, reading.device_id)
            steps = interpret(kept, reading.counters, reading.reported_at)
            outcome = outcome_of(kept, steps, reading.reported_at)
            await repo.record_reading(
                Reading(
                    reading_id=reading.reading_id, printer_id=reading.device_id,
                    tenant_id=reading.tenant_id, read_at=reading.reported_at,
                    attempts=reading.attempts, source=reading.source, outcome=outcome,
                )
            )  # fmt: skip
            READINGS.labels(outcome).inc()
            if steps is None:
                return
            await repo.apply_steps(
                reading.device_id, reading.tenant_id, reading.reading_id, reading.reported_at,
                steps,
            )  # fmt: skip
            for step in steps:
                if step.reset_from is None:
                    continue
                await uow.emit(
                    CounterResetDetected(
                        printer_id=reading.device_id, tenant_id=reading.tenant_id,
                        counter=step.counter, previous_value=step.reset_from,
                        new_value=step.value, reading_id=reading.reading_id,
                        read_at=reading.reported_at,
                    ),
                    tenant_id=reading.tenant_id,
                )  # fmt: skip

    async def _refuse(
        self,
        repo: ReadingRepository,
        event: DecodedEvent[Any],
        reading: DeviceCountersReported,
        reason: str | None = None,
    ) -> None:
        reason = reason or (
            f"inconsistent reading: job activity {reading.activity_before} before the read, "
            f"{reading.activity_after} after it"
        )
        fresh = await repo.record_refusal(
            RefusedReading(
                event_id=event.envelope.event_id, reading_id=reading.reading_id,
                printer_id=reading.device_id, tenant_id=reading.tenant_id,
                activity_before=reading.activity_before, activity_after=reading.activity_after,
                reason=reason,
            )
        )  # fmt: skip
        if not fresh:
            return
        await park_refused(repo, self.consumer, event, reason)
        if self._counted.first(event.envelope.event_id):
            REFUSED.inc()
            READINGS.labels("refused").inc()
        log.warning("counter reading refused", reason=reason, printer=str(reading.device_id))


async def printer_counters(
    tx: Transactions[ReadingRepository], printer_id: uuid.UUID
) -> list[PrinterCounter]:
    """The counters kept for a printer."""
    async with tx() as uow:
        return await uow.repo.printer_counters(printer_id)
