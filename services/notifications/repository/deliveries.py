"""The delivery queue: what is due, in order per key and within each endpoint's
concurrency, and the log of attempts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from services.notifications.domain.model import (
    Attempt,
    Claimed,
    Delivery,
    DeliveryState,
    NewDelivery,
    Outcome,
)

_LOG_COLUMNS = (
    "id, endpoint_id, message_id, event_type, order_key, url, state, attempts, manual, "
    "created_at, next_attempt_at, delivered_at, last_status, last_latency_ms, last_error"
)


class DeliveryRepository:
    """Deliveries and their attempts."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add_deliveries(self, new: list[NewDelivery]) -> int:
        """Queue notices (a notice already queued for a URL is not queued again)."""
        if not new:
            return 0
        rows = [
            (
                d.endpoint_id, d.url, d.notice.event_id, d.notice.type, d.notice.order_key,
                json.dumps(d.notice.body(), separators=(",", ":")), d.manual,
                d.notice.occurred_at,
            )
            for d in new
        ]  # fmt: skip
        inserted = await self.conn.fetch(
            """
            INSERT INTO deliveries (endpoint_id, url, message_id, event_type, order_key, body,
                                    manual, event_at)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[],
                                 $6::text[], $7::boolean[], $8::timestamptz[])
            ON CONFLICT (endpoint_id, message_id, url) WHERE NOT manual DO NOTHING
            RETURNING id
            """,
            *[list(col) for col in zip(*rows, strict=True)],
        )
        return len(inserted)

    async def claim(
        self, limit: int, lease_s: float, per_endpoint: int, busy: list[uuid.UUID]
    ) -> list[Claimed]:
        """Lease due deliveries of enabled endpoints: the first pending one of each
        (endpoint, key) only, and no more per endpoint than ``per_endpoint`` in flight
        across replicas (two replicas claiming at the same moment may each fill the
        last slot); endpoints in ``busy`` (full here) are skipped."""
        heads = await self.conn.fetch(
            """
            SELECT d.id, d.endpoint_id FROM deliveries d
              JOIN endpoints e ON e.id = d.endpoint_id AND e.enabled
             WHERE d.state = 'pending' AND d.next_attempt_at <= now()
               AND NOT d.endpoint_id = ANY($2::uuid[])
               AND NOT EXISTS (
                   SELECT 1 FROM deliveries p
                    WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key
                      AND p.state = 'pending' AND p.id < d.id)
             ORDER BY d.next_attempt_at LIMIT $1
            """,
            limit * 4, busy,
        )  # fmt: skip
        if not heads:
            return []
        flying = dict(
            await self.conn.fetch(
                """
                SELECT endpoint_id, count(*) FROM deliveries
                 WHERE state = 'pending' AND leased_until > now()
                   AND endpoint_id = ANY($1::uuid[])
                 GROUP BY endpoint_id
                """,
                list({h["endpoint_id"] for h in heads}),
            )
        )
        chosen: list[int] = []
        for h in heads:
            if flying.get(h["endpoint_id"], 0) < per_endpoint and len(chosen) < limit:
                flying[h["endpoint_id"]] = flying.get(h["endpoint_id"], 0) + 1
                chosen.append(h["id"])
        rows = await self.conn.fetch(
            """
            WITH due AS (
                SELECT id FROM deliveries
                 WHERE id = ANY($1::bigint[]) AND state = 'pending' AND next_attempt_at <= now()
                 FOR UPDATE SKIP LOCKED
            )
            UPDATE deliveries d
               SET next_attempt_at = now() + make_interval(secs => $2),
                   leased_until = now() + make_interval(secs => $2),
                   attempts = d.attempts + 1
              FROM due WHERE d.id = due.id
            RETURNING d.id, d.endpoint_id, d.url, d.message_id, d.event_type, d.body,
                      d.attempts, d.event_at AS created_at
            """,
            chosen, lease_s,
        )  # fmt: skip
        return [Claimed(**dict(r)) for r in rows]

    async def record_attempt(
        self,
        delivery_id: int,
        attempt: int,
        outcome: Outcome,
        *,
        state: DeliveryState,
        retry_in_s: float,
    ) -> None:
        """Log one attempt and move the delivery on (done, given up, or retried later)."""
        await self.conn.execute(
            """
            INSERT INTO delivery_attempts
                   (delivery_id, attempt, status, latency_ms, error, response)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
            """,
            delivery_id, attempt, outcome.status, outcome.latency_ms, outcome.error,
            outcome.response,
        )  # fmt: skip
        await self.conn.execute(
            """
            UPDATE deliveries
               SET state = $2, leased_until = NULL, last_status = $3, last_latency_ms = $4,
                   last_error = $5,
                   delivered_at = CASE WHEN $2 = 'succeeded' THEN now() END,
                   next_attempt_at = now() + make_interval(secs => $6)
             WHERE id = $1 AND state = 'pending'
            """,
            delivery_id, state, outcome.status, outcome.latency_ms, outcome.error, retry_in_s,
        )  # fmt: skip

    async def endpoint_succeeded(self, endpoint_id: uuid.UUID) -> None:
        """A success ends the endpoint's run of failures."""
        await self.conn.execute(
            """
            UPDATE endpoints SET consecutive_failures = 0, failing_since = NULL
             WHERE id = $1 AND consecutive_failures > 0
            """,
            endpoint_id,
        )

    async def endpoint_failed(self, endpoint_id: uuid.UUID, at: datetime) -> None:
        """One more failure in the endpoint's run."""
        await self.conn.execute(
            """
            UPDATE endpoints SET consecutive_failures = consecutive_failures + 1,
                                 failing_since = COALESCE(failing_since, $2)
             WHERE id = $1
            """,
            endpoint_id, at,
        )  # fmt: skip

    async def log(
        self, endpoint_id: uuid.UUID, state: DeliveryState | None, before: int | None, limit: int
    ) -> list[Delivery]:
        """A page of the endpoint's deliveries, newest first."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_LOG_COLUMNS} FROM deliveries
             WHERE endpoint_id = $1 AND ($2::text IS NULL OR state = $2)
               AND ($3::bigint IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4
            """,
            endpoint_id, state, before, limit,
        )  # fmt: skip
        return [Delivery(**dict(r)) for r in rows]

    async def get_delivery(self, endpoint_id: uuid.UUID, delivery_id: int) -> Delivery | None:
        """One delivery with its attempts."""
        row = await self.conn.fetchrow(
            f"SELECT {_LOG_COLUMNS} FROM deliveries WHERE id = $1 AND endpoint_id = $2",
            delivery_id, endpoint_id,
        )  # fmt: skip
        if row is None:
            return None
        attempts = await self.conn.fetch(
            "SELECT attempt, at, status, latency_ms, error, response FROM delivery_attempts "
            "WHERE delivery_id = $1 ORDER BY attempt",
            delivery_id,
        )
        return Delivery(**dict(row), history=[Attempt(**dict(a)) for a in attempts])

    async def redeliver(self, delivery_id: int) -> Delivery:
        """Queue a delivery's message again, with the same webhook-id, as a manual one."""
        row = await self.conn.fetchrow(
            f"""
            INSERT INTO deliveries (endpoint_id, url, message_id, event_type, order_key, body,
                                    manual, event_at)
            SELECT endpoint_id, url, message_id, event_type, order_key, body, true, now()
              FROM deliveries WHERE id = $1
            RETURNING {_LOG_COLUMNS}
            """,
            delivery_id,
        )
        return Delivery(**dict(row))

    async def purge(self, older_than_days: int) -> int:
        """Delete finished deliveries (and what is known of jobs) older than the retention;
        how many deliveries went."""
        status = await self.conn.execute(
            """
            DELETE FROM deliveries
             WHERE state <> 'pending' AND created_at < now() - make_interval(days => $1)
            """,
            older_than_days,
        )
        await self.conn.execute(
            "DELETE FROM jobs WHERE updated_at < now() - make_interval(days => $1)",
            older_than_days,
        )
        return int(str(status).rsplit(" ", 1)[-1])
