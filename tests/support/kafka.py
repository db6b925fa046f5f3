"""Events on the run's real Kafka: publishing them as their owners' relays would, and
reading back the envelopes a test is about (other tests share the topics)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.events.envelope import Envelope, EventData, new_envelope
from shared.kafka.producer import create_producer
from tests.support.waiting import eventually

Match = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Published:
    """Where one published envelope landed."""

    topic: str
    envelope: Envelope
    partition: int
    offset: int

    @property
    def event_id(self) -> str:
        return str(self.envelope.event_id)


def envelope(data: EventData, *, source: str = "test", **fields: Any) -> tuple[str, Envelope]:
    """(topic, envelope) of ``data`` as its owner would publish it, with envelope fields
    overridden by ``fields``."""
    env = new_envelope(data, source=source, tenant_id=getattr(data, "tenant_id", None))
    return data.topic, env.model_copy(update=fields) if fields else env


async def publish(
    bootstrap: str,
    *items: EventData | tuple[str, Envelope],
    source: str = "test",
    tenant_id: Any = None,
    client_id: str = "test",
) -> list[Published]:
    """Publish events (enveloped from ``source``, tenant ``tenant_id`` when the event names
    none) or ready (topic, envelope) pairs, in order, as a service's relay would: keyed,
    with the envelope's headers, acknowledged by every replica."""
    producer = create_producer(bootstrap, client_id=client_id)
    await producer.start()
    try:
        pending = []
        for item in items:
            if isinstance(item, tuple):
                topic, env = item
            else:
                tenant = getattr(item, "tenant_id", None) or tenant_id
                topic, env = item.topic, new_envelope(item, source=source, tenant_id=tenant)
            sent = await producer.send(
                topic, env.to_bytes(), key=env.key.encode(), headers=env.kafka_headers()
            )
            pending.append((topic, env, sent))
        published = []
        for topic, env, sent in pending:
            meta = await sent
            published.append(Published(topic, env, meta.partition, meta.offset))
        return published
    finally:
        await producer.stop()


async def envelopes(
    bootstrap: str,
    topic: str,
    match: Match | None = None,
    *,
    key: str | None = None,
    count: int = 1,
    done: Callable[[list[dict[str, Any]]], bool] | None = None,
    settle_s: float = 0.0,
    timeout: float = 60,
) -> list[dict[str, Any]]:
    """Envelopes on ``topic`` (read from the start) with ``key`` and accepted by ``match``,
    once there are ``count`` of them (or ``done`` says so); with ``settle_s``, also any
    arriving during that much more time (to prove there are no more). Records of other
    tests on the shared topic, even malformed ones, pass by."""
    wanted = key.encode() if key is not None else None
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, Any]] = []

    async def poll() -> bool:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for r in records:
                if wanted is not None and r.key != wanted:
                    continue
                try:
                    env = json.loads(r.value)
                except ValueError:
                    continue
                try:
                    matched = isinstance(env, dict) and (match is None or match(env))
                except (KeyError, TypeError, AttributeError):
                    matched = False
                if matched:
                    found.append(env)
        return done(found) if done is not None else len(found) >= count

    try:
        wanted_what = f"{count if done is None else 'the'} envelopes wanted on {topic}"
        await eventually(poll, timeout, wanted_what)
        deadline = asyncio.get_running_loop().time() + settle_s
        while asyncio.get_running_loop().time() < deadline:
            await poll()
    finally:
        await consumer.stop()
    return found
