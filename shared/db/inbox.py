"""The inbox: which events a consumer has applied, written in the same transaction.

A consumer claims an event before applying it; the claim and the effect commit
together, so a redelivered event finds its claim and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg


async def claim_many(
    conn: asyncpg.Connection,
    *,
    consumer: str,
    events: Sequence[tuple[uuid.UUID, str, int, int]],
) -> set[uuid.UUID]:
    """Record (event_id, topic, partition, offset) rows as applied by ``consumer``
    in one statement; returns the ids that were new (the others are duplicates)."""
    if not events:
        return set()
    rows = await conn.fetch(
        """
        INSERT INTO processed_events (consumer, event_id, topic, kafka_partition, kafka_offset)
        SELECT $1, e, t, p, o FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[])
            AS u(e, t, p, o)
        ON CONFLICT DO NOTHING
        RETURNING event_id
        """,
        consumer,
        [e[0] for e in events],
        [e[1] for e in events],
        [e[2] for e in events],
        [e[3] for e in events],
    )
    return {r["event_id"] for r in rows}


async def purge(conn: asyncpg.Connection, *, older_than_days: int) -> int:
    """Forget claims older than the topics' retention (they can no longer be redelivered)."""
    result: str = await conn.execute(
        "DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => $1)",
        older_than_days,
    )
    return int(result.split()[-1])
