"""The consume loop: apply events exactly once, commit offsets only afterwards.

For each batch from Kafka the loop opens one Postgres transaction, claims every
event in the inbox (``processed_events``), runs the handler of each new event and
commits; only then does it commit the Kafka offsets. A crash anywhere before the
offset commit redelivers the batch, and the inbox makes the redelivery a no-op.

A message that can never be applied (not JSON, bad envelope, unknown version of a
handled type, payload failing its model, a handler raising a non-transient error)
is published unchanged to the dead-letter topic with the reason in its headers,
and the loop moves on. Transient failures (database or broker unreachable) retry
the whole batch with backoff and never dead-letter anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from structlog.contextvars import bound_contextvars

from shared import metrics
from shared.db import inbox
from shared.errors import PermanentEventError
from shared.events.registry import DecodedEvent, EventDecodeError, EventRegistry
from shared.kafka.access import KafkaAccess
from shared.kafka.deadletter import dead_letter_headers
from shared.kafka.producer import create_producer, start_when_available
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.logging import get_logger

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, DecodedEvent[Any]], Awaitable[None]]
BatchHandler = Callable[[asyncpg.Connection, list[DecodedEvent[Any]]], Awaitable[None]]


def per_event(handler: Handler) -> BatchHandler:
    """A batch handler that applies events one by one, logging with each event's ids."""

    async def apply(conn: asyncpg.Connection, events: list[DecodedEvent[Any]]) -> None:
        for event in events:
            with bound_contextvars(
                event_id=str(event.envelope.event_id),
                correlation_id=str(event.envelope.correlation_id),
            ):
                await handler(conn, event)

    return apply


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    KafkaError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


@dataclass(frozen=True)
class _Dead:
    record: ConsumerRecord[bytes, bytes]
    reason: str


class _Park(Exception):
    """Raised inside the fast path: some record needs the careful path."""


class EventConsumer:
    """A consumer group member applying events of ``topics`` with a handler per type.

    ``handlers`` take one event; ``batch_handlers`` take a run of consecutive
    events of one type in a single call (one round trip for many events). Runs
    never reorder events: types alternate exactly as they arrived.
    """

    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler] | None = None,
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        registry: EventRegistry,
        pool: asyncpg.Pool,
        kafka: KafkaAccess,
        batch_size: int = 500,
        max_backoff_s: float = 15.0,
    ) -> None:
        self.name = name
        self._topics = list(topics)
        self._handlers: dict[str, BatchHandler] = {
            t: per_event(h) for t, h in (handlers or {}).items()
        }
        self._handlers.update(batch_handlers or {})
        self._registry = registry
        self._pool = pool
        self._kafka = kafka
        self._batch_size = batch_size
        self._max_backoff_s = max_backoff_s
        self._known_types = {m.event_type for m in registry.models()}

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is finished first."""
        consumer = AIOKafkaConsumer(
            **self._kafka.client_options(),
            group_id=self.name,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
        )
        consumer.subscribe(self._topics)
        dlq = create_producer(self._kafka, client_id=f"{self.name}-dlq")
        try:
            # A broker down at start is waited for here, not crashed on and restarted.
            if not await start_when_available(consumer, stop):
                return
            if not await start_when_available(dlq, stop):
                return
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                if batch and await self._handle(batch, dlq, stop):
                    await self._commit(consumer, batch)
                    self._record_lag(consumer, batch)
        finally:
            with contextlib.suppress(Exception):
                await dlq.stop()
            await consumer.stop()

    async def _handle(
        self,
        batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
        dlq: Any,
        stop: asyncio.Event,
    ) -> bool:
        """Apply and park the batch; False if stopped while retrying (nothing committed)."""
        records = [r for recs in batch.values() for r in recs]
        delay = 0.2
        while True:
            try:
                dead = await self._apply(records, careful=False)
            except _Park:
                dead = None
            except TRANSIENT_ERRORS as exc:
                dead = None
                if not await self._backoff(exc, delay, stop):
                    return False
                delay = min(delay * 2, self._max_backoff_s)
                continue
            try:
                if dead is None:
                    dead = await self._apply(records, careful=True)
                # Park the batch's dead messages together: one round of acks, not one each.
                await asyncio.gather(*(self._park(dlq, item) for item in dead))
                return True
            except TRANSIENT_ERRORS as exc:
                if not await self._backoff(exc, delay, stop):
                    return False
                delay = min(delay * 2, self._max_backoff_s)

    async def _backoff(self, exc: BaseException, delay: float, stop: asyncio.Event) -> bool:
        metrics.HANDLER_RETRIES.labels(self.name).inc()
        log.warning("transient failure, retrying batch", consumer=self.name, error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        return not stop.is_set()

    async def _apply(
        self, records: list[ConsumerRecord[bytes, bytes]], *, careful: bool
    ) -> list[_Dead]:
        """One transaction for the batch.

        The fast path claims the whole batch in one statement and raises _Park at
        the first bad record; the careful path isolates each record in a savepoint.
        """
        dead: list[_Dead] = []
        outcomes: list[tuple[str, str]] = []
        todo: list[tuple[ConsumerRecord[bytes, bytes], DecodedEvent[Any]]] = []
        for rec in records:
            try:
                decoded = self._decode(rec)
            except EventDecodeError as exc:
                if not careful:
                    raise _Park from None
                dead.append(_Dead(rec, exc.reason))
                continue
            if decoded is None:
                outcomes.append((rec.topic, "ignored"))
            else:
                todo.append((rec, decoded))
        async with self._pool.acquire() as conn, conn.transaction():
            if careful:
                for rec, decoded in todo:
                    outcome = await self._apply_carefully(conn, rec, decoded, dead)
                    if outcome != "dead_lettered":  # counted when parked
                        outcomes.append((rec.topic, outcome))
            else:
                claimed = await self._claim_all(conn, todo)
                fresh = []
                for rec, decoded in todo:
                    event_id = decoded.envelope.event_id
                    # The same event twice in one batch is applied once.
                    outcome = "applied" if event_id in claimed else "duplicate"
                    claimed.discard(event_id)
                    outcomes.append((rec.topic, outcome))
                    if outcome == "applied":
                        fresh.append(decoded)
                await self._apply_runs(conn, fresh)
        for topic, outcome in outcomes:
            metrics.EVENTS_CONSUMED.labels(self.name, topic, outcome).inc()
        return dead

    async def _apply_runs(self, conn: asyncpg.Connection, events: list[DecodedEvent[Any]]) -> None:
        """Hand runs of same-type events to their handler, in arrival order."""
        start = 0
        while start < len(events):
            kind = events[start].envelope.type
            end = start + 1
            while end < len(events) and events[end].envelope.type == kind:
                end += 1
            try:
                await self._handlers[kind](conn, events[start:end])
            except TRANSIENT_ERRORS:
                raise
            except Exception as exc:
                raise _Park from exc
            start = end

    async def _claim_all(
        self,
        conn: asyncpg.Connection,
        todo: list[tuple[ConsumerRecord[bytes, bytes], DecodedEvent[Any]]],
    ) -> set[Any]:
        return await inbox.claim_many(
            conn,
            consumer=self.name,
            events=[(d.envelope.event_id, r.topic, r.partition, r.offset) for r, d in todo],
        )

    async def _apply_carefully(
        self,
        conn: asyncpg.Connection,
        rec: ConsumerRecord[bytes, bytes],
        decoded: DecodedEvent[Any],
        dead: list[_Dead],
    ) -> str:
        ids = decoded.envelope
        with bound_contextvars(event_id=str(ids.event_id), correlation_id=str(ids.correlation_id)):
            try:
                async with conn.transaction():  # a savepoint: a failure undoes this event only
                    claimed = await inbox.claim_many(
                        conn,
                        consumer=self.name,
                        events=[(ids.event_id, rec.topic, rec.partition, rec.offset)],
                    )
                    if not claimed:
                        return "duplicate"
                    await self._handlers[ids.type](conn, [decoded])
                    return "applied"
            except TRANSIENT_ERRORS:
                raise
            except PermanentEventError as exc:
                # The handler's own verdict: expected, no traceback needed.
                log.warning("event refused by its handler; parking it", consumer=self.name)
                dead.append(_Dead(rec, f"handler error: {type(exc).__name__}: {exc}"))
                return "dead_lettered"
            except Exception as exc:
                log.exception("handler failed; parking event", consumer=self.name)
                dead.append(_Dead(rec, f"handler error: {type(exc).__name__}: {exc}"))
                return "dead_lettered"

    def _decode(self, rec: ConsumerRecord[bytes, bytes]) -> DecodedEvent[Any] | None:
        """The typed event, None for a known type this consumer does not handle."""
        decoded_envelope = self._registry.decode_envelope(rec.value)
        if decoded_envelope.type not in self._handlers:
            if decoded_envelope.type in self._known_types:
                return None
            raise EventDecodeError(f"unknown event type {decoded_envelope.type!r}")
        return self._registry.parse(decoded_envelope)

    async def _park(self, dlq: Any, item: _Dead) -> None:
        rec = item.record
        headers = dead_letter_headers(
            rec.headers,
            reason=item.reason,
            consumer=self.name,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
        )
        await dlq.send_and_wait(DEAD_LETTER_TOPIC, value=rec.value, key=rec.key, headers=headers)
        metrics.DEAD_LETTERED.labels(self.name, rec.topic).inc()
        metrics.EVENTS_CONSUMED.labels(self.name, rec.topic, "dead_lettered").inc()
        log.warning(
            "message dead-lettered",
            consumer=self.name,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
            reason=item.reason,
        )

    async def _commit(
        self,
        consumer: AIOKafkaConsumer,
        batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        owned = consumer.assignment()
        offsets = {tp: recs[-1].offset + 1 for tp, recs in batch.items() if tp in owned}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced under us: the new owner redelivers, the inbox dedupes.
            log.info("offset commit lost to a rebalance", consumer=self.name)

    def _record_lag(
        self,
        consumer: AIOKafkaConsumer,
        batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        for tp, recs in batch.items():
            high = consumer.highwater(tp)
            if high is not None:
                metrics.CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(
                    max(0, high - recs[-1].offset - 1)
                )
