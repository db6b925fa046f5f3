"""SQL for browser sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.portal.domain.model import Session
from services.portal.repository.flows import SignInFlows

_COLUMNS = (
    "id_hash, user_id, tenant_id, roles, access_token, csrf_token, method, created_at, expires_at"
)


def _session(row: asyncpg.Record) -> Session:
    values = dict(row)
    return Session(**{**values, "id_hash": bytes(values["id_hash"]),
                      "roles": frozenset(values["roles"])})  # fmt: skip


class Sessions:
    """Browser sessions, by the hash of their cookie."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, s: Session) -> None:
        """Keep a new session."""
        await self.conn.execute(
            f"INSERT INTO sessions ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            s.id_hash, s.user_id, s.tenant_id, sorted(s.roles), s.access_token, s.csrf_token,
            s.method, s.created_at, s.expires_at,
        )  # fmt: skip

    async def get(self, id_hash: bytes) -> Session | None:
        """The session of a cookie's hash, expired or not."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM sessions WHERE id_hash = $1", id_hash
        )
        return _session(row) if row else None

    async def delete(self, id_hash: bytes) -> None:
        """End one session."""
        await self.conn.execute("DELETE FROM sessions WHERE id_hash = $1", id_hash)

    async def delete_of_user(self, user_id: uuid.UUID) -> int:
        """End every session of a person; how many there were."""
        done = await self.conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
        return int(str(done).rsplit(" ", 1)[-1])

    async def delete_expired(self, now: datetime) -> int:
        """Forget sessions that expired; how many."""
        done = await self.conn.execute("DELETE FROM sessions WHERE expires_at <= $1", now)
        return int(str(done).rsplit(" ", 1)[-1])


class PortalRepository:
    """Every table of the portal's schema, on one connection (one transaction)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.sessions = Sessions(conn)
        self.flows = SignInFlows(conn)
