"""Endpoints, their secrets, and the read models of jobs and quotas."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.notifications.domain.model import Endpoint, JobFacts, Secret

_COLUMNS = (
    "id, tenant_id, url, description, event_types, printer_ids, user_ids, token_ids, enabled, "
    "disabled_reason, consecutive_failures, failing_since, created_at, updated_at"
)
_ARRAYS = ("event_types", "printer_ids", "user_ids", "token_ids")


def _endpoint(row: asyncpg.Record) -> Endpoint:
    values = dict(row)
    for name in _ARRAYS:
        values[name] = tuple(values[name])
    return Endpoint(**values)


class EndpointRepository:
    """Endpoints (per tenant), their signing secrets, jobs and quota states."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert_endpoint(self, e: Endpoint) -> Endpoint:
        """Store a new endpoint."""
        row = await self.conn.fetchrow(
            f"""
            INSERT INTO endpoints (id, tenant_id, url, description, event_types, printer_ids,
                                   user_ids, token_ids)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}
            """,
            e.id, e.tenant_id, e.url, e.description, list(e.event_types), list(e.printer_ids),
            list(e.user_ids), list(e.token_ids),
        )  # fmt: skip
        return _endpoint(row)

    async def get_endpoint(
        self, endpoint_id: uuid.UUID, *, for_update: bool = False
    ) -> Endpoint | None:
        """One endpoint (row-locked when asked)."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM endpoints WHERE id = $1{lock}", endpoint_id
        )
        return _endpoint(row) if row else None

    async def list_endpoints(
        self, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Endpoint]:
        """A page of endpoints (one tenant's, or all for None), by id."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_COLUMNS} FROM endpoints
             WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id > $2)
             ORDER BY id LIMIT $3
            """,
            tenant_id, after, limit,
        )  # fmt: skip
        return [_endpoint(r) for r in rows]

    async def enabled_endpoints(self, tenant_id: uuid.UUID) -> list[Endpoint]:
        """The tenant's endpoints that take new deliveries."""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM endpoints WHERE tenant_id = $1 AND enabled", tenant_id
        )
        return [_endpoint(r) for r in rows]

    async def update_endpoint(self, endpoint_id: uuid.UUID, changes: dict[str, Any]) -> Endpoint:
        """Change the given columns (arrays as lists) and the update time."""
        names = list(changes)
        sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
        values = [list(v) if isinstance(v, tuple) else v for v in changes.values()]
        row = await self.conn.fetchrow(
            f"UPDATE endpoints SET {sets}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
            endpoint_id, *values,
        )  # fmt: skip
        return _endpoint(row)

    async def delete_endpoint(self, endpoint_id: uuid.UUID) -> None:
        """Remove an endpoint with its secrets and deliveries."""
        await self.conn.execute("DELETE FROM endpoints WHERE id = $1", endpoint_id)

    async def add_secret(self, secret: Secret) -> None:
        """Store a sealed signing secret."""
        await self.conn.execute(
            "INSERT INTO endpoint_secrets (id, endpoint_id, sealed, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            secret.id, secret.endpoint_id, secret.sealed, secret.created_at, secret.expires_at,
        )  # fmt: skip

    async def expire_secrets(self, endpoint_id: uuid.UUID, at: datetime) -> None:
        """Let the endpoint's current secrets sign until ``at`` only."""
        await self.conn.execute(
            """
            UPDATE endpoint_secrets SET expires_at = $2
             WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2)
            """,
            endpoint_id, at,
        )  # fmt: skip

    async def secrets(self, endpoint_id: uuid.UUID) -> list[Secret]:
        """The endpoint's secrets that still sign, newest first."""
        rows = await self.conn.fetch(
            """
            SELECT id, endpoint_id, sealed, created_at, expires_at FROM endpoint_secrets
             WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now())
             ORDER BY created_at DESC
            """,
            endpoint_id,
        )
        return [Secret(**dict(r)) for r in rows]

    async def job_facts(self, job_id: uuid.UUID) -> JobFacts | None:
        """What is known of a job."""
        row = await self.conn.fetchrow(
            "SELECT job_id, tenant_id, owner_id, token_id, printer_id, callback_url FROM jobs "
            "WHERE job_id = $1",
            job_id,
        )
        return JobFacts(**dict(row)) if row else None

    async def save_job_facts(self, f: JobFacts) -> None:
        """Remember (or update) what is known of a job."""
        await self.conn.execute(
            """
            INSERT INTO jobs (job_id, tenant_id, owner_id, token_id, printer_id, callback_url)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (job_id) DO UPDATE
               SET printer_id = EXCLUDED.printer_id, token_id = EXCLUDED.token_id,
                   callback_url = EXCLUDED.callback_url, updated_at = now()
            """,
            f.job_id, f.tenant_id, f.owner_id, f.token_id, f.printer_id, f.callback_url,
        )  # fmt: skip

    async def swap_quota_state(
        self, quota_id: uuid.UUID, period_start: datetime, exceeded: bool
    ) -> bool:
        """Record a quota's state; whether it was already exceeded in that period."""
        before = await self.conn.fetchval(
            "SELECT exceeded FROM quota_states WHERE quota_id = $1 AND period_start = $2 "
            "FOR UPDATE",
            quota_id, period_start,
        )  # fmt: skip
        await self.conn.execute(
            """
            INSERT INTO quota_states (quota_id, period_start, exceeded) VALUES ($1, $2, $3)
            ON CONFLICT (quota_id) DO UPDATE SET period_start = $2, exceeded = $3
            """,
            quota_id, period_start, exceeded,
        )  # fmt: skip
        return bool(before)
