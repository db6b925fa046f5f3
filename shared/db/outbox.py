"""The transactional outbox: events are rows written with the state change they describe.

Writers call :func:`add_events` inside their business transaction. The
:class:`OutboxRelay` publishes committed rows in id order and deletes them once
Kafka has acknowledged them (acks=all). A crash between publish and delete
publishes the rows again: consumers are idempotent (the inbox), so the effect is
exactly once.

Ordering: one relay per service is active at a time (a Postgres advisory lock
elects it; the other replicas wait as standbys), and it publishes in id order.
Writers of one aggregate serialise on that aggregate's row before inserting its
events, so per-key id order is commit order, and Kafka keeps it per partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import metrics
from shared.db.pool import connect
from shared.events.envelope import Actor, Envelope, EventData, new_envelope
from shared.kafka.access import KafkaAccess
from shared.kafka.producer import create_producer
from shared.logging import get_logger

log = get_logger(__name__)


def channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel that wakes a schema's relay."""
    return f"printcloud_outbox_{schema}"


async def add_events(
    conn: asyncpg.Connection, schema: str, events: Sequence[tuple[str, Envelope]]
) -> None:
    """Insert (topic, envelope) rows in the caller's transaction and wake the relay."""
    if not events:
        return
    await conn.execute(
        """
        INSERT INTO outbox (event_id, topic, key, payload, headers)
        SELECT e, t, k, p, h::jsonb
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(e, t, k, p, h)
        """,
        [e.event_id for _, e in events],
        [t for t, _ in events],
        [e.key for _, e in events],
        [e.to_json() for _, e in events],
        [json.dumps({k: v.decode() for k, v in e.kafka_headers()}) for _, e in events],
    )
    # Delivered at commit, folded into one notification per transaction.
    await conn.execute("SELECT pg_notify($1, '')", channel(schema))


async def add_event(
    conn: asyncpg.Connection,
    schema: str,
    data: EventData,
    *,
    source: str,
    tenant_id: uuid.UUID | None,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    actor: Actor | None = None,
) -> Envelope:
    """Wrap ``data`` in an envelope and add it to the outbox; returns the envelope."""
    envelope = new_envelope(
        data,
        source=source,
        tenant_id=tenant_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=actor,
    )
    await add_events(conn, schema, [(data.topic, envelope)])
    return envelope


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"printcloud.outbox.{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class OutboxRelay:
    """Publishes a schema's outbox to Kafka; run one per service process.

    Each :meth:`run` owns a fresh idempotent producer, so a supervisor restarting
    the relay after a broker failure starts from a clean producer state.
    """

    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        kafka: KafkaAccess,
        batch_size: int = 500,
        poll_s: float = 5.0,
        flush_timeout_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._schema = schema
        self._kafka = kafka
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._flush_timeout_s = flush_timeout_s
        self._wake = asyncio.Event()
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Wait for leadership, then publish until ``stop`` is set, then flush."""
        producer = create_producer(self._kafka, client_id=f"{self._schema}-outbox-relay")
        await producer.start()
        try:
            await self._run(stop, producer)
        finally:
            await producer.stop()

    async def _run(self, stop: asyncio.Event, producer: AIOKafkaProducer) -> None:
        conn = await connect(self._dsn, self._schema, application_name=f"{self._schema}-relay")
        try:
            if not await self._acquire_leadership(conn, stop):
                return
            metrics.OUTBOX_RELAY_ACTIVE.set(1)
            await conn.add_listener(channel(self._schema), self._on_notify)
            log.info("outbox relay active", schema=self._schema)
            while not stop.is_set():
                if await self._publish_batch(conn, producer) < self._batch_size:
                    await self._idle(conn, stop)
            await self._flush(conn, producer)
        finally:
            metrics.OUTBOX_RELAY_ACTIVE.set(0)
            # Closing the session releases the advisory lock for a standby replica.
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _acquire_leadership(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        key = _lock_key(self._schema)
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_s)
        return False

    async def _idle(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        metrics.OUTBOX_BACKLOG.set(await conn.fetchval("SELECT count(*) FROM outbox"))
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=self._poll_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        self._wake.clear()

    async def _publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        async with conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT $1",
                self._batch_size,
            )
            if not rows:
                return 0
            futures = [
                await producer.send(
                    r["topic"],
                    value=r["payload"].encode(),
                    key=r["key"].encode(),
                    headers=[(k, v.encode()) for k, v in r["headers"].items()],
                )
                for r in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        for r in rows:
            metrics.EVENTS_PUBLISHED.labels(r["topic"]).inc()
        self.published += len(rows)
        return len(rows)

    async def _flush(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
        """On shutdown, publish what is already committed, within a deadline."""
        try:
            async with asyncio.timeout(self._flush_timeout_s):
                while await self._publish_batch(conn, producer) == self._batch_size:
                    pass
        except TimeoutError:
            log.warning("outbox flush timed out; the next active relay publishes the rest")


@dataclass(frozen=True)
class Emitter:
    """Adds events to one schema's outbox with the caller's correlation/causation ids and,
    while serving a request, the caller as the events' ``actor``."""

    schema: str
    source: str
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    actor: Actor | None = None

    async def emit(
        self, conn: asyncpg.Connection, data: EventData, *, tenant_id: uuid.UUID | None
    ) -> Envelope:
        """Add ``data`` to the outbox in the caller's transaction."""
        return await add_event(
            conn,
            self.schema,
            data,
            source=self.source,
            tenant_id=tenant_id,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            actor=self.actor,
        )

    def caused_by(self, envelope: Envelope) -> Emitter:
        """An emitter for events caused by ``envelope`` (same correlation id). The actor is
        not carried over: what a service does on its own, reacting to an event, is the
        service's doing, and the cause (``causation_id``) leads back to whoever started it."""
        return Emitter(self.schema, self.source, envelope.correlation_id, envelope.event_id)
