"""The inbox: which events a consumer has applied, written in the same transaction.

A consumer claims an event before applying it; the claim and the effect commit
together, so a redelivered event finds its claim and changes nothing.
"""

from __future__ import annotations

import uuid

import asyncpg


async def claim(
    conn: asyncpg.Connection,
    *,
    consumer: str,
    event_id: uuid.UUID,
    topic: str,
    partition: int,
    offset: int,
) -> bool:
    """Record ``event_id`` as applied by ``consumer``; False if it already was."""
    inserted = await conn.fetchval(
        """
        INSERT INTO processed_events (consumer, event_id, topic, kafka_partition, kafka_offset)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT DO NOTHING
        RETURNING 1
        """,
        consumer,
        event_id,
        topic,
        partition,
        offset,
    )
    return inserted is not None


async def purge(conn: asyncpg.Connection, *, older_than_days: int) -> int:
    """Forget claims older than the topics' retention (they can no longer be redelivered)."""
    result: str = await conn.execute(
        "DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(result.split()[-1])
