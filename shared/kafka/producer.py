"""The idempotent producer every publisher uses (outbox relay, dead-letter parking)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer


def create_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """An idempotent, acks=all producer; start() it before use, stop() after."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )
