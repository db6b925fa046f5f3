"""Keeping a whole topic in memory: read it from its beginning, say when caught up, then
follow it. Each replica does this on its own, in no consumer group (nothing is
committed), for small state every replica needs at hand: device credentials, the
devices a connector bridges, revoked API tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from shared.kafka.access import KafkaAccess
from shared.kafka.admin import topic_partitions
from shared.logging import get_logger

log = get_logger(__name__)


async def replay_and_follow(
    kafka: KafkaAccess,
    topic: str,
    apply: Callable[[bytes | None], None],
    ready: asyncio.Event,
    stop: asyncio.Event,
    *,
    what: str,
    poll_ms: int = 200,
) -> None:
    """Feed every record of ``topic`` to ``apply`` from the beginning; set ``ready`` once
    every partition is read up to where it ended at the start; go on until ``stop``."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(kafka, topic)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=poll_ms)
            for records in batch.values():
                for rec in records:
                    apply(rec.value)
            if not ready.is_set():
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                    log.info("topic loaded", what=what, topic=topic)
                    ready.set()
    finally:
        await consumer.stop()
