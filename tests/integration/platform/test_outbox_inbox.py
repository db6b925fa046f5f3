"""Outbox -> Kafka -> consumer inbox, on the real broker and database."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.db.outbox import OutboxRelay, add_event
from shared.db.pool import create_pool
from shared.errors import PermanentEventError
from shared.events.envelope import new_envelope
from shared.events.registry import DecodedEvent, EventRegistry
from shared.kafka.admin import ensure_topics
from shared.kafka.consumer import EventConsumer
from shared.kafka.topics import TopicSpec
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.kafka import dead_letters, kafka_options, operator
from tests.support.ledger.events import EntryRecorded
from tests.support.waiting import eventually, running

pytestmark = pytest.mark.integration
REGISTRY = EventRegistry([EntryRecorded])


class Harness:
    """One service schema, one topic, a relay and a consumer recording what it applied."""

    def __init__(self, pool: asyncpg.Pool, schema: str, dsn: str, bootstrap: str, topic: str):
        self.pool, self.schema, self.dsn, self.bootstrap, self.topic = (
            pool,
            schema,
            dsn,
            bootstrap,
            topic,
        )
        self.applied: list[DecodedEvent[Any]] = []
        self.fail_keys: set[str] = set()

    async def handler(self, conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        if event.data.key in self.fail_keys:
            raise PermanentEventError(f"key {event.data.key} is refused")
        await conn.execute(
            "INSERT INTO seen (event_id, key, seq) VALUES ($1, $2, $3)",
            event.envelope.event_id,
            event.data.key,
            event.data.seq,
        )
        self.applied.append(event)

    def relay(self) -> OutboxRelay:
        return OutboxRelay(
            dsn=self.dsn, schema=self.schema, kafka=operator(self.bootstrap), poll_s=0.5
        )

    def consumer(self) -> EventConsumer:
        return EventConsumer(
            name=f"{self.schema}-consumer",
            topics=[self.topic],
            handlers={EntryRecorded.event_type: self.handler},
            registry=REGISTRY,
            pool=self.pool,
            kafka=operator(self.bootstrap),
        )

    async def count(self, sql: str, *args: object) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval(sql, *args))

    async def send_raw(self, value: bytes | None, key: bytes = b"k") -> None:
        producer = AIOKafkaProducer(**kafka_options(self.bootstrap))
        await producer.start()
        try:
            await producer.send_and_wait(self.topic, value=value, key=key)
        finally:
            await producer.stop()


@pytest.fixture
async def harness(service_db: ServiceDbFactory, bootstrap: str, topics: object) -> Any:
    db = await service_db(unique("t"))
    topic = unique("test.outbox")
    await ensure_topics(
        operator(bootstrap), [TopicSpec(topic, "test", "key", "test", partitions=3)]
    )
    pool = await create_pool(db.dsn, db.name, application_name="test")
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE seen (event_id uuid NOT NULL, key text NOT NULL, seq integer NOT NULL)"
        )
    yield Harness(pool, db.name, db.dsn, bootstrap, topic)
    await pool.close()


def _event(h: Harness, key: str = "k1", seq: int = 1, **kw: Any) -> Any:
    data = EntryRecorded(key=key, seq=seq)
    env = new_envelope(
        data,
        source="test",
        tenant_id=kw.get("tenant_id"),
        **{k: v for k, v in kw.items() if k != "tenant_id"},
    )
    return data, env


async def test_round_trip_keeps_the_envelope(harness: Harness) -> None:
    h = harness
    tenant, correlation, cause = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with h.pool.acquire() as conn, conn.transaction():
        data = EntryRecorded.model_construct(key="k1", seq=1, pad="")
        sent = await add_event(
            conn,
            h.schema,
            data,
            source="test",
            tenant_id=tenant,
            correlation_id=correlation,
            causation_id=cause,
        )
    # add_event used the class topic; point the row at this test's topic.
    async with h.pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET topic = $1", h.topic)
    async with running(h.relay().run, h.consumer().run):
        await eventually(lambda: len(h.applied) == 1)
    got = h.applied[0].envelope
    assert got == sent
    assert (got.tenant_id, got.correlation_id, got.causation_id) == (tenant, correlation, cause)
    assert await h.count("SELECT count(*) FROM outbox") == 0
    assert (
        await h.count("SELECT count(*) FROM processed_events WHERE event_id = $1", sent.event_id)
        == 1
    )


async def test_the_same_event_twice_is_applied_once(harness: Harness) -> None:
    h = harness
    _, env = _event(h)
    await h.send_raw(env.to_bytes())
    await h.send_raw(env.to_bytes())
    _, marker = _event(h, key="k2")
    await h.send_raw(marker.to_bytes())
    async with running(h.consumer().run):
        await eventually(lambda: len(h.applied) == 2)
    assert await h.count("SELECT count(*) FROM seen WHERE event_id = $1", env.event_id) == 1
    assert await h.count("SELECT count(*) FROM seen") == 2
    assert await h.count("SELECT count(*) FROM processed_events") == 2


async def test_bad_messages_are_dead_lettered_and_the_loop_goes_on(harness: Harness) -> None:
    h = harness
    h.fail_keys.add("poison")
    bad_version = json.loads(_event(h)[1].to_bytes())
    bad_version["version"] = 99
    bad_payloads = {
        b"not json at all": "not UTF-8 JSON",
        json.dumps(bad_version).encode(): "unknown version 99",
        _event(h, key="poison")[1].to_bytes(): "handler error: PermanentEventError",
    }
    for raw in bad_payloads:
        await h.send_raw(raw)
    _, good = _event(h, key="good")
    await h.send_raw(good.to_bytes())

    async with running(h.consumer().run):
        await eventually(lambda: len(h.applied) == 1)
        letters = await dead_letters(
            h.bootstrap,
            topic=h.topic,
            done=lambda found: len({d.value for d in found}) == len(bad_payloads),
        )
    parked = {d.value: d.headers for d in letters}
    assert h.applied[0].envelope.event_id == good.event_id
    for raw, reason in bad_payloads.items():
        assert reason in parked[raw]["dlq.reason"].decode()
        assert parked[raw]["dlq.consumer"] == f"{h.schema}-consumer".encode()
    # The refused event left no trace in the service's state or inbox.
    assert await h.count("SELECT count(*) FROM seen") == 1
    assert await h.count("SELECT count(*) FROM processed_events") == 1
