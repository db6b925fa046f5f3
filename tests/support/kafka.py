"""Events on the run's real Kafka: publishing them as their owners' relays would, and
reading back the envelopes and dead letters a test is about (other tests share the
topics)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.events.envelope import Envelope, EventData, new_envelope
from shared.kafka.access import KafkaAccess
from shared.kafka.acls import ADMIN_USER
from shared.kafka.producer import create_producer
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.testing.infra import user_env_prefix
from tests.support.waiting import eventually

Match = Callable[[dict[str, Any]], bool]
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExportedKafka:
    """The run's broker at ``bootstrap`` with the users' credentials the run exported
    (``PRINTCLOUD_<USER>_KAFKA_USERNAME`` ..., see shared/testing/fixtures.py); what the
    local platform's runner asks of a broker."""

    bootstrap: str

    def access(self, user: str = ADMIN_USER) -> KafkaAccess:
        """How ``user`` (the super user by default) connects."""
        prefix = user_env_prefix(user)
        env = os.environ
        return KafkaAccess(
            self.bootstrap,
            env.get(f"{prefix}KAFKA_USERNAME", ""),
            env.get(f"{prefix}KAFKA_PASSWORD", ""),
            env.get(f"{prefix}KAFKA_CA_FILE", ""),
        )


def operator(bootstrap: str) -> KafkaAccess:
    """The broker's super user at ``bootstrap``: what tests publish and read with."""
    return ExportedKafka(bootstrap).access()


def kafka_options(bootstrap: str) -> dict[str, Any]:
    """Client options (address and credentials) of the super user at ``bootstrap``."""
    return operator(bootstrap).client_options()


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
    producer = create_producer(operator(bootstrap), client_id=client_id)
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


@dataclass(frozen=True)
class DeadLetter:
    """A record parked on the dead-letter topic, with the headers saying why."""

    key: bytes | None
    value: bytes
    headers: dict[str, bytes]

    @property
    def reason(self) -> str:
        return self.headers.get("dlq.reason", b"").decode()


async def _read(
    bootstrap: str,
    topic: str,
    accept: Callable[[ConsumerRecord[bytes, bytes]], _T | None],
    done: Callable[[list[_T]], bool],
    what: str,
    timeout: float,
    settle_s: float = 0.0,
) -> list[_T]:
    """What ``accept`` makes of the records on ``topic`` (read from the start), once
    ``done`` says so; with ``settle_s``, also what arrives during that much more time."""
    consumer = AIOKafkaConsumer(topic, **kafka_options(bootstrap), auto_offset_reset="earliest")
    await consumer.start()
    found: list[_T] = []

    async def poll() -> bool:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for record in records:
                item = accept(record)
                if item is not None:
                    found.append(item)
        return done(found)

    try:
        await eventually(poll, timeout, what)
        deadline = asyncio.get_running_loop().time() + settle_s
        while asyncio.get_running_loop().time() < deadline:
            await poll()
    finally:
        await consumer.stop()
    return found


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

    def accept(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any] | None:
        if wanted is not None and record.key != wanted:
            return None
        try:
            env = json.loads(record.value)
            return env if isinstance(env, dict) and (match is None or match(env)) else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    what = f"{count if done is None else 'the'} envelopes wanted on {topic}"
    return await _read(
        bootstrap, topic, accept, done or (lambda found: len(found) >= count), what, timeout,
        settle_s,
    )  # fmt: skip


async def dead_letters(
    bootstrap: str,
    *,
    consumer: str | None = None,
    topic: str | None = None,
    keys: Iterable[bytes | str] | None = None,
    count: int = 1,
    done: Callable[[list[DeadLetter]], bool] | None = None,
    timeout: float = 60,
) -> list[DeadLetter]:
    """Records parked on the dead-letter topic (by the consumer group ``consumer``, from
    ``topic``, with one of ``keys``), once there are ``count`` of them (or ``done`` says
    so). Other tests park their own records there, even in the same group."""
    by = consumer.encode() if consumer is not None else None
    source = topic.encode() if topic is not None else None
    wanted = None if keys is None else {k.encode() if isinstance(k, str) else k for k in keys}

    def accept(record: ConsumerRecord[bytes, bytes]) -> DeadLetter | None:
        headers = dict(record.headers or ())
        if by is not None and headers.get("dlq.consumer") != by:
            return None
        if source is not None and headers.get("dlq.topic") != source:
            return None
        if wanted is not None and record.key not in wanted:
            return None
        return DeadLetter(record.key, record.value or b"", headers)

    return await _read(
        bootstrap, DEAD_LETTER_TOPIC, accept, done or (lambda found: len(found) >= count),
        "the records wanted on the dead-letter topic", timeout,
    )  # fmt: skip
