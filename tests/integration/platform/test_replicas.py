"""Several replicas of one service: one relay publishes at a time, consumers of one
group share the partitions, and a replica leaving hands its work over without
losing or doubling anything."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from shared.db.outbox import OutboxRelay, add_events
from shared.db.pool import create_pool
from shared.events.envelope import new_envelope
from shared.events.registry import DecodedEvent, EventRegistry
from shared.kafka.admin import ensure_topics
from shared.kafka.consumer import EventConsumer
from shared.kafka.topics import TopicSpec
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.kafka import kafka_options, operator
from tests.support.ledger.events import EntryRecorded
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def _fill(pool: asyncpg.Pool, schema: str, topic: str, start: int, count: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        events = []
        for seq in range(start, start + count):
            data = EntryRecorded(key="only-key", seq=seq)
            events.append((topic, new_envelope(data, source=schema, tenant_id=None)))
        await add_events(conn, schema, events)


async def _lock_holders(pool: asyncpg.Pool, schema: str) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1",
                f"{schema}-relay",
            )
        )


async def test_one_relay_publishes_at_a_time_and_a_standby_takes_over(
    service_db: ServiceDbFactory, bootstrap: str
) -> None:
    db = await service_db(unique("relay"))
    topic = unique("test.relay")
    await ensure_topics(
        operator(bootstrap), [TopicSpec(topic, "test", "key", "test", partitions=1)]
    )
    pool = await create_pool(db.dsn, db.name, application_name="test")
    relays = [
        OutboxRelay(
            dsn=db.dsn, schema=db.name, kafka=operator(bootstrap), poll_s=0.2, batch_size=50
        )
        for _ in range(2)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(r.run(s)) for r, s in zip(relays, stops, strict=True)]
    try:
        await _fill(pool, db.name, topic, 1, 300)
        await eventually(lambda: _outbox_empty(pool))
        assert await _lock_holders(pool, db.name) == 1
        active = 0 if relays[0].published else 1
        assert (relays[active].published, relays[1 - active].published) == (300, 0)

        stops[active].set()  # the active replica shuts down; the standby must take over
        await tasks[active]
        await _fill(pool, db.name, topic, 301, 200)
        await eventually(lambda: _outbox_empty(pool))
        assert relays[1 - active].published == 200
    finally:
        for s in stops:
            s.set()
        await asyncio.gather(*tasks)
        await pool.close()
    seqs = await _read_seqs(bootstrap, topic, 500)
    assert seqs == list(range(1, 501)), "one key, one partition: order must hold across hand-over"


async def _outbox_empty(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM outbox")) == 0


async def _read_seqs(bootstrap: str, topic: str, count: int) -> list[int]:
    from aiokafka import AIOKafkaConsumer

    registry = EventRegistry([EntryRecorded])
    consumer = AIOKafkaConsumer(topic, **kafka_options(bootstrap), auto_offset_reset="earliest")
    await consumer.start()
    seqs: list[int] = []
    try:
        async with asyncio.timeout(30):
            while len(seqs) < count:
                for recs in (await consumer.getmany(timeout_ms=500)).values():
                    seqs += [registry.decode(r.value).data.seq for r in recs]  # type: ignore[attr-defined]
    finally:
        await consumer.stop()
    return seqs


async def test_consumers_of_one_group_across_a_rebalance_apply_each_event_once(
    service_db: ServiceDbFactory, bootstrap: str
) -> None:
    db = await service_db(unique("group"))
    topic = unique("test.group")
    await ensure_topics(
        operator(bootstrap), [TopicSpec(topic, "test", "key", "test", partitions=6)]
    )
    pool = await create_pool(db.dsn, db.name, application_name="test", max_size=6)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE seen (event_id uuid NOT NULL, member int NOT NULL)")

    def member(n: int) -> EventConsumer:
        async def handle(conn: asyncpg.Connection, events: list[DecodedEvent[Any]]) -> None:
            await conn.executemany(
                "INSERT INTO seen VALUES ($1, $2)", [(e.envelope.event_id, n) for e in events]
            )
            await asyncio.sleep(0.01)  # keep batches in flight while the group changes

        return EventConsumer(
            name=f"{db.name}-group",
            topics=[topic],
            registry=EventRegistry([EntryRecorded]),
            batch_handlers={EntryRecorded.event_type: handle},
            pool=pool,
            kafka=operator(bootstrap),
            batch_size=50,
        )

    relay = OutboxRelay(dsn=db.dsn, schema=db.name, kafka=operator(bootstrap), poll_s=0.2)
    stop_relay, stop_a, stop_b = asyncio.Event(), asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop_relay)), asyncio.create_task(member(1).run(stop_a))]
    total = 0
    try:
        for key in range(40):
            await _fill_keyed(pool, db.name, topic, f"k{key}", 50)
            total += 50
            await asyncio.sleep(0.25)  # a steady flow, so that both members get work
            if key == 10:
                tasks.append(asyncio.create_task(member(2).run(stop_b)))  # joins: rebalance
            if key == 30:
                stop_a.set()  # leaves: rebalance again
        await eventually(
            lambda: _count(pool, "SELECT count(DISTINCT event_id) FROM seen", total), timeout=60
        )
        await asyncio.sleep(1)
        assert await _count(pool, "SELECT count(*) FROM seen", total)
        assert await _count(pool, "SELECT count(*) FROM processed_events", total)
        assert await _count(pool, "SELECT count(DISTINCT member) FROM seen", 2)
    finally:
        for s in (stop_relay, stop_a, stop_b):
            s.set()
        await asyncio.gather(*tasks)
        await pool.close()


async def _fill_keyed(pool: asyncpg.Pool, schema: str, topic: str, key: str, n: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        events = [
            (topic, new_envelope(EntryRecorded(key=key, seq=s), source=schema, tenant_id=None))
            for s in range(1, n + 1)
        ]
        await add_events(conn, schema, events)


async def _count(pool: asyncpg.Pool, sql: str, want: int) -> bool:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql)) == want
