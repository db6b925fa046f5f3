"""The groups read model: the groups of ``auth.groups`` and their direct members, kept
by each service that enforces sharing in its OWN schema, in the table::

    user_groups (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, revision integer NOT NULL,
                 member_user_ids uuid[] NOT NULL, member_group_ids uuid[] NOT NULL,
                 deleted boolean NOT NULL DEFAULT false)

The newest revision wins (a ``group.deleted`` keeps the row as a tombstone, so a late
older revision never brings the group back), and a revision never moves a group to
another tenant (:class:`~shared.readmodels.devices.TenantMismatch`). Membership is
computed by :func:`shared.sharing.effective_groups`, the same code everywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
from shared.readmodels.devices import guard_tenant
from shared.sharing import Membership, effective_groups

__all__ = ["apply_group", "groups_of", "tenant_groups"]


@dataclass(frozen=True)
class _Table:
    name: str = "user_groups"
    key: str = "id"


TABLE = _Table()


async def apply_group(
    conn: asyncpg.Connection, data: GroupCreated | GroupUpdated | GroupDeleted
) -> bool:
    """Store a group's members (or its deletion) unless an equal or newer revision is
    stored; whether it was applied."""
    deleted = isinstance(data, GroupDeleted)
    users = [] if isinstance(data, GroupDeleted) else list(data.member_user_ids)
    groups = [] if isinstance(data, GroupDeleted) else list(data.member_group_ids)
    applied = await conn.fetchval(
        """
        INSERT INTO user_groups (id, tenant_id, revision, member_user_ids, member_group_ids,
                                 deleted)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE
            SET revision = EXCLUDED.revision, member_user_ids = EXCLUDED.member_user_ids,
                member_group_ids = EXCLUDED.member_group_ids, deleted = EXCLUDED.deleted
        WHERE user_groups.revision < EXCLUDED.revision
          AND user_groups.tenant_id = EXCLUDED.tenant_id
        RETURNING true
        """,
        data.group_id, data.tenant_id, data.revision, users, groups, deleted,
    )  # fmt: skip
    if applied:
        return True
    await guard_tenant(conn, TABLE, data.group_id, data.tenant_id, kind="group")
    return False


async def tenant_groups(
    conn: asyncpg.Connection, tenant_id: uuid.UUID
) -> dict[uuid.UUID, Membership]:
    """The tenant's live groups and their direct members."""
    rows = await conn.fetch(
        "SELECT id, member_user_ids, member_group_ids FROM user_groups"
        " WHERE tenant_id = $1 AND NOT deleted",
        tenant_id,
    )
    return {
        r["id"]: Membership(frozenset(r["member_user_ids"]), frozenset(r["member_group_ids"]))
        for r in rows
    }


async def groups_of(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> frozenset[uuid.UUID]:
    """Every group of the tenant the user is in, directly or through other groups."""
    return effective_groups(user_id, await tenant_groups(conn, tenant_id))
