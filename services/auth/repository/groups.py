"""SQL for groups."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.auth.domain.groups import Group
from shared.db.uow import AlreadyExists
from shared.sharing import Membership

GROUP_COLUMNS = (
    "id, tenant_id, name, source, member_user_ids, member_group_ids, revision, created_at, "
    "updated_at"
)


def group_of(row: asyncpg.Record) -> Group:
    """A group from a row of :data:`GROUP_COLUMNS`."""
    return Group(
        **{
            **dict(row),
            "member_user_ids": tuple(row["member_user_ids"]),
            "member_group_ids": tuple(row["member_group_ids"]),
        }
    )


class Groups:
    """Groups of every tenant."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, g: Group) -> Group:
        """Insert a group; AlreadyExists if its name is taken in the tenant."""
        try:
            row = await self.conn.fetchrow(
                f"""
                INSERT INTO groups (id, tenant_id, name, source, member_user_ids,
                                    member_group_ids, revision, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {GROUP_COLUMNS}
                """,
                g.id, g.tenant_id, g.name, g.source, list(g.member_user_ids),
                list(g.member_group_ids), g.revision, g.created_at,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None
        return group_of(row)

    async def get(self, group_id: uuid.UUID, *, for_update: bool = False) -> Group | None:
        """A group; ``for_update`` locks its row."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {GROUP_COLUMNS} FROM groups WHERE id = $1{lock}", group_id
        )
        return group_of(row) if row else None

    async def by_names(
        self, tenant_id: uuid.UUID, names: list[str], *, for_update: bool = False
    ) -> dict[str, Group]:
        """The tenant's groups of these names (compared without case), by lower-case name."""
        lock = " FOR UPDATE" if for_update else ""
        rows = await self.conn.fetch(
            f"SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1"
            f" AND lower(name) = ANY($2::text[]){lock}",
            tenant_id,
            [n.lower() for n in names],
        )
        return {r["name"].lower(): group_of(r) for r in rows}

    async def save(self, g: Group) -> None:
        """Write a group's mutable fields back; AlreadyExists on a taken name."""
        try:
            await self.conn.execute(
                """
                UPDATE groups SET name = $2, member_user_ids = $3, member_group_ids = $4,
                       revision = $5, updated_at = $6
                WHERE id = $1
                """,
                g.id, g.name, list(g.member_user_ids), list(g.member_group_ids), g.revision,
                g.updated_at,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("name") from None

    async def delete(self, group_id: uuid.UUID) -> None:
        """Remove a group (its events keep the history)."""
        await self.conn.execute("DELETE FROM groups WHERE id = $1", group_id)

    async def lock_tenant(self, tenant_id: uuid.UUID) -> None:
        """Serialise membership changes of one tenant until the transaction ends, so two
        concurrent changes cannot make a cycle together."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('groups:' || $1::text, 0))",
            str(tenant_id),
        )

    async def memberships(self, tenant_id: uuid.UUID) -> dict[uuid.UUID, Membership]:
        """Every group of the tenant and its direct members."""
        rows = await self.conn.fetch(
            "SELECT id, member_user_ids, member_group_ids FROM groups WHERE tenant_id = $1",
            tenant_id,
        )
        return {
            r["id"]: Membership(frozenset(r["member_user_ids"]), frozenset(r["member_group_ids"]))
            for r in rows
        }

    async def holding(
        self,
        tenant_id: uuid.UUID,
        *,
        user_id: uuid.UUID | None = None,
        group_id: uuid.UUID | None = None,
    ) -> list[Group]:
        """The tenant's groups holding the user or the group directly, rows locked."""  # fmt: skip
        rows = await self.conn.fetch(
            f"SELECT {GROUP_COLUMNS} FROM groups WHERE tenant_id = $1"
            " AND ($2::uuid = ANY(member_user_ids) OR $3::uuid = ANY(member_group_ids))"
            " ORDER BY id FOR UPDATE",
            tenant_id,
            user_id,
            group_id,
        )
        return [group_of(r) for r in rows]

    async def list(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Group]:
        """Groups of one tenant (or all: None), keyset-paginated by id."""
        rows = await self.conn.fetch(
            f"""
            SELECT {GROUP_COLUMNS} FROM groups
            WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id > $2)
            ORDER BY id LIMIT $3
            """,
            tenant_id,
            after,
            limit,
        )
        return [group_of(r) for r in rows]

    async def existing_users(
        self, tenant_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of ``user_ids`` are live users of the tenant."""
        rows = await self.conn.fetch(
            "SELECT id FROM users WHERE tenant_id = $1 AND id = ANY($2::uuid[])"
            " AND deleted_at IS NULL",
            tenant_id,
            list(user_ids),
        )
        return {r["id"] for r in rows}
