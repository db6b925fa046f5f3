"""SQL for tenants."""

from __future__ import annotations

import uuid

import asyncpg

from services.registry.domain.model import Tenant
from shared.db.uow import AlreadyExists


class Tenants:
    """The organisations using Printcloud."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, tenant_id: uuid.UUID, name: str) -> Tenant:
        """Insert a tenant; AlreadyExists if the name is taken."""
        try:
            row = await self.conn.fetchrow(
                "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
                tenant_id,
                name,
            )
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None
        return Tenant(**dict(row))

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        """A tenant by id."""
        row = await self.conn.fetchrow(
            "SELECT id, name, created_at FROM tenants WHERE id = $1", tenant_id
        )
        return Tenant(**dict(row)) if row else None

    async def list(self, *, after: uuid.UUID | None, limit: int) -> list[Tenant]:
        """Tenants in id order, keyset-paginated."""
        rows = await self.conn.fetch(
            "SELECT id, name, created_at FROM tenants WHERE ($1::uuid IS NULL OR id > $1) "
            "ORDER BY id LIMIT $2",
            after,
            limit,
        )
        return [Tenant(**dict(r)) for r in rows]
