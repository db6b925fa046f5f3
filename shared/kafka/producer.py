"""The idempotent producer every publisher uses (outbox relay, dead-letter parking)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.dependencies import EVENT_BROKER, StoppedWhileWaiting, wait_until_available
from shared.kafka.access import KafkaAccess


def create_producer(kafka: KafkaAccess, client_id: str) -> AIOKafkaProducer:
    """An idempotent, acks=all producer; start() it before use, stop() after."""
    return AIOKafkaProducer(
        **kafka.client_options(),
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


async def start_when_available(
    client: AIOKafkaProducer | AIOKafkaConsumer, stop: asyncio.Event | None = None
) -> bool:
    """Start a producer or consumer, waiting (capped backoff, a warning per failed try)
    while the broker is unreachable; False if ``stop`` was set first."""
    try:
        await wait_until_available(EVENT_BROKER, client.start, stop=stop)
    except StoppedWhileWaiting:
        return False
    return True
