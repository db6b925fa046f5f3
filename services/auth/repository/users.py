"""SQL for users."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.auth.domain.model import User
from shared.db.uow import AlreadyExists

USER_COLUMNS = (
    "id, tenant_id, kind, email, display_name, roles, disabled, revision, created_at, updated_at"
)


def user_of(row: asyncpg.Record) -> User:
    """A user from a row of :data:`USER_COLUMNS`."""
    return User(**{**dict(row), "roles": frozenset(row["roles"])})


class Users:
    """Users of every tenant and of the platform (deleted ones are kept, unseen)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, u: User) -> User:
        """Insert a user; AlreadyExists if the email is taken in the tenant."""
        try:
            row = await self.conn.fetchrow(
                f"""
                INSERT INTO users (id, tenant_id, kind, email, display_name, roles, disabled,
                                   created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {USER_COLUMNS}
                """,
                u.id, u.tenant_id, u.kind, u.email, u.display_name, sorted(u.roles),
                u.disabled, u.created_at,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("email") from None
        return user_of(row)

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        """A user that is not deleted; ``for_update`` locks its row."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL{lock}",
            user_id,
        )
        return user_of(row) if row else None

    async def save(self, u: User) -> None:
        """Write a user's mutable fields back; AlreadyExists on a taken email."""
        try:
            await self.conn.execute(
                """
                UPDATE users SET email = $2, display_name = $3, roles = $4, disabled = $5,
                       revision = $6, updated_at = $7
                WHERE id = $1
                """,
                u.id, u.email, u.display_name, sorted(u.roles), u.disabled, u.revision,
                u.updated_at,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("email") from None

    async def delete(self, u: User, at: datetime) -> None:
        """Mark a user deleted (kept for the audit trail; its email is free again)."""
        await self.conn.execute(
            "UPDATE users SET deleted_at = $2, revision = $3, updated_at = $2 WHERE id = $1",
            u.id,
            at,
            u.revision,
        )

    async def list(
        self, *, tenant_id: uuid.UUID | None, platform: bool, after: uuid.UUID | None, limit: int
    ) -> list[User]:
        """Users of one tenant, of the platform (``platform``), or all; keyset-paginated."""
        rows = await self.conn.fetch(
            f"""
            SELECT {USER_COLUMNS} FROM users
            WHERE deleted_at IS NULL
              AND (CASE WHEN $1 THEN tenant_id IS NULL
                        ELSE ($2::uuid IS NULL OR tenant_id = $2) END)
              AND ($3::uuid IS NULL OR id > $3)
            ORDER BY id LIMIT $4
            """,
            platform,
            tenant_id,
            after,
            limit,
        )
        return [user_of(r) for r in rows]
