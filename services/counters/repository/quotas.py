"""Quotas: their state per period, and administrators' overrides."""

from __future__ import annotations

import uuid
from dataclasses import astuple, fields
from datetime import datetime

import asyncpg

from services.counters.domain.model import Quota

_QUOTA_COLUMNS = (
    'id, tenant_id, subject_kind, subject_id, members, metric, period, "limit", policy, '
    "period_start, used, override_until, override_reason, revision, created_at, updated_at"
)
_SAVED = [f.name for f in fields(Quota) if f.name != "deleted"]


def _quota(row: asyncpg.Record) -> Quota:
    return Quota(**{**dict(row), "members": tuple(row["members"])})


class QuotaRepository:
    """Quotas in counters' schema; every read meant for a change locks the rows."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert_quota(self, q: Quota) -> None:
        """Insert a new quota."""
        values = list(astuple(q))[: len(_SAVED)]
        values[_SAVED.index("members")] = list(q.members)
        await self.conn.execute(
            f"INSERT INTO quotas ({_QUOTA_COLUMNS}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(len(_SAVED)))})",
            *values,
        )

    async def save_quota(self, q: Quota) -> None:
        """Write a quota's changeable state."""
        await self.conn.execute(
            """
            UPDATE quotas SET members = $2, "limit" = $3, policy = $4, period_start = $5,
                used = $6, override_until = $7, override_reason = $8, revision = $9,
                updated_at = $10
            WHERE id = $1
            """,
            q.id, list(q.members), q.limit, q.policy, q.period_start, q.used, q.override_until,
            q.override_reason, q.revision, q.updated_at,
        )  # fmt: skip

    async def get_quota(self, quota_id: uuid.UUID, *, for_update: bool = False) -> Quota | None:
        """A quota by id (locked for the transaction when ``for_update``)."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_QUOTA_COLUMNS} FROM quotas WHERE id = $1{lock}", quota_id
        )
        return _quota(row) if row else None

    async def delete_quota(self, quota_id: uuid.UUID) -> None:
        """Remove a quota and its overrides."""
        await self.conn.execute("DELETE FROM quotas WHERE id = $1", quota_id)

    async def list_quotas(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Quota]:
        """Quotas in id order (one tenant's, or all), keyset-paginated."""
        rows = await self.conn.fetch(
            f"SELECT {_QUOTA_COLUMNS} FROM quotas WHERE ($1::uuid IS NULL OR tenant_id = $1) "
            "AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
            tenant_id,
            after,
            limit,
        )
        return [_quota(r) for r in rows]

    async def quotas_for_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[Quota]:
        """The tenant's quotas a job of ``user_id`` counts against, locked, in id order."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_QUOTA_COLUMNS} FROM quotas
            WHERE tenant_id = $1 AND (subject_kind = 'tenant'
                OR (subject_kind = 'user' AND subject_id = $2)
                OR (subject_kind = 'group' AND $2 = ANY (members)))
            ORDER BY id FOR UPDATE
            """,
            tenant_id,
            user_id,
        )
        return [_quota(r) for r in rows]

    async def due_quotas(self, now: datetime, limit: int) -> list[Quota]:
        """Quotas whose period ended before ``now``, locked (others' locked rows skipped)."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_QUOTA_COLUMNS} FROM quotas
            WHERE period_start + CASE period WHEN 'day' THEN interval '1 day'
                WHEN 'week' THEN interval '7 days' WHEN 'month' THEN interval '1 month'
                ELSE interval '1 year' END <= $1
            ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
            """,
            now,
            limit,
        )
        return [_quota(r) for r in rows]

    async def add_override(
        self, quota_id: uuid.UUID, until: datetime, reason: str, by: str
    ) -> None:
        """Record an administrator's override."""
        await self.conn.execute(
            "INSERT INTO quota_overrides (quota_id, until, reason, by_subject) "
            "VALUES ($1, $2, $3, $4)",
            quota_id,
            until,
            reason,
            by,
        )
